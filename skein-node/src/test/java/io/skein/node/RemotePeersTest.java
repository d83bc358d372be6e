package io.skein.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.skein.internal.crypto.SealedSecrets;
import io.skein.node.config.ConfigSources;
import io.skein.testkit.NodeProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The replicated remote-peer list over the admin API (issue 11 items 1, 2 and 4): a peer added on
 * one node is on the other within a sync interval; enable, disable and remove replicate too; each
 * wrong field is named; a client secret is never plain text anywhere: not in a database file, not
 * in an answer, not in the metrics.
 */
@Timeout(120)
class RemotePeersTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SECRET = "a-test-cluster-secret-of-some-length";
  private static final String TOKEN = "an-admin-token-for-the-remote-peers-test";
  private static final String CLIENT_SECRET = "Pl41n-Cl13nt-S3cr3t-never-stored";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir Path dir;
  private final Map<String, NodeServer> servers = new LinkedHashMap<>();
  private final Map<String, Integer> ports = new LinkedHashMap<>();

  @AfterEach
  void stop() {
    servers.values().forEach(NodeServer::close);
  }

  private int port(String id) {
    return ports.computeIfAbsent(id, i -> NodeProcess.freeLoopbackPort());
  }

  private NodeServer start(String id, String peer) {
    NodeServer server =
        NodeServer.start(
            ConfigSources.builder()
                .flag("--port", Integer.toString(port(id)))
                .flag("--node-id", id)
                .flag("--mode", "dynamo")
                .flag("--data-dir", dir.resolve("data-" + id).toString())
                .flag("--sync-interval", "0.2")
                .flag(
                    "--peers",
                    "[{\"node_id\":\""
                        + peer
                        + "\",\"host\":\"127.0.0.1\",\"port\":"
                        + port(peer)
                        + "}]")
                .flag("--cluster-secret", SECRET)
                .flag("--admin-token", TOKEN)
                .build());
    servers.put(id, server);
    return server;
  }

  private HttpResponse<String> send(String on, String method, String path, String body)
      throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port(on) + path))
            .timeout(Duration.ofSeconds(30))
            .header("Authorization", "Bearer " + TOKEN)
            .header("Content-Type", "application/json")
            .method(method, HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private JsonNode peers(String on) {
    try {
      return JSON.readTree(send(on, "GET", "/admin/peers", "").body()).path("peers");
    } catch (Exception e) {
      return JSON.createArrayNode();
    }
  }

  private static String cloudPeer(String secret) {
    return "{\"address\":\"cloud.example.com:443\",\"type\":\"CloudRemote\",\"oauth2\":"
        + "{\"authority\":\"https://login.example.com/t\",\"clientId\":\"skein\","
        + "\"clientSecret\":\""
        + secret
        + "\",\"scopes\":[\"skein:sync\"]}}";
  }

  @Test
  void aPeerAddedOnOneNodeIsOnEveryNodeAndItsSecretIsNeverPlainText() throws Exception {
    start("1", "2");
    start("2", "1");
    String sealed = SealedSecrets.fromClusterSecret(SECRET).seal(CLIENT_SECRET);

    HttpResponse<String> plain = send("1", "PUT", "/admin/peers/cloud-1", cloudPeer(CLIENT_SECRET));
    assertThat(plain.statusCode()).isEqualTo(400);
    assertThat(plain.body()).contains("oauth2.clientSecret").doesNotContain(CLIENT_SECRET);
    String foreign = SealedSecrets.fromClusterSecret("another-cluster").seal(CLIENT_SECRET);
    HttpResponse<String> other = send("1", "PUT", "/admin/peers/cloud-1", cloudPeer(foreign));
    assertThat(other.statusCode()).isEqualTo(400);
    assertThat(other.body()).contains("another cluster");
    HttpResponse<String> noPort =
        send("1", "PUT", "/admin/peers/lan-9", "{\"address\":\"lan9.example.com\"}");
    assertThat(noPort.statusCode()).isEqualTo(400);
    assertThat(noPort.body()).contains("address");
    assertThat(peers("1")).isEmpty();

    HttpResponse<String> added = send("1", "PUT", "/admin/peers/cloud-1", cloudPeer(sealed));
    assertThat(added.statusCode()).as(added.body()).isEqualTo(200);
    assertThat(added.body()).contains("[SEALED]").doesNotContain(sealed);
    assertThat(
            send("2", "PUT", "/admin/peers/lan-3", "{\"address\":\"10.0.0.3:9000\"}").statusCode())
        .isEqualTo(200);
    assertThat(ItSupport.awaitCondition(Duration.ofSeconds(10), () -> peers("2").size() == 2))
        .isTrue();
    assertThat(ItSupport.awaitCondition(Duration.ofSeconds(10), () -> peers("1").size() == 2))
        .isTrue();
    assertThat(peers("2").get(0).path("oauth2").path("clientSecret").asText())
        .isEqualTo("[SEALED]");

    assertThat(send("2", "POST", "/admin/peers/cloud-1/disable", "").statusCode()).isEqualTo(200);
    assertThat(
            ItSupport.awaitCondition(
                Duration.ofSeconds(10), () -> !peers("1").get(0).path("enabled").asBoolean(true)))
        .isTrue();
    assertThat(send("1", "POST", "/admin/peers/cloud-1/enable", "").statusCode()).isEqualTo(200);
    assertThat(send("1", "DELETE", "/admin/peers/lan-3", "").statusCode()).isEqualTo(200);
    assertThat(ItSupport.awaitCondition(Duration.ofSeconds(10), () -> peers("2").size() == 1))
        .isTrue();
    assertThat(send("1", "DELETE", "/admin/peers/lan-3", "").statusCode()).isEqualTo(404);
    assertThat(send("1", "POST", "/admin/peers/nobody/enable", "").statusCode()).isEqualTo(404);
    // The embedded API reads the same list.
    assertThat(java.util.Objects.requireNonNull(servers.get("2")).skein().remotePeers().listPeers())
        .extracting(io.skein.RemotePeer::nodeId)
        .containsExactly("cloud-1");

    // The plain secret is nowhere: answers, metrics, and every database file byte for byte.
    StringBuilder answers = new StringBuilder();
    for (String on : List.of("1", "2")) {
      answers.append(send(on, "GET", "/admin/peers", "").body());
      answers.append(send(on, "GET", "/admin/config", "").body());
      answers.append(send(on, "GET", "/metrics", "").body());
      answers.append(send(on, "GET", "/v1/changes?include_docs=true&limit=1000", "").body());
    }
    assertThat(answers.toString()).doesNotContain(CLIENT_SECRET).doesNotContain(sealed);
    servers.values().forEach(NodeServer::close);
    servers.clear();
    byte[] needle = CLIENT_SECRET.getBytes(StandardCharsets.UTF_8);
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        assertThat(indexOf(Files.readAllBytes(file), needle))
            .as("the plain secret in %s", file)
            .isEqualTo(-1);
      }
    }
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private NodeServer solo(String initialPeers) {
    NodeServer server =
        NodeServer.start(
            ConfigSources.builder()
                .flag("--port", "0")
                .flag("--node-id", "1")
                .flag("--mode", "dynamo")
                .flag("--data-dir", dir.resolve("data-solo").toString())
                .flag("--admin-token", TOKEN)
                .flag("--initial-remote-peers", initialPeers)
                .build());
    servers.put("solo", server);
    return server;
  }

  @Test
  void initialPeersAreAddedOnceAndAnExistingPeerIsLeftAlone() throws Exception {
    String first =
        "[{\"nodeId\":\"cloud-1\",\"address\":\"cloud.example.com:443\",\"oauth2\":"
            + "{\"authority\":\"https://login.example.com/t\",\"clientId\":\"skein\","
            + "\"clientSecret\":\"${SKEIN_CLOUD_SECRET}\",\"scopes\":[\"skein:sync\"]}},"
            + "{\"nodeId\":5,\"address\":\"10.0.0.5:9000\"}]";
    NodeServer node = solo(first);
    assertThat(ItSupport.awaitCondition(Duration.ofSeconds(10), node::initialRemotePeersDone))
        .isTrue();
    assertThat(node.skein().remotePeers().listPeers())
        .extracting(io.skein.RemotePeer::nodeId)
        .containsExactly("5", "cloud-1");
    node.skein().remotePeers().disablePeer("5");
    node.close();
    servers.clear();

    // The same file again, with node 5 at another address: the list keeps what it holds.
    NodeServer again = solo(first.replace("10.0.0.5:9000", "10.0.0.6:9000"));
    assertThat(ItSupport.awaitCondition(Duration.ofSeconds(10), again::initialRemotePeersDone))
        .isTrue();
    io.skein.RemotePeer five = again.skein().remotePeers().get("5").orElseThrow();
    assertThat(five.address()).isEqualTo("10.0.0.5:9000");
    assertThat(five.enabled()).isFalse();
    again.close();
    servers.clear();

    String plain =
        "[{\"nodeId\":\"c\",\"address\":\"c.example.com:443\",\"oauth2\":"
            + "{\"authority\":\"https://l.example.com\",\"clientId\":\"x\","
            + "\"clientSecret\":\""
            + CLIENT_SECRET
            + "\"}}]";
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> solo(plain))
        .hasMessageContaining("--initial-remote-peers")
        .hasMessageContaining("oauth2.clientSecret")
        .hasMessageNotContaining(CLIENT_SECRET);
  }
}
