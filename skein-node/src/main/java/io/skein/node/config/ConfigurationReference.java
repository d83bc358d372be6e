package io.skein.node.config;

import io.skein.core.config.Setting;
import io.skein.core.config.SettingsCatalog;

/**
 * Generates the settings reference of {@code docs/configuration.md} from the catalog, so that the
 * page cannot drift from the code ({@code SettingsCatalogTest} compares them).
 */
public final class ConfigurationReference {
  private ConfigurationReference() {}

  /** The marker before the generated part of the page. */
  public static final String BEGIN = "<!-- BEGIN GENERATED: settings (SettingsCatalogTest) -->";

  /** The marker after the generated part of the page. */
  public static final String END = "<!-- END GENERATED: settings -->";

  /** Returns one table per section: every setting with its flag, keys, unit, default and class. */
  public static String markdown(SettingsCatalog catalog) {
    StringBuilder page = new StringBuilder();
    for (String section : catalog.sections()) {
      page.append("\n### `").append(section).append("`\n\n");
      page.append("| Setting | Flag | Variable | Unit | Default | Reload | What it does |\n");
      page.append("|---|---|---|---|---|---|---|\n");
      for (Setting<?> setting : catalog.section(section)) {
        page.append("| `").append(setting.path()).append('`');
        String legacy = setting.legacyKey();
        if (legacy != null) {
          page.append("<br>(flat key `").append(legacy).append("`)");
        }
        page.append(" | ").append(code(setting.flag()));
        page.append(" | `").append(setting.environmentName()).append('`');
        page.append(" | ").append(setting.unit() == null ? "" : setting.unit());
        page.append(" | ").append(escape(setting.defaultText()));
        page.append(" | ").append(setting.reloadClass().wireName());
        if (setting.clusterWide()) {
          page.append(", cluster-wide");
        }
        page.append(" | ").append(escape(setting.description()));
        if (setting.secret()) {
          page.append(" Secret: redacted everywhere.");
        }
        page.append(" Accepts ").append(escape(setting.type().description())).append(". |\n");
      }
    }
    return page.toString();
  }

  private static String code(@org.jspecify.annotations.Nullable String text) {
    return text == null ? "" : "`" + text + "`";
  }

  private static String escape(String text) {
    return text.replace("|", "\\|");
  }
}
