package io.skein.core.config;

import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A check over several settings ({@code max-document-bytes <= max-request-bytes}). It runs only
 * when every setting it reads resolved without a problem.
 *
 * @param paths the settings it reads; the first is the one a violation is reported against
 * @param check returns what is wrong, or {@code null}
 */
public record ConfigRule(List<String> paths, ConfigRule.Check check) {
  /** The check itself. */
  @FunctionalInterface
  public interface Check {
    /** Returns what is wrong with the configuration, or {@code null}. */
    @Nullable String apply(Config config);
  }

  /** Copies the paths. */
  public ConfigRule {
    if (paths.isEmpty()) {
      throw new IllegalArgumentException("a rule reads at least one setting");
    }
    paths = List.copyOf(paths);
  }
}
