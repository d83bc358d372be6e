package io.skein.core.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;

/**
 * A value as a source gave it, before parsing: text from a flag or a variable, or any JSON value
 * from a config file.
 *
 * @param value the value
 * @param origin where it came from, for error messages ({@code --port}, {@code file.yaml:
 *     node.port})
 */
public record RawValue(JsonNode value, String origin) {
  /** A text value, as flags and environment variables give them. */
  public static RawValue text(String text, String origin) {
    return new RawValue(TextNode.valueOf(text), origin);
  }
}
