package io.skein.core.config;

/**
 * A raw value does not parse as its setting's type, or breaks its validator. The message says what
 * was expected, without the path (the resolver adds where the value came from).
 */
public final class InvalidValueException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Creates the exception. */
  public InvalidValueException(String message) {
    super(message);
  }
}
