package io.skein.core.replica;

import io.skein.core.model.NodeId;
import java.util.HashMap;
import java.util.Map;

/**
 * What a core knows of one peer: the entries the peer said it holds durably, and when it last asked
 * the peer for anti-entropy. Package-private: only {@link ReplicaCore} uses it.
 */
final class PeerProgress {
  private final Map<NodeId, Long> durable = new HashMap<>();
  long lastSyncSentMs = Long.MIN_VALUE / 2;
  long lastHeardMs = Long.MIN_VALUE / 2;

  /** Raises the known durable vector with one the peer sent; never lowers it. */
  void observe(Map<NodeId, Long> vector) {
    vector.forEach((origin, sequence) -> durable.merge(origin, sequence, Math::max));
  }

  long durable(NodeId origin) {
    return durable.getOrDefault(origin, 0L);
  }

  Map<NodeId, Long> durable() {
    return durable;
  }
}
