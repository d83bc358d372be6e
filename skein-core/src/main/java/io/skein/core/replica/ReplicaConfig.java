package io.skein.core.replica;

import io.skein.core.model.NodeId;
import java.util.List;

/**
 * The settings of a {@link ReplicaCore}.
 *
 * @param nodeId this node's id, the origin of its entries
 * @param maxClockOffsetMs how far ahead a remote HLC may be before it is refused (D4), in ms
 * @param pendingRequestsMax how many proposals may wait for persistence at once; more are rejected
 *     with {@code overloaded}
 * @param batchOpsMax the most mutations in one proposal
 * @param peers the other members (multi-writer replication); empty for a single node
 * @param syncIntervalMs how often anti-entropy asks each peer for what is missing, in ms
 * @param replicationTimeoutMs how long a write waits for its concern, in ms (D2)
 * @param pushEntriesMax the most entries in one push message
 * @param retentionMs how long oplog entries are kept, in ms; 0 keeps them for ever (D5)
 * @param snapshotDocsMax the most documents scanned for one snapshot chunk
 */
public record ReplicaConfig(
    NodeId nodeId,
    long maxClockOffsetMs,
    int pendingRequestsMax,
    int batchOpsMax,
    List<NodeId> peers,
    long syncIntervalMs,
    long replicationTimeoutMs,
    int pushEntriesMax,
    long retentionMs,
    int snapshotDocsMax) {
  /** The default anti-entropy interval, 2 s (the seed's sync interval). */
  public static final long SYNC_INTERVAL_MS_DEFAULT = 2_000;

  /** The default replication timeout, 2 s (DESIGN.md). */
  public static final long REPLICATION_TIMEOUT_MS_DEFAULT = 2_000;

  /** The default bound on entries per push. */
  public static final int PUSH_ENTRIES_MAX_DEFAULT = 512;

  /** The default bound on documents per snapshot chunk. */
  public static final int SNAPSHOT_DOCS_MAX_DEFAULT = 256;

  /** A config that keeps its oplog for ever. */
  public ReplicaConfig(
      NodeId nodeId,
      long maxClockOffsetMs,
      int pendingRequestsMax,
      int batchOpsMax,
      List<NodeId> peers,
      long syncIntervalMs,
      long replicationTimeoutMs,
      int pushEntriesMax) {
    this(
        nodeId,
        maxClockOffsetMs,
        pendingRequestsMax,
        batchOpsMax,
        peers,
        syncIntervalMs,
        replicationTimeoutMs,
        pushEntriesMax,
        0,
        SNAPSHOT_DOCS_MAX_DEFAULT);
  }

  /** A single node's config: no peers, default timings. */
  public ReplicaConfig(
      NodeId nodeId, long maxClockOffsetMs, int pendingRequestsMax, int batchOpsMax) {
    this(
        nodeId,
        maxClockOffsetMs,
        pendingRequestsMax,
        batchOpsMax,
        List.of(),
        SYNC_INTERVAL_MS_DEFAULT,
        REPLICATION_TIMEOUT_MS_DEFAULT,
        PUSH_ENTRIES_MAX_DEFAULT);
  }

  /** The default max clock offset, 500 ms (DESIGN.md "Defaults and limits"). */
  public static final long MAX_CLOCK_OFFSET_MS_DEFAULT = 500;

  /** The default bound on pending proposals. */
  public static final int PENDING_REQUESTS_MAX_DEFAULT = 16_384;

  /** The default bound on mutations per proposal, 10,000 (DESIGN.md). */
  public static final int BATCH_OPS_MAX_DEFAULT = 10_000;

  /** Validates the bounds and copies the peer list. */
  public ReplicaConfig {
    if (maxClockOffsetMs < 0 || pendingRequestsMax < 1 || batchOpsMax < 1) {
      throw new IllegalArgumentException(
          "invalid replica config: maxClockOffsetMs >= 0, pendingRequestsMax >= 1 and"
              + " batchOpsMax >= 1 are required");
    }
    if (retentionMs < 0 || snapshotDocsMax < 1) {
      throw new IllegalArgumentException(
          "invalid replica config: retentionMs >= 0 and snapshotDocsMax >= 1 are required");
    }
    if (syncIntervalMs < 1 || replicationTimeoutMs < 1 || pushEntriesMax < 1) {
      throw new IllegalArgumentException(
          "invalid replica config: syncIntervalMs, replicationTimeoutMs and pushEntriesMax must"
              + " be >= 1");
    }
    peers = List.copyOf(peers);
    if (peers.contains(nodeId) || peers.stream().distinct().count() != peers.size()) {
      throw new IllegalArgumentException("peers must be distinct and exclude the node itself");
    }
  }

  /**
   * Returns this config with new timings and everything else kept, as an {@link Input.Reconfigure}
   * carries them.
   *
   * @param syncIntervalMs the new anti-entropy interval, in ms
   * @param replicationTimeoutMs the new replication timeout, in ms
   * @param retentionMs the new oplog retention, in ms; 0 keeps entries for ever
   * @throws IllegalArgumentException if a value is out of the constructor's range
   */
  public ReplicaConfig withTimings(
      long syncIntervalMs, long replicationTimeoutMs, long retentionMs) {
    return new ReplicaConfig(
        nodeId,
        maxClockOffsetMs,
        pendingRequestsMax,
        batchOpsMax,
        peers,
        syncIntervalMs,
        replicationTimeoutMs,
        pushEntriesMax,
        retentionMs,
        snapshotDocsMax);
  }

  /** Returns how often retention runs: a tenth of the window, at least every second. */
  public long pruneIntervalMs() {
    return Math.max(1_000, retentionMs / 10);
  }

  /** Returns the number of members: this node and its peers. */
  public int members() {
    return peers.size() + 1;
  }

  /** Returns the defaults for a node. */
  public static ReplicaConfig defaults(NodeId nodeId) {
    return new ReplicaConfig(
        nodeId, MAX_CLOCK_OFFSET_MS_DEFAULT, PENDING_REQUESTS_MAX_DEFAULT, BATCH_OPS_MAX_DEFAULT);
  }
}
