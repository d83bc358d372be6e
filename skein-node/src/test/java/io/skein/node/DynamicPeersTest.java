package io.skein.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.skein.core.model.NodeId;
import io.skein.internal.runtime.ReloadOrchestrator;
import io.skein.node.config.ConfigSources;
import io.skein.testkit.HttpJson;
import io.skein.testkit.NodeProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The peer list of a dynamo node changes live (issue 10 item 3): an added peer is dialled and
 * synced with, a removed one is no longer dialled nor counted, stays known for D5 until it is
 * forgotten, and leader mode refuses the change.
 */
@Timeout(180)
class DynamicPeersTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SECRET = "a-test-cluster-secret-of-some-length";
  private static final String TOKEN = "an-admin-token-for-the-peers-test";

  @TempDir Path dir;
  private final Map<String, NodeServer> servers = new LinkedHashMap<>();
  private final Map<String, Integer> ports = new LinkedHashMap<>();

  @AfterEach
  void stop() {
    servers.values().forEach(NodeServer::close);
  }

  private int port(String id) {
    return Objects.requireNonNull(ports.get(id), id);
  }

  private String peer(String id) {
    return "{\"node_id\":\"" + id + "\",\"host\":\"127.0.0.1\",\"port\":" + port(id) + "}";
  }

  private String peers(String... ids) {
    List<String> list = new ArrayList<>();
    for (String id : ids) {
      list.add(peer(id));
    }
    return "[" + String.join(",", list) + "]";
  }

  private ConfigSources.Builder settings(String id, String mode, String... peerIds) {
    return ConfigSources.builder()
        .flag("--port", Integer.toString(port(id)))
        .flag("--node-id", id)
        .flag("--mode", mode)
        .flag("--data-dir", dir.resolve("data-" + id).toString())
        .flag("--durability", "buffered")
        .flag("--sync-interval", "0.2")
        .flag("--peers", peers(peerIds))
        .flag("--cluster-secret", SECRET)
        .flag("--admin-token", TOKEN);
  }

  private NodeServer server(String id) {
    return Objects.requireNonNull(servers.get(id), id);
  }

  private boolean holds(String id, String doc) {
    try (HttpJson http = new HttpJson(URI.create("http://127.0.0.1:" + port(id)))) {
      return http.get("/v1/collections/c/docs/" + doc).status() == 200;
    } catch (Exception e) {
      return false;
    }
  }

  private int put(String id, String doc, String concern) throws Exception {
    try (HttpJson http = new HttpJson(URI.create("http://127.0.0.1:" + port(id)))) {
      return http.put("/v1/collections/c/docs/" + doc + "?w=" + concern, "{}").status();
    }
  }

  private HttpResponse<String> forget(String on, String peer) throws Exception {
    try (HttpClient client = HttpClient.newHttpClient()) {
      return client.send(
          HttpRequest.newBuilder(
                  URI.create("http://127.0.0.1:" + port(on) + "/admin/peers/" + peer + "/forget"))
              .header("Authorization", "Bearer " + TOKEN)
              .POST(HttpRequest.BodyPublishers.noBody())
              .build(),
          HttpResponse.BodyHandlers.ofString());
    }
  }

  private String peersFile(String id) throws Exception {
    Path file = dir.resolve("data-" + id).resolve("peers-" + id + ".json");
    return Files.exists(file) ? Files.readString(file) : "";
  }

  @Test
  void aPeerAddedLiveIsSyncedWithAndARemovedOneStaysKnownUntilForgotten() throws Exception {
    for (String id : List.of("1", "2", "3")) {
      ports.put(id, NodeProcess.freeLoopbackPort());
    }
    servers.put("1", NodeServer.start(settings("1", "dynamo", "2").build()));
    servers.put("2", NodeServer.start(settings("2", "dynamo", "1").build()));
    servers.put("3", NodeServer.start(settings("3", "dynamo", "1").build()));
    assertThat(
            ItSupport.awaitCondition(
                Duration.ofSeconds(20), () -> server("1").transport().isConnected(NodeId.of("2"))))
        .isTrue();
    assertThat(put("3", "before", "1")).isEqualTo(200);
    Thread.sleep(1_000); // several sync intervals: node 1 does not know node 3 yet
    assertThat(holds("1", "before")).isFalse();

    // Add node 3 to node 1's peers: dialled at once, synced within a sync interval or two.
    ReloadOrchestrator.Result added =
        server("1").override(Map.of("cluster.peers", peers("2", "3")));
    assertThat(added.outcome())
        .as(added.toString())
        .isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    assertThat(ItSupport.awaitCondition(Duration.ofSeconds(20), () -> holds("1", "before")))
        .isTrue();
    assertThat(put("1", "three-counts", "all")).as("w=all waits for nodes 2 and 3").isEqualTo(200);
    assertThat(ItSupport.awaitCondition(Duration.ofSeconds(20), () -> holds("3", "three-counts")))
        .isTrue();

    // Remove node 2: no longer dialled, and a w=all write no longer needs it.
    ReloadOrchestrator.Result removed = server("1").override(Map.of("cluster.peers", peers("3")));
    assertThat(removed.outcome()).isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    servers.remove("2").close();
    assertThat(put("1", "without-two", "all")).isEqualTo(200);
    assertThat(server("1").transport().isConnected(NodeId.of("2"))).isFalse();
    // Known until forgotten (D5), across restarts.
    assertThat(peersFile("1")).contains("\"nodeId\":\"2\"").contains("\"removed\":true");

    HttpResponse<String> active = forget("1", "3");
    assertThat(active.statusCode()).isEqualTo(409);
    assertThat(JSON.readTree(active.body()).path("error").path("code").asText())
        .isEqualTo("peer_active");
    HttpResponse<String> forgotten = forget("1", "2");
    assertThat(forgotten.statusCode()).as(forgotten.body()).isEqualTo(200);
    assertThat(peersFile("1")).doesNotContain("\"nodeId\":\"2\"");
    HttpResponse<String> again = forget("1", "2");
    assertThat(again.statusCode()).isEqualTo(404);
    assertThat(JSON.readTree(again.body()).path("error").path("code").asText())
        .isEqualTo("unknown_peer");
  }

  @Test
  void aRemovedPeerThatKeepsDiallingOrMovesIsNotTakenBack() throws Exception {
    ports.put("1", NodeProcess.freeLoopbackPort());
    ports.put("2", NodeProcess.freeLoopbackPort());
    servers.put("1", NodeServer.start(settings("1", "dynamo", "2").build()));
    servers.put("2", NodeServer.start(settings("2", "dynamo", "1").build()));
    assertThat(
            ItSupport.awaitCondition(
                Duration.ofSeconds(20), () -> server("1").transport().isConnected(NodeId.of("2"))))
        .isTrue();
    assertThat(server("1").override(Map.of("cluster.peers", "[]")).outcome())
        .isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    // Node 2 still lists node 1, keeps dialling it, and moves its port (it announces the move).
    int moved = NodeProcess.freeLoopbackPort();
    assertThat(server("2").override(Map.of("node.port", moved)).outcome())
        .isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    ports.put("2", moved);
    assertThat(put("2", "from-removed", "1")).isEqualTo(200);
    Thread.sleep(1_500); // several sync intervals and reconnects
    assertThat(holds("1", "from-removed")).as("a removed peer exchanges nothing").isFalse();
    assertThat(server("1").transport().isConnected(NodeId.of("2"))).isFalse();
    assertThat(peersFile("1")).contains("\"removed\":true");
    assertThat(forget("1", "2").statusCode())
        .as("still removed, so it can be forgotten")
        .isEqualTo(200);
  }

  @Test
  void aPeerAddedByMistakeAndRemovedBeforeItConnectedLeavesNothingBehind() throws Exception {
    ports.put("1", NodeProcess.freeLoopbackPort());
    ports.put("9", NodeProcess.freeLoopbackPort()); // nobody listens there
    servers.put("1", NodeServer.start(settings("1", "dynamo").build()));
    assertThat(server("1").override(Map.of("cluster.peers", peers("9"))).outcome())
        .isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    assertThat(server("1").override(Map.of("cluster.peers", "[]")).outcome())
        .isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    assertThat(peersFile("1")).doesNotContain("\"nodeId\":\"9\"");
    assertThat(forget("1", "9").statusCode()).as("already forgotten").isEqualTo(404);
    assertThat(put("1", "alone", "all")).as("w=all counts node 1 alone").isEqualTo(200);
  }

  @Test
  void aNodeThatChangesItsIdRejoinsUnderTheNewOneAndLeavesItsOldFileAsItWas() throws Exception {
    for (String id : List.of("1", "2", "3")) {
      ports.put(id, NodeProcess.freeLoopbackPort());
    }
    ports.put("9", port("3")); // node 3's new id, same address
    servers.put("1", NodeServer.start(settings("1", "dynamo", "2", "3").build()));
    servers.put("2", NodeServer.start(settings("2", "dynamo", "1", "3").build()));
    servers.put("3", NodeServer.start(settings("3", "dynamo", "1", "2").build()));
    for (int i = 0; i < 20; i++) {
      assertThat(put(Integer.toString(1 + i % 3), "before-" + i, "1")).isEqualTo(200);
    }
    assertThat(
            ItSupport.awaitCondition(
                Duration.ofSeconds(20), () -> holds("3", "before-19") && holds("3", "before-0")))
        .isTrue();

    // The peers learn the new id first (node 3 becomes a removed peer they keep for D5), then
    // node 3 renames itself, while nodes 1 and 2 keep writing.
    assertThat(server("1").override(Map.of("cluster.peers", peers("2", "9"))).outcome())
        .isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    assertThat(server("2").override(Map.of("cluster.peers", peers("1", "9"))).outcome())
        .isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    ReloadOrchestrator.Result renamed = server("3").override(Map.of("node.id", "9"));
    assertThat(renamed.outcome())
        .as(renamed.toString())
        .isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    Path oldFile = dir.resolve("data-3").resolve("node-3.db");
    byte[] oldBytes = Files.readAllBytes(oldFile);
    assertThat(Files.exists(dir.resolve("data-3").resolve("node-9.db"))).isTrue();
    assertThat(server("3").skein().nodeId()).isEqualTo("9");

    for (int i = 0; i < 20; i++) {
      assertThat(put(Integer.toString(1 + i % 2), "after-" + i, "1")).isEqualTo(200);
    }
    assertThat(put("3", "from-nine", "all"))
        .as("w=all: nodes 1 and 2 both take node 9")
        .isEqualTo(200);
    // Node 9 starts from an empty file and gets everything; nodes 1 and 2 get node 9's write.
    assertThat(
            ItSupport.awaitCondition(
                Duration.ofSeconds(30),
                () -> {
                  for (int i = 0; i < 20; i++) {
                    if (!holds("3", "before-" + i) || !holds("3", "after-" + i)) {
                      return false;
                    }
                  }
                  return holds("1", "from-nine") && holds("2", "from-nine");
                }))
        .isTrue();
    assertThat(Files.readAllBytes(oldFile)).as("node-3.db is left as it was").isEqualTo(oldBytes);
    // Nodes 1 and 2 still know node 3 (D5) until it is forgotten.
    assertThat(peersFile("1")).contains("\"nodeId\":\"3\"").contains("\"removed\":true");
  }

  @Test
  void aLeaderModeMemberRefusesALivePeerChange() throws Exception {
    ports.put("1", NodeProcess.freeLoopbackPort());
    ports.put("2", NodeProcess.freeLoopbackPort());
    servers.put(
        "1", NodeServer.start(settings("1", "leader", "2").flag("--role", "primary").build()));
    ReloadOrchestrator.Result refused = server("1").override(Map.of("cluster.peers", "[]"));
    assertThat(refused.outcome()).isEqualTo(ReloadOrchestrator.Outcome.ROLLED_BACK);
    assertThat(refused.error()).contains("cluster.peers").contains("leader-mode");
    ReloadOrchestrator.Result renamed = server("1").override(Map.of("node.id", "7"));
    assertThat(renamed.outcome()).isEqualTo(ReloadOrchestrator.Outcome.ROLLED_BACK);
    assertThat(renamed.error()).contains("node.id").contains("leader-mode");
    assertThat(server("1").skein().nodeId()).isEqualTo("1");
    HttpResponse<String> notDynamo = forget("1", "2");
    assertThat(notDynamo.statusCode()).isEqualTo(409);
    assertThat(JSON.readTree(notDynamo.body()).path("error").path("code").asText())
        .isEqualTo("not_dynamo");
  }
}
