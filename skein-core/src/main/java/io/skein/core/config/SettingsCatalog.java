package io.skein.core.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Every setting of a program, each declared once, and the rules over several of them. Checks its
 * own consistency when built: paths, flags, legacy keys and variable names are unique, and every
 * setting whose type measures something names its unit. Immutable and thread-safe.
 */
public final class SettingsCatalog {
  private final List<Setting<?>> settings;
  private final List<ConfigRule> rules;
  private final Map<String, Setting<?>> byPath = new LinkedHashMap<>();
  private final Map<String, Setting<?>> byFlag = new HashMap<>();
  private final Map<String, Setting<?>> byLegacyKey = new HashMap<>();
  private final Map<String, Setting<?>> byVariable = new HashMap<>();

  /**
   * Creates a catalog.
   *
   * @throws IllegalArgumentException if two settings share a path, flag, legacy key or variable, a
   *     measured setting has no unit, or a rule reads an unknown setting
   */
  public SettingsCatalog(List<Setting<?>> settings, List<ConfigRule> rules) {
    this.settings = List.copyOf(settings);
    this.rules = List.copyOf(rules);
    for (Setting<?> setting : this.settings) {
      unique(byPath, setting.path(), setting);
      unique(byVariable, setting.environmentName(), setting);
      String flag = setting.flag();
      if (flag != null) {
        unique(byFlag, flag, setting);
      }
      String legacy = setting.legacyKey();
      if (legacy != null) {
        unique(byLegacyKey, legacy, setting);
      }
      if (setting.type().measured() && setting.unit() == null) {
        throw new IllegalArgumentException(setting.path() + " measures something: name its unit");
      }
    }
    for (ConfigRule rule : this.rules) {
      for (String path : rule.paths()) {
        if (!byPath.containsKey(path)) {
          throw new IllegalArgumentException("a rule reads unknown setting " + path);
        }
      }
    }
  }

  private static void unique(Map<String, Setting<?>> index, String key, Setting<?> setting) {
    Setting<?> other = index.putIfAbsent(key, setting);
    if (other != null) {
      throw new IllegalArgumentException(
          "'" + key + "' names both " + other.path() + " and " + setting.path());
    }
  }

  /** Returns every setting, in declaration order. */
  public List<Setting<?>> settings() {
    return settings;
  }

  /** Returns the rules over several settings. */
  public List<ConfigRule> rules() {
    return rules;
  }

  /** Returns the sections, in the order they are first declared. */
  public Set<String> sections() {
    Set<String> sections = new LinkedHashSet<>();
    for (Setting<?> setting : settings) {
      sections.add(setting.section());
    }
    return Collections.unmodifiableSet(sections);
  }

  /** Returns the setting at a dotted path, or {@code null}. */
  public @Nullable Setting<?> byPath(String path) {
    return byPath.get(path);
  }

  /** Returns the setting of a flag ({@code --port}), or {@code null}. */
  public @Nullable Setting<?> byFlag(String flag) {
    return byFlag.get(flag);
  }

  /** Returns the setting of a flat config-file key of earlier versions, or {@code null}. */
  public @Nullable Setting<?> byLegacyKey(String key) {
    return byLegacyKey.get(key);
  }

  /** Returns the setting of an environment variable ({@code SKEIN_NODE_PORT}), or {@code null}. */
  public @Nullable Setting<?> byVariable(String name) {
    return byVariable.get(name);
  }

  /** Returns the settings of a section. */
  public List<Setting<?>> section(String section) {
    List<Setting<?>> found = new ArrayList<>();
    for (Setting<?> setting : settings) {
      if (setting.section().equals(section)) {
        found.add(setting);
      }
    }
    return found;
  }

  /**
   * Suggests the known paths closest to an unknown key, for an error message: those whose path,
   * name or legacy key is within two edits of it, or the settings of the section it names.
   */
  public List<String> suggestions(String key) {
    List<String> found = new ArrayList<>();
    for (Setting<?> setting : settings) {
      String legacy = setting.legacyKey();
      boolean near =
          distance(key, setting.path()) <= 2
              || distance(key, setting.name()) <= 2
              || (legacy != null && distance(key, legacy) <= 2)
              || setting.path().startsWith(key + ".");
      if (near) {
        found.add(setting.path());
      }
    }
    return found.size() > 5 ? found.subList(0, 5) : found;
  }

  /** The Levenshtein distance, for short keys only (bounded by their lengths, at most 64). */
  static int distance(String a, String b) {
    if (a.length() > 64 || b.length() > 64) {
      return Integer.MAX_VALUE;
    }
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        current[j] =
            Math.min(Math.min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }
}
