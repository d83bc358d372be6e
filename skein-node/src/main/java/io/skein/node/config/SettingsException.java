package io.skein.node.config;

/**
 * A flag, config file or setting is invalid. The message names the setting, the bad value and what
 * is accepted; the node exits with status 2 before it touches any data.
 */
public final class SettingsException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception. */
  public SettingsException(String message) {
    super(message);
  }

  /** Creates the exception with a cause. */
  public SettingsException(String message, Throwable cause) {
    super(message, cause);
  }
}
