package io.skein.core.leader;

import io.skein.core.hlc.Hlc;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.replica.Reply;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The work a {@link LeaderCore} hands to its shell. In this order:
 *
 * <ol>
 *   <li>In one transaction: persist {@code hardState} if present (epoch and vote, before any
 *       message that depends on them leaves), remove the log from {@code truncateFrom} on if it is
 *       not 0 (those entries were never committed: move their documents to {@code
 *       _system_rollback}, never drop them), and append {@code entriesToAppend}. Report {@link
 *       LeaderInput.Persisted}. If this fails the node must stop: a member that cannot keep its log
 *       must not vote or acknowledge.
 *   <li>Apply the log up to {@code commitIndex} to the documents.
 *   <li>Deliver {@code replies} and {@code readReplies}.
 *   <li>If {@code install} is present, after step 1: apply its documents by last-write-wins and
 *       record the transfer's progress, in one transaction; for the last chunk also make the log
 *       start after the snapshot's index (see {@link SnapshotInstall}). Report {@link
 *       LeaderInput.SnapshotInstalled}.
 *   <li>Apply the log up to {@code commitIndex} to the documents, and report how far with {@link
 *       LeaderInput.Applied}.
 *   <li>Deliver {@code replies} and {@code readReplies}.
 *   <li>Send {@code messages} (they may promise what step 1 made durable).
 *   <li>Do {@code loads} and hand each back with {@link LeaderInput.Loaded}; do {@code
 *       snapshotReads} (the documents in key order after a key, from the applied state) and hand
 *       each back with {@link LeaderInput.SnapshotLoaded}.
 *   <li>Last, if {@code compaction} is present: remove the log up to its index (every entry of it
 *       is applied) and record the snapshot's index, epoch and configuration.
 * </ol>
 *
 * @param hardState the epoch and vote to persist, or {@code null} if unchanged
 * @param truncateFrom the first index to remove from the log, or 0
 * @param entriesToAppend entries to append, consecutive after the log's end (after truncation)
 * @param openToAppend the indexes among {@code entriesToAppend} that do not end their write, to be
 *     persisted with them (commit and truncation must know batch ends after a restart)
 * @param hlcHighWater the clock's last timestamp
 * @param commitIndex the highest committed index
 * @param replies answers to proposals
 * @param readReplies answers to strong reads
 * @param messages messages to send
 * @param loads log reads for followers
 * @param leadership a leadership change to announce, or {@code null}
 * @param members the configuration in force, if it changed since the last ready (the first ready
 *     always carries it), or {@code null}: the shell dials its members
 * @param snapshotReads snapshot chunks to read for followers behind the compacted log
 * @param install a snapshot chunk to install, or {@code null}
 * @param compaction the applied prefix of the log to remove, or {@code null}
 */
public record LeaderReady(
    @Nullable HardState hardState,
    long truncateFrom,
    List<OplogEntry> entriesToAppend,
    List<Long> openToAppend,
    Hlc hlcHighWater,
    long commitIndex,
    List<Reply> replies,
    List<ReadReply> readReplies,
    List<Outgoing> messages,
    List<LogRead> loads,
    @Nullable LeadershipChanged leadership,
    @Nullable LeaderMembers members,
    List<SnapshotRead> snapshotReads,
    @Nullable SnapshotInstall install,
    @Nullable Compaction compaction) {

  /** Copies the lists. */
  public LeaderReady {
    snapshotReads = List.copyOf(snapshotReads);
    entriesToAppend = List.copyOf(entriesToAppend);
    openToAppend = List.copyOf(openToAppend);
    replies = List.copyOf(replies);
    readReplies = List.copyOf(readReplies);
    messages = List.copyOf(messages);
    loads = List.copyOf(loads);
  }

  /**
   * The durable part of an election.
   *
   * @param epoch the current epoch
   * @param votedFor the vote cast in it, or {@code null}
   */
  public record HardState(long epoch, @Nullable NodeId votedFor) {}

  /**
   * A message and its destination.
   *
   * @param to the member
   * @param message the message
   */
  public record Outgoing(NodeId to, LeaderMessage message) {}

  /**
   * A log read for a follower.
   *
   * @param peer the follower
   * @param fromIndex the first index
   * @param limit the most entries
   */
  public record LogRead(NodeId peer, long fromIndex, int limit) {}

  /**
   * The answer to a strong read.
   *
   * @param requestId the read's id
   * @param readIndex the commit index the read must see, or -1 if this node is not primary
   * @param leader the primary this node knows of, or {@code null}
   */
  public record ReadReply(long requestId, long readIndex, @Nullable NodeId leader) {}

  /**
   * This node's view of leadership changed.
   *
   * @param isLeader whether this node is now primary
   * @param leader the primary, or {@code null} if none is known
   * @param epoch the epoch
   */
  public record LeadershipChanged(boolean isLeader, @Nullable NodeId leader, long epoch) {}

  /**
   * A snapshot chunk to read for a follower: up to {@code limit} documents in key order after
   * {@code afterKey}, with their winning entries (tombstones included), from the applied state
   * (which includes at least every entry up to {@code index}). The same chunk cursor as dynamo
   * mode's ({@link io.skein.core.replica.ChunkCursor}).
   *
   * @param peer the follower
   * @param index the snapshot's index
   * @param afterKey the key to start after, or {@code null} for the first
   * @param limit the most documents
   */
  public record SnapshotRead(NodeId peer, long index, @Nullable DocumentKey afterKey, int limit) {}

  /**
   * A snapshot chunk to install. Its documents apply by last-write-wins (they are committed state,
   * so this never undoes anything) in one transaction with the transfer's progress ({@code index},
   * {@code lastKey}: a restart resumes after it). For the last chunk the same transaction makes the
   * log start after {@code index}: with {@code keepLog} it removes the entries up to {@code index}
   * (the log holds that entry in that epoch, so what follows it stays valid); without, it removes
   * the whole log. Either way it records {@code index}, {@code indexEpoch} and the configuration as
   * the snapshot the log starts after, and the applied index becomes at least {@code index}.
   *
   * @param source the primary that sent it
   * @param index the snapshot's index
   * @param indexEpoch the epoch of the entry at {@code index}
   * @param membersIndex the index of the configuration in force at {@code index} (0: configured)
   * @param members that configuration, or {@code null} when {@code membersIndex} is 0
   * @param documents the documents' winning entries
   * @param lastKey the last key the chunk covers
   * @param done whether this is the last chunk
   * @param keepLog for the last chunk, whether the log's suffix after {@code index} stays
   */
  public record SnapshotInstall(
      NodeId source,
      long index,
      long indexEpoch,
      long membersIndex,
      @Nullable LeaderMembers members,
      List<OplogEntry> documents,
      @Nullable DocumentKey lastKey,
      boolean done,
      boolean keepLog) {
    /** Copies the list. */
    public SnapshotInstall {
      documents = List.copyOf(documents);
    }
  }

  /**
   * The log up to {@code index} may go (issue 13): every entry up to it is applied, and the
   * documents stand for it. The shell removes those entries and records {@code index}, its epoch
   * and the configuration in force there, so that log matching at {@code index} and recovery still
   * work.
   *
   * @param index the last index removed
   * @param epoch the epoch of the entry at {@code index}
   * @param membersIndex the index of the configuration in force at {@code index} (0: configured)
   * @param members that configuration, or {@code null} when {@code membersIndex} is 0
   */
  public record Compaction(
      long index, long epoch, long membersIndex, @Nullable LeaderMembers members) {}
}
