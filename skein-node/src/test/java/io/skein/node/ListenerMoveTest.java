package io.skein.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cloudevents.CloudEvent;
import io.skein.internal.runtime.ReloadOrchestrator;
import io.skein.node.config.ConfigSources;
import io.skein.testkit.HttpJson;
import io.skein.testkit.NodeProcess;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node's listener moves with {@code node.port} (DESIGN.md D8): the new port is bound first, the
 * old one redirects while the peers learn the new address, then drains; a port that cannot be bound
 * fails the reload and leaves the old listener serving.
 */
@Timeout(180)
class ListenerMoveTest {
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

  private ConfigSources.Builder settings(Member self, List<Member> all) {
    List<String> peers = new ArrayList<>();
    for (Member m : all) {
      if (!m.id().equals(self.id())) {
        peers.add(m.peerJson());
      }
    }
    return ConfigSources.builder()
        .flag("--port", Integer.toString(self.port()))
        .flag("--node-id", self.id())
        .flag("--mode", "leader")
        .flag("--role", self.id().equals("1") ? "primary" : "secondary")
        .flag("--data-dir", dir.resolve("data-" + self.id()).toString())
        .flag("--durability", "buffered")
        .flag("--peers", "[" + String.join(",", peers) + "]")
        .flag("--cluster-secret", SECRET);
  }

  private NodeServer server(String id) {
    return java.util.Objects.requireNonNull(servers.get(id), id);
  }

  private static @Nullable JsonNode cluster(NodeServer server) {
    try (HttpJson http = new HttpJson(URI.create("http://127.0.0.1:" + server.port()))) {
      return JSON.readTree(http.get("/v1/cluster").body());
    } catch (Exception e) {
      return null;
    }
  }

  private static boolean follows(NodeServer server, String leader) {
    JsonNode view = cluster(server);
    return view != null && leader.equals(view.path("leader").path("nodeId").asText());
  }

  private static boolean holds(NodeServer server, String id) {
    try (HttpJson http = new HttpJson(URI.create("http://127.0.0.1:" + server.port()))) {
      return http.get("/v1/collections/c/docs/" + id).status() == 200;
    } catch (Exception e) {
      return false;
    }
  }

  private static boolean refusesConnections(int port) {
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), port)) {
      return false;
    } catch (java.io.IOException e) {
      return true;
    }
  }

  /**
   * A client that follows redirects, as the docs tell clients to: writes {@code id} through {@code
   * entry}, and returns the final answer.
   */
  private static HttpJson.Response writeThrough(int entryPort, String id) throws Exception {
    // A connection to an address that just closed (a redirect that raced the move) fails: a PUT is
    // idempotent, and a client tries it again from its entry point (RFC 9110 section 9.2.2).
    for (int attempt = 0; ; attempt++) {
      try {
        return writeThroughOnce(entryPort, id);
      } catch (java.io.IOException e) {
        if (attempt == 2) {
          throw e;
        }
      }
    }
  }

  private static HttpJson.Response writeThroughOnce(int entryPort, String id) throws Exception {
    URI target = URI.create("http://127.0.0.1:" + entryPort + "/v1/collections/c/docs/" + id);
    for (int hop = 0; hop < 5; hop++) {
      URI base = URI.create(target.getScheme() + "://" + target.getRawAuthority());
      try (HttpJson http = new HttpJson(base)) {
        String path =
            target.getRawPath() + (target.getRawQuery() == null ? "" : "?" + target.getRawQuery());
        String query = path + (path.contains("?") ? "" : "?w=majority");
        HttpJson.Response answer = http.put(query, "{\"v\":1}");
        if (answer.status() != 307) {
          return answer;
        }
        String location = answer.header("Location").orElseThrow();
        target = URI.create(location);
      }
    }
    throw new AssertionError("more than 5 redirects for " + id);
  }

  @Test
  void aSecondaryThenThePrimaryMoveWhileClientsWriteThroughRedirects() throws Exception {
    List<Member> all = members("1", "2", "3");
    for (Member m : all) {
      servers.put(m.id(), NodeServer.start(settings(m, all).build()));
    }
    NodeServer one = server("1");
    NodeServer two = server("2");
    NodeServer three = server("3");
    assertThat(
            ItSupport.awaitCondition(
                Duration.ofSeconds(30),
                () -> follows(one, "1") && follows(two, "1") && follows(three, "1")))
        .isTrue();

    // Clients write through node 2 and node 3, which redirect to the primary.
    AtomicBoolean writing = new AtomicBoolean(true);
    Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    List<String> failures = new CopyOnWriteArrayList<>();
    List<Thread> writers = new ArrayList<>();
    for (String entry : List.of("2", "3")) {
      writers.add(
          Thread.ofPlatform()
              .start(
                  () -> {
                    for (int i = 0; writing.get(); i++) {
                      String id = "via" + entry + "-" + i;
                      NodeServer through = server(entry);
                      try {
                        HttpJson.Response answer = writeThrough(through.port(), id);
                        if (answer.status() == 200 || answer.status() == 201) {
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
    Thread.sleep(1_000);
    int twoBefore = two.port();
    int twoAfter = NodeProcess.freeLoopbackPort();
    ReloadOrchestrator.Result moved2 = two.override(Map.of("node.port", twoAfter));
    assertThat(moved2.outcome())
        .as(moved2.toString())
        .isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    assertThat(two.port()).isEqualTo(twoAfter);
    assertThat(
            ItSupport.awaitCondition(Duration.ofSeconds(10), () -> refusesConnections(twoBefore)))
        .isTrue();

    Thread.sleep(1_000);
    int oneBefore = one.port();
    int oneAfter = NodeProcess.freeLoopbackPort();
    ReloadOrchestrator.Result moved1 = one.override(Map.of("node.port", oneAfter));
    assertThat(moved1.outcome())
        .as(moved1.toString())
        .isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    assertThat(
            ItSupport.awaitCondition(Duration.ofSeconds(10), () -> refusesConnections(oneBefore)))
        .isTrue();
    Thread.sleep(1_000);
    writing.set(false);
    for (Thread writer : writers) {
      writer.join(30_000);
    }

    assertThat(failures).as("no client request failed").isEmpty();
    assertThat(acknowledged).hasSizeGreaterThan(20);
    for (NodeServer server : List.of(one, two, three)) {
      assertThat(
              ItSupport.awaitCondition(
                  Duration.ofSeconds(20),
                  () -> acknowledged.stream().allMatch(id -> holds(server, id))))
          .as("every acknowledged write is on node %s", server.port())
          .isTrue();
    }
    // The secondaries redirect to the primary's new port, without a hop through the old one.
    try (HttpJson http = new HttpJson(URI.create("http://127.0.0.1:" + three.port()))) {
      HttpJson.Response redirect = http.put("/v1/collections/c/docs/last", "{}");
      assertThat(redirect.status()).isEqualTo(307);
      assertThat(redirect.header("Location").orElseThrow())
          .startsWith("http://127.0.0.1:" + oneAfter + "/");
    }
    // Node 2's peers dial it at its new port: the cluster view shows it matched.
    assertThat(one.transport().peerUrls().get(io.skein.core.model.NodeId.of("2")))
        .isEqualTo(URI.create("http://127.0.0.1:" + twoAfter));
    assertThat(three.transport().peerUrls().get(io.skein.core.model.NodeId.of("1")))
        .isEqualTo(URI.create("http://127.0.0.1:" + oneAfter));
  }

  @Test
  void aHostChangeOnTheSamePortClosesTheOldListenerFirstAndComesBack() throws Exception {
    List<Member> all = members("1");
    NodeServer one = NodeServer.start(settings(all.get(0), List.of(all.get(0))).build());
    servers.put("1", one);
    int port = one.port();
    // 127.0.0.1 and 0.0.0.0 on one port overlap: the new bind cannot come first.
    for (String host : List.of("0.0.0.0", "127.0.0.1")) {
      ReloadOrchestrator.Result moved = one.override(Map.of("node.host", host));
      assertThat(moved.outcome())
          .as(moved.toString())
          .isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
      assertThat(one.port()).isEqualTo(port);
      try (HttpJson http = new HttpJson(URI.create("http://127.0.0.1:" + port))) {
        assertThat(http.get("/health").status()).isEqualTo(200);
      }
    }
  }

  @Test
  void aListenerThatMovedAwayRedirectsEveryNewRequestUntilItCloses() throws Exception {
    List<Member> all = members("1");
    NodeServer one = NodeServer.start(settings(all.get(0), List.of(all.get(0))).build());
    servers.put("1", one);
    one.httpApi().redirectTo("http://127.0.0.1:4711");
    try (HttpJson http = new HttpJson(URI.create("http://127.0.0.1:" + one.port()))) {
      HttpJson.Response answer = http.put("/v1/collections/c/docs/d?w=majority", "{}");
      assertThat(answer.status()).isEqualTo(307);
      assertThat(answer.header("Location").orElseThrow())
          .isEqualTo("http://127.0.0.1:4711/v1/collections/c/docs/d?w=majority");
      assertThat(JSON.readTree(answer.body()).path("error").path("code").asText())
          .isEqualTo("moved");
      assertThat(http.get("/v1/collections/c/docs/d").status()).isEqualTo(307);
    }
    // A wildcard bind names no place: the Location keeps the host the client used.
    one.httpApi().redirectTo("http://0.0.0.0:4712");
    try (HttpJson http = new HttpJson(URI.create("http://localhost:" + one.port()))) {
      assertThat(http.get("/health").header("Location").orElseThrow())
          .isEqualTo("http://localhost:4712/health");
    }
  }

  @Test
  void aPortThatCannotBeBoundFailsTheReloadAndTheOldListenerStays() throws Exception {
    List<Member> all = members("1");
    NodeServer one = NodeServer.start(settings(all.get(0), List.of(all.get(0))).build());
    servers.put("1", one);
    int before = one.port();
    List<CloudEvent> events = new CopyOnWriteArrayList<>();
    try (AutoCloseable subscription = one.onEvent(events::add);
        ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      ReloadOrchestrator.Result result = one.override(Map.of("node.port", taken.getLocalPort()));
      assertThat(result.outcome()).isEqualTo(ReloadOrchestrator.Outcome.ROLLED_BACK);
      assertThat(result.failedModule()).isEqualTo("http");
      assertThat(result.error())
          .contains("cannot listen")
          .contains(Integer.toString(taken.getLocalPort()));
      assertThat(one.port()).isEqualTo(before);
      try (HttpJson http = new HttpJson(URI.create("http://127.0.0.1:" + before))) {
        assertThat(http.put("/v1/collections/c/docs/still", "{}").status()).isIn(200, 201);
      }
      assertThat(events).anySatisfy(e -> assertThat(e.getType()).isEqualTo("reload.rolledback"));
      // The node reloads normally afterwards: another setting, then a move to a free port.
      assertThat(one.override(Map.of("log.level", "debug")).outcome())
          .isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
      int free = NodeProcess.freeLoopbackPort();
      assertThat(one.override(Map.of("node.port", free)).outcome())
          .isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
      assertThat(one.port()).isEqualTo(free);
      assertThat(events)
          .anySatisfy(
              e -> {
                assertThat(e.getType()).contains("reload.failed");
                assertThat(
                        new String(
                            java.util.Objects.requireNonNull(e.getData()).toBytes(),
                            StandardCharsets.UTF_8))
                    .contains("cannot listen");
              });
    }
  }
}
