package io.skein.internal.engine;

import io.skein.core.leader.LeaderMessage;
import io.skein.core.model.NodeId;
import io.skein.core.replica.PeerMessage;

/**
 * Where the event loop hands the core's outgoing peer messages: the transport. {@link #send} must
 * not block: a message that cannot be queued is dropped (anti-entropy repairs it).
 */
@FunctionalInterface
public interface PeerLink {
  /** A link that drops everything: the state before the transport starts. */
  PeerLink NONE = (peer, message) -> {};

  /** Queues a message for a peer, or drops it. Never blocks. */
  void send(NodeId peer, PeerMessage message);

  /**
   * Queues a leader-mode message for a peer, or drops it (the primary's next heartbeat repairs a
   * loss). Never blocks.
   */
  default void sendLeader(NodeId peer, LeaderMessage message) {}
}
