package io.skein.core.config;

import com.fasterxml.jackson.databind.JsonNode;
import org.jspecify.annotations.Nullable;

/**
 * How a setting's raw value becomes a typed one, and back. Implementations are stateless and pure.
 *
 * @param <T> the typed value
 */
public interface ValueType<T> {
  /**
   * What a value looks like, for errors and the reference page ({@code duration}, {@code 0-65535}).
   */
  String description();

  /**
   * Parses a raw value: JSON from a config file, or text from a flag or a variable.
   *
   * @throws InvalidValueException naming what was expected
   */
  T parse(JsonNode raw, Context context) throws InvalidValueException;

  /**
   * Returns whether values of this type measure something (time, bytes, a rate), so that a setting
   * of this type must name its unit in the catalog.
   */
  default boolean measured() {
    return false;
  }

  /** Returns the value as JSON, for {@code GET /admin/config} and the reference page. */
  JsonNode toJson(T value);

  /** Returns the value as one line of text: JSON text values unquoted. */
  default String display(T value) {
    JsonNode json = toJson(value);
    return json.isTextual() ? json.asText() : json.toString();
  }

  /** What parsing may look up: the variables {@code ${ENV_NAME}} references resolve against. */
  @FunctionalInterface
  interface Context {
    /** Returns a variable's value, or {@code null} if it is not set. */
    @Nullable String variable(String name);
  }
}
