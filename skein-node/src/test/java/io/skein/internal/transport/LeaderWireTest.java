package io.skein.internal.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.skein.core.hlc.Hlc;
import io.skein.core.leader.LeaderMessage;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.Operation;
import io.skein.core.oplog.OplogEntry;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class LeaderWireTest {
  private static final FrameCodec CODEC = new FrameCodec(1 << 20);
  private static final NodeId ONE = NodeId.of("1");

  private static OplogEntry entry(long epoch, long index) {
    return OplogEntry.createInLog(
        ONE,
        index,
        new Hlc(1_000 + index, 0),
        Operation.PUT,
        CollectionName.user("c"),
        DocumentId.of("d" + index),
        "{\"i\":" + index + "}",
        epoch,
        index);
  }

  private static LeaderMessage roundTrip(LeaderMessage message) throws FrameException {
    return LeaderWire.fromFrame(CODEC.decode(CODEC.encode(LeaderWire.toFrame(message))));
  }

  @Property(tries = 200)
  void everyLeaderMessageSurvivesTheWire(
      @ForAll @LongRange(min = 1, max = 1_000_000) long epoch,
      @ForAll @LongRange(min = 0, max = 1_000_000) long prev,
      @ForAll @IntRange(min = 0, max = 20) int count,
      @ForAll boolean flag)
      throws Exception {
    List<OplogEntry> entries = new ArrayList<>();
    for (int i = 1; i <= count; i++) {
      entries.add(entry(epoch, prev + i));
    }
    List<LeaderMessage> messages =
        List.of(
            new LeaderMessage.PreVote(ONE, epoch, epoch - 1, prev),
            new LeaderMessage.PreVoteReply(ONE, epoch, flag, epoch + 1),
            new LeaderMessage.Vote(ONE, epoch, epoch, prev),
            new LeaderMessage.VoteReply(ONE, epoch, flag),
            new LeaderMessage.Append(ONE, epoch, prev, epoch, entries, prev, 7),
            new LeaderMessage.Append(
                ONE,
                epoch,
                prev,
                epoch,
                entries,
                entries.stream().map(OplogEntry::index).limit(entries.size() / 2).toList(),
                prev,
                7),
            new LeaderMessage.AppendReply(ONE, epoch, flag, prev, 9));
    for (LeaderMessage message : messages) {
      assertThat(roundTrip(message)).isEqualTo(message);
    }
  }

  @Test
  void anAppendTooLargeForOneFrameIsSplitIntoConsecutiveAppends() throws Exception {
    List<OplogEntry> entries = new ArrayList<>();
    for (long index = 11; index <= 40; index++) {
      // Epoch 2 up to index 20, then epoch 3: each piece's prevEpoch must follow the entries.
      entries.add(entry(index <= 20 ? 2 : 3, index));
    }
    LeaderMessage.Append append = new LeaderMessage.Append(ONE, 3, 10, 2, entries, 35, 4);
    int limit = LeaderWire.toFrame(append).getSerializedSize() / 4;
    List<io.skein.internal.transport.proto.Frame> frames = LeaderWire.toFrames(append, limit);
    assertThat(frames).hasSizeGreaterThan(3);
    List<OplogEntry> rejoined = new ArrayList<>();
    long expectedPrev = 10;
    long expectedPrevEpoch = 2;
    for (io.skein.internal.transport.proto.Frame frame : frames) {
      assertThat(frame.getSerializedSize()).isLessThanOrEqualTo(limit);
      LeaderMessage.Append piece = (LeaderMessage.Append) LeaderWire.fromFrame(frame);
      assertThat(piece.prevIndex()).isEqualTo(expectedPrev);
      assertThat(piece.prevEpoch()).isEqualTo(expectedPrevEpoch);
      assertThat(piece.commitIndex()).isEqualTo(35);
      assertThat(piece.round()).isEqualTo(4);
      rejoined.addAll(piece.entries());
      OplogEntry last = piece.entries().get(piece.entries().size() - 1);
      expectedPrev = last.index();
      expectedPrevEpoch = last.epoch();
    }
    assertThat(rejoined).isEqualTo(entries);
    assertThat(LeaderWire.toFrames(append, 1 << 20)).hasSize(1);
  }

  @Test
  void anAppendWhoseEntriesDoNotFollowPrevIndexIsRefused() {
    LeaderMessage gap = new LeaderMessage.Append(ONE, 2, 5, 2, List.of(entry(2, 7)), 0, 1);
    assertThatThrownBy(() -> roundTrip(gap))
        .isInstanceOf(FrameException.class)
        .hasMessageContaining("does not follow");
    LeaderMessage future = new LeaderMessage.Append(ONE, 2, 5, 2, List.of(entry(3, 6)), 0, 1);
    assertThatThrownBy(() -> roundTrip(future)).isInstanceOf(FrameException.class);
  }

  @Test
  void aReplicationFrameIsNotALeaderFrame() {
    assertThat(
            LeaderWire.isLeaderFrame(
                WireMessages.toFrame(
                    new io.skein.core.replica.PeerMessage.SyncRequest(ONE, java.util.Map.of()))))
        .isFalse();
    assertThat(
            LeaderWire.isLeaderFrame(LeaderWire.toFrame(new LeaderMessage.VoteReply(ONE, 1, true))))
        .isTrue();
  }
}
