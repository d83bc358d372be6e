package io.skein.core.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One setting, declared once (D13): its dotted path, type, unit, default, validator and reload
 * class. The command-line flag, the config-file keys, the environment variable, validation, the
 * diff and the reference page all derive from it.
 *
 * <p>Immutable and thread-safe. Build one with {@link #builder(String, ValueType)}.
 *
 * @param <T> the type of its value
 */
public final class Setting<T> {
  /** Checks a parsed value beyond its type. */
  @FunctionalInterface
  public interface Validator<T> {
    /** Returns what is wrong with the value, or {@code null} if it is valid. */
    @Nullable String check(T value);
  }

  private final String path;
  private final ValueType<T> type;
  private final @Nullable String unit;
  private final @Nullable T defaultValue;
  private final @Nullable String defaultText;
  private final ReloadClass reloadClass;
  private final @Nullable String flag;
  private final @Nullable String legacyKey;
  private final String description;
  private final boolean secret;
  private final boolean clusterWide;
  private final Validator<T> validator;

  private Setting(Builder<T> b) {
    this.path = b.path;
    this.type = b.type;
    this.unit = b.unit;
    this.defaultValue = b.defaultValue;
    this.defaultText = b.defaultText;
    this.reloadClass = Objects.requireNonNull(b.reloadClass, "reload class of " + b.path);
    this.flag = b.flag;
    this.legacyKey = b.legacyKey;
    this.description = Objects.requireNonNull(b.description, "description of " + b.path);
    this.secret = b.secret;
    this.clusterWide = b.clusterWide;
    this.validator = b.validator;
    if (clusterWide && (secret || reloadClass != ReloadClass.DYNAMIC)) {
      throw new IllegalArgumentException(
          path + ": only a dynamic setting that is not secret may be cluster-wide");
    }
  }

  /**
   * Starts declaring a setting.
   *
   * @param path {@code section.name}, kebab-case
   * @throws IllegalArgumentException if the path is not of that shape
   */
  public static <T> Builder<T> builder(String path, ValueType<T> type) {
    if (!path.matches("[a-z][a-z0-9]*(-[a-z0-9]+)*\\.[a-z][a-z0-9]*(-[a-z0-9]+)*")) {
      throw new IllegalArgumentException("a setting path is section.name in kebab-case: " + path);
    }
    return new Builder<>(path, type);
  }

  /** Returns the dotted path, {@code replication.sync-interval}. */
  public String path() {
    return path;
  }

  /** Returns the section: the part of the path before the dot. */
  public String section() {
    return path.substring(0, path.indexOf('.'));
  }

  /** Returns the name within the section: the part of the path after the dot. */
  public String name() {
    return path.substring(path.indexOf('.') + 1);
  }

  /** Returns the value type. */
  public ValueType<T> type() {
    return type;
  }

  /** Returns the unit ({@code s}, {@code bytes}, {@code requests/s}), or {@code null}. */
  public @Nullable String unit() {
    return unit;
  }

  /** Returns the default, or {@code null} if the setting is unset unless given. */
  public @Nullable T defaultValue() {
    return defaultValue;
  }

  /** Returns how the reference page shows the default. */
  public String defaultText() {
    if (defaultText != null) {
      return defaultText;
    }
    T value = defaultValue;
    return value == null ? "(none)" : type.display(value);
  }

  /** Returns how a running node takes a new value. */
  public ReloadClass reloadClass() {
    return reloadClass;
  }

  /** Returns the command-line flag ({@code --sync-interval}), or {@code null} if none. */
  public @Nullable String flag() {
    return flag;
  }

  /** Returns the flat config-file key of earlier versions ({@code sync-interval}), or null. */
  public @Nullable String legacyKey() {
    return legacyKey;
  }

  /** Returns the environment variable: {@code SKEIN_} and the path, {@code SKEIN_NODE_PORT}. */
  public String environmentName() {
    return "SKEIN_" + path.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  /** Returns one line that says what the setting does. */
  public String description() {
    return description;
  }

  /** Returns whether the value is secret: redacted in every answer, event and log line (D7). */
  public boolean secret() {
    return secret;
  }

  /**
   * Returns whether the setting may be given cluster-wide (the replicated {@code _system_config}
   * collection): a dynamic, non-secret value that should be equal on every node. Node-local
   * settings (identity, addresses, paths, secrets, TLS) never are.
   */
  public boolean clusterWide() {
    return clusterWide;
  }

  /**
   * Parses and validates a raw value.
   *
   * @throws InvalidValueException naming what was expected
   */
  public T parse(JsonNode raw, ValueType.Context context) throws InvalidValueException {
    T value = type.parse(raw, context);
    String problem = validator.check(value);
    if (problem != null) {
      throw new InvalidValueException(problem);
    }
    return value;
  }

  /** Returns a value as JSON, {@code "[REDACTED]"} for a secret. */
  public JsonNode json(@Nullable Object value) {
    if (value == null) {
      return com.fasterxml.jackson.databind.node.NullNode.getInstance();
    }
    if (secret) {
      return com.fasterxml.jackson.databind.node.TextNode.valueOf(Secret.REDACTED);
    }
    return type.toJson(cast(value));
  }

  /**
   * Returns a value as one line of text, {@code [REDACTED]} for a secret, {@code null} if unset.
   */
  public @Nullable String display(@Nullable Object value) {
    if (value == null) {
      return null;
    }
    return secret ? Secret.REDACTED : type.display(cast(value));
  }

  /** Casts a value taken from a resolved configuration to this setting's type. */
  @SuppressWarnings("unchecked")
  T cast(Object value) {
    return (T) value;
  }

  @Override
  public String toString() {
    return path;
  }

  /** Declares a setting; {@link #reloadClass} and {@link #description} are required. */
  public static final class Builder<T> {
    private final String path;
    private final ValueType<T> type;
    private @Nullable String unit;
    private @Nullable T defaultValue;
    private @Nullable String defaultText;
    private @Nullable ReloadClass reloadClass;
    private @Nullable String flag;
    private @Nullable String legacyKey;
    private @Nullable String description;
    private boolean secret;
    private boolean clusterWide;
    private Validator<T> validator = value -> null;

    private Builder(String path, ValueType<T> type) {
      this.path = path;
      this.type = type;
    }

    /** Sets the unit shown on the reference page. */
    public Builder<T> unit(String value) {
      unit = value;
      return this;
    }

    /** Sets the default. */
    public Builder<T> defaultValue(T value) {
      defaultValue = value;
      return this;
    }

    /** Says how the reference page shows a default that is derived or absent. */
    public Builder<T> defaultText(String value) {
      defaultText = value;
      return this;
    }

    /** Sets the reload class. */
    public Builder<T> reload(ReloadClass value) {
      reloadClass = value;
      return this;
    }

    /** Sets the command-line flag, with its dashes. */
    public Builder<T> flag(String value) {
      if (!value.matches("--[a-z][a-z0-9-]*")) {
        throw new IllegalArgumentException("a flag is --kebab-case: " + value);
      }
      flag = value;
      return this;
    }

    /** Sets the flat config-file key that earlier versions read. */
    public Builder<T> legacyKey(String value) {
      legacyKey = value;
      return this;
    }

    /** Sets the one-line description. */
    public Builder<T> description(String value) {
      description = value;
      return this;
    }

    /** Marks the value secret (D7). */
    public Builder<T> secret() {
      secret = true;
      return this;
    }

    /**
     * Marks the setting cluster-wide: it may be set for every node at once. Only a dynamic setting
     * that is not secret may be; {@link #build()} refuses the others.
     */
    public Builder<T> clusterWide() {
      clusterWide = true;
      return this;
    }

    /** Adds a check beyond the type. */
    public Builder<T> validator(Validator<T> value) {
      validator = value;
      return this;
    }

    /**
     * Builds the setting.
     *
     * @throws NullPointerException if the reload class or the description is missing
     * @throws IllegalArgumentException if a cluster-wide setting is secret or not dynamic
     */
    public Setting<T> build() {
      return new Setting<>(this);
    }
  }
}
