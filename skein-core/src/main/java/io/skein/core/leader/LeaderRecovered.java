package io.skein.core.leader;

import io.skein.core.hlc.Hlc;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What a {@link LeaderCore} needs from durable storage to resume.
 *
 * @param epoch the highest epoch this node persisted
 * @param votedFor whom it voted for in that epoch, or {@code null}
 * @param lastIndex the last index in its log (0 if empty)
 * @param epochStarts for each epoch present in the log, its first index (firstIndex to epoch)
 * @param commitIndex the highest index it knows committed (0 if unknown; it is recomputed)
 * @param hlcHighWater the highest timestamp persisted
 * @param openIndexes the indexes above {@code commitIndex} whose entries do not end their write
 *     (the non-final entries of a batch)
 * @param configurations the configuration entries in its log ({@link LeaderMembers#COLLECTION}), by
 *     index: at least the last one at or below {@code commitIndex} and every one above it
 * @param snapshotIndex the index the log starts after (0: the log was never compacted); every entry
 *     up to it is applied
 * @param snapshotEpoch the epoch of the entry at {@code snapshotIndex} (0 when that is 0)
 * @param receiving a snapshot transfer this node was receiving, or {@code null}
 */
public record LeaderRecovered(
    long epoch,
    @Nullable NodeId votedFor,
    long lastIndex,
    Map<Long, Long> epochStarts,
    long commitIndex,
    Hlc hlcHighWater,
    java.util.Set<Long> openIndexes,
    Map<Long, LeaderMembers> configurations,
    long snapshotIndex,
    long snapshotEpoch,
    @Nullable Receiving receiving) {
  /** A node that never ran. */
  public static final LeaderRecovered EMPTY =
      new LeaderRecovered(0, null, 0, Map.of(), 0, Hlc.ZERO);

  /** Copies the collections. */
  public LeaderRecovered {
    epochStarts = Map.copyOf(epochStarts);
    openIndexes = java.util.Set.copyOf(openIndexes);
    configurations = Map.copyOf(configurations);
    if (snapshotIndex < 0 || lastIndex < snapshotIndex) {
      throw new IllegalArgumentException(
          "snapshot index " + snapshotIndex + " beyond the last index " + lastIndex);
    }
  }

  /**
   * A snapshot transfer under way: the snapshot's index and the last key applied of it.
   *
   * @param index the snapshot's index
   * @param lastKey the last key applied, or {@code null}
   */
  public record Receiving(long index, @Nullable DocumentKey lastKey) {}

  /** A log that was never compacted. */
  public LeaderRecovered(
      long epoch,
      @Nullable NodeId votedFor,
      long lastIndex,
      Map<Long, Long> epochStarts,
      long commitIndex,
      Hlc hlcHighWater,
      java.util.Set<Long> openIndexes,
      Map<Long, LeaderMembers> configurations) {
    this(
        epoch,
        votedFor,
        lastIndex,
        epochStarts,
        commitIndex,
        hlcHighWater,
        openIndexes,
        configurations,
        0,
        0,
        null);
  }

  /** A log without configuration entries: its members are the configured ones. */
  public LeaderRecovered(
      long epoch,
      @Nullable NodeId votedFor,
      long lastIndex,
      Map<Long, Long> epochStarts,
      long commitIndex,
      Hlc hlcHighWater,
      java.util.Set<Long> openIndexes) {
    this(epoch, votedFor, lastIndex, epochStarts, commitIndex, hlcHighWater, openIndexes, Map.of());
  }

  /** A log in which every entry ends its write. */
  public LeaderRecovered(
      long epoch,
      @Nullable NodeId votedFor,
      long lastIndex,
      Map<Long, Long> epochStarts,
      long commitIndex,
      Hlc hlcHighWater) {
    this(epoch, votedFor, lastIndex, epochStarts, commitIndex, hlcHighWater, java.util.Set.of());
  }
}
