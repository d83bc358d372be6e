package io.skein.internal.transport;

import com.google.protobuf.InvalidProtocolBufferException;
import io.skein.internal.transport.proto.Frame;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Frames on a peer stream: {@code uint32 length | uint32 CRC32C(payload) | payload}, big-endian,
 * where the payload is one {@link Frame} protocol buffer. The length is checked against {@code
 * frameBytesMax} before anything is allocated, and the checksum before the payload is parsed.
 * Stateless and thread-safe.
 */
public final class FrameCodec {
  /** The bytes before the payload: length and checksum. */
  public static final int HEADER_BYTES = 8;

  /** The default largest payload: 16 MiB, room for a push of several maximum-size documents. */
  public static final int FRAME_BYTES_MAX_DEFAULT = 16 << 20;

  private final int frameBytesMax;

  /**
   * Creates a codec.
   *
   * @param frameBytesMax the largest payload accepted or produced, in bytes
   */
  public FrameCodec(int frameBytesMax) {
    if (frameBytesMax < 64) {
      throw new IllegalArgumentException("frameBytesMax must be >= 64, was " + frameBytesMax);
    }
    this.frameBytesMax = frameBytesMax;
  }

  /**
   * Encodes a frame.
   *
   * @throws IllegalArgumentException if the payload is over the limit (the sender must split it)
   */
  public byte[] encode(Frame frame) {
    byte[] payload = frame.toByteArray();
    if (payload.length > frameBytesMax) {
      throw new IllegalArgumentException(
          "frame of " + payload.length + " bytes is over the limit of " + frameBytesMax);
    }
    CRC32C crc = new CRC32C();
    crc.update(payload);
    return ByteBuffer.allocate(HEADER_BYTES + payload.length)
        .putInt(payload.length)
        .putInt((int) crc.getValue())
        .put(payload)
        .array();
  }

  /**
   * Decodes exactly one frame from {@code bytes} (a whole transport message).
   *
   * @throws FrameException if the frame is too large, truncated, corrupt or malformed
   */
  public Frame decode(byte[] bytes) throws FrameException {
    if (bytes.length < HEADER_BYTES) {
      throw new FrameException(
          FrameException.Reason.TRUNCATED, "frame of " + bytes.length + " bytes has no header");
    }
    ByteBuffer buffer = ByteBuffer.wrap(bytes);
    int length = buffer.getInt();
    int checksum = buffer.getInt();
    if (length < 0 || length > frameBytesMax) {
      throw new FrameException(
          FrameException.Reason.TOO_LARGE,
          "frame declares "
              + Integer.toUnsignedString(length)
              + " bytes; the limit is "
              + frameBytesMax);
    }
    if (buffer.remaining() != length) {
      throw new FrameException(
          FrameException.Reason.TRUNCATED,
          "frame declares " + length + " bytes but carries " + buffer.remaining());
    }
    CRC32C crc = new CRC32C();
    crc.update(bytes, HEADER_BYTES, length);
    if ((int) crc.getValue() != checksum) {
      throw new FrameException(FrameException.Reason.CHECKSUM, "frame fails its CRC32C check");
    }
    try {
      Frame frame = Frame.parseFrom(ByteBuffer.wrap(bytes, HEADER_BYTES, length));
      if (frame.getBodyCase() == Frame.BodyCase.BODY_NOT_SET) {
        throw new FrameException(FrameException.Reason.MALFORMED, "frame has no body");
      }
      return frame;
    } catch (InvalidProtocolBufferException e) {
      throw new FrameException(
          FrameException.Reason.MALFORMED, "frame is not a valid message: " + e.getMessage(), e);
    }
  }
}
