package io.skein.core.config;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Resolves layered sources into one {@link Config} (D6): for each setting, the highest layer that
 * gives a value wins, else the default. Every problem is collected, not just the first: unknown
 * keys, values that do not parse or validate, and broken rules over several settings. Pure.
 */
public final class ConfigResolver {
  private ConfigResolver() {}

  /**
   * The outcome: a configuration, or every problem found.
   *
   * @param config the configuration, or {@code null} if there were violations
   * @param violations the problems, empty when {@code config} is set
   */
  public record Resolution(@Nullable Config config, List<Violation> violations) {
    /** Copies the list. */
    public Resolution {
      violations = List.copyOf(violations);
    }

    /** Returns whether the sources resolved without a problem. */
    public boolean ok() {
      return config != null;
    }

    /**
     * Returns the configuration.
     *
     * @throws IllegalStateException listing the violations if there were any
     */
    public Config orThrow() {
      if (config == null) {
        throw new IllegalStateException(describe());
      }
      return config;
    }

    /** Returns every violation, one per line. */
    public String describe() {
      StringBuilder text = new StringBuilder();
      for (Violation violation : violations) {
        if (!text.isEmpty()) {
          text.append('\n');
        }
        text.append(violation);
      }
      return text.toString();
    }
  }

  /**
   * Resolves the layers, lowest first.
   *
   * @param context what {@code ${ENV_NAME}} references resolve against
   */
  public static Resolution resolve(
      SettingsCatalog catalog, List<ConfigLayer> layers, ValueType.Context context) {
    List<Violation> violations = new ArrayList<>();
    for (ConfigLayer layer : layers) {
      violations.addAll(layer.problems());
      for (Map.Entry<String, RawValue> value : layer.values().entrySet()) {
        if (catalog.byPath(value.getKey()) == null) {
          violations.add(
              new Violation(value.getKey(), value.getValue().origin(), "unknown setting"));
        }
      }
    }
    Map<String, Config.Entry> entries = new LinkedHashMap<>();
    Set<String> broken = new HashSet<>();
    for (Setting<?> setting : catalog.settings()) {
      Config.Entry entry = resolveOne(setting, layers, context, violations);
      if (entry == null) {
        broken.add(setting.path());
      } else {
        entries.put(setting.path(), entry);
      }
    }
    if (!broken.isEmpty()) {
      return new Resolution(null, violations);
    }
    Config config = new Config(catalog, entries);
    violations.addAll(checkRules(config));
    return violations.isEmpty()
        ? new Resolution(config, List.of())
        : new Resolution(null, violations);
  }

  /**
   * Checks the catalog's rules over several settings on a configuration, for one that was put
   * together from two (a reload of some sections only).
   */
  public static List<Violation> checkRules(Config config) {
    List<Violation> violations = new ArrayList<>();
    for (ConfigRule rule : config.catalog().rules()) {
      String problem = rule.check().apply(config);
      if (problem != null) {
        violations.add(new Violation(rule.paths().get(0), rule.paths().get(0), problem));
      }
    }
    return violations;
  }

  private static Config.@Nullable Entry resolveOne(
      Setting<?> setting,
      List<ConfigLayer> layers,
      ValueType.Context context,
      List<Violation> violations) {
    for (int i = layers.size() - 1; i >= 0; i--) {
      ConfigLayer layer = layers.get(i);
      RawValue raw = layer.values().get(setting.path());
      if (raw == null) {
        continue;
      }
      try {
        return new Config.Entry(setting, setting.parse(raw.value(), context), layer.source());
      } catch (InvalidValueException e) {
        violations.add(new Violation(setting.path(), raw.origin(), String.valueOf(e.getMessage())));
        return null;
      }
    }
    return new Config.Entry(setting, setting.defaultValue(), "default");
  }
}
