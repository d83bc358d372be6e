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
import io.skein.testkit.TcpProxy;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Leader mode with real processes: three {@code datastore-node}s started with the seed's
 * leader-follower commands ({@code --node-id N --role primary|secondary --data-dir ./dataN --peers
 * '[...]'}; {@link NodeProcess} adds {@code --host 127.0.0.1 --port P}, on free ports instead of
 * 9000-9002).
 *
 * <ol>
 *   <li>Node 1 is primary and takes {@code w=majority} writes under load; it is SIGKILLed; node 2
 *       becomes primary and takes writes; no acknowledged write is lost; node 1, restarted with its
 *       own command, joins as a secondary and converges.
 *   <li>With a fault-injecting proxy on every link, node 1 (the primary) is cut off: it stops
 *       accepting writes, the majority elects node 2, and after the heal node 1's unacknowledged
 *       write is in {@code _system_rollback}, readable through the API, not in its documents.
 * </ol>
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class LeaderClusterIT {
  private static final int NODES = 3;
  private static final Duration ELECTION_WAIT = Duration.ofSeconds(20);

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path dir;

  private final int[] ports = new int[NODES + 1];
  private final Map<Integer, NodeProcess> nodes = new ConcurrentHashMap<>();
  private final List<TcpProxy> proxies = new ArrayList<>();

  /** The proxy on the link from node {@code [from]} to node {@code [to]}, when proxied. */
  private final @Nullable TcpProxy[][] links = new TcpProxy[NODES + 1][NODES + 1];

  @AfterEach
  void stopAll() {
    for (NodeProcess node : nodes.values()) {
      node.close();
    }
    proxies.forEach(TcpProxy::close);
  }

  private NodeProcess node(int id) {
    return Objects.requireNonNull(nodes.get(id), () -> "node " + id + " is not running");
  }

  private int peerPort(int from, int to) {
    TcpProxy proxy = links[from][to];
    return proxy == null ? ports[to] : proxy.port();
  }

  private String peersOf(int self) {
    return ItSupport.peersJson(self, NODES, this::peerPort);
  }

  /** The seed's leader-follower command for node {@code id}. */
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
            peersOf(id));
    nodes.put(id, node);
    return node;
  }

  private void startCluster(boolean proxied) {
    for (int id = 1; id <= NODES; id++) {
      ports[id] = NodeProcess.freeLoopbackPort();
    }
    if (proxied) {
      for (int from = 1; from <= NODES; from++) {
        for (int to = 1; to <= NODES; to++) {
          if (from != to) {
            TcpProxy proxy = TcpProxy.start(ports[to]);
            proxies.add(proxy);
            links[from][to] = proxy;
          }
        }
      }
    }
    for (int id = 1; id <= NODES; id++) {
      start(id);
    }
  }

  /** Whether node {@code id} is primary and every running node follows it. */
  private boolean leads(int id) {
    try {
      for (NodeProcess node : nodes.values()) {
        JsonNode view = cluster(node);
        if (!view.path("leader").path("nodeId").asText().equals(Integer.toString(id))) {
          return false;
        }
      }
      return cluster(node(id)).path("role").asText().equals("primary");
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static boolean holds(NodeProcess node, String path, String body) {
    try (HttpJson http = http(node)) {
      HttpJson.Response response = http.get(path);
      return response.status() == 200 && response.body().equals(body);
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static List<String> missing(NodeProcess node, WriteLoad load) {
    List<String> missing = new ArrayList<>();
    for (String id : load.acknowledged().keySet()) {
      if (!holds(node, load.path(id), Objects.requireNonNull(load.attempted().get(id)))) {
        missing.add(id);
      }
    }
    return missing;
  }

  @Test
  void theSeedsCommandsFailOverToNodeTwoWithoutLosingAMajorityWrite() throws Exception {
    startCluster(false);
    assertThat(awaitCondition(ELECTION_WAIT, () -> leads(1)))
        .as("node 1, started as primary, leads")
        .isTrue();

    WriteLoad load;
    try (HttpJson one = http(node(1))) {
      load =
          new WriteLoad(one, "orders", "load", "x".repeat(64), 4, 20_000, Duration.ofSeconds(30));
      load.start();
      TimeUnit.MILLISECONDS.sleep(1_500);
      load.nodeEnding();
      node(1).kill();
      nodes.remove(1);
      assertThat(load.awaitClients(Duration.ofSeconds(30))).isTrue();
    }
    assertThat(load.problems()).isEmpty();
    assertThat(load.acknowledged()).as("node 1 acknowledged writes before the kill").isNotEmpty();

    assertThat(awaitCondition(ELECTION_WAIT, () -> leads(2)))
        .as("node 2, the lowest surviving id, becomes primary")
        .isTrue();
    try (HttpJson two = http(node(2));
        HttpJson three = http(node(3))) {
      HttpJson.Response put = two.put("/v1/collections/orders/docs/after", "{\"v\":2}");
      assertThat(put.status()).as(put.toString()).isEqualTo(200);
      HttpJson.Response redirected = three.put("/v1/collections/orders/docs/x", "{\"v\":3}");
      assertThat(redirected.status()).as(redirected.toString()).isEqualTo(307);
      assertThat(redirected.header("Location"))
          .contains(
              node(2).baseUrl().toString().replaceAll("/$", "") + "/v1/collections/orders/docs/x");
    }
    assertThat(missing(node(2), load)).as("acknowledged writes missing on node 2").isEmpty();
    assertThat(awaitCondition(Duration.ofSeconds(10), () -> missing(node(3), load).isEmpty()))
        .as("acknowledged writes missing on node 3: %s", missing(node(3), load))
        .isTrue();

    long epoch = cluster(node(2)).path("epoch").asLong();
    start(1);
    assertThat(
            awaitCondition(
                ELECTION_WAIT,
                () -> holds(node(1), "/v1/collections/orders/docs/after", "{\"v\":2}")))
        .as("the old primary converges")
        .isTrue();
    JsonNode back = cluster(node(1));
    assertThat(back.path("role").asText()).as(back.toString()).isEqualTo("secondary");
    assertThat(back.path("leader").path("nodeId").asText()).isEqualTo("2");
    assertThat(back.path("epoch").asLong()).isEqualTo(epoch);
    assertThat(missing(node(1), load)).as("acknowledged writes missing on node 1").isEmpty();
    assertThat(ItSupport.warningsAndErrors(node(2)))
        .noneMatch(line -> line.contains("leader loop failed"));
  }

  private void isolate(int id, boolean cut) {
    for (int other = 1; other <= NODES; other++) {
      if (other != id) {
        for (TcpProxy proxy :
            new TcpProxy[] {
              Objects.requireNonNull(links[id][other]), Objects.requireNonNull(links[other][id])
            }) {
          if (cut) {
            proxy.cut();
          } else {
            proxy.heal();
          }
        }
      }
    }
  }

  private static int put(NodeProcess node, String path, String body) throws Exception {
    try (HttpJson http = http(node)) {
      return http.put(path, body).status();
    }
  }

  @Test
  void aPrimaryCutOffFromTheMajorityStopsAcceptingWritesAndRollsBackOnRejoin() throws Exception {
    startCluster(true);
    assertThat(awaitCondition(ELECTION_WAIT, () -> leads(1))).isTrue();
    assertThat(put(node(1), "/v1/collections/c/docs/before", "{\"v\":0}")).isEqualTo(200);

    isolate(1, true);
    int minority = put(node(1), "/v1/collections/c/docs/minority", "{\"v\":1}");
    assertThat(minority)
        .as("a write on the cut-off primary is never acknowledged (504 outcome_unknown)")
        .isEqualTo(504);
    assertThat(
            awaitCondition(
                ELECTION_WAIT,
                () -> {
                  try {
                    return !cluster(node(1)).path("role").asText().equals("primary");
                  } catch (IOException | InterruptedException e) {
                    return false;
                  }
                }))
        .as("the cut-off primary steps down")
        .isTrue();
    assertThat(put(node(1), "/v1/collections/c/docs/minority2", "{\"v\":1}"))
        .as("and refuses writes: 503 no_primary")
        .isEqualTo(503);

    assertThat(
            awaitCondition(
                ELECTION_WAIT,
                () -> {
                  try {
                    return cluster(node(2)).path("role").asText().equals("primary");
                  } catch (IOException | InterruptedException e) {
                    return false;
                  }
                }))
        .as("the majority side elects node 2")
        .isTrue();
    assertThat(put(node(2), "/v1/collections/c/docs/majority", "{\"v\":2}")).isEqualTo(200);

    isolate(1, false);
    assertThat(
            awaitCondition(
                ELECTION_WAIT,
                () -> holds(node(1), "/v1/collections/c/docs/majority", "{\"v\":2}")))
        .as("node 1 rejoins and converges")
        .isTrue();
    try (HttpJson one = http(node(1))) {
      assertThat(one.get("/v1/collections/c/docs/minority").status())
          .as("the unacknowledged write is not in node 1's documents")
          .isEqualTo(404);
      JsonNode rollback = JSON.readTree(one.get("/v1/cluster/rollback").body());
      assertThat(rollback.path("docs").findValuesAsText("id"))
          .as("it is kept in _system_rollback: %s", rollback)
          .isNotEmpty();
      assertThat(rollback.toString()).contains("\"minority\"");
    }
    assertThat(cluster(node(1)).path("leader").path("nodeId").asText()).isEqualTo("2");
  }
}
