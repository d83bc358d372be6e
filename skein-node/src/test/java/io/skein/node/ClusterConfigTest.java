package io.skein.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cloudevents.CloudEvent;
import io.skein.internal.events.NodeEvents;
import io.skein.node.config.ConfigSources;
import io.skein.node.config.Settings;
import io.skein.testkit.NodeProcess;
import java.io.PrintWriter;
import java.io.StringWriter;
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
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Cluster-wide settings on three in-process nodes, in both modes: a change made on one node reaches
 * every node through the replicated {@code _system_config} collection and is applied by each node's
 * reload engine; a node's pin wins and is shown; a value one node cannot take is reported there and
 * left out, while that node keeps the other values; node-local and invalid values are refused
 * before anything is written.
 */
@Timeout(180)
class ClusterConfigTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SECRET = "a-test-cluster-secret-of-some-length";
  private static final String TOKEN = "an-admin-token-for-cluster-config";
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

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
        .flag("--sync-interval", "0.2")
        .flag("--peers", "[" + String.join(",", peers) + "]")
        .flag("--cluster-secret", SECRET)
        .flag("--admin-token", TOKEN)
        .flag("--reload-watch", "false");
  }

  private static HttpResponse<String> send(NodeServer node, String method, String path, String body)
      throws Exception {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port() + path))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json")
            .header("Authorization", "Bearer " + TOKEN)
            .method(method, HttpRequest.BodyPublishers.ofString(body))
            .build();
    return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode json(HttpResponse<String> response) throws Exception {
    return JSON.readTree(response.body());
  }

  private static boolean await(Duration timeout, BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(25);
    }
    return true;
  }

  /** The {@code GET /admin/config} item of one setting. */
  private static JsonNode setting(NodeServer node, String path) throws Exception {
    for (JsonNode item : json(send(node, "GET", "/admin/config", "")).get("settings")) {
      if (item.get("path").asText().equals(path)) {
        return item;
      }
    }
    throw new AssertionError("no setting " + path);
  }

  private static int cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status = DatastoreNode.run(new PrintWriter(out), new PrintWriter(err), Map.of(), args);
    assertThat(status).as(out + "\n" + err).isZero();
    return status;
  }

  @ParameterizedTest
  @ValueSource(strings = {"dynamo", "leader"})
  void aChangeOnOneNodeReloadsEveryNode(String mode) throws Exception {
    List<Member> all = new ArrayList<>();
    for (String id : List.of("1", "2", "3")) {
      all.add(new Member(id, NodeProcess.freeLoopbackPort()));
    }
    NodeServer one = NodeServer.start(settings(all.get(0), all, mode).build());
    servers.put("1", one);
    // Node 2 pins its rate limit; node 3 pins a 1 MiB request limit, below 2 MiB documents.
    NodeServer two =
        NodeServer.start(settings(all.get(1), all, mode).flag("--rate-limit", "500").build());
    servers.put("2", two);
    NodeServer three =
        NodeServer.start(
            settings(all.get(2), all, mode)
                .flag("--max-request-bytes", Long.toString(1L << 20))
                .build());
    servers.put("3", three);
    List<CloudEvent> eventsOfOne = new CopyOnWriteArrayList<>();
    List<CloudEvent> eventsOfThree = new CopyOnWriteArrayList<>();
    one.onEvent(eventsOfOne::add);
    three.onEvent(eventsOfThree::add);
    if (mode.equals("leader")) {
      assertThat(
              await(
                  Duration.ofSeconds(30),
                  () -> servers.values().stream().allMatch(s -> leaderKnown(s))))
          .as("a primary is elected")
          .isTrue();
    }

    // Refused before anything is written: node-local, unknown, invalid, and a broken rule.
    for (String refused :
        List.of(
            "{\"node.port\":9100}",
            "{\"admin.token\":\"another-admin-token-that-is-long\"}",
            "{\"replication.sync-intervall\":\"1s\"}",
            "{\"limits.rate-limit\":\"lots\"}",
            "{\"limits.max-request-bytes\":2048}",
            "{\"limits.rate-limit-clients\":1000,\"node.data-dir\":\"/tmp/x\"}")) {
      HttpResponse<String> answer = send(two, "PUT", "/admin/cluster-config", refused);
      assertThat(answer.statusCode()).as(refused + " -> " + answer.body()).isEqualTo(400);
      assertThat(answer.body()).contains("invalid_cluster_config");
      String field = JSON.readTree(refused).fieldNames().next();
      assertThat(answer.body())
          .contains(field.equals("limits.rate-limit-clients") ? "node.data-dir" : field);
    }
    assertThat(json(send(one, "GET", "/admin/cluster-config", "")).get("values").size()).isZero();

    String change =
        "{\"limits.rate-limit-clients\":1000,\"limits.max-document-bytes\":2097152,"
            + "\"limits.rate-limit\":50}";
    if (mode.equals("leader")) {
      // A secondary sends the write to the primary, as for documents; the CLI follows.
      HttpResponse<String> redirected = send(two, "PUT", "/admin/cluster-config", change);
      assertThat(redirected.statusCode()).as(redirected.body()).isEqualTo(307);
      assertThat(redirected.body()).contains("not_primary");
      assertThat(redirected.headers().firstValue("Location").orElse(""))
          .endsWith(":" + one.port() + "/admin/cluster-config");
      cli(
          "cluster-config",
          "set",
          "--url",
          "http://127.0.0.1:" + two.port(),
          "--admin-token",
          TOKEN,
          "limits.rate-limit-clients=1000",
          "limits.max-document-bytes=2097152",
          "limits.rate-limit=50");
    } else {
      HttpResponse<String> written = send(two, "PUT", "/admin/cluster-config", change);
      assertThat(written.statusCode()).as(written.body()).isEqualTo(200);
      assertThat(json(written).get("written").size()).isEqualTo(3);
    }

    assertThat(
            await(
                Duration.ofSeconds(30),
                () ->
                    servers.values().stream()
                        .allMatch(s -> s.config().get(Settings.RATE_LIMIT_CLIENTS) == 1000)))
        .as("every node applies the cluster-wide value")
        .isTrue();
    for (NodeServer node : servers.values()) {
      JsonNode clients = setting(node, "limits.rate-limit-clients");
      assertThat(clients.get("source").asText()).isEqualTo("cluster");
      assertThat(clients.get("cluster").get("status").asText()).isEqualTo("applied");
    }
    assertThat(one.config().get(Settings.MAX_DOCUMENT_BYTES)).isEqualTo(2L << 20);
    assertThat(one.config().get(Settings.RATE_LIMIT)).isEqualTo(50.0);
    assertThat(two.config().get(Settings.MAX_DOCUMENT_BYTES)).isEqualTo(2L << 20);
    assertThat(one.skein().config().documentBytesMax()).isEqualTo(2 << 20);

    // Node 2's pin wins, and /admin/config shows both the pin and the hidden cluster value.
    assertThat(two.config().get(Settings.RATE_LIMIT)).isEqualTo(500.0);
    JsonNode rate = setting(two, "limits.rate-limit");
    assertThat(rate.get("source").asText()).isEqualTo("flags");
    assertThat(rate.get("cluster").get("status").asText()).isEqualTo("overridden");
    assertThat(rate.get("cluster").get("overriddenBy").asText()).isEqualTo("flags");
    assertThat(rate.get("cluster").get("value").asDouble()).isEqualTo(50.0);

    // Node 3 cannot take 2 MiB documents with its 1 MiB request limit: reported, left out, and
    // its other values applied.
    assertThat(three.config().get(Settings.MAX_DOCUMENT_BYTES)).isEqualTo(1L << 20);
    assertThat(three.config().get(Settings.RATE_LIMIT)).isEqualTo(50.0);
    JsonNode documents = setting(three, "limits.max-document-bytes");
    assertThat(documents.get("source").asText()).isEqualTo("default");
    assertThat(documents.get("cluster").get("status").asText()).isEqualTo("rejected");
    assertThat(documents.get("cluster").get("reason").asText()).contains("max-request-bytes");
    JsonNode listed = json(send(three, "GET", "/admin/cluster-config", ""));
    assertThat(listed.get("values").get("limits.max-document-bytes").asLong()).isEqualTo(2L << 20);
    assertThat(listed.get("rejected").get(0).get("path").asText())
        .isEqualTo("limits.max-document-bytes");
    assertThat(json(send(one, "GET", "/admin/cluster-config", "")).get("rejected").size()).isZero();
    assertThat(three.meters().get("skein.config.cluster.rejected").gauge().value()).isEqualTo(1.0);
    assertThat(one.meters().get("skein.config.cluster.rejected").gauge().value()).isZero();
    assertThat(eventsOfThree)
        .filteredOn(e -> e.getType().equals(NodeEvents.CLUSTER_VALUE_REJECTED))
        .extracting(e -> NodeEvents.dataOf(e).get("path").asText())
        .containsExactly("limits.max-document-bytes");
    // The same reload engine and events as any reload, with trigger "cluster".
    assertThat(eventsOfOne)
        .filteredOn(e -> e.getType().equals(NodeEvents.STARTED))
        .extracting(e -> NodeEvents.dataOf(e).get("trigger").asText())
        .contains("cluster");
    assertThat(eventsOfOne).extracting(CloudEvent::getType).contains(NodeEvents.COMPLETED);

    // Removing a value: every node falls back to its own sources.
    HttpResponse<String> removed =
        send(one, "PUT", "/admin/cluster-config", "{\"limits.rate-limit-clients\":null}");
    assertThat(removed.statusCode()).as(removed.body()).isEqualTo(200);
    assertThat(
            await(
                Duration.ofSeconds(30),
                () ->
                    servers.values().stream()
                        .allMatch(s -> s.config().get(Settings.RATE_LIMIT_CLIENTS) == 65_536)))
        .isTrue();
    assertThat(Objects.requireNonNull(one.config().get(Settings.RATE_LIMIT))).isEqualTo(50.0);

    // A node that starts reads the collection and has the cluster-wide values in force at once.
    servers.remove("1").close();
    NodeServer again = NodeServer.start(settings(all.get(0), all, mode).build());
    servers.put("1", again);
    assertThat(again.config().get(Settings.RATE_LIMIT)).isEqualTo(50.0);
    assertThat(again.config().entry("limits.rate-limit").source()).isEqualTo("cluster");
    assertThat(again.config().get(Settings.MAX_DOCUMENT_BYTES)).isEqualTo(2L << 20);
  }

  @org.junit.jupiter.api.Test
  void aValueTheReloadEngineRefusesOnThisNodeIsLeftOutAndTheOthersApplied() throws Exception {
    // This node lets only the log and http modules reload: a replication change is refused here.
    NodeServer node =
        NodeServer.start(
            ConfigSources.builder()
                .flag("--port", "0")
                .flag("--mode", "dynamo")
                .flag("--data-dir", dir.resolve("data-solo").toString())
                .flag("--admin-token", TOKEN)
                .flag("--reload-watch", "false")
                .flag("--reload-enabled-modules", "log,http")
                .build());
    servers.put("solo", node);
    HttpResponse<String> written =
        send(
            node,
            "PUT",
            "/admin/cluster-config",
            "{\"replication.replication-timeout\":\"5s\",\"log.level\":\"warn\"}");
    assertThat(written.statusCode()).as(written.body()).isEqualTo(200);
    assertThat(
            await(
                Duration.ofSeconds(30),
                () ->
                    node.config().get(Settings.LOG_LEVEL).equals("warn")
                        && !node.clusterLayer().rejected().isEmpty()))
        .isTrue();
    assertThat(node.config().get(Settings.REPLICATION_TIMEOUT)).hasSeconds(2);
    JsonNode timeout = setting(node, "replication.replication-timeout");
    assertThat(timeout.get("cluster").get("status").asText()).isEqualTo("rejected");
    assertThat(timeout.get("cluster").get("reason").asText()).contains("reload.enabled-modules");
    assertThat(setting(node, "log.level").get("source").asText()).isEqualTo("cluster");
  }

  /**
   * One bad cluster-wide value must not lock the operator out: a tiny document limit does not stop
   * the next settings write, a tiny rate limit does not throttle admin requests that carry the
   * token (those without it still are), and the public change feed does not show the settings.
   */
  @org.junit.jupiter.api.Test
  void aBadClusterWideValueDoesNotLockTheOperatorOut() throws Exception {
    NodeServer node =
        NodeServer.start(
            ConfigSources.builder()
                .flag("--port", "0")
                .flag("--mode", "dynamo")
                .flag("--data-dir", dir.resolve("data-lockout").toString())
                .flag("--admin-token", TOKEN)
                .flag("--reload-watch", "false")
                .build());
    servers.put("lockout", node);
    HttpResponse<String> tiny =
        send(node, "PUT", "/admin/cluster-config", "{\"limits.max-document-bytes\":64}");
    assertThat(tiny.statusCode()).as(tiny.body()).isEqualTo(200);
    assertThat(
            await(
                Duration.ofSeconds(20),
                () -> {
                  try {
                    return setting(node, "limits.max-document-bytes").path("value").asLong() == 64;
                  } catch (Exception e) {
                    return false;
                  }
                }))
        .isTrue();
    HttpResponse<String> next =
        send(
            node,
            "PUT",
            "/admin/cluster-config",
            "{\"limits.max-document-bytes\":1048576,\"limits.rate-limit\":0.01,"
                + "\"limits.rate-limit-burst\":1}");
    assertThat(next.statusCode()).as(next.body()).isEqualTo(200);
    assertThat(
            await(
                Duration.ofSeconds(20),
                () -> {
                  try {
                    return setting(node, "limits.rate-limit").path("value").asDouble() == 0.01;
                  } catch (Exception e) {
                    return false;
                  }
                }))
        .isTrue();
    for (int i = 0; i < 5; i++) {
      assertThat(send(node, "GET", "/admin/cluster-config", "").statusCode()).isEqualTo(200);
    }
    HttpRequest anonymous =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.port() + "/admin/config"))
            .timeout(Duration.ofSeconds(30))
            .build();
    int limited = 0;
    for (int i = 0; i < 3; i++) {
      if (HTTP.send(anonymous, HttpResponse.BodyHandlers.ofString()).statusCode() == 429) {
        limited++;
      }
    }
    assertThat(limited).as("admin requests without the token are still limited").isPositive();
    HttpRequest feed =
        HttpRequest.newBuilder(
                URI.create(
                    "http://127.0.0.1:" + node.port() + "/v1/changes?include_docs=true&limit=100"))
            .timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + TOKEN)
            .build();
    send(node, "PUT", "/admin/cluster-config", "{\"limits.rate-limit\":null}");
    assertThat(
            await(
                Duration.ofSeconds(20),
                () -> {
                  try {
                    return setting(node, "limits.rate-limit").path("value").asDouble() == 0;
                  } catch (Exception e) {
                    return false;
                  }
                }))
        .isTrue();
    HttpResponse<String> changes = HTTP.send(feed, HttpResponse.BodyHandlers.ofString());
    assertThat(changes.statusCode()).isEqualTo(200);
    assertThat(changes.body()).doesNotContain("_system_config");
  }

  @org.junit.jupiter.api.Test
  void strayDocumentsAreReportedLeftOutAndDoNotBlockLaterChanges() throws Exception {
    NodeServer node =
        NodeServer.start(
            ConfigSources.builder()
                .flag("--port", "0")
                .flag("--mode", "dynamo")
                .flag("--data-dir", dir.resolve("data-stray").toString())
                .flag("--admin-token", TOKEN)
                .flag("--reload-watch", "false")
                .build());
    servers.put("stray", node);
    // Written behind the admin API's back (embedded code, or a node of another version).
    node.skein().systemConfig().put("limits.rate-limit", "{\"value\":\"lots\"}");
    node.skein().systemConfig().put("replication.from-the-future", "{\"value\":\"1s\"}");
    node.skein().systemConfig().put("node.data-dir", "{\"value\":\"/tmp/elsewhere\"}");
    assertThat(await(Duration.ofSeconds(20), () -> node.clusterLayer().rejected().size() == 3))
        .as(String.valueOf(node.clusterLayer().rejected()))
        .isTrue();
    assertThat(node.config().get(Settings.NODE_DATA_DIR)).endsWith("data-stray");
    HttpResponse<String> written =
        send(node, "PUT", "/admin/cluster-config", "{\"log.level\":\"warn\"}");
    assertThat(written.statusCode()).as(written.body()).isEqualTo(200);
    assertThat(
            await(
                Duration.ofSeconds(20), () -> node.config().get(Settings.LOG_LEVEL).equals("warn")))
        .isTrue();
    // A stray document can be removed through the API.
    HttpResponse<String> removed =
        send(
            node,
            "PUT",
            "/admin/cluster-config",
            "{\"replication.from-the-future\":null,\"node.data-dir\":null}");
    assertThat(removed.statusCode()).as(removed.body()).isEqualTo(200);
    assertThat(await(Duration.ofSeconds(20), () -> node.clusterLayer().rejected().size() == 1))
        .isTrue();
    assertThat(json(send(node, "GET", "/admin/cluster-config", "")).get("values").size())
        .isEqualTo(2);
  }

  private static boolean leaderKnown(NodeServer server) {
    try {
      HttpResponse<String> cluster = send(server, "GET", "/v1/cluster", "");
      JsonNode leader = json(cluster).get("leader");
      return leader != null && !leader.isNull();
    } catch (Exception e) {
      return false;
    }
  }
}
