package io.skein.core.leader;

import io.skein.core.hlc.Hlc;
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
 */
public record LeaderRecovered(
    long epoch,
    @Nullable NodeId votedFor,
    long lastIndex,
    Map<Long, Long> epochStarts,
    long commitIndex,
    Hlc hlcHighWater,
    java.util.Set<Long> openIndexes,
    Map<Long, LeaderMembers> configurations) {
  /** A node that never ran. */
  public static final LeaderRecovered EMPTY =
      new LeaderRecovered(0, null, 0, Map.of(), 0, Hlc.ZERO);

  /** Copies the collections. */
  public LeaderRecovered {
    epochStarts = Map.copyOf(epochStarts);
    openIndexes = java.util.Set.copyOf(openIndexes);
    configurations = Map.copyOf(configurations);
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
