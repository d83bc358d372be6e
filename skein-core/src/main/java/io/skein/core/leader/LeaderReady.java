package io.skein.core.leader;

import io.skein.core.hlc.Hlc;
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
 *   <li>Send {@code messages} (they may promise what step 1 made durable).
 *   <li>Do {@code loads} and hand each back with {@link LeaderInput.Loaded}.
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
    @Nullable LeaderMembers members) {

  /** Copies the lists. */
  public LeaderReady {
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
}
