package io.skein.core.config;

import org.jspecify.annotations.Nullable;

/**
 * One setting whose value differs between two configurations (the seed's {@code ConfigChange}). The
 * typed values are for the component that applies the change; everything shown to a person or sent
 * anywhere goes through {@link #oldDisplay()} and {@link #newDisplay()}, which redact secrets.
 *
 * @param setting the setting
 * @param oldValue the running value, or {@code null} if it was unset
 * @param newValue the new value, or {@code null} if it is now unset
 */
public record ConfigChange(
    Setting<?> setting, @Nullable Object oldValue, @Nullable Object newValue) {
  /** Returns the dotted path, {@code replication.sync-interval}. */
  public String fieldPath() {
    return setting.path();
  }

  /** Returns the old value as text, {@code [REDACTED]} for a secret, or {@code null}. */
  public @Nullable String oldDisplay() {
    return setting.display(oldValue);
  }

  /** Returns the new value as text, {@code [REDACTED]} for a secret, or {@code null}. */
  public @Nullable String newDisplay() {
    return setting.display(newValue);
  }

  /** Returns the change that undoes this one (for a rollback). */
  public ConfigChange inverse() {
    return new ConfigChange(setting, newValue, oldValue);
  }

  @Override
  public String toString() {
    return fieldPath() + ": " + oldDisplay() + " -> " + newDisplay();
  }
}
