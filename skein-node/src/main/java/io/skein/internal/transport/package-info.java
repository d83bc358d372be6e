/**
 * The peer transport: frames, the authenticated handshake, and the mapping between wire messages
 * and the core's {@link io.skein.core.replica.PeerMessage}s (D10, D11).
 */
@NullMarked
package io.skein.internal.transport;

import org.jspecify.annotations.NullMarked;
