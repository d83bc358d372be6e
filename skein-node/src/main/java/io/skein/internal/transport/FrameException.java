package io.skein.internal.transport;

/**
 * A frame or message from a peer is invalid. The connection that carried it is closed, and the
 * {@link #reason()} is counted in metrics: a bad frame never reaches the core, and nothing of it is
 * applied.
 */
public final class FrameException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Why a frame was refused. */
  public enum Reason {
    /** The declared length is over the limit. */
    TOO_LARGE,
    /** Fewer bytes than the header or the declared length. */
    TRUNCATED,
    /** The CRC32C of the payload does not match. */
    CHECKSUM,
    /** The payload is not a valid protocol buffer, or a field is missing or out of range. */
    MALFORMED
  }

  private final Reason reason;

  /** Creates the exception. */
  public FrameException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  /** Creates the exception with a cause. */
  public FrameException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  /** Returns why the frame was refused. */
  public Reason reason() {
    return reason;
  }
}
