package io.skein;

/**
 * The node's write queue is full; the write was not accepted and may be retried later. HTTP status
 * 503 with code {@code overloaded}.
 */
public final class OverloadedException extends SkeinException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception. */
  public OverloadedException(String message) {
    super("overloaded", message);
  }
}
