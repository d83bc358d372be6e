package io.skein.core.query;

/**
 * Thrown when a query, a selector, a field path or an index definition breaks the rules of the
 * Mango subset (see {@link QueryParser}). The message says what was wrong and why, and names the
 * offending field, operator or key, so it can be returned to a client as is.
 *
 * <p>Codes: {@code invalid_query} (the query body: unknown key, bad {@code sort}, {@code skip},
 * {@code limit} or {@code fields}), {@code invalid_selector} (the shape of a selector), {@code
 * invalid_field} (a field path), {@code unknown_operator} (a {@code $} key that is not supported),
 * {@code unsupported_operand} (an operand of the wrong JSON type), {@code invalid_index} (an index
 * definition).
 */
public final class InvalidQueryException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String code;
  private final String message;

  /**
   * Creates the exception.
   *
   * @param code a snake_case error code for API answers, such as {@code unknown_operator}
   * @param message what was wrong and why
   */
  public InvalidQueryException(String code, String message) {
    super(message);
    this.code = code;
    this.message = message;
  }

  /** Returns what was wrong and why; never null. */
  @Override
  public String getMessage() {
    return message;
  }

  /** Returns the snake_case error code for API answers. */
  public String code() {
    return code;
  }
}
