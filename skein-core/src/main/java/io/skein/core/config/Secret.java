package io.skein.core.config;

/**
 * A secret value that never prints: {@link #toString()} is {@code [REDACTED]} (D7). Equality is by
 * value, so a diff sees a rotated secret as a change without showing either value.
 *
 * @param value the secret itself
 */
public record Secret(String value) {
  /** What every log line, event and API answer shows instead of a secret. */
  public static final String REDACTED = "[REDACTED]";

  @Override
  public String toString() {
    return REDACTED;
  }
}
