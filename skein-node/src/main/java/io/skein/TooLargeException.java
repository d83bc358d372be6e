package io.skein;

/** A document, body or batch is over its limit. Nothing was written. HTTP status 413. */
public final class TooLargeException extends SkeinException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception; the message names the limit and the size. */
  public TooLargeException(String code, String message) {
    super(code, message);
  }
}
