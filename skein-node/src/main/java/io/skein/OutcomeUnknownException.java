package io.skein;

/**
 * The write was accepted but its outcome is unknown: it was not confirmed within the timeout. It
 * may or may not have been applied; read before retrying a non-idempotent write. HTTP status 504
 * with code {@code outcome_unknown}.
 */
public final class OutcomeUnknownException extends SkeinException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception. */
  public OutcomeUnknownException(String message) {
    super("outcome_unknown", message);
  }
}
