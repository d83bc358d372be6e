package io.skein.core.leader;

import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import java.util.List;
import org.jspecify.annotations.Nullable;

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

  /**
   * A chunk of a snapshot (issue 13), from a primary to a follower that needs entries the primary
   * compacted away: the documents in key order after {@code afterKey}, as the primary's applied
   * state holds them. Chunks go one at a time, each after the {@link SnapshotReply} of the one
   * before. The state they carry includes at least every entry up to {@code index} (it may include
   * later committed entries too: documents apply by last-write-wins, so applying those again from
   * the log changes nothing).
   *
   * @param from the primary
   * @param epoch its epoch
   * @param index the log index the snapshot stands for: once the last chunk is applied, the
   *     follower's log continues after it
   * @param indexEpoch the epoch of the entry at {@code index}
   * @param membersIndex the index of the configuration in force at {@code index} (0: the configured
   *     members)
   * @param members that configuration, or {@code null} when {@code membersIndex} is 0
   * @param afterKey the key the chunk starts after, or {@code null} for the first chunk
   * @param documents the documents' winning entries, tombstones included
   * @param lastKey the last key the chunk covers, or {@code null} if none
   * @param done whether this is the last chunk
   */
  record Snapshot(
      NodeId from,
      long epoch,
      long index,
      long indexEpoch,
      long membersIndex,
      @Nullable LeaderMembers members,
      @Nullable DocumentKey afterKey,
      List<OplogEntry> documents,
      @Nullable DocumentKey lastKey,
      boolean done)
      implements LeaderMessage {
    /** Copies the list and checks the fields. */
    public Snapshot {
      documents = List.copyOf(documents);
      if (index < 1 || indexEpoch < 1 || membersIndex < 0 || membersIndex > index) {
        throw new IllegalArgumentException(
            "snapshot at index " + index + " epoch " + indexEpoch + " members " + membersIndex);
      }
      if ((membersIndex == 0) != (members == null)) {
        throw new IllegalArgumentException(
            "a snapshot carries a configuration exactly when its index is not 0");
      }
    }
  }

  /**
   * The answer to a {@link Snapshot} chunk, sent once it is durable, or to say where this follower
   * is (a chunk it could not take: out of order, or from a transfer it has no record of).
   *
   * @param from the follower
   * @param epoch the follower's epoch
   * @param index the snapshot the follower is receiving
   * @param lastKey the last key it applied of that snapshot, or {@code null} if none yet
   * @param done whether the whole snapshot is applied: the follower's log now continues after
   *     {@code index}
   */
  record SnapshotReply(
      NodeId from, long epoch, long index, @Nullable DocumentKey lastKey, boolean done)
      implements LeaderMessage {}
}
