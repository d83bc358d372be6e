package io.skein.node;

import static io.skein.node.ItSupport.JSON;
import static io.skein.node.ItSupport.awaitCondition;
import static io.skein.node.ItSupport.cluster;
import static io.skein.node.ItSupport.http;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.node.ItSupport.WriteLoad;
import io.skein.testkit.HttpJson;
import io.skein.testkit.NodeProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Live reconfiguration with real processes: the config files of a running three-node leader-mode
 * cluster are edited while clients write through the primary. Node 1's and node 2's files are
 * replaced by rename, as editors do; node 3's is a Kubernetes-style mount whose {@code ..data}
 * symlink is swapped. Node 2 is also given a broken file, which it reports and ignores, keeping its
 * running configuration, until the file is fixed.
 *
 * <p>Checked: every change reaches every node (through {@code GET /admin/config}); no client
 * request fails while the files change; every acknowledged write is on every node at the end.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ConfigReloadIT {
  private static final int NODES = 3;
  private static final String TOKEN = "an-admin-token-for-the-reload-it";
  private static final Duration APPLY_WAIT = Duration.ofSeconds(30);

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path dir;

  private final int[] ports = new int[NODES + 1];
  private final Map<Integer, NodeProcess> nodes = new ConcurrentHashMap<>();
  private final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @AfterEach
  void stopAll() {
    nodes.values().forEach(NodeProcess::close);
  }

  private NodeProcess node(int id) {
    return Objects.requireNonNull(nodes.get(id), () -> "node " + id + " is not running");
  }

  private static String yaml(String replicationTimeout, String level, String extra) {
    return "admin:\n  token: "
        + TOKEN
        + "\nreload:\n  check-interval: 2s\nreplication:\n  replication-timeout: "
        + replicationTimeout
        + "\n"
        + extra
        + "log:\n  level: "
        + level
        + "\n";
  }

  /** Writes a file the way editors do: a temporary file renamed over the old one. */
  private static void replace(Path file, String content) throws Exception {
    Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(temporary, content);
    Files.move(
        temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /** Points a Kubernetes-style mount's {@code ..data} at a new directory in one rename. */
  private static void swap(Path mount, String version, String content) throws Exception {
    Files.createDirectories(mount.resolve(version));
    Files.writeString(mount.resolve(version).resolve("node.yaml"), content);
    Path next = mount.resolve("..data_tmp");
    Files.createSymbolicLink(next, Path.of(version));
    Files.move(next, mount.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
  }

  private Path configPath(int id) {
    return id == 3
        ? dir.resolve("mount3").resolve("node.yaml")
        : dir.resolve("config" + id).resolve("node.yaml");
  }

  private void prepareConfig(int id) throws Exception {
    String initial = yaml("2s", "info", "");
    if (id == 3) {
      Path mount = Files.createDirectories(dir.resolve("mount3"));
      Files.createDirectories(mount.resolve("..v1"));
      Files.writeString(mount.resolve("..v1").resolve("node.yaml"), initial);
      Files.createSymbolicLink(mount.resolve("..data"), Path.of("..v1"));
      Files.createSymbolicLink(mount.resolve("node.yaml"), Path.of("..data/node.yaml"));
    } else {
      Files.createDirectories(configPath(id).getParent());
      Files.writeString(configPath(id), initial);
    }
  }

  private NodeProcess start(int id) {
    NodeProcess node =
        ItSupport.startNode(
            dir,
            id,
            ports[id],
            "--node-id",
            Integer.toString(id),
            "--role",
            id == 1 ? "primary" : "secondary",
            "--data-dir",
            dir.resolve("data" + id).toString(),
            "--peers",
            ItSupport.peersJson(id, NODES, (self, peer) -> ports[peer]),
            "--config",
            configPath(id).toString());
    nodes.put(id, node);
    return node;
  }

  /** A node's running value of a setting, from {@code GET /admin/config}. */
  private String setting(int id, String path) {
    try {
      HttpResponse<String> response =
          client.send(
              HttpRequest.newBuilder(URI.create(node(id).baseUrl() + "/admin/config"))
                  .header("Authorization", "Bearer " + TOKEN)
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      for (JsonNode setting : JSON.readTree(response.body()).path("settings")) {
        if (setting.path("path").asText().equals(path)) {
          JsonNode value = setting.path("value");
          return value.isTextual() ? value.asText() : value.toString();
        }
      }
      return "missing";
    } catch (Exception e) {
      return "unreachable: " + e;
    }
  }

  private String metric(int id, String name) {
    try (HttpJson http = http(node(id))) {
      for (String line : http.get("/metrics").body().split("\n")) {
        if (line.startsWith(name + " ")) {
          return line.substring(name.length() + 1).strip();
        }
      }
      return "missing";
    } catch (Exception e) {
      return "unreachable";
    }
  }

  private void awaitSetting(int id, String path, String value) throws InterruptedException {
    assertThat(awaitCondition(APPLY_WAIT, () -> setting(id, path).equals(value)))
        .as("node %d applies %s = %s (it has %s)", id, path, value, setting(id, path))
        .isTrue();
  }

  @Test
  void configFilesChangeUnderLoadWithoutAFailedRequestOrALostWrite() throws Exception {
    for (int id = 1; id <= NODES; id++) {
      ports[id] = NodeProcess.freeLoopbackPort();
      prepareConfig(id);
    }
    for (int id = 1; id <= NODES; id++) {
      start(id);
    }
    assertThat(
            awaitCondition(
                Duration.ofSeconds(30),
                () -> {
                  try {
                    return cluster(node(1)).path("role").asText().equals("primary");
                  } catch (Exception e) {
                    return false;
                  }
                }))
        .as("node 1 leads")
        .isTrue();

    WriteLoad load =
        new WriteLoad(
            http(node(1)), "reload", "r", "x".repeat(64), 4, 200_000, Duration.ofSeconds(90));
    load.start();
    assertThat(awaitCondition(Duration.ofSeconds(20), () -> load.acknowledged().size() > 50))
        .isTrue();

    // 1. Every node: a new replication timeout and log level; node 3 by a symlink swap.
    replace(configPath(1), yaml("3s", "debug", ""));
    replace(configPath(2), yaml("3s", "debug", ""));
    swap(dir.resolve("mount3"), "..v2", yaml("3s", "debug", ""));
    for (int id = 1; id <= NODES; id++) {
      awaitSetting(id, "replication.replication-timeout", "3s");
      awaitSetting(id, "log.level", "debug");
    }

    // 2. A broken file on node 2: reported, ignored, the running configuration kept.
    replace(configPath(2), "replication:\n  replication-timeout: [not closed\n");
    assertThat(
            awaitCondition(
                APPLY_WAIT, () -> metric(2, "skein_config_last_reload_successful").equals("0.0")))
        .as("node 2 reports the broken file")
        .isTrue();
    assertThat(setting(2, "replication.replication-timeout")).isEqualTo("3s");

    // 3. The election interval and heartbeat of every node, and node 2's file fixed.
    String faster = "  election-interval: 400ms\n  heartbeat: 80ms\n";
    String timings = yaml("3s", "info", "").replace("replication:\n", "replication:\n" + faster);
    replace(configPath(1), timings);
    replace(configPath(2), timings);
    swap(dir.resolve("mount3"), "..v3", timings);
    for (int id = 1; id <= NODES; id++) {
      awaitSetting(id, "replication.election-interval", "400ms");
      awaitSetting(id, "replication.heartbeat", "80ms");
      awaitSetting(id, "log.level", "info");
    }
    assertThat(metric(2, "skein_config_last_reload_successful")).isEqualTo("1.0");

    assertThat(awaitCondition(Duration.ofSeconds(5), () -> load.acknowledged().size() > 200))
        .isTrue();
    load.stop();
    assertThat(load.awaitClients(Duration.ofSeconds(30))).isTrue();

    assertThat(load.problems()).as("requests that failed in transport").isEmpty();
    assertThat(load.refusedByStatus()).as("requests answered with an error").isEmpty();
    assertThat(cluster(node(1)).path("role").asText())
        .as("the primary kept its role through the reloads")
        .isEqualTo("primary");
    assertEveryAcknowledgedWriteIsEverywhere(load);
  }

  @Test
  void sighupReloadsANodeThatDoesNotWatchItsFile() throws Exception {
    ports[1] = NodeProcess.freeLoopbackPort();
    Path file = dir.resolve("alone.yaml");
    Files.writeString(file, yaml("2s", "info", "") + "cluster:\n  mode: dynamo\n");
    NodeProcess node =
        ItSupport.startNode(
            dir,
            1,
            ports[1],
            "--data-dir",
            dir.resolve("alone").toString(),
            "--config",
            file.toString(),
            "--reload-watch",
            "false");
    nodes.put(1, node);
    replace(file, yaml("2s", "warn", "") + "cluster:\n  mode: dynamo\n");
    Thread.sleep(1_000);
    assertThat(setting(1, "log.level")).as("not watched: nothing applies yet").isEqualTo("info");
    Process kill =
        new ProcessBuilder("kill", "-HUP", Long.toString(node.pid())).inheritIO().start();
    assertThat(kill.waitFor()).isZero();
    awaitSetting(1, "log.level", "warn");
    assertThat(node.isAlive()).isTrue();
  }

  private void assertEveryAcknowledgedWriteIsEverywhere(WriteLoad load) throws Exception {
    Map<String, String> acknowledged = new HashMap<>(load.acknowledged());
    assertThat(acknowledged).isNotEmpty();
    for (int id = 1; id <= NODES; id++) {
      NodeProcess node = node(id);
      try (HttpJson http = http(node)) {
        List<String> missing =
            acknowledged.keySet().stream()
                .filter(
                    doc -> {
                      try {
                        return http.get(load.path(doc)).status() != 200;
                      } catch (Exception e) {
                        return true;
                      }
                    })
                .toList();
        if (!missing.isEmpty()) {
          // A secondary applies a round trip after the primary: give it time, then look again.
          assertThat(
                  awaitCondition(
                      Duration.ofSeconds(20),
                      () ->
                          missing.stream()
                              .allMatch(
                                  doc -> {
                                    try {
                                      return http.get(load.path(doc)).status() == 200;
                                    } catch (Exception e) {
                                      return false;
                                    }
                                  })))
              .as(
                  "node %d holds every acknowledged write (%d missing at first)",
                  id, missing.size())
              .isTrue();
        }
      }
    }
  }
}
