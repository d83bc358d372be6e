package io.skein.internal.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.skein.core.hlc.Hlc;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.Operation;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.replica.PeerMessage;
import io.skein.internal.transport.proto.Entry;
import io.skein.internal.transport.proto.Frame;
import io.skein.internal.transport.proto.Push;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class FrameCodecTest {
  private static final FrameCodec CODEC = new FrameCodec(1 << 20);
  private static final NodeId TWO = NodeId.of("2");

  private static OplogEntry entry(
      long sequence, @org.jspecify.annotations.Nullable String document) {
    return OplogEntry.create(
        TWO,
        sequence,
        new Hlc(1_000 + sequence, 3),
        document == null ? Operation.DELETE : Operation.PUT,
        CollectionName.user("c"),
        DocumentId.of("é-" + sequence),
        document);
  }

  private static final PeerMessage PUSH =
      new PeerMessage.Push(TWO, List.of(entry(1, "{\"a\":1}"), entry(2, null)));

  @Test
  void everyReplicationMessageRoundTrips() throws Exception {
    List<PeerMessage> messages =
        List.of(
            PUSH,
            new PeerMessage.Ack(TWO, Map.of(TWO, 2L, NodeId.of("a"), 9L)),
            new PeerMessage.SyncRequest(TWO, Map.of()),
            new PeerMessage.GatewayVoteRequest(TWO, 7),
            new PeerMessage.GatewayVote(TWO, 7, true),
            new PeerMessage.GatewayVote(TWO, 8, false),
            new PeerMessage.GatewayBeacon(TWO, 7, NodeId.of("a")),
            new PeerMessage.GatewayBeacon(TWO, 0, null));
    for (PeerMessage message : messages) {
      Frame decoded = CODEC.decode(CODEC.encode(WireMessages.toFrame(message)));
      assertThat(WireMessages.fromFrame(decoded)).isEqualTo(message);
    }
  }

  @Property(tries = 300)
  void anyFlippedBitOrTruncationIsRefused(
      @ForAll @IntRange(min = 0, max = 10_000) int position,
      @ForAll @IntRange(min = 0, max = 7) int bit) {
    byte[] frame = CODEC.encode(WireMessages.toFrame(PUSH));
    byte[] flipped = frame.clone();
    int at = position % frame.length;
    flipped[at] ^= (byte) (1 << bit);
    assertThatThrownBy(() -> CODEC.decode(flipped)).isInstanceOf(FrameException.class);
    byte[] truncated = java.util.Arrays.copyOf(frame, at);
    assertThatThrownBy(() -> CODEC.decode(truncated)).isInstanceOf(FrameException.class);
  }

  @Test
  void aFrameOverTheLimitIsRefusedFromItsHeaderAlone() {
    byte[] header = java.nio.ByteBuffer.allocate(8).putInt(2 << 20).putInt(0).array();
    assertThatThrownBy(() -> CODEC.decode(header))
        .isInstanceOfSatisfying(
            FrameException.class,
            e -> assertThat(e.reason()).isEqualTo(FrameException.Reason.TOO_LARGE));
    Frame big =
        WireMessages.toFrame(
            new PeerMessage.Push(
                TWO, List.of(entry(1, "{\"p\":\"" + "x".repeat(1 << 20) + "\"}"))));
    assertThatThrownBy(() -> CODEC.encode(big)).hasMessageContaining("over the limit");
  }

  @Test
  void anEntryWhoseChecksumDoesNotMatchIsRefused() {
    Entry tampered =
        WireMessages.entry(entry(1, "{\"a\":1}")).toBuilder().setDocument("{\"a\":2}").build();
    Frame frame =
        Frame.newBuilder().setPush(Push.newBuilder().setFrom("2").addEntries(tampered)).build();
    assertThatThrownBy(() -> WireMessages.fromFrame(CODEC.decode(CODEC.encode(frame))))
        .isInstanceOfSatisfying(
            FrameException.class,
            e -> assertThat(e.reason()).isEqualTo(FrameException.Reason.CHECKSUM));
  }

  @Test
  void invalidFieldsAreMalformedNotCrashes() {
    Frame badName = Frame.newBuilder().setPush(Push.newBuilder().setFrom("not a node id")).build();
    assertThatThrownBy(() -> WireMessages.fromFrame(badName))
        .isInstanceOfSatisfying(
            FrameException.class,
            e -> assertThat(e.reason()).isEqualTo(FrameException.Reason.MALFORMED));
    Frame badOp =
        Frame.newBuilder()
            .setPush(
                Push.newBuilder()
                    .setFrom("2")
                    .addEntries(WireMessages.entry(entry(1, "{}")).toBuilder().setOp(9)))
            .build();
    assertThatThrownBy(() -> WireMessages.fromFrame(badOp)).isInstanceOf(FrameException.class);
    Frame hugeEpoch =
        Frame.newBuilder()
            .setGatewayVoteRequest(
                io.skein.internal.transport.proto.GatewayVoteRequest.newBuilder()
                    .setFrom("2")
                    .setEpoch(-1L))
            .build();
    assertThatThrownBy(() -> WireMessages.fromFrame(hugeEpoch))
        .isInstanceOf(FrameException.class)
        .hasMessageContaining("epoch 18446744073709551615 is too large");
    Frame badGateway =
        Frame.newBuilder()
            .setGatewayBeacon(
                io.skein.internal.transport.proto.GatewayBeacon.newBuilder()
                    .setFrom("2")
                    .setGateway("not a node id"))
            .build();
    assertThatThrownBy(() -> WireMessages.fromFrame(badGateway)).isInstanceOf(FrameException.class);
    assertThatThrownBy(() -> CODEC.decode(CODEC.encode(Frame.getDefaultInstance())))
        .hasMessageContaining("no body");
  }

  @Property(tries = 200)
  void aPushTooLargeForOneFrameIsSplitInOrderAndEveryPartFits(
      @ForAll @IntRange(min = 1, max = 60) int entries,
      @ForAll @IntRange(min = 0, max = 3_000) int documentBytes,
      @ForAll @IntRange(min = 4_000, max = 20_000) int limit)
      throws Exception {
    List<OplogEntry> list = new java.util.ArrayList<>();
    for (int i = 1; i <= entries; i++) {
      list.add(entry(i, "{\"p\":\"" + "x".repeat(documentBytes) + "\"}"));
    }
    List<Frame> frames = WireMessages.toFrames(new PeerMessage.Push(TWO, list), limit);
    FrameCodec codec = new FrameCodec(limit);
    List<OplogEntry> back = new java.util.ArrayList<>();
    for (Frame frame : frames) {
      assertThat(frame.getSerializedSize()).isLessThanOrEqualTo(limit);
      back.addAll(
          ((PeerMessage.Push) WireMessages.fromFrame(codec.decode(codec.encode(frame)))).entries());
    }
    assertThat(back).isEqualTo(list);
  }

  @Test
  void anEntryLargerThanAFrameIsRefusedBySplitting() {
    PeerMessage push =
        new PeerMessage.Push(TWO, List.of(entry(1, "{\"p\":\"" + "x".repeat(500) + "\"}")));
    assertThatThrownBy(() -> WireMessages.toFrames(push, 256))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("2/1");
  }
}
