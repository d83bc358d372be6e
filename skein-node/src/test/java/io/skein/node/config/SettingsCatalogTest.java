package io.skein.node.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.skein.core.config.Config;
import io.skein.core.config.ReloadClass;
import io.skein.core.config.Setting;
import io.skein.core.config.ValueTypes;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The catalog is the one place a setting is declared (D13): every {@code Setting} constant is in
 * it, each has a reload class, a unit where it measures something, a flag, and a line in {@code
 * docs/configuration.md}. Run with {@code -Dskein.writeDocs=true} to regenerate the page's table.
 */
class SettingsCatalogTest {
  private static final Path PAGE = Path.of("..", "docs", "configuration.md");

  @Test
  void everySettingConstantIsInTheCatalog() throws Exception {
    List<Setting<?>> declared = new ArrayList<>();
    for (Field field : Settings.class.getDeclaredFields()) {
      if (Modifier.isStatic(field.getModifiers()) && field.getType() == Setting.class) {
        declared.add((Setting<?>) field.get(null));
      }
    }
    assertThat(Settings.CATALOG.settings()).containsExactlyInAnyOrderElementsOf(declared);
  }

  @Test
  void everySettingHasAReloadClassAUnitWhereItMeasuresAndAFlag() {
    for (Setting<?> setting : Settings.CATALOG.settings()) {
      assertThat(setting.reloadClass()).as(setting.path()).isNotNull();
      assertThat(setting.description()).as(setting.path()).isNotBlank();
      assertThat(setting.flag()).as(setting.path()).isNotNull();
      if (setting.type().measured()) {
        assertThat(setting.unit()).as(setting.path() + " measures something").isNotNull();
      }
    }
  }

  @Test
  void clusterWideSettingsAreDynamicNotSecretAndNeverNodeLocal() {
    java.util.Set<String> nodeLocal =
        java.util.Set.of("node", "cluster", "tls", "admin", "discovery", "reload");
    for (Setting<?> setting : Settings.CATALOG.settings()) {
      if (setting.clusterWide()) {
        assertThat(setting.reloadClass()).as(setting.path()).isEqualTo(ReloadClass.DYNAMIC);
        assertThat(setting.secret()).as(setting.path()).isFalse();
        assertThat(nodeLocal)
            .as(setting.path() + " is node-local")
            .doesNotContain(setting.section());
      }
    }
    assertThat(
            List.of(
                Settings.SYNC_INTERVAL,
                Settings.REPLICATION_TIMEOUT,
                Settings.ELECTION_INTERVAL,
                Settings.MAX_DOCUMENT_BYTES,
                Settings.RATE_LIMIT,
                Settings.RATE_LIMIT_BURST,
                Settings.LOG_LEVEL))
        .allMatch(Setting::clusterWide);
    assertThat(
            List.of(
                Settings.NODE_ID,
                Settings.NODE_PORT,
                Settings.NODE_DATA_DIR,
                Settings.CLUSTER_PEERS,
                Settings.CLUSTER_SECRET,
                Settings.ADMIN_TOKEN,
                Settings.TLS_KEYSTORE,
                Settings.MAX_CONCURRENT_QUERIES,
                Settings.HTTP_ALLOWED_HOSTS))
        .noneMatch(Setting::clusterWide);
    // The builder refuses what the catalog must never hold.
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                Setting.builder("x.secret", ValueTypes.secret(1))
                    .secret()
                    .clusterWide()
                    .reload(ReloadClass.DYNAMIC)
                    .description("d")
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cluster-wide");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                Setting.builder("x.port", ValueTypes.integer(0, 1))
                    .clusterWide()
                    .reload(ReloadClass.STATIC)
                    .description("d")
                    .build())
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void theDefaultsResolveAndKeepTheSeedsValues() {
    Config config = NodeSettings.resolve(ConfigSources.builder().build());
    assertThat(config.get(Settings.NODE_PORT)).isEqualTo(9000);
    assertThat(config.get(Settings.NODE_HOST)).isEqualTo("127.0.0.1");
    assertThat(config.get(Settings.CLUSTER_MODE)).isEqualTo("leader");
    assertThat(config.get(Settings.ELECTION_INTERVAL)).hasMillis(500);
    assertThat(Settings.heartbeat(config)).hasMillis(100);
    // A core stays free of queries for replication and /health.
    assertThat(Settings.maxConcurrentQueries(config))
        .isEqualTo(Math.max(1, Runtime.getRuntime().availableProcessors() - 1));
    assertThat(
            Settings.maxConcurrentQueries(
                NodeSettings.resolve(
                    ConfigSources.builder().flag("--max-concurrent-queries", "7").build())))
        .isEqualTo(7);
    assertThat(config.get(Settings.REPLICATION_TIMEOUT)).hasMillis(2_000);
    assertThat(config.get(Settings.SYNC_INTERVAL)).hasMillis(2_000);
    assertThat(config.get(Settings.MAX_CLOCK_OFFSET)).hasMillis(500);
    assertThat(config.get(Settings.MAX_DOCUMENT_BYTES)).isEqualTo(1L << 20);
    assertThat(config.get(Settings.MAX_REQUEST_BYTES)).isEqualTo(8L << 20);
    assertThat(config.get(Settings.RELOAD_CHECK_INTERVAL)).hasSeconds(30);
    assertThat(config.get(Settings.RELOAD_TIMEOUT)).hasSeconds(10);
    assertThat(config.get(Settings.RELOAD_ENABLE_ROLLBACK)).isTrue();
    assertThat(config.get(Settings.RELOAD_BACKOFF_BASE)).hasSeconds(1);
    assertThat(config.get(Settings.RELOAD_BACKOFF_CAP)).hasSeconds(30);
  }

  @Test
  void theReferencePageListsEverySettingAsTheCatalogDeclaresIt() throws Exception {
    String generated = ConfigurationReference.markdown(Settings.CATALOG);
    String page = Files.readString(PAGE);
    int begin = page.indexOf(ConfigurationReference.BEGIN);
    int end = page.indexOf(ConfigurationReference.END);
    assertThat(begin).as("the page has the BEGIN marker").isNotNegative();
    assertThat(end).as("the page has the END marker").isGreaterThan(begin);
    String current = page.substring(begin + ConfigurationReference.BEGIN.length(), end);
    if (Boolean.getBoolean("skein.writeDocs") && !current.equals(generated)) {
      Files.writeString(
          PAGE,
          page.substring(0, begin + ConfigurationReference.BEGIN.length())
              + generated
              + page.substring(end));
      current = generated;
    }
    assertThat(current)
        .as("docs/configuration.md is out of date: run the test with -Dskein.writeDocs=true")
        .isEqualTo(generated);
    for (Setting<?> setting : Settings.CATALOG.settings()) {
      assertThat(current).contains("`" + setting.path() + "`");
    }
  }
}
