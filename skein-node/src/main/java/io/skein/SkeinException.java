package io.skein;

/**
 * The base of every exception Skein throws at its users. Each carries a stable snake_case {@link
 * #code()} (the same one the HTTP API returns) and a message that says what went wrong and why.
 */
public class SkeinException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String code;

  /** Creates the exception. */
  public SkeinException(String code, String message) {
    super(message);
    this.code = code;
  }

  /** Creates the exception with a cause. */
  public SkeinException(String code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  /** Returns the stable snake_case error code. */
  public String code() {
    return code;
  }
}
