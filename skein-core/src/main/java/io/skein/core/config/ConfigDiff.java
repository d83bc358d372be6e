package io.skein.core.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** Computes the changes between two configurations of one catalog. */
public final class ConfigDiff {
  private ConfigDiff() {}

  /**
   * Returns the settings whose values differ, in catalog order.
   *
   * @throws IllegalArgumentException if the two resolve different catalogs
   */
  public static List<ConfigChange> between(Config before, Config after) {
    if (before.catalog() != after.catalog()) {
      throw new IllegalArgumentException("configurations of different catalogs");
    }
    List<ConfigChange> changes = new ArrayList<>();
    for (Config.Entry old : before.entries()) {
      Config.Entry now = after.entry(old.setting().path());
      if (!Objects.equals(old.value(), now.value())) {
        changes.add(new ConfigChange(old.setting(), old.value(), now.value()));
      }
    }
    return List.copyOf(changes);
  }
}
