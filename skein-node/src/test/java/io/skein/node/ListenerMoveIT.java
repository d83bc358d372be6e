package io.skein.node;

import static io.skein.node.ItSupport.JSON;
import static io.skein.node.ItSupport.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.testkit.HttpJson;
import io.skein.testkit.NodeProcess;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A listener move with real processes (DESIGN.md D8, issue 10 item 1): the config files of a
 * running three-node leader cluster give each node its port; a secondary's file, then the
 * primary's, is edited to a new port while clients write through redirects. Checked: no client
 * request fails, every acknowledged write is on every node, the old ports close, and the other
 * members redirect to the primary's new port. The time each move took (from the node's log) is
 * printed for docs/benchmarks.md.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ListenerMoveIT {
  private static final int NODES = 3;
  private static final Pattern MOVED = Pattern.compile("listener moved .*ms=\"?(\\d+)");

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path dir;

  private final int[] ports = new int[NODES + 1];
  private final Map<Integer, NodeProcess> nodes = new ConcurrentHashMap<>();

  @AfterEach
  void stopAll() {
    nodes.values().forEach(NodeProcess::close);
  }

  private Path configPath(int id) {
    return dir.resolve("config" + id).resolve("node.yaml");
  }

  private static String yaml(int port) {
    return "node:\n  port: " + port + "\nreload:\n  check-interval: 2s\n";
  }

  private HttpJson http(int id) {
    return new HttpJson(URI.create("http://127.0.0.1:" + ports[id]));
  }

  private boolean serves(int port) {
    try (HttpJson http = new HttpJson(URI.create("http://127.0.0.1:" + port))) {
      return http.get("/health").status() == 200;
    } catch (Exception e) {
      return false;
    }
  }

  private static boolean refusesConnections(int port) {
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  private boolean primaryIs(int id) {
    try (HttpJson http = http(id)) {
      JsonNode view = JSON.readTree(http.get("/v1/cluster").body());
      return view.path("role").asText().equals("primary");
    } catch (Exception e) {
      return false;
    }
  }

  private boolean follows(int id, int leader) {
    try (HttpJson http = http(id)) {
      JsonNode view = JSON.readTree(http.get("/v1/cluster").body());
      return view.path("leader").path("nodeId").asText().equals(Integer.toString(leader));
    } catch (Exception e) {
      return false;
    }
  }

  /**
   * Writes one document through {@code entryPort} as the docs tell clients to: following redirects,
   * and retrying a {@code 503} after its {@code Retry-After} (a few times).
   */
  private static HttpJson.Response writeThrough(int entryPort, String id) throws Exception {
    HttpJson.Response answer = writeOnceRetryingConnections(entryPort, id);
    for (int retry = 0; retry < 10 && answer.status() == 503; retry++) {
      Thread.sleep(100);
      answer = writeOnceRetryingConnections(entryPort, id);
    }
    return answer;
  }

  /**
   * A connection to an address that just closed (a redirect that raced the move) fails: a PUT is
   * idempotent, and a client tries it again from its entry point (RFC 9110 section 9.2.2).
   */
  private static HttpJson.Response writeOnceRetryingConnections(int entryPort, String id)
      throws Exception {
    for (int attempt = 0; ; attempt++) {
      try {
        return writeOnce(entryPort, id);
      } catch (java.io.IOException e) {
        if (attempt == 2) {
          throw e;
        }
      }
    }
  }

  private static HttpJson.Response writeOnce(int entryPort, String id) throws Exception {
    URI target =
        URI.create(
            "http://127.0.0.1:" + entryPort + "/v1/collections/m/docs/" + id + "?w=majority");
    for (int hop = 0; hop < 5; hop++) {
      try (HttpJson http =
          new HttpJson(URI.create(target.getScheme() + "://" + target.getRawAuthority()))) {
        HttpJson.Response answer =
            http.put(target.getRawPath() + "?" + target.getRawQuery(), "{\"v\":1}");
        if (answer.status() != 307) {
          return answer;
        }
        target = URI.create(answer.header("Location").orElseThrow());
      }
    }
    throw new AssertionError("more than 5 redirects for " + id);
  }

  private List<Long> moveTimes(int id) throws IOException {
    List<Long> times = new ArrayList<>();
    for (String line : Files.readAllLines(dir.resolve("node" + id + ".log"))) {
      Matcher m = MOVED.matcher(line);
      if (m.find()) {
        times.add(Long.parseLong(m.group(1)));
      }
    }
    return times;
  }

  private void move(int id) throws Exception {
    int before = ports[id];
    int after = NodeProcess.freeLoopbackPort();
    ItSupport.replaceFile(configPath(id), yaml(after));
    assertThat(awaitCondition(Duration.ofSeconds(30), () -> serves(after)))
        .as("node %d serves on its new port %d", id, after)
        .isTrue();
    ports[id] = after;
    assertThat(awaitCondition(Duration.ofSeconds(20), () -> refusesConnections(before)))
        .as("node %d closed its old port %d", id, before)
        .isTrue();
  }

  @Test
  void aSecondaryThenThePrimaryMoveUnderLoadWithoutAFailedRequestOrALostWrite() throws Exception {
    for (int id = 1; id <= NODES; id++) {
      ports[id] = NodeProcess.freeLoopbackPort();
      Files.createDirectories(configPath(id).getParent());
      Files.writeString(configPath(id), yaml(ports[id]));
    }
    int[] initial = ports.clone();
    for (int id = 1; id <= NODES; id++) {
      nodes.put(
          id,
          NodeProcess.builder(ItSupport.nodeJar())
              .port(ports[id])
              .portFromConfigFile()
              .logFile(dir.resolve("node" + id + ".log"))
              .arguments(
                  "--node-id",
                  Integer.toString(id),
                  "--role",
                  id == 1 ? "primary" : "secondary",
                  "--data-dir",
                  dir.resolve("data" + id).toString(),
                  "--peers",
                  ItSupport.peersJson(id, NODES, (self, peer) -> initial[peer]),
                  "--config",
                  configPath(id).toString())
              .start());
    }
    assertThat(
            awaitCondition(
                Duration.ofSeconds(30), () -> primaryIs(1) && follows(2, 1) && follows(3, 1)))
        .isTrue();

    // Clients write through node 3 (a secondary that stays put), which redirects to the primary.
    AtomicBoolean writing = new AtomicBoolean(true);
    Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    List<String> failures = new CopyOnWriteArrayList<>();
    List<Thread> clients = new ArrayList<>();
    for (int c = 0; c < 3; c++) {
      int client = c;
      clients.add(
          Thread.ofPlatform()
              .daemon()
              .start(
                  () -> {
                    for (int n = 0; writing.get(); n++) {
                      String id = "c" + client + "-" + n;
                      try {
                        HttpJson.Response answer = writeThrough(ports[3], id);
                        if (answer.status() == 200) {
                          acknowledged.add(id);
                        } else {
                          failures.add(id + ": " + answer);
                        }
                      } catch (Exception e) {
                        failures.add(id + ": " + e);
                      }
                    }
                  }));
    }
    assertThat(awaitCondition(Duration.ofSeconds(20), () -> acknowledged.size() > 50)).isTrue();

    move(2);
    int afterSecondary = acknowledged.size();
    assertThat(
            awaitCondition(Duration.ofSeconds(20), () -> acknowledged.size() > afterSecondary + 50))
        .isTrue();
    move(1);
    int afterPrimary = acknowledged.size();
    assertThat(
            awaitCondition(Duration.ofSeconds(20), () -> acknowledged.size() > afterPrimary + 50))
        .isTrue();
    writing.set(false);
    for (Thread client : clients) {
      client.join(30_000);
    }

    assertThat(failures).as("client requests that failed").isEmpty();
    for (int id = 1; id <= NODES; id++) {
      int node = id;
      assertThat(
              awaitCondition(
                  Duration.ofSeconds(30),
                  () -> {
                    try (HttpJson http = http(node)) {
                      for (String doc : acknowledged) {
                        if (http.get("/v1/collections/m/docs/" + doc).status() != 200) {
                          return false;
                        }
                      }
                      return true;
                    } catch (Exception e) {
                      return false;
                    }
                  }))
          .as("every acknowledged write is on node %d", id)
          .isTrue();
    }
    try (HttpJson three = http(3)) {
      HttpJson.Response redirect = three.put("/v1/collections/m/docs/last", "{}");
      assertThat(redirect.status()).isEqualTo(307);
      assertThat(redirect.header("Location").orElseThrow())
          .startsWith("http://127.0.0.1:" + ports[1] + "/");
    }
    assertThat(primaryIs(1)).as("node 1 is still the primary").isTrue();
    List<Long> secondary = moveTimes(2);
    List<Long> primary = moveTimes(1);
    assertThat(secondary).hasSize(1);
    assertThat(primary).hasSize(1);
    System.out.printf(
        "listener move: secondary %d ms, primary %d ms; %d writes acknowledged, none failed%n",
        secondary.get(0), primary.get(0), acknowledged.size());
  }
}
