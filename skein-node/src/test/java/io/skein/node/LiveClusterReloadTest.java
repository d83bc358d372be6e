package io.skein.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.skein.internal.runtime.ReloadOrchestrator;
import io.skein.node.config.ConfigSources;
import io.skein.testkit.HttpJson;
import io.skein.testkit.NodeProcess;
import java.net.DatagramSocket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replication settings change live on running clusters: the sync interval and the replication
 * timeout in dynamo mode, the election interval and heartbeat in leader mode, and discovery on and
 * off. Each test shows the behaviour before and after the change, without a restart.
 */
@Timeout(180)
class LiveClusterReloadTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SECRET = "a-test-cluster-secret-of-some-length";

  @TempDir Path dir;
  private final Map<String, NodeServer> servers = new LinkedHashMap<>();

  @AfterEach
  void stop() {
    servers.values().forEach(NodeServer::close);
  }

  private record Member(String id, int port) {
    String peerJson() {
      return "{\"node_id\":\"" + id + "\",\"host\":\"127.0.0.1\",\"port\":" + port + "}";
    }
  }

  private static List<Member> members(String... ids) {
    List<Member> members = new ArrayList<>();
    for (String id : ids) {
      members.add(new Member(id, NodeProcess.freeLoopbackPort()));
    }
    return members;
  }

  private ConfigSources.Builder settings(Member self, List<Member> all, String mode) {
    List<String> peers = new ArrayList<>();
    for (Member m : all) {
      if (!m.id().equals(self.id())) {
        peers.add(m.peerJson());
      }
    }
    return ConfigSources.builder()
        .flag("--port", Integer.toString(self.port()))
        .flag("--node-id", self.id())
        .flag("--mode", mode)
        .flag("--role", self.id().equals("1") ? "primary" : "secondary")
        .flag("--data-dir", dir.resolve("data-" + self.id()).toString())
        .flag("--durability", "buffered")
        .flag("--peers", "[" + String.join(",", peers) + "]")
        .flag("--cluster-secret", SECRET);
  }

  private NodeServer start(String id, ConfigSources.Builder settings) {
    NodeServer server = NodeServer.start(settings.build());
    servers.put(id, server);
    return server;
  }

  private static double messagesSent(NodeServer server, String peer) {
    Counter counter = server.meters().find("skein.peer.messages.sent").tag("peer", peer).counter();
    return counter == null ? 0 : counter.count();
  }

  private static boolean await(Duration timeout, BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(20);
    }
    return true;
  }

  private static @Nullable JsonNode cluster(NodeServer server) {
    try (HttpJson http = new HttpJson(URI.create("http://127.0.0.1:" + server.port()))) {
      return JSON.readTree(http.get("/v1/cluster").body());
    } catch (Exception e) {
      return null;
    }
  }

  /** Messages a node sends a peer over a window: the rate anti-entropy or heartbeats set. */
  private static double sentOver(NodeServer server, String peer, Duration window)
      throws InterruptedException {
    double before = messagesSent(server, peer);
    Thread.sleep(window.toMillis());
    return messagesSent(server, peer) - before;
  }

  @Test
  void theSyncIntervalChangesLive() throws Exception {
    List<Member> all = members("1", "2");
    // A slow gateway election too: its beacons (one a heartbeat) would drown the count.
    NodeServer one =
        start(
            "1",
            settings(all.get(0), all, "dynamo")
                .flag("--sync-interval", "30")
                .flag("--election-interval", "60"));
    start(
        "2",
        settings(all.get(1), all, "dynamo")
            .flag("--sync-interval", "30")
            .flag("--election-interval", "60"));
    assertThat(await(Duration.ofSeconds(20), () -> messagesSent(one, "2") > 0)).isTrue();
    Thread.sleep(500); // the catch-up at connect is over
    assertThat(sentOver(one, "2", Duration.ofMillis(1_500))).isLessThanOrEqualTo(2);
    ReloadOrchestrator.Result result = one.override(Map.of("replication.sync-interval", "100ms"));
    assertThat(result.outcome()).isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    // One anti-entropy request every 100 ms: about 15 in 1.5 s.
    assertThat(sentOver(one, "2", Duration.ofMillis(1_500))).isGreaterThanOrEqualTo(6);
    assertThat(one.skein().config().syncIntervalMs()).isEqualTo(100);
  }

  @Test
  void theReplicationTimeoutChangesLive() throws Exception {
    List<Member> all = members("1", "2");
    // Node 2 never starts: a w=all write waits for the whole replication timeout, then gets 504.
    NodeServer one =
        start("1", settings(all.get(0), all, "dynamo").flag("--replication-timeout", "60"));
    one.override(Map.of("replication.replication-timeout", "300ms"));
    try (HttpJson http =
        new HttpJson(URI.create("http://127.0.0.1:" + one.port()), Duration.ofSeconds(50))) {
      long startNanos = System.nanoTime();
      HttpJson.Response response = http.put("/v1/collections/c/docs/a?w=all", "{}");
      Duration took = Duration.ofNanos(System.nanoTime() - startNanos);
      assertThat(response.status()).isEqualTo(504);
      assertThat(response.body()).contains("outcome_unknown");
      // Under the old 60 s timeout this answer could not come before 60 s.
      assertThat(took).isLessThan(Duration.ofSeconds(30));
    }
  }

  @Test
  void theHeartbeatAndElectionIntervalChangeLive() throws Exception {
    List<Member> all = members("1", "2", "3");
    for (Member m : all) {
      start(
          m.id(),
          settings(m, all, "leader")
              .flag("--election-interval", "6")
              .flag("--replication-timeout", "5"));
    }
    NodeServer one = java.util.Objects.requireNonNull(servers.get("1"));
    assertThat(
            await(
                Duration.ofSeconds(30),
                () -> {
                  JsonNode view = cluster(one);
                  return view != null && view.path("role").asText().equals("primary");
                }))
        .isTrue();
    // Heartbeats every 1.2 s (a fifth of 6 s): a couple a peer in 2 s.
    assertThat(sentOver(one, "2", Duration.ofSeconds(2))).isLessThanOrEqualTo(4);
    for (NodeServer server : servers.values()) {
      assertThat(server.override(Map.of("replication.election-interval", "0.4")).outcome())
          .isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    }
    // Now every 80 ms: about 25 in 2 s.
    assertThat(sentOver(one, "2", Duration.ofSeconds(2))).isGreaterThanOrEqualTo(10);
    // The primary dies. Under the old interval node 2 could not stand before 6 + 3 = 9 s.
    long startNanos = System.nanoTime();
    java.util.Objects.requireNonNull(servers.remove("1")).close();
    NodeServer two = java.util.Objects.requireNonNull(servers.get("2"));
    assertThat(
            await(
                Duration.ofSeconds(20),
                () -> {
                  JsonNode view = cluster(two);
                  return view != null && view.path("role").asText().equals("primary");
                }))
        .isTrue();
    assertThat(Duration.ofNanos(System.nanoTime() - startNanos)).isLessThan(Duration.ofSeconds(8));
  }

  @Test
  void discoveryTurnsOnAndOffLiveAndItsSchedulesSurviveTheReload() throws Exception {
    int udp1;
    int udp2;
    try (DatagramSocket a = new DatagramSocket(0);
        DatagramSocket b = new DatagramSocket(0)) {
      udp1 = a.getLocalPort();
      udp2 = b.getLocalPort();
    }
    List<Member> all = members("1", "2");
    Member first = all.get(0);
    Member second = all.get(1);
    NodeServer one =
        start(
            "1",
            settings(first, List.of(first), "dynamo")
                .flag("--discovery-port", Integer.toString(udp1))
                .flag("--discovery-targets", "127.0.0.1:" + udp2)
                .flag("--discovery-expiry", "2"));
    start(
        "2",
        settings(second, List.of(second), "dynamo")
            .flag("--discovery", "true")
            .flag("--discovery-port", Integer.toString(udp2))
            .flag("--discovery-targets", "127.0.0.1:" + udp1)
            .flag("--discovery-expiry", "2"));
    DiscoveryComponent discovery = one.discoveryComponent();
    assertThat(discovery.beaconing()).isFalse();
    Thread.sleep(1_500);
    assertThat(java.util.Objects.requireNonNull(cluster(one)).path("peers")).isEmpty();

    assertThat(one.override(Map.of("discovery.enabled", true)).outcome())
        .isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    assertThat(discovery.beaconing()).isTrue();
    assertThat(
            await(
                Duration.ofSeconds(20),
                () -> {
                  JsonNode view = cluster(one);
                  return view != null && view.path("peers").toString().contains("\"connected\"");
                }))
        .as("node 1 discovers node 2 once discovery is on: %s", cluster(one))
        .isTrue();
    long runs = discovery.housekeepingRuns();
    assertThat(await(Duration.ofSeconds(10), () -> discovery.housekeepingRuns() > runs + 1))
        .as("the housekeeping schedule runs after the reload rebuilt it")
        .isTrue();

    assertThat(one.override(Map.of("discovery.enabled", false)).outcome())
        .isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    assertThat(discovery.beaconing()).isFalse();
    long after = discovery.housekeepingRuns();
    assertThat(await(Duration.ofSeconds(10), () -> discovery.housekeepingRuns() > after + 1))
        .isTrue();
  }

  @Test
  void aDiscoveryPortThatCannotBeBoundFailsTheReloadAndRollsBack() throws Exception {
    try (DatagramSocket taken = new DatagramSocket(null)) {
      taken.bind(new java.net.InetSocketAddress(0)); // no SO_REUSEADDR: the node cannot share it
      List<Member> all = members("1");
      NodeServer one =
          start(
              "1",
              settings(all.get(0), all, "dynamo")
                  .flag("--discovery-targets", "127.0.0.1:" + taken.getLocalPort()));
      Map<String, Object> change = new LinkedHashMap<>();
      change.put("discovery.enabled", true);
      change.put("discovery.port", taken.getLocalPort());
      ReloadOrchestrator.Result result = one.override(new LinkedHashMap<>(change));
      assertThat(result.outcome()).isEqualTo(ReloadOrchestrator.Outcome.ROLLED_BACK);
      assertThat(result.failedModule()).isEqualTo("discovery");
      assertThat(one.discoveryComponent().beaconing()).isFalse();
      assertThat(one.config().get(io.skein.node.config.Settings.DISCOVERY_ENABLED)).isFalse();
    }
  }
}
