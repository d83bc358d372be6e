package io.skein.core.leader;

import io.skein.core.model.NodeId;
import java.util.ArrayList;
import java.util.List;

/**
 * The settings of a {@link LeaderCore}.
 *
 * @param nodeId this node
 * @param members the members the cluster started with, this node included unless it joins a running
 *     cluster (then it waits, never standing, until a configuration entry in the log makes it a
 *     member); a configuration entry in the log replaces them ({@link LeaderMembers})
 * @param electionIntervalMs how long a secondary waits without hearing the primary before it starts
 *     an election (the failure-detection window); lower ids wait less (see {@link
 *     #electionTimeoutMs()})
 * @param heartbeatMs how often the primary sends heartbeats
 * @param replicationTimeoutMs how long a write waits for its concern, and how long a primary keeps
 *     the role without hearing from a majority
 * @param appendEntriesMax the most entries in one append message
 * @param inflightEntriesMax the most entries sent to a follower and not yet acknowledged
 * @param pendingRequestsMax the most proposals waiting at once
 * @param startAsPrimary whether to stand for election at once ({@code --role primary})
 * @param compactEntries compact the log once it holds more than this many applied entries (issue
 *     13); {@link Long#MAX_VALUE} for never
 * @param compactBytes compact the log once its applied entries hold about this many bytes (an
 *     estimate from the entries this process wrote or received); {@link Long#MAX_VALUE} for never
 */
public record LeaderConfig(
    NodeId nodeId,
    List<NodeId> members,
    long electionIntervalMs,
    long heartbeatMs,
    long replicationTimeoutMs,
    int appendEntriesMax,
    int inflightEntriesMax,
    int pendingRequestsMax,
    boolean startAsPrimary,
    long compactEntries,
    long compactBytes) {

  /** The default compaction threshold in entries. */
  public static final long COMPACT_ENTRIES_DEFAULT = 100_000;

  /** The default compaction threshold in bytes. */
  public static final long COMPACT_BYTES_DEFAULT = 256L << 20;

  /** A config with the default compaction thresholds. */
  public LeaderConfig(
      NodeId nodeId,
      List<NodeId> members,
      long electionIntervalMs,
      long heartbeatMs,
      long replicationTimeoutMs,
      int appendEntriesMax,
      int inflightEntriesMax,
      int pendingRequestsMax,
      boolean startAsPrimary) {
    this(
        nodeId,
        members,
        electionIntervalMs,
        heartbeatMs,
        replicationTimeoutMs,
        appendEntriesMax,
        inflightEntriesMax,
        pendingRequestsMax,
        startAsPrimary,
        COMPACT_ENTRIES_DEFAULT,
        COMPACT_BYTES_DEFAULT);
  }

  /** Sorts and checks the members. */
  public LeaderConfig {
    List<NodeId> sorted = new ArrayList<>(members);
    sorted.sort(null);
    members = List.copyOf(sorted);
    if (members.isEmpty()) {
      throw new IllegalArgumentException("a cluster needs at least one member");
    }
    if (members.stream().distinct().count() != members.size()) {
      throw new IllegalArgumentException("members must be distinct: " + members);
    }
    if (electionIntervalMs < 1
        || heartbeatMs < 1
        || heartbeatMs >= electionIntervalMs
        || replicationTimeoutMs < 1
        || appendEntriesMax < 1
        || inflightEntriesMax < appendEntriesMax
        || pendingRequestsMax < 1
        || compactEntries < 1
        || compactBytes < 1) {
      throw new IllegalArgumentException(
          "invalid leader config: need 1 <= heartbeatMs < electionIntervalMs, positive bounds,"
              + " inflightEntriesMax >= appendEntriesMax");
    }
  }

  /**
   * Returns this config with new timings and everything else kept, as a {@link
   * LeaderInput.Reconfigure} carries them.
   *
   * @param electionIntervalMs the new election interval, in ms
   * @param heartbeatMs the new heartbeat interval, in ms, less than the election interval
   * @param replicationTimeoutMs the new replication timeout, in ms
   * @throws IllegalArgumentException if a value is out of the constructor's range
   */
  public LeaderConfig withTimings(
      long electionIntervalMs, long heartbeatMs, long replicationTimeoutMs) {
    return new LeaderConfig(
        nodeId,
        members,
        electionIntervalMs,
        heartbeatMs,
        replicationTimeoutMs,
        appendEntriesMax,
        inflightEntriesMax,
        pendingRequestsMax,
        startAsPrimary,
        compactEntries,
        compactBytes);
  }

  /**
   * Returns this config with other compaction thresholds.
   *
   * @param compactEntries the entry threshold, at least 1
   * @param compactBytes the byte threshold, at least 1
   */
  public LeaderConfig withCompaction(long compactEntries, long compactBytes) {
    return new LeaderConfig(
        nodeId,
        members,
        electionIntervalMs,
        heartbeatMs,
        replicationTimeoutMs,
        appendEntriesMax,
        inflightEntriesMax,
        pendingRequestsMax,
        startAsPrimary,
        compactEntries,
        compactBytes);
  }

  /** Returns how many members make a majority. */
  public int majority() {
    return members.size() / 2 + 1;
  }

  /** Returns this node's rank: 0 for the lowest id. */
  public int rank() {
    return members.indexOf(nodeId);
  }

  /**
   * Returns how long this node waits without a primary before it stands for election: the election
   * interval, plus half of it per lower-ranked member. The lowest live id therefore times out first
   * and, if its log is up to date, wins; the next one tries only if it did not.
   */
  public long electionTimeoutMs() {
    return electionIntervalMs + rank() * (electionIntervalMs / 2);
  }

  /**
   * Returns how much longer than its election timeout a member started as secondary waits before
   * its first election: two election intervals, so a member started as primary, retrying every
   * interval while its streams come up, stands first.
   */
  public long startupGraceMs() {
    return startAsPrimary ? 0 : 2 * electionIntervalMs;
  }

  /** Returns the other members. */
  public List<NodeId> peers() {
    return members.stream().filter(m -> !m.equals(nodeId)).toList();
  }
}
