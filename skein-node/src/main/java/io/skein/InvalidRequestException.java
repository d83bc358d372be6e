package io.skein;

/**
 * The request was malformed: a bad name or id, JSON that is not an object, an unknown query
 * operator, a bad write concern. Nothing was written. HTTP status 400.
 */
public final class InvalidRequestException extends SkeinException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception. */
  public InvalidRequestException(String code, String message) {
    super(code, message);
  }

  /** Creates the exception with a cause. */
  public InvalidRequestException(String code, String message, Throwable cause) {
    super(code, message, cause);
  }
}
