package io.skein;

/** The store is closed or closing; the operation was not performed. HTTP status 503. */
public final class ClosedException extends SkeinException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception. */
  public ClosedException(String message) {
    super("closed", message);
  }
}
