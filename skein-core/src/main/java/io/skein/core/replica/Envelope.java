package io.skein.core.replica;

import io.skein.core.model.NodeId;

/**
 * A message to send.
 *
 * @param to the receiving peer
 * @param message the message
 */
public record Envelope(NodeId to, PeerMessage message) {}
