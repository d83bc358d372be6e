package io.skein.internal.engine;

import io.skein.core.leader.LeaderMessage;
import io.skein.core.model.NodeId;
import io.skein.core.replica.PeerMessage;

/**
 * The replication face of a node's event loop, for the peer transport: messages in, a link out, and
 * a status snapshot. Thread-safe.
 */
public interface Replicator {
  /**
   * Hands a message from an authenticated peer to the loop. Blocks for a bounded time when the
   * inbox is full (back-pressure on the peer's stream).
   *
   * @return false if the message was dropped (inbox still full, or the loop is closing)
   */
  boolean receive(PeerMessage message);

  /** Whether this node runs leader mode: its peers speak {@link LeaderMessage}s. */
  default boolean leaderMode() {
    return false;
  }

  /**
   * Hands a leader-mode message from an authenticated peer to the loop.
   *
   * @return false if it was dropped (inbox full, or this node does not run leader mode)
   */
  default boolean receiveLeader(LeaderMessage message) {
    return false;
  }

  /**
   * Tells the loop that a stream to a peer was (re)established, so it syncs at once.
   *
   * @return false if the notice was dropped
   */
  boolean peerConnected(NodeId peer);

  /**
   * Makes a peer an active member (discovered, or admitted at the handshake).
   *
   * @return false if the notice was dropped
   */
  boolean peerJoined(NodeId peer);

  /**
   * Takes a peer out of the active membership; it stays known (D5).
   *
   * @return false if the notice was dropped
   */
  boolean peerLeft(NodeId peer);

  /**
   * Forgets a peer that left for good: tombstone collection (D5) stops waiting for it. Dynamo mode
   * only; an active peer is not forgotten.
   *
   * @return false if the notice was dropped or this mode has no such thing
   */
  default boolean peerForgotten(NodeId peer) {
    return false;
  }

  /** Attaches the transport that carries outgoing messages. */
  void attach(PeerLink link);

  /** Returns the latest replication status (refreshed after every loop iteration). */
  ReplicationStatus status();
}
