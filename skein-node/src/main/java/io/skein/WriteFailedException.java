package io.skein;

/**
 * A write was accepted but could not be made durable: its transaction rolled back, so nothing of it
 * was written. HTTP status 500 with code {@code write_failed}.
 */
public final class WriteFailedException extends SkeinException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception. */
  public WriteFailedException(String message) {
    super("write_failed", message);
  }
}
