package io.skein.node;

import static io.skein.node.ItSupport.awaitCondition;
import static io.skein.node.ItSupport.cluster;
import static io.skein.node.ItSupport.http;
import static org.assertj.core.api.Assertions.assertThat;

import io.skein.testkit.HttpJson;
import io.skein.testkit.NodeProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
 * Issue 13 with real processes: a secondary is killed (SIGKILL), the primary writes far past the
 * compaction threshold (so the entries the secondary lacks are compacted away), the secondary
 * restarts and converges by a snapshot install, then follows the log again. A second round kills it
 * again during its catch-up. (The simulator covers transfers cut at every point deterministically.)
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class LeaderCompactionIT {
  private static final int NODES = 3;
  private static final int KEYS = 3_000;

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path dir;

  private final int[] ports = new int[NODES + 1];
  private final Map<Integer, NodeProcess> nodes = new ConcurrentHashMap<>();

  @AfterEach
  void stopAll() {
    nodes.values().forEach(NodeProcess::close);
  }

  private NodeProcess node(int id) {
    return Objects.requireNonNull(nodes.get(id), () -> "node " + id + " is not running");
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
            ItSupport.peersJson(id, NODES, (from, to) -> ports[to]),
            "--compaction-entries",
            "200");
    nodes.put(id, node);
    return node;
  }

  private boolean leads(int id) {
    try {
      return cluster(node(id)).path("role").asText().equals("primary");
    } catch (Exception e) {
      return false;
    }
  }

  private static double metric(NodeProcess node, String name) throws Exception {
    try (HttpJson http = http(node)) {
      return io.skein.testkit.PrometheusText.value(http.get("/metrics").body(), name);
    }
  }

  /** Writes {@code rounds} puts over {@link #KEYS} keys on node 1, then deletes every tenth. */
  private Map<String, String> write(int rounds, int round0) throws Exception {
    Map<String, String> expected = new LinkedHashMap<>();
    try (HttpJson one = http(node(1))) {
      for (int i = 0; i < rounds; i++) {
        int n = round0 + i;
        List<String> ops = new ArrayList<>();
        for (int k = 0; k < 50; k++) {
          String id = "k" + ((n * 50 + k) % KEYS);
          String body = "{\"n\":" + n + ",\"pad\":\"" + "x".repeat(200) + "\"}";
          ops.add(
              "{\"op\":\"put\",\"collection\":\"c\",\"id\":\"" + id + "\",\"doc\":" + body + "}");
          expected.put(id, body);
        }
        HttpJson.Response batch =
            one.post("/v1/batch", "{\"ops\":[" + String.join(",", ops) + "]}");
        assertThat(batch.status()).as(batch.toString()).isEqualTo(200);
      }
      for (int k = 0; k < KEYS; k += 10) {
        assertThat(one.delete("/v1/collections/c/docs/k" + k).status()).isIn(200, 404);
        expected.put("k" + k, null);
      }
    }
    return expected;
  }

  private static List<String> differences(NodeProcess node, Map<String, String> expected)
      throws Exception {
    List<String> wrong = new ArrayList<>();
    try (HttpJson http = http(node)) {
      for (Map.Entry<String, String> doc : expected.entrySet()) {
        HttpJson.Response got = http.get("/v1/collections/c/docs/" + doc.getKey());
        boolean right =
            doc.getValue() == null
                ? got.status() == 404
                : got.status() == 200
                    && ItSupport.JSON
                        .readTree(got.body())
                        .equals(ItSupport.JSON.readTree(doc.getValue()));
        if (!right) {
          wrong.add(doc.getKey());
        }
      }
    }
    return wrong;
  }

  private long appliedIndex(int id) {
    try {
      return cluster(node(id)).path("appliedIndex").asLong();
    } catch (Exception e) {
      return -1;
    }
  }

  @Test
  void aKilledSecondaryComesBackByASnapshotAndAnotherKillMidTransferResumes() throws Exception {
    for (int id = 1; id <= NODES; id++) {
      ports[id] = NodeProcess.freeLoopbackPort();
    }
    for (int id = 1; id <= NODES; id++) {
      start(id);
    }
    assertThat(awaitCondition(Duration.ofSeconds(20), () -> leads(1))).isTrue();

    node(3).kill();
    nodes.remove(3);
    Map<String, String> expected = write(120, 0); // 6,000 puts and 300 deletes
    assertThat(metric(node(1), "skein_storage_leader_compactions_total"))
        .as("the primary compacted past what node 3 holds")
        .isPositive();

    start(3);
    assertThat(awaitCondition(Duration.ofSeconds(60), () -> appliedIndex(3) >= appliedIndex(1)))
        .as("node 3 catches up")
        .isTrue();
    assertThat(differences(node(3), expected)).as("documents node 3 got wrong").isEmpty();
    assertThat(metric(node(3), "skein_storage_leader_snapshots_installed_total"))
        .as("node 3 came back by a snapshot")
        .isPositive();

    // Again, and killed once more during its catch-up (the chunks it installed before the kill
    // are durable with their progress; the transfer resumes or starts over, and either way it
    // converges).
    node(3).kill();
    nodes.remove(3);
    expected.putAll(write(60, 1_000));
    start(3);
    TimeUnit.MILLISECONDS.sleep(300);
    node(3).kill();
    nodes.remove(3);
    start(3);
    assertThat(awaitCondition(Duration.ofSeconds(60), () -> appliedIndex(3) >= appliedIndex(1)))
        .as("node 3 catches up after a kill during its transfer")
        .isTrue();
    assertThat(differences(node(3), expected)).as("documents node 3 got wrong").isEmpty();

    // And then it follows the log.
    try (HttpJson one = http(node(1))) {
      assertThat(one.put("/v1/collections/c/docs/last", "{\"v\":1}").status()).isEqualTo(200);
    }
    assertThat(
            awaitCondition(
                Duration.ofSeconds(20),
                () -> differencesQuietly(node(3), Map.of("last", "{\"v\":1}")).isEmpty()))
        .isTrue();
  }

  private static List<String> differencesQuietly(NodeProcess node, Map<String, String> expected) {
    try {
      return differences(node, expected);
    } catch (Exception e) {
      return List.of("error: " + e);
    }
  }
}
