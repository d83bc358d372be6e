package io.skein.core.leader;

import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import java.util.List;

/**
 * Messages between members in leader mode. Every message carries the sender's epoch: a receiver
 * with a higher epoch refuses it (fencing), one with a lower epoch adopts the higher one first.
 */
public sealed interface LeaderMessage {
  /** Returns the sender. */
  NodeId from();

  /** Returns the sender's epoch (for a pre-vote: the epoch it would stand in). */
  long epoch();

  /**
   * "Would you vote for me in {@code epoch}?" Changes no state anywhere: a node that still hears a
   * healthy primary says no, so a node that was only partitioned or paused cannot disturb it.
   *
   * @param from the would-be candidate
   * @param epoch the epoch it would stand in
   * @param lastEpoch the epoch of its last log entry
   * @param lastIndex the index of its last log entry
   */
  record PreVote(NodeId from, long epoch, long lastEpoch, long lastIndex)
      implements LeaderMessage {}

  /**
   * The answer to a {@link PreVote}.
   *
   * @param from the voter
   * @param epoch the epoch asked about
   * @param granted whether it would vote
   * @param voterEpoch the voter's own epoch (a pre-candidate behind it adopts it)
   */
  record PreVoteReply(NodeId from, long epoch, boolean granted, long voterEpoch)
      implements LeaderMessage {}

  /**
   * A vote request in a new epoch (the candidate persisted the epoch first).
   *
   * @param from the candidate
   * @param epoch the new epoch
   * @param lastEpoch the epoch of its last log entry
   * @param lastIndex the index of its last log entry
   */
  record Vote(NodeId from, long epoch, long lastEpoch, long lastIndex) implements LeaderMessage {}

  /**
   * The answer to a {@link Vote}; a grant was persisted before it was sent.
   *
   * @param from the voter
   * @param epoch the voter's epoch
   * @param granted whether it voted for the candidate
   */
  record VoteReply(NodeId from, long epoch, boolean granted) implements LeaderMessage {}

  /**
   * Entries (or none: a heartbeat) from the primary, after {@code prevIndex}.
   *
   * @param from the primary
   * @param epoch its epoch
   * @param prevIndex the index before the first entry
   * @param prevEpoch the epoch of the entry at {@code prevIndex} (0 if 0)
   * @param entries consecutive entries from {@code prevIndex + 1}
   * @param openIndexes the indexes among {@code entries} that do not end their write: a batch is
   *     several entries, and only its last ends it (commit and truncation respect that, so a batch
   *     is never committed in part)
   * @param commitIndex the primary's commit index
   * @param round the primary's heartbeat round, echoed back (confirms leadership for reads)
   */
  record Append(
      NodeId from,
      long epoch,
      long prevIndex,
      long prevEpoch,
      List<OplogEntry> entries,
      List<Long> openIndexes,
      long commitIndex,
      long round)
      implements LeaderMessage {
    /** Copies the lists, keeping only the open indexes that fall among the entries. */
    public Append {
      entries = List.copyOf(entries);
      long first = prevIndex + 1;
      long last = prevIndex + entries.size();
      openIndexes =
          openIndexes.stream().filter(i -> i >= first && i <= last).sorted().distinct().toList();
    }

    /** An append whose entries each end their write (and a heartbeat, which has none). */
    public Append(
        NodeId from,
        long epoch,
        long prevIndex,
        long prevEpoch,
        List<OplogEntry> entries,
        long commitIndex,
        long round) {
      this(from, epoch, prevIndex, prevEpoch, entries, List.of(), commitIndex, round);
    }

    /** Returns this append with other entries after another {@code (prevIndex, prevEpoch)}. */
    public Append withEntries(long prevIndex, long prevEpoch, List<OplogEntry> entries) {
      return new Append(
          from, epoch, prevIndex, prevEpoch, entries, openIndexes, commitIndex, round);
    }
  }

  /**
   * The answer to an {@link Append}, sent after the entries are durable.
   *
   * @param from the follower
   * @param epoch the follower's epoch
   * @param success whether the log matched at {@code prevIndex}
   * @param index on success the highest index known to match; on failure where the primary should
   *     try next (the follower's hint)
   * @param round the round of the append answered
   */
  record AppendReply(NodeId from, long epoch, boolean success, long index, long round)
      implements LeaderMessage {}
}
