package io.skein.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.skein.node.config.ConfigSources;
import io.skein.testkit.HttpJson;
import io.skein.testkit.NodeProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Leader-mode membership changes on real nodes in one JVM (issue 10 item 3): a node started with
 * {@code --role joining} is added through any member's admin API (a secondary redirects to the
 * primary), catches up as a learner and votes; members are removed one at a time, the primary
 * included; refusals are named.
 */
@Timeout(240)
class LeaderMembershipTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SECRET = "a-test-cluster-secret-of-some-length";
  private static final String TOKEN = "an-admin-token-for-the-members-test";

  @TempDir Path dir;
  private final Map<String, NodeServer> servers = new LinkedHashMap<>();
  private final Map<String, Integer> ports = new LinkedHashMap<>();

  @AfterEach
  void stop() {
    servers.values().forEach(NodeServer::close);
  }

  private String peerJson(String id) {
    return "{\"node_id\":\"" + id + "\",\"host\":\"127.0.0.1\",\"port\":" + port(id) + "}";
  }

  private int port(String id) {
    return ports.computeIfAbsent(id, i -> NodeProcess.freeLoopbackPort());
  }

  private NodeServer start(String id, String role, String... peers) {
    List<String> list = new ArrayList<>();
    for (String peer : peers) {
      list.add(peerJson(peer));
    }
    NodeServer server =
        NodeServer.start(
            ConfigSources.builder()
                .flag("--port", Integer.toString(port(id)))
                .flag("--node-id", id)
                .flag("--mode", "leader")
                .flag("--role", role)
                .flag("--data-dir", dir.resolve("data-" + id).toString())
                .flag("--durability", "buffered")
                .flag("--election-interval", "500ms")
                .flag("--peers", "[" + String.join(",", list) + "]")
                .flag("--cluster-secret", SECRET)
                .flag("--admin-token", TOKEN)
                .build());
    servers.put(id, server);
    return server;
  }

  private static @Nullable JsonNode cluster(int port) {
    try (HttpJson http = new HttpJson(URI.create("http://127.0.0.1:" + port))) {
      return JSON.readTree(http.get("/v1/cluster").body());
    } catch (Exception e) {
      return null;
    }
  }

  private boolean follows(String id, String leader) {
    JsonNode view = cluster(port(id));
    return view != null && leader.equals(view.path("leader").path("nodeId").asText());
  }

  private @Nullable String leaderOf(String id) {
    JsonNode view = cluster(port(id));
    return view == null || view.path("leader").isNull()
        ? null
        : view.path("leader").path("nodeId").asText();
  }

  private List<String> voters(String id) {
    JsonNode view = cluster(port(id));
    List<String> voters = new ArrayList<>();
    if (view != null) {
      view.path("configuration").path("voters").forEach(v -> voters.add(v.asText()));
    }
    return voters;
  }

  private int put(String id, String doc) throws Exception {
    try (HttpJson http = new HttpJson(URI.create("http://127.0.0.1:" + port(id)))) {
      return http.put("/v1/collections/c/docs/" + doc + "?w=majority", "{}").status();
    }
  }

  private boolean holds(String id, String doc) {
    try (HttpJson http = new HttpJson(URI.create("http://127.0.0.1:" + port(id)))) {
      return http.get("/v1/collections/c/docs/" + doc).status() == 200;
    } catch (Exception e) {
      return false;
    }
  }

  /** An admin request that follows redirects, as the CLI does. */
  private HttpResponse<String> admin(String on, String method, String path, String body)
      throws Exception {
    URI uri = URI.create("http://127.0.0.1:" + port(on) + path);
    try (HttpClient client = HttpClient.newHttpClient()) {
      for (int hop = 0; ; hop++) {
        HttpResponse<String> answer =
            client.send(
                HttpRequest.newBuilder(uri)
                    .timeout(Duration.ofSeconds(90))
                    .header("Authorization", "Bearer " + TOKEN)
                    .header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofString(body))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        if (answer.statusCode() != 307 || hop == 3) {
          return answer;
        }
        uri = uri.resolve(answer.headers().firstValue("Location").orElseThrow());
      }
    }
  }

  private HttpResponse<String> add(String on, String id) throws Exception {
    return admin(
        on,
        "POST",
        "/admin/members",
        "{\"id\":\"" + id + "\",\"url\":\"http://127.0.0.1:" + port(id) + "\"}");
  }

  private static String code(HttpResponse<String> answer) throws Exception {
    return JSON.readTree(answer.body()).path("error").path("code").asText();
  }

  private void awaitPrimary(String expected, String... members) throws Exception {
    for (String m : members) {
      assertThat(ItSupport.awaitCondition(Duration.ofSeconds(30), () -> follows(m, expected)))
          .as("%s follows %s", m, expected)
          .isTrue();
    }
  }

  @Test
  void aClusterGrowsFromThreeToFiveAndShrinksBackWhileItTakesWrites() throws Exception {
    start("1", "primary", "2", "3");
    start("2", "secondary", "1", "3");
    start("3", "secondary", "1", "2");
    awaitPrimary("1", "1", "2", "3");
    assertThat(voters("2")).containsExactly("1", "2", "3");
    JsonNode secondaryView = java.util.Objects.requireNonNull(cluster(port("2")));
    assertThat(secondaryView.path("gateway").path("nodeId").asText()).isEqualTo("1");
    assertThat(secondaryView.path("isGateway").asBoolean(true)).isFalse();
    assertThat(
            java.util.Objects.requireNonNull(cluster(port("1"))).path("isGateway").asBoolean(false))
        .isTrue();
    for (int i = 0; i < 20; i++) {
      assertThat(put("1", "a" + i)).isEqualTo(200);
    }

    // A joiner is not a member: it never stands, and refuses nothing by itself.
    start("4", "joining", "1", "2", "3");
    start("5", "joining", "1", "2", "3");
    Thread.sleep(1_500);
    assertThat(leaderOf("4")).isNotEqualTo("4");

    // Asked on a secondary, the change is redirected to the primary.
    HttpResponse<String> added = add("2", "4");
    assertThat(added.statusCode()).as(added.body()).isEqualTo(200);
    assertThat(JSON.readTree(added.body()).path("configuration").path("voters").toString())
        .isEqualTo("[\"1\",\"2\",\"3\",\"4\"]");
    assertThat(ItSupport.awaitCondition(Duration.ofSeconds(20), () -> holds("4", "a19"))).isTrue();
    // One change at a time is the core's rule (LeaderCoreTest); here they simply follow.
    HttpResponse<String> five = add("1", "5");
    assertThat(five.statusCode()).as(five.body()).isEqualTo(200);
    for (String id : List.of("1", "2", "3", "4", "5")) {
      assertThat(
              ItSupport.awaitCondition(
                  Duration.ofSeconds(20),
                  () -> voters(id).equals(List.of("1", "2", "3", "4", "5"))))
          .as("node %s sees five voters", id)
          .isTrue();
    }
    assertThat(put("3", "b0")).isIn(200, 307);
    assertThat(put("1", "b1")).isEqualTo(200);
    assertThat(ItSupport.awaitCondition(Duration.ofSeconds(20), () -> holds("5", "b1"))).isTrue();

    // Refusals are named.
    HttpResponse<String> again = add("1", "4");
    assertThat(again.statusCode()).isEqualTo(409);
    assertThat(code(again)).isEqualTo("already_member");
    HttpResponse<String> unknown = admin("1", "DELETE", "/admin/members/9", "");
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(code(unknown)).isEqualTo("not_member");
    HttpResponse<String> noUrl = admin("1", "POST", "/admin/members", "{\"id\":\"7\"}");
    assertThat(noUrl.statusCode()).isEqualTo(400);
    assertThat(code(noUrl)).isEqualTo("url_required");
    HttpResponse<String> badUrl =
        admin("1", "POST", "/admin/members", "{\"id\":\"7\",\"url\":\"ftp://x:1/a\"}");
    assertThat(badUrl.statusCode()).isEqualTo(400);
    assertThat(code(badUrl)).isEqualTo("invalid_url");

    // Shrink back: remove 5, then the primary itself, which steps down once that commits.
    HttpResponse<String> removed = admin("3", "DELETE", "/admin/members/5", "");
    assertThat(removed.statusCode()).as(removed.body()).isEqualTo(200);
    HttpResponse<String> self = admin("1", "DELETE", "/admin/members/1", "");
    assertThat(self.statusCode()).as(self.body()).isEqualTo(200);
    assertThat(
            ItSupport.awaitCondition(
                Duration.ofSeconds(30),
                () -> {
                  String leader = leaderOf("2");
                  return leader != null && !leader.equals("1") && leader.equals(leaderOf("4"));
                }))
        .as("the remaining members elect a primary among themselves")
        .isTrue();
    String primary = java.util.Objects.requireNonNull(leaderOf("2"));
    assertThat(primary).isIn("2", "3", "4");
    assertThat(voters("3")).containsExactly("2", "3", "4");
    assertThat(put(primary, "c0")).isEqualTo(200);
    for (String id : List.of("2", "3", "4")) {
      assertThat(ItSupport.awaitCondition(Duration.ofSeconds(20), () -> holds(id, "c0"))).isTrue();
      for (int i = 0; i < 20; i++) {
        assertThat(holds(id, "a" + i)).isTrue();
      }
    }
    assertThat(holds("1", "c0")).as("a removed member no longer receives the log").isFalse();
  }

  /**
   * A leader-mode member renamed live (D9 through membership changes): refused while the old id is
   * a member; after {@code members remove} the reload reopens the store under the new id as a
   * joiner, and {@code members add} makes it a member that catches up from the primary. The old
   * file is left as it was.
   */
  @Test
  void aMemberIsRenamedLiveByLeavingAndJoiningAgain() throws Exception {
    start("1", "primary", "2", "3");
    start("2", "secondary", "1", "3");
    start("3", "secondary", "1", "2");
    awaitPrimary("1", "1", "2", "3");
    for (int i = 0; i < 10; i++) {
      assertThat(put("1", "a" + i)).isEqualTo(200);
    }
    NodeServer three = java.util.Objects.requireNonNull(servers.get("3"));
    io.skein.internal.runtime.ReloadOrchestrator.Result refused =
        three.override(Map.of("node.id", "9"));
    assertThat(refused.outcome())
        .isIn(
            io.skein.internal.runtime.ReloadOrchestrator.Outcome.FAILED,
            io.skein.internal.runtime.ReloadOrchestrator.Outcome.ROLLED_BACK);
    assertThat(String.valueOf(refused.error())).contains("members remove --id 3");
    assertThat(follows("3", "1")).as("the refused change left node 3 as it was").isTrue();

    HttpResponse<String> removed = admin("1", "DELETE", "/admin/members/3", "");
    assertThat(removed.statusCode()).as(removed.body()).isEqualTo(200);
    assertThat(
            ItSupport.awaitCondition(
                Duration.ofSeconds(10), () -> voters("3").equals(List.of("1", "2"))))
        .as("the primary feeds a removed member until it holds its removal")
        .isTrue();
    JsonNode removedView = java.util.Objects.requireNonNull(cluster(port("3")));
    assertThat(removedView.path("configuration").path("member").asBoolean(true)).isFalse();
    assertThat(
            java.util.Objects.requireNonNull(cluster(port("1")))
                .path("configuration")
                .path("member")
                .asBoolean(false))
        .isTrue();
    // Written while node 3 is out: it must get them as node 9.
    assertThat(put("1", "b0")).isEqualTo(200);
    io.skein.internal.runtime.ReloadOrchestrator.Result renamed =
        three.override(Map.of("node.id", "9"));
    assertThat(renamed.outcome())
        .as(String.valueOf(renamed.error()))
        .isEqualTo(io.skein.internal.runtime.ReloadOrchestrator.Outcome.COMPLETED);
    Path oldFile = dir.resolve("data-3").resolve("node-3.db");
    byte[] before = java.nio.file.Files.readAllBytes(oldFile);

    ports.put("9", port("3"));
    HttpResponse<String> added = add("2", "9");
    assertThat(added.statusCode()).as(added.body()).isEqualTo(200);
    assertThat(voters("1")).containsExactly("1", "2", "9");
    assertThat(ItSupport.awaitCondition(Duration.ofSeconds(20), () -> holds("9", "b0"))).isTrue();
    for (int i = 0; i < 10; i++) {
      assertThat(holds("9", "a" + i)).isTrue();
    }
    assertThat(ItSupport.awaitCondition(Duration.ofSeconds(20), () -> follows("9", "1"))).isTrue();
    assertThat(put("1", "c0")).isEqualTo(200);
    assertThat(ItSupport.awaitCondition(Duration.ofSeconds(20), () -> holds("9", "c0"))).isTrue();
    assertThat(java.nio.file.Files.readAllBytes(oldFile))
        .as("node-3.db is left as it was when the node left it")
        .isEqualTo(before);
  }
}
