package io.skein.node;

import static io.skein.node.ItSupport.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;

import io.skein.testkit.HttpJson;
import io.skein.testkit.NodeProcess;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node changes its id with real processes (DESIGN.md D9, issue 10 item 2): three dynamo nodes
 * whose config files give their ids and peers; nodes 1 and 2 keep taking writes while their files
 * swap node 3 for node 9 in their peer lists and node 3's file renames it to 9. Checked: every
 * acknowledged write ends up on every node (node 9 starts from an empty file), node 9's own writes
 * reach the others, and {@code node-3.db} is not touched after the node left it.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class NodeRenameIT {
  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path dir;

  private final int[] ports = new int[4];
  private final Map<Integer, NodeProcess> nodes = new ConcurrentHashMap<>();

  @AfterEach
  void stopAll() {
    nodes.values().forEach(NodeProcess::close);
  }

  private Path configPath(int node) {
    return dir.resolve("config" + node).resolve("node.yaml");
  }

  private String yaml(String id, Map<String, Integer> peers) {
    StringBuilder text =
        new StringBuilder("node:\n  id: \"" + id + "\"\nreload:\n  check-interval: 2s\ncluster:\n");
    text.append("  mode: dynamo\n  peers:\n");
    peers.forEach(
        (peer, port) ->
            text.append("    - {node_id: \"")
                .append(peer)
                .append("\", host: 127.0.0.1, port: ")
                .append(port)
                .append("}\n"));
    text.append("replication:\n  sync-interval: 300ms\n");
    return text.toString();
  }

  private HttpJson http(int node) {
    return new HttpJson(URI.create("http://127.0.0.1:" + ports[node]));
  }

  private boolean holdsAll(int node, Set<String> ids) {
    try (HttpJson http = http(node)) {
      for (String id : ids) {
        if (http.get("/v1/collections/r/docs/" + id).status() != 200) {
          return false;
        }
      }
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  private String nodeId(int node) {
    try (HttpJson http = http(node)) {
      return ItSupport.JSON.readTree(http.get("/v1/cluster").body()).path("nodeId").asText();
    } catch (Exception e) {
      return "unreachable";
    }
  }

  @Test
  void aNodeRenamedUnderLoadRejoinsAndLosesNothing() throws Exception {
    for (int node = 1; node <= 3; node++) {
      ports[node] = NodeProcess.freeLoopbackPort();
    }
    for (int node = 1; node <= 3; node++) {
      Map<String, Integer> peers = new java.util.TreeMap<>();
      for (int other = 1; other <= 3; other++) {
        if (other != node) {
          peers.put(Integer.toString(other), ports[other]);
        }
      }
      Files.createDirectories(configPath(node).getParent());
      Files.writeString(configPath(node), yaml(Integer.toString(node), peers));
      nodes.put(
          node,
          NodeProcess.builder(ItSupport.nodeJar())
              .port(ports[node])
              .logFile(dir.resolve("node" + node + ".log"))
              .arguments(
                  "--data-dir",
                  dir.resolve("data" + node).toString(),
                  "--config",
                  configPath(node).toString())
              .start());
    }

    AtomicBoolean writing = new AtomicBoolean(true);
    Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    List<String> failures = new CopyOnWriteArrayList<>();
    List<Thread> clients = new ArrayList<>();
    for (int node = 1; node <= 2; node++) {
      int target = node;
      clients.add(
          Thread.ofPlatform()
              .daemon()
              .start(
                  () -> {
                    try (HttpJson http = http(target)) {
                      for (int n = 0; writing.get(); n++) {
                        String id = "n" + target + "-" + n;
                        HttpJson.Response answer =
                            http.put("/v1/collections/r/docs/" + id, "{\"n\":" + n + "}");
                        if (answer.status() == 200) {
                          acknowledged.add(id);
                        } else {
                          failures.add(id + ": " + answer);
                        }
                      }
                    } catch (Exception e) {
                      failures.add("node " + target + " client: " + e);
                    }
                  }));
    }
    assertThat(awaitCondition(Duration.ofSeconds(20), () -> acknowledged.size() > 100)).isTrue();

    // The peers swap node 3 for node 9 (same address); then node 3 becomes node 9.
    ItSupport.replaceFile(configPath(1), yaml("1", Map.of("2", ports[2], "9", ports[3])));
    ItSupport.replaceFile(configPath(2), yaml("2", Map.of("1", ports[1], "9", ports[3])));
    ItSupport.replaceFile(configPath(3), yaml("9", Map.of("1", ports[1], "2", ports[2])));
    assertThat(awaitCondition(Duration.ofSeconds(30), () -> nodeId(3).equals("9")))
        .as("node 3 runs as node 9")
        .isTrue();
    Path oldFile = dir.resolve("data3").resolve("node-3.db");
    byte[] oldBytes = Files.readAllBytes(oldFile);
    int renamedAt = acknowledged.size();
    assertThat(awaitCondition(Duration.ofSeconds(20), () -> acknowledged.size() > renamedAt + 100))
        .isTrue();
    try (HttpJson nine = http(3)) {
      assertThat(nine.put("/v1/collections/r/docs/from-nine", "{}").status()).isEqualTo(200);
    }
    acknowledged.add("from-nine");
    writing.set(false);
    for (Thread client : clients) {
      client.join(30_000);
    }

    assertThat(failures).as("client requests that failed").isEmpty();
    for (int node = 1; node <= 3; node++) {
      int n = node;
      assertThat(awaitCondition(Duration.ofSeconds(60), () -> holdsAll(n, acknowledged)))
          .as("every acknowledged write is on node %d", node)
          .isTrue();
    }
    assertThat(Files.readAllBytes(oldFile)).as("node-3.db is left as it was").isEqualTo(oldBytes);
    assertThat(dir.resolve("data3").resolve("node-9.db")).exists();
    System.out.printf(
        "node rename: %d writes acknowledged across the rename, none failed%n",
        acknowledged.size());
  }
}
