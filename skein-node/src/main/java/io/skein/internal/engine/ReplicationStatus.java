package io.skein.internal.engine;

import io.skein.core.model.NodeId;
import java.util.Map;

/**
 * A snapshot of a node's replication state, published by the event loop.
 *
 * @param durable the highest sequence of each origin durable here
 * @param lagEntries per peer, how many entries held here the peer has not confirmed
 * @param refusedEntries remote entries refused for an HLC beyond the max offset
 */
public record ReplicationStatus(
    Map<NodeId, Long> durable,
    Map<NodeId, Long> lagEntries,
    Map<NodeId, Long> ownLagEntries,
    long refusedEntries) {
  /** Copies the maps. */
  public ReplicationStatus {
    durable = Map.copyOf(durable);
    lagEntries = Map.copyOf(lagEntries);
    ownLagEntries = Map.copyOf(ownLagEntries);
  }

  /** A status without per-origin lag (leader mode, where the log orders everything). */
  public ReplicationStatus(
      Map<NodeId, Long> durable, Map<NodeId, Long> lagEntries, long refusedEntries) {
    this(durable, lagEntries, lagEntries, refusedEntries);
  }
}
