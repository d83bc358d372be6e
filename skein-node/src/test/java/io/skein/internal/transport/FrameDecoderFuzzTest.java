package io.skein.internal.transport;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.skein.core.leader.LeaderMessage;
import io.skein.core.replica.PeerMessage;
import io.skein.internal.transport.proto.Frame;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * Fuzzes the peer frame decoder (issue 12, item 9): {@link FrameCodec#decode} and the message
 * decoding of {@link WireMessages} and {@link LeaderWire}. The first input byte picks the mode:
 * even, the rest is a whole frame, header included (length and checksum checks); odd, the rest is a
 * payload that gets a correct header, so the fuzzer reaches the protocol-buffer and field checks
 * instead of stopping at the CRC. Properties: the only failure is a {@link FrameException} with a
 * reason and a message; a decoded message encodes and decodes back to itself. In CI this runs on
 * the seed corpus in {@code FrameDecoderFuzzTestInputs}.
 */
class FrameDecoderFuzzTest {
  private static final FrameCodec CODEC = new FrameCodec(1 << 20);

  @FuzzTest(maxDuration = "30s")
  void aFrameDecodesToAMessageThatRoundTripsOrIsRefused(byte[] input) throws FrameException {
    if (input.length == 0) {
      return;
    }
    byte[] rest = Arrays.copyOfRange(input, 1, input.length);
    byte[] wire = (input[0] & 1) == 0 ? rest : framed(rest);
    Frame frame;
    try {
      frame = CODEC.decode(wire);
    } catch (FrameException e) {
      assertRefusal(e);
      return;
    }
    try {
      if (LeaderWire.isLeaderFrame(frame)) {
        LeaderMessage message = LeaderWire.fromFrame(frame);
        assertThat(LeaderWire.fromFrame(CODEC.decode(CODEC.encode(LeaderWire.toFrame(message)))))
            .isEqualTo(message);
      } else {
        PeerMessage message = WireMessages.fromFrame(frame);
        assertThat(
                WireMessages.fromFrame(CODEC.decode(CODEC.encode(WireMessages.toFrame(message)))))
            .isEqualTo(message);
      }
    } catch (FrameException e) {
      assertRefusal(e);
    }
  }

  private static void assertRefusal(FrameException e) {
    assertThat(e.reason()).isNotNull();
    assertThat(e.getMessage()).isNotBlank();
  }

  /** Puts a correct header (length, CRC32C) before a payload. */
  static byte[] framed(byte[] payload) {
    CRC32C crc = new CRC32C();
    crc.update(payload);
    return ByteBuffer.allocate(FrameCodec.HEADER_BYTES + payload.length)
        .putInt(payload.length)
        .putInt((int) crc.getValue())
        .put(payload)
        .array();
  }
}
