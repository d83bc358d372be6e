package io.skein.core.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The values one source gives, by setting path, plus what it could not map to a setting. Layers are
 * resolved lowest first: defaults &lt; file &lt; env file &lt; environment &lt; flags &lt; runtime
 * overrides (D6); a higher layer's value wins.
 *
 * @param source the source's name, shown as a setting's provenance ({@code file}, {@code flags})
 * @param values raw values by dotted path
 * @param problems what the source itself found wrong (an unknown key, a file that does not parse)
 */
public record ConfigLayer(String source, Map<String, RawValue> values, List<Violation> problems) {
  /** Copies the collections, keeping the order of the values. */
  public ConfigLayer {
    values = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(values));
    problems = List.copyOf(problems);
  }

  /** A layer without problems. */
  public static ConfigLayer of(String source, Map<String, RawValue> values) {
    return new ConfigLayer(source, values, List.of());
  }

  /** An empty layer. */
  public static ConfigLayer empty(String source) {
    return new ConfigLayer(source, Map.of(), List.of());
  }
}
