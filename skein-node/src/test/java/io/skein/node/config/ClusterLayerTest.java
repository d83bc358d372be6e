package io.skein.node.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.skein.core.config.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cluster-wide layer: its place among the sources, and what a node leaves out. */
class ClusterLayerTest {
  @TempDir Path dir;

  private static Config resolve(ConfigSources sources) {
    return Objects.requireNonNull(sources.load().resolution().config(), "resolves");
  }

  @Test
  void aClusterValueBeatsTheFileAndTheEnvironmentButNotAFlag() throws Exception {
    Path file = dir.resolve("skein.yaml");
    Files.writeString(file, "replication:\n  sync-interval: 5s\n");
    ConfigSources sources =
        ConfigSources.builder()
            .configFile(file)
            .environment(Map.of("SKEIN_LIMITS_RATE_LIMIT", "7"))
            .flag("--replication-timeout", "3")
            .build();
    sources
        .cluster()
        .replace(
            Map.of(
                "replication.sync-interval", TextNode.valueOf("1s"),
                "limits.rate-limit", IntNode.valueOf(50),
                "replication.replication-timeout", TextNode.valueOf("9s")));
    Config config = resolve(sources);
    assertThat(config.get(Settings.SYNC_INTERVAL)).hasSeconds(1);
    assertThat(config.entry("replication.sync-interval").source()).isEqualTo("cluster");
    assertThat(config.get(Settings.RATE_LIMIT)).isEqualTo(50.0);
    assertThat(config.entry("limits.rate-limit").source()).isEqualTo("cluster");
    // A flag pins the node's own value; the cluster value is taken but hidden.
    assertThat(config.get(Settings.REPLICATION_TIMEOUT)).hasSeconds(3);
    assertThat(config.entry("replication.replication-timeout").source()).isEqualTo("flags");
    assertThat(sources.cluster().taken()).contains("replication.replication-timeout");
    assertThat(sources.cluster().rejected()).isEmpty();
    // Removing the cluster values brings the file's back.
    sources.cluster().replace(Map.of());
    assertThat(resolve(sources).get(Settings.SYNC_INTERVAL)).hasSeconds(5);
  }

  @Test
  void nodeLocalUnknownAndInvalidValuesAreLeftOutAndTheOthersKept() {
    ConfigSources sources = ConfigSources.builder().build();
    List<ClusterLayer.Rejection> seen = new ArrayList<>();
    sources.cluster().onRejected(seen::add);
    sources
        .cluster()
        .replace(
            Map.of(
                "node.port", IntNode.valueOf(9100),
                "admin.token", TextNode.valueOf("a-token-that-is-long-enough"),
                "replication.no-such", TextNode.valueOf("1s"),
                "limits.rate-limit", TextNode.valueOf("lots"),
                "limits.change-streams", NullNode.getInstance(),
                "log.level", TextNode.valueOf("debug")));
    Config config = resolve(sources);
    assertThat(config.get(Settings.LOG_LEVEL)).isEqualTo("debug");
    assertThat(config.get(Settings.NODE_PORT)).isEqualTo(9000);
    assertThat(config.get(Settings.RATE_LIMIT)).isEqualTo(0.0);
    assertThat(sources.cluster().rejected())
        .extracting(ClusterLayer.Rejection::path)
        .containsExactly(
            "admin.token",
            "limits.change-streams",
            "limits.rate-limit",
            "node.port",
            "replication.no-such");
    assertThat(sources.cluster().rejected().get(3).reason()).contains("node-local");
    assertThat(seen).hasSize(5);
    // A second resolution reports nothing new.
    resolve(sources);
    assertThat(seen).hasSize(5);
    // A secret's value is never shown.
    assertThat(
            ClusterLayer.shown(
                Settings.CATALOG, "admin.token", TextNode.valueOf("a-token-that-is-long-enough")))
        .isEqualTo(TextNode.valueOf("[REDACTED]"));
  }

  @Test
  void aValueThatBreaksARuleWithThisNodesPinIsLeftOutAlone() {
    // This node pins a 1 MiB request limit; a 2 MiB cluster-wide document limit cannot hold here.
    ConfigSources sources =
        ConfigSources.builder().flag("--max-request-bytes", Long.toString(1L << 20)).build();
    sources
        .cluster()
        .replace(
            Map.of(
                "limits.max-document-bytes", IntNode.valueOf(2 << 20),
                "limits.rate-limit-clients", IntNode.valueOf(1_000)));
    Config config = resolve(sources);
    assertThat(config.get(Settings.MAX_DOCUMENT_BYTES)).isEqualTo(1L << 20);
    assertThat(config.entry("limits.max-document-bytes").source()).isEqualTo("default");
    assertThat(config.get(Settings.RATE_LIMIT_CLIENTS)).isEqualTo(1_000);
    assertThat(sources.cluster().rejected()).hasSize(1);
    ClusterLayer.Rejection rejection = sources.cluster().rejected().get(0);
    assertThat(rejection.path()).isEqualTo("limits.max-document-bytes");
    assertThat(rejection.reason()).contains("max-request-bytes");
  }

  @Test
  void aValueAComponentCouldNotApplyStaysOutUntilItChanges() {
    ConfigSources sources = ConfigSources.builder().build();
    ClusterLayer layer = sources.cluster();
    layer.replace(Map.of("log.level", TextNode.valueOf("debug")));
    layer.failed(List.of("log.level"), "module 'log' failed to reload: boom");
    assertThat(resolve(sources).get(Settings.LOG_LEVEL)).isEqualTo("info");
    assertThat(layer.rejected())
        .extracting(ClusterLayer.Rejection::reason)
        .containsExactly("module 'log' failed to reload: boom");
    assertThat(layer.replace(Map.of("log.level", TextNode.valueOf("debug")))).isFalse();
    assertThat(resolve(sources).get(Settings.LOG_LEVEL)).isEqualTo("info");
    layer.replace(Map.of("log.level", TextNode.valueOf("warn")));
    assertThat(resolve(sources).get(Settings.LOG_LEVEL)).isEqualTo("warn");
    assertThat(layer.rejected()).isEmpty();
  }

  @Test
  void theNodesOwnBrokenSourcesAreReportedAsWithoutTheLayer() {
    ConfigSources sources = ConfigSources.builder().flag("--port", "not-a-port").build();
    sources.cluster().replace(Map.of("log.level", TextNode.valueOf("debug")));
    var resolution = sources.load().resolution();
    assertThat(resolution.ok()).isFalse();
    assertThat(resolution.describe()).contains("--port");
  }

  @Test
  void oneValueIsCheckedOnItsOwn() {
    JsonNode big = TextNode.valueOf("x".repeat(ClusterLayer.VALUE_CHARS_MAX + 1));
    assertThat(ClusterLayer.problem(Settings.CATALOG, "log.level", big, n -> null))
        .contains("longer than");
    assertThat(
            ClusterLayer.problem(
                Settings.CATALOG, "replication.sync-interval", TextNode.valueOf("1s"), n -> null))
        .isNull();
    assertThat(
            ClusterLayer.problem(
                Settings.CATALOG, "replication.sync-interval", TextNode.valueOf("-1"), n -> null))
        .isNotNull();
    assertThat(
            ClusterLayer.problem(
                Settings.CATALOG, "node.data-dir", TextNode.valueOf("/tmp"), n -> null))
        .contains("node-local");
  }
}
