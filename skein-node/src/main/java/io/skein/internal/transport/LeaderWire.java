package io.skein.internal.transport;

import io.skein.core.leader.LeaderMessage;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import io.skein.internal.transport.proto.Entry;
import io.skein.internal.transport.proto.Frame;
import io.skein.internal.transport.proto.LeaderAppend;
import io.skein.internal.transport.proto.LeaderAppendReply;
import io.skein.internal.transport.proto.LeaderPreVote;
import io.skein.internal.transport.proto.LeaderPreVoteReply;
import io.skein.internal.transport.proto.LeaderSnapshot;
import io.skein.internal.transport.proto.LeaderSnapshotReply;
import io.skein.internal.transport.proto.LeaderVote;
import io.skein.internal.transport.proto.LeaderVoteReply;
import java.util.ArrayList;
import java.util.List;

/**
 * Maps leader-mode {@link LeaderMessage}s to wire {@link Frame}s and back (leader mode, issue 4).
 * Decoding validates every field and every entry's checksum, and refuses appends whose entries are
 * not consecutive after {@code prevIndex} or carry an epoch above the message's.
 */
public final class LeaderWire {
  private LeaderWire() {}

  /** Encodes a leader message. */
  public static Frame toFrame(LeaderMessage message) {
    Frame.Builder frame = Frame.newBuilder();
    switch (message) {
      case LeaderMessage.PreVote m ->
          frame.setLeaderPreVote(
              LeaderPreVote.newBuilder()
                  .setFrom(m.from().value())
                  .setEpoch(m.epoch())
                  .setLastEpoch(m.lastEpoch())
                  .setLastIndex(m.lastIndex()));
      case LeaderMessage.PreVoteReply m ->
          frame.setLeaderPreVoteReply(
              LeaderPreVoteReply.newBuilder()
                  .setFrom(m.from().value())
                  .setEpoch(m.epoch())
                  .setGranted(m.granted())
                  .setVoterEpoch(m.voterEpoch()));
      case LeaderMessage.Vote m ->
          frame.setLeaderVote(
              LeaderVote.newBuilder()
                  .setFrom(m.from().value())
                  .setEpoch(m.epoch())
                  .setLastEpoch(m.lastEpoch())
                  .setLastIndex(m.lastIndex()));
      case LeaderMessage.VoteReply m ->
          frame.setLeaderVoteReply(
              LeaderVoteReply.newBuilder()
                  .setFrom(m.from().value())
                  .setEpoch(m.epoch())
                  .setGranted(m.granted()));
      case LeaderMessage.Append m ->
          frame.setLeaderAppend(
              LeaderAppend.newBuilder()
                  .setFrom(m.from().value())
                  .setEpoch(m.epoch())
                  .setPrevIndex(m.prevIndex())
                  .setPrevEpoch(m.prevEpoch())
                  .addAllEntries(m.entries().stream().map(WireMessages::entry).toList())
                  .addAllOpenIndexes(m.openIndexes())
                  .setCommitIndex(m.commitIndex())
                  .setRound(m.round()));
      case LeaderMessage.AppendReply m ->
          frame.setLeaderAppendReply(
              LeaderAppendReply.newBuilder()
                  .setFrom(m.from().value())
                  .setEpoch(m.epoch())
                  .setSuccess(m.success())
                  .setIndex(m.index())
                  .setRound(m.round()));
      case LeaderMessage.Snapshot m -> {
        LeaderSnapshot.Builder b =
            LeaderSnapshot.newBuilder()
                .setFrom(m.from().value())
                .setEpoch(m.epoch())
                .setIndex(m.index())
                .setIndexEpoch(m.indexEpoch())
                .setMembersIndex(m.membersIndex())
                .addAllDocuments(m.documents().stream().map(WireMessages::entry).toList())
                .setDone(m.done());
        io.skein.core.leader.LeaderMembers members = m.members();
        if (members != null) {
          b.setMembers(members.toDocument());
        }
        io.skein.core.model.DocumentKey after = m.afterKey();
        if (after != null) {
          b.setAfterKey(WireMessages.key(after));
        }
        io.skein.core.model.DocumentKey last = m.lastKey();
        if (last != null) {
          b.setLastKey(WireMessages.key(last));
        }
        frame.setLeaderSnapshot(b);
      }
      case LeaderMessage.SnapshotReply m -> {
        LeaderSnapshotReply.Builder b =
            LeaderSnapshotReply.newBuilder()
                .setFrom(m.from().value())
                .setEpoch(m.epoch())
                .setIndex(m.index())
                .setDone(m.done());
        io.skein.core.model.DocumentKey last = m.lastKey();
        if (last != null) {
          b.setLastKey(WireMessages.key(last));
        }
        frame.setLeaderSnapshotReply(b);
      }
    }
    return frame.build();
  }

  /**
   * Encodes a leader message as one or more frames whose payloads fit {@code payloadBytesMax}: an
   * append too large for one frame is split into consecutive appends, each with the {@code
   * (prevIndex, prevEpoch)} of the entry before it. A follower takes them as separate appends, and
   * its commit index never passes the last entry it holds, so a split changes nothing it decides.
   *
   * @throws IllegalArgumentException if a single entry is larger than the limit
   */
  public static List<Frame> toFrames(LeaderMessage message, int payloadBytesMax) {
    if (!(message instanceof LeaderMessage.Append append)) {
      return List.of(toFrame(message));
    }
    int base =
        toFrame(append.withEntries(append.prevIndex(), append.prevEpoch(), List.of()))
                .getSerializedSize()
            + 16;
    List<Frame> frames = new ArrayList<>();
    List<OplogEntry> run = new ArrayList<>();
    long prevIndex = append.prevIndex();
    long prevEpoch = append.prevEpoch();
    int size = base;
    for (OplogEntry e : append.entries()) {
      int entryBytes = WireMessages.entry(e).getSerializedSize() + 6;
      if (base + entryBytes > payloadBytesMax) {
        throw new IllegalArgumentException(
            "log entry "
                + e.index()
                + " needs "
                + entryBytes
                + " bytes; the frame limit is "
                + payloadBytesMax);
      }
      if (size + entryBytes > payloadBytesMax && !run.isEmpty()) {
        frames.add(toFrame(append.withEntries(prevIndex, prevEpoch, run)));
        OplogEntry last = run.get(run.size() - 1);
        prevIndex = last.index();
        prevEpoch = last.epoch();
        run = new ArrayList<>();
        size = base;
      }
      run.add(e);
      size += entryBytes;
    }
    frames.add(toFrame(append.withEntries(prevIndex, prevEpoch, run)));
    return frames;
  }

  /** A rough size of a leader message in memory, for the send queues' byte bounds. */
  static long estimateBytes(LeaderMessage message) {
    return WireMessages.estimateBytes(
        switch (message) {
          case LeaderMessage.Append append -> append.entries();
          case LeaderMessage.Snapshot chunk -> chunk.documents();
          default -> List.of();
        });
  }

  /** Whether a frame carries a leader message. */
  public static boolean isLeaderFrame(Frame frame) {
    return switch (frame.getBodyCase()) {
      case LEADER_PRE_VOTE,
          LEADER_PRE_VOTE_REPLY,
          LEADER_VOTE,
          LEADER_VOTE_REPLY,
          LEADER_APPEND,
          LEADER_APPEND_REPLY,
          LEADER_SNAPSHOT,
          LEADER_SNAPSHOT_REPLY ->
          true;
      default -> false;
    };
  }

  /**
   * Decodes a leader message.
   *
   * @throws FrameException if the frame is not a leader message or a field is invalid
   */
  public static LeaderMessage fromFrame(Frame frame) throws FrameException {
    try {
      return switch (frame.getBodyCase()) {
        case LEADER_PRE_VOTE -> {
          LeaderPreVote m = frame.getLeaderPreVote();
          yield new LeaderMessage.PreVote(
              NodeId.of(m.getFrom()), m.getEpoch(), m.getLastEpoch(), m.getLastIndex());
        }
        case LEADER_PRE_VOTE_REPLY -> {
          LeaderPreVoteReply m = frame.getLeaderPreVoteReply();
          yield new LeaderMessage.PreVoteReply(
              NodeId.of(m.getFrom()), m.getEpoch(), m.getGranted(), m.getVoterEpoch());
        }
        case LEADER_VOTE -> {
          LeaderVote m = frame.getLeaderVote();
          yield new LeaderMessage.Vote(
              NodeId.of(m.getFrom()), m.getEpoch(), m.getLastEpoch(), m.getLastIndex());
        }
        case LEADER_VOTE_REPLY -> {
          LeaderVoteReply m = frame.getLeaderVoteReply();
          yield new LeaderMessage.VoteReply(NodeId.of(m.getFrom()), m.getEpoch(), m.getGranted());
        }
        case LEADER_APPEND -> append(frame.getLeaderAppend());
        case LEADER_SNAPSHOT -> snapshot(frame.getLeaderSnapshot());
        case LEADER_SNAPSHOT_REPLY -> {
          LeaderSnapshotReply m = frame.getLeaderSnapshotReply();
          yield new LeaderMessage.SnapshotReply(
              NodeId.of(m.getFrom()),
              m.getEpoch(),
              m.getIndex(),
              m.hasLastKey() ? WireMessages.key(m.getLastKey()) : null,
              m.getDone());
        }
        case LEADER_APPEND_REPLY -> {
          LeaderAppendReply m = frame.getLeaderAppendReply();
          yield new LeaderMessage.AppendReply(
              NodeId.of(m.getFrom()), m.getEpoch(), m.getSuccess(), m.getIndex(), m.getRound());
        }
        default ->
            throw new FrameException(
                FrameException.Reason.MALFORMED,
                "expected a leader message, got " + frame.getBodyCase());
      };
    } catch (IllegalArgumentException e) {
      throw new FrameException(
          FrameException.Reason.MALFORMED, "invalid field: " + e.getMessage(), e);
    }
  }

  private static LeaderMessage snapshot(LeaderSnapshot m) throws FrameException {
    List<OplogEntry> documents = new ArrayList<>(m.getDocumentsCount());
    io.skein.core.model.DocumentKey previous =
        m.hasAfterKey() ? WireMessages.key(m.getAfterKey()) : null;
    for (Entry wire : m.getDocumentsList()) {
      OplogEntry document = WireMessages.entry(wire);
      if (!document.isIntact()) {
        throw new FrameException(
            FrameException.Reason.CHECKSUM,
            "snapshot document "
                + document.collection()
                + "/"
                + document.id()
                + " fails its"
                + " checksum");
      }
      io.skein.core.model.DocumentKey key =
          new io.skein.core.model.DocumentKey(document.collection(), document.id());
      if (previous != null && key.compareTo(previous) <= 0) {
        throw new FrameException(
            FrameException.Reason.MALFORMED,
            "snapshot documents out of key order at " + key.collection() + "/" + key.id());
      }
      previous = key;
      documents.add(document);
    }
    io.skein.core.leader.LeaderMembers members = null;
    if (m.hasMembers()) {
      members = io.skein.core.leader.LeaderMembers.parse(m.getMembers());
    }
    return new LeaderMessage.Snapshot(
        NodeId.of(m.getFrom()),
        m.getEpoch(),
        m.getIndex(),
        m.getIndexEpoch(),
        m.getMembersIndex(),
        members,
        m.hasAfterKey() ? WireMessages.key(m.getAfterKey()) : null,
        documents,
        m.hasLastKey() ? WireMessages.key(m.getLastKey()) : null,
        m.getDone());
  }

  private static LeaderMessage append(LeaderAppend m) throws FrameException {
    List<OplogEntry> entries = new ArrayList<>(m.getEntriesCount());
    long expected = m.getPrevIndex() + 1;
    for (Entry wire : m.getEntriesList()) {
      OplogEntry entry = WireMessages.entry(wire);
      if (!entry.isIntact()) {
        throw new FrameException(
            FrameException.Reason.CHECKSUM, "entry " + entry.index() + " fails its checksum");
      }
      if (entry.index() != expected || entry.epoch() > m.getEpoch()) {
        throw new FrameException(
            FrameException.Reason.MALFORMED,
            "entry index "
                + entry.index()
                + " epoch "
                + entry.epoch()
                + " does not follow index "
                + (expected - 1)
                + " in epoch "
                + m.getEpoch());
      }
      expected++;
      entries.add(entry);
    }
    return new LeaderMessage.Append(
        NodeId.of(m.getFrom()),
        m.getEpoch(),
        m.getPrevIndex(),
        m.getPrevEpoch(),
        entries,
        m.getOpenIndexesList(),
        m.getCommitIndex(),
        m.getRound());
  }
}
