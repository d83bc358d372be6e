package io.skein.core.model;

/**
 * Thrown when a node id, collection name or document id does not meet its rules. The message names
 * the offending value and the rule it broke, so it can be returned to a client as is.
 */
public final class InvalidNameException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String code;

  /**
   * Creates the exception.
   *
   * @param code a snake_case error code for API answers, such as {@code invalid_collection_name}
   * @param message what was wrong and why
   */
  public InvalidNameException(String code, String message) {
    super(message);
    this.code = code;
  }

  /** Returns the snake_case error code for API answers. */
  public String code() {
    return code;
  }
}
