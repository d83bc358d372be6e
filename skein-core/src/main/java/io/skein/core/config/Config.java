package io.skein.core.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A resolved configuration: every setting of a catalog with its typed value and the source it came
 * from. Immutable; a reload swaps one snapshot for another.
 */
public final class Config {
  /**
   * One setting's value and provenance.
   *
   * @param setting the setting
   * @param value its typed value, or {@code null} if unset
   * @param source the layer it came from ({@code default}, {@code file}, {@code flags}...)
   */
  public record Entry(Setting<?> setting, @Nullable Object value, String source) {}

  private final SettingsCatalog catalog;
  private final Map<String, Entry> entries;

  Config(SettingsCatalog catalog, Map<String, Entry> entries) {
    this.catalog = catalog;
    this.entries = Collections.unmodifiableMap(new LinkedHashMap<>(entries));
  }

  /** Returns the catalog this configuration resolves. */
  public SettingsCatalog catalog() {
    return catalog;
  }

  /**
   * Returns a setting's value.
   *
   * @throws IllegalStateException if the setting is unset (use {@link #find} for optional ones)
   */
  public <T> T get(Setting<T> setting) {
    T value = find(setting);
    if (value == null) {
      throw new IllegalStateException(setting.path() + " is not set");
    }
    return value;
  }

  /** Returns a setting's value, or {@code null} if it is unset. */
  public <T> @Nullable T find(Setting<T> setting) {
    Entry entry = entry(setting.path());
    Object value = entry.value();
    return value == null ? null : setting.cast(value);
  }

  /** Returns a setting's value and source, by path. */
  public Entry entry(String path) {
    Entry entry = entries.get(path);
    if (entry == null) {
      throw new IllegalArgumentException("no setting " + path);
    }
    return entry;
  }

  /** Returns every entry, in catalog order. */
  public Iterable<Entry> entries() {
    return entries.values();
  }

  /**
   * Returns a copy with the values of the given sections taken from {@code other} (a reload of some
   * sections only); the rest keeps this configuration's values.
   */
  public Config withSectionsFrom(Config other, java.util.Set<String> sections) {
    Map<String, Entry> merged = new LinkedHashMap<>(entries);
    for (Entry entry : other.entries.values()) {
      if (sections.contains(entry.setting().section())) {
        merged.put(entry.setting().path(), entry);
      }
    }
    return new Config(catalog, merged);
  }

  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof Config other
        && catalog == other.catalog
        && ConfigDiff.between(this, other).isEmpty();
  }

  @Override
  public int hashCode() {
    return entries.keySet().hashCode();
  }

  @Override
  public String toString() {
    StringBuilder text = new StringBuilder("Config{");
    for (Entry entry : entries.values()) {
      text.append(entry.setting().path())
          .append('=')
          .append(entry.setting().display(entry.value()))
          .append(", ");
    }
    return text.append('}').toString();
  }
}
