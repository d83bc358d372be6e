package io.skein.core.replica;

import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import java.util.HashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What a core knows of one peer: the entries the peer said it holds durably, how far this node has
 * sent each origin's entries to it, and when it last asked the peer for anti-entropy.
 * Package-private: only {@link ReplicaCore} uses it.
 */
final class PeerProgress {
  private final Map<NodeId, Long> durable = new HashMap<>();

  /** Highest sequence of each origin sent to the peer or being read for it (the stream's head). */
  private final Map<NodeId, Long> sent = new HashMap<>();

  long lastSyncSentMs = Long.MIN_VALUE / 2;

  /**
   * Whether the peer is a current member: it counts for write concerns and is synced with. An
   * inactive peer (a discovered node whose beacons stopped) stays known, for D5.
   */
  boolean active = true;

  /** Whether the peer has told its vector since this core started (Ack or SyncRequest). */
  boolean heard;

  /** The snapshot being sent to the peer, or {@code null}. */
  @Nullable SnapshotSend snapshot;

  /** A snapshot transfer to the peer: its identity (the vector) and how far the peer confirmed. */
  static final class SnapshotSend {
    final Map<NodeId, Long> vector;
    final ChunkCursor cursor;

    SnapshotSend(Map<NodeId, Long> vector, @Nullable DocumentKey ackedKey, long nowMs) {
      this.vector = Map.copyOf(vector);
      this.cursor = new ChunkCursor(ackedKey, nowMs);
    }
  }

  long lastHeardMs = Long.MIN_VALUE / 2;

  /** Raises the known durable vector with one the peer sent; never lowers it. */
  void observe(Map<NodeId, Long> vector) {
    heard = true;
    vector.forEach((origin, sequence) -> durable.merge(origin, sequence, Math::max));
  }

  long durable(NodeId origin) {
    return durable.getOrDefault(origin, 0L);
  }

  Map<NodeId, Long> durable() {
    return durable;
  }

  /** The stream's head for an origin: never below what the peer confirmed. */
  long sent(NodeId origin) {
    return Math.max(sent.getOrDefault(origin, 0L), durable(origin));
  }

  void markSent(NodeId origin, long sequence) {
    sent.merge(origin, sequence, Math::max);
  }

  /** Forgets what was sent: the peer said what it holds, so anything beyond it was lost. */
  void resetSent() {
    sent.clear();
  }
}
