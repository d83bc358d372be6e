package io.skein.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.IntNode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Layering, every problem reported with its origin, rules, diff and redaction. */
class ConfigResolverTest {
  static final Setting<Integer> PORT =
      Setting.builder("node.port", ValueTypes.integer(0, 65535))
          .flag("--port")
          .legacyKey("port")
          .defaultValue(9000)
          .reload(ReloadClass.STATIC)
          .description("port")
          .build();
  static final Setting<Duration> SYNC =
      Setting.builder(
              "replication.sync-interval",
              ValueTypes.duration(Duration.ofMillis(1), Duration.ofDays(1), false))
          .unit("s")
          .defaultValue(Duration.ofSeconds(2))
          .reload(ReloadClass.DYNAMIC)
          .description("sync")
          .build();
  static final Setting<Long> REQUEST =
      Setting.builder("limits.max-request-bytes", ValueTypes.bytes(1024, 1L << 30))
          .unit("bytes")
          .defaultValue(8L << 20)
          .reload(ReloadClass.DYNAMIC)
          .description("request")
          .build();
  static final Setting<Long> DOCUMENT =
      Setting.builder("limits.max-document-bytes", ValueTypes.bytes(64, 1L << 30))
          .unit("bytes")
          .defaultValue(1L << 20)
          .reload(ReloadClass.DYNAMIC)
          .description("document")
          .build();
  static final Setting<Secret> SECRET =
      Setting.builder("cluster.secret", ValueTypes.secret(16))
          .secret()
          .reload(ReloadClass.STATIC)
          .description("secret")
          .build();
  static final SettingsCatalog CATALOG =
      new SettingsCatalog(
          List.of(PORT, SYNC, REQUEST, DOCUMENT, SECRET),
          List.of(
              new ConfigRule(
                  List.of(DOCUMENT.path(), REQUEST.path()),
                  c -> c.get(DOCUMENT) > c.get(REQUEST) ? "document over request" : null)));
  static final ValueType.Context NO_ENV = name -> null;

  private static ConfigLayer layer(String source, Map<String, String> values) {
    Map<String, RawValue> raw = new java.util.LinkedHashMap<>();
    values.forEach((path, text) -> raw.put(path, RawValue.text(text, source + ":" + path)));
    return ConfigLayer.of(source, raw);
  }

  @Test
  void higherLayersWinAndProvenanceIsKept() {
    Config config =
        ConfigResolver.resolve(
                CATALOG,
                List.of(
                    layer("file", Map.of("node.port", "9001", "replication.sync-interval", "3")),
                    layer("flags", Map.of("node.port", "9002"))),
                NO_ENV)
            .orThrow();
    assertThat(config.get(PORT)).isEqualTo(9002);
    assertThat(config.entry("node.port").source()).isEqualTo("flags");
    assertThat(config.get(SYNC)).isEqualTo(Duration.ofSeconds(3));
    assertThat(config.entry("replication.sync-interval").source()).isEqualTo("file");
    assertThat(config.get(REQUEST)).isEqualTo(8L << 20);
    assertThat(config.entry("limits.max-request-bytes").source()).isEqualTo("default");
    assertThat(config.find(SECRET)).isNull();
  }

  @Test
  void everyProblemIsReportedWithItsOrigin() {
    ConfigResolver.Resolution resolution =
        ConfigResolver.resolve(
            CATALOG,
            List.of(
                layer(
                    "file",
                    Map.of(
                        "node.port",
                        "99999",
                        "replication.sync-interval",
                        "soon",
                        "no.such",
                        "1"))),
            NO_ENV);
    assertThat(resolution.ok()).isFalse();
    assertThat(resolution.violations())
        .extracting(Violation::path)
        .containsExactlyInAnyOrder("no.such", "node.port", "replication.sync-interval");
    assertThat(resolution.describe()).contains("file:node.port").contains("99999");
    assertThatThrownBy(resolution::orThrow).hasMessageContaining("replication.sync-interval");
  }

  @Test
  void rulesOverSeveralSettingsRunOnceTheValuesParse() {
    ConfigResolver.Resolution resolution =
        ConfigResolver.resolve(
            CATALOG,
            List.of(
                layer(
                    "flags",
                    Map.of(
                        "limits.max-document-bytes", "2MiB", "limits.max-request-bytes", "1MiB"))),
            NO_ENV);
    assertThat(resolution.violations())
        .singleElement()
        .hasToString("limits.max-document-bytes: document over request");
  }

  @Test
  void durationsAndSizesParseWithUnitsAndFormatBack() throws Exception {
    ValueType<Duration> duration =
        ValueTypes.duration(Duration.ofMillis(1), Duration.ofDays(3650), true);
    assertThat(duration.parse(RawValue.text("0.5", "x").value(), NO_ENV)).hasMillis(500);
    assertThat(duration.parse(RawValue.text("250ms", "x").value(), NO_ENV)).hasMillis(250);
    assertThat(duration.parse(RawValue.text("5m", "x").value(), NO_ENV)).hasMinutes(5);
    assertThat(duration.parse(RawValue.text("7d", "x").value(), NO_ENV)).hasDays(7);
    assertThat(duration.parse(IntNode.valueOf(2), NO_ENV)).hasSeconds(2);
    assertThat(duration.parse(RawValue.text("0", "x").value(), NO_ENV)).isZero();
    assertThatThrownBy(() -> duration.parse(RawValue.text("-1", "x").value(), NO_ENV))
        .isInstanceOf(InvalidValueException.class);
    assertThat(ValueTypes.format(Duration.ofMillis(1500))).isEqualTo("1500ms");
    assertThat(ValueTypes.format(Duration.ofSeconds(30))).isEqualTo("30s");
    ValueType<Long> bytes = ValueTypes.bytes(0, 1L << 40);
    assertThat(bytes.parse(RawValue.text("8MiB", "x").value(), NO_ENV)).isEqualTo(8L << 20);
    assertThat(bytes.parse(IntNode.valueOf(1000), NO_ENV)).isEqualTo(1000L);
    assertThat(ValueTypes.formatBytes(8L << 20)).isEqualTo("8MiB");
    assertThatThrownBy(() -> bytes.parse(RawValue.text("17592186044424MiB", "x").value(), NO_ENV))
        .isInstanceOf(InvalidValueException.class);
    var huge =
        new com.fasterxml.jackson.databind.node.DecimalNode(
            new java.math.BigDecimal("1e-999999999"));
    assertThatThrownBy(() -> duration.parse(huge, NO_ENV))
        .isInstanceOf(InvalidValueException.class);
    var large =
        new com.fasterxml.jackson.databind.node.DecimalNode(
            new java.math.BigDecimal("1e999999999"));
    assertThatThrownBy(() -> ValueTypes.integer(0, 10).parse(large, NO_ENV))
        .isInstanceOf(InvalidValueException.class);
  }

  @Test
  void secretsResolveReferencesAndNeverShow() {
    ValueType.Context env = name -> name.equals("S") ? "sixteen-chars-or-more" : null;
    Config before =
        ConfigResolver.resolve(
                CATALOG, List.of(layer("flags", Map.of("cluster.secret", "${S}"))), env)
            .orThrow();
    assertThat(before.get(SECRET).value()).isEqualTo("sixteen-chars-or-more");
    Config after =
        ConfigResolver.resolve(
                CATALOG,
                List.of(layer("flags", Map.of("cluster.secret", "another-long-secret!"))),
                env)
            .orThrow();
    List<ConfigChange> changes = ConfigDiff.between(before, after);
    assertThat(changes)
        .singleElement()
        .satisfies(
            change -> {
              assertThat(change.fieldPath()).isEqualTo("cluster.secret");
              assertThat(change.oldDisplay()).isEqualTo(Secret.REDACTED);
              assertThat(change.newDisplay()).isEqualTo(Secret.REDACTED);
              assertThat(change.toString()).doesNotContain("sixteen").doesNotContain("another");
            });
    assertThat(after.toString()).doesNotContain("another-long-secret");
    assertThat(SECRET.json(after.get(SECRET)).asText()).isEqualTo(Secret.REDACTED);
    assertThat(
            ConfigResolver.resolve(
                    CATALOG, List.of(layer("flags", Map.of("cluster.secret", "${UNSET}"))), env)
                .describe())
        .contains("UNSET, which is not set");
  }

  @Test
  void diffListsChangesInCatalogOrderAndSectionsMergeAndRecheck() {
    Config a = ConfigResolver.resolve(CATALOG, List.of(), NO_ENV).orThrow();
    Config b =
        ConfigResolver.resolve(
                CATALOG,
                List.of(layer("file", Map.of("replication.sync-interval", "5", "node.port", "1"))),
                NO_ENV)
            .orThrow();
    assertThat(ConfigDiff.between(a, b))
        .extracting(ConfigChange::fieldPath)
        .containsExactly("node.port", "replication.sync-interval");
    Config merged = a.withSectionsFrom(b, java.util.Set.of("replication"));
    assertThat(ConfigDiff.between(a, merged))
        .extracting(ConfigChange::fieldPath)
        .containsExactly("replication.sync-interval");
    assertThat(ConfigDiff.between(a, b).get(0).inverse().newValue()).isEqualTo(9000);
    assertThat(ConfigResolver.checkRules(merged)).isEmpty();
  }

  @Test
  void theCatalogRefusesDuplicatesAndMeasuredSettingsWithoutAUnit() {
    Setting<Duration> noUnit =
        Setting.builder("a.b", ValueTypes.duration(Duration.ZERO, Duration.ofDays(1), true))
            .reload(ReloadClass.DYNAMIC)
            .description("x")
            .build();
    assertThatThrownBy(() -> new SettingsCatalog(List.of(noUnit), List.of()))
        .hasMessageContaining("unit");
    assertThatThrownBy(() -> new SettingsCatalog(List.of(PORT, PORT), List.of()))
        .hasMessageContaining("node.port");
    assertThatThrownBy(
            () -> Setting.builder("a.b", ValueTypes.bool()).description("no reload class").build())
        .hasMessageContaining("reload class");
  }
}
