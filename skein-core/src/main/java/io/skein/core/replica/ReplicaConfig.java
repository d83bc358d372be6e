package io.skein.core.replica;

import io.skein.core.model.NodeId;

/**
 * The settings of a {@link ReplicaCore}.
 *
 * @param nodeId this node's id, the origin of its entries
 * @param maxClockOffsetMs how far ahead a remote HLC may be before it is refused (D4), in ms
 * @param pendingRequestsMax how many proposals may wait for persistence at once; more are rejected
 *     with {@code overloaded}
 * @param batchOpsMax the most mutations in one proposal
 */
public record ReplicaConfig(
    NodeId nodeId, long maxClockOffsetMs, int pendingRequestsMax, int batchOpsMax) {
  /** The default max clock offset, 500 ms (DESIGN.md "Defaults and limits"). */
  public static final long MAX_CLOCK_OFFSET_MS_DEFAULT = 500;

  /** The default bound on pending proposals. */
  public static final int PENDING_REQUESTS_MAX_DEFAULT = 16_384;

  /** The default bound on mutations per proposal, 10,000 (DESIGN.md). */
  public static final int BATCH_OPS_MAX_DEFAULT = 10_000;

  /** Validates the bounds. */
  public ReplicaConfig {
    if (maxClockOffsetMs < 0 || pendingRequestsMax < 1 || batchOpsMax < 1) {
      throw new IllegalArgumentException(
          "invalid replica config: maxClockOffsetMs >= 0, pendingRequestsMax >= 1 and"
              + " batchOpsMax >= 1 are required");
    }
  }

  /** Returns the defaults for a node. */
  public static ReplicaConfig defaults(NodeId nodeId) {
    return new ReplicaConfig(
        nodeId, MAX_CLOCK_OFFSET_MS_DEFAULT, PENDING_REQUESTS_MAX_DEFAULT, BATCH_OPS_MAX_DEFAULT);
  }
}
