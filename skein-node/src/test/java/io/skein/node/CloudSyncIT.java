package io.skein.node;

import static io.skein.node.ItSupport.JSON;
import static io.skein.node.ItSupport.awaitCondition;
import static io.skein.node.ItSupport.cluster;
import static io.skein.node.ItSupport.http;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.testkit.HttpJson;
import io.skein.testkit.NodeProcess;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The LAN-and-cloud use cases of seeds 000/001 with real processes (docs/operating/cloud.md): three
 * dynamo {@code datastore-node}s on loopback, cloud nodes that check bearer JWTs, and a real OAuth2
 * server ({@code mock-oauth2-server}, in this JVM) that issues the gateway its tokens by the
 * client-credentials grant. Every change goes through the CLI, as the guide shows.
 *
 * <ol>
 *   <li>A cloud peer added on node 3 appears on every node; only the gateway (node 1, the lowest
 *       id) syncs with it; documents written on either side reach the other; the LAN's system
 *       collections stay home; no node writes the client secret anywhere.
 *   <li>Disabled, the gateway drops the session and nothing more crosses; enabled again, what was
 *       written meanwhile crosses.
 *   <li>Replaced (removed, and a new cloud node added), the new node gets the whole history.
 *   <li>The gateway is SIGKILLed under writes on both sides: node 2 takes over and resumes the
 *       sync; once node 1 is back, every acknowledged write is on every node of both sites.
 *   <li>A stranger without a token, or with a token of another issuer, is refused.
 * </ol>
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class CloudSyncIT {
  private static final int LAN = 3;
  private static final String TOKEN = "an-admin-token-for-the-cloud-test";
  private static final String CLIENT_SECRET = "cloud-client-secret-7f3a9c1e5b";
  private static final String AUDIENCE = "skein-cloud";
  private static final Duration WAIT = Duration.ofSeconds(45);

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path dir;

  private final int[] ports = new int[LAN + 1];
  private final Map<Integer, NodeProcess> lan = new ConcurrentHashMap<>();
  private final Map<String, NodeProcess> clouds = new ConcurrentHashMap<>();
  private @Nullable MockOAuth2Server oauth2;

  @AfterEach
  void stopAll() {
    for (NodeProcess node : lan.values()) {
      node.close();
    }
    for (NodeProcess node : clouds.values()) {
      node.close();
    }
    MockOAuth2Server server = oauth2;
    if (server != null) {
      server.shutdown();
    }
  }

  private void startAuthorizationServer() {
    // Every client-credentials token of issuer "cloud" carries the cloud nodes' audience and the
    // sync scope; issuer "elsewhere" issues the same claims under another name.
    String config =
        """
        {"interactiveLogin": false, "tokenCallbacks": [
          {"issuerId": "cloud", "tokenExpiry": 120, "requestMappings": [
            {"requestParam": "grant_type", "match": "client_credentials",
             "claims": {"sub": "lan-gateway", "aud": ["%1$s"], "scope": "skein:sync"}}]},
          {"issuerId": "elsewhere", "tokenExpiry": 120, "requestMappings": [
            {"requestParam": "grant_type", "match": "client_credentials",
             "claims": {"sub": "intruder", "aud": ["%1$s"], "scope": "skein:sync"}}]}]}
        """
            .formatted(AUDIENCE);
    MockOAuth2Server server = new MockOAuth2Server(OAuth2Config.Companion.fromJson(config));
    server.start(InetAddress.getLoopbackAddress(), 0);
    oauth2 = server;
  }

  private MockOAuth2Server oauth2() {
    return Objects.requireNonNull(oauth2, "the authorization server is not started");
  }

  private String issuer(String id) {
    return oauth2().issuerUrl(id).toString();
  }

  private NodeProcess lanNode(int id) {
    return Objects.requireNonNull(lan.get(id), () -> "node " + id + " is not running");
  }

  private NodeProcess startLan(int id) throws IOException {
    Path env = dir.resolve("lan.env");
    if (!Files.exists(env)) {
      Files.writeString(env, "CLOUD_SECRET=" + CLIENT_SECRET + "\n");
    }
    NodeProcess node =
        ItSupport.startNode(
            dir,
            id,
            ports[id],
            "--node-id",
            Integer.toString(id),
            "--mode",
            "dynamo",
            "--data-dir",
            dir.resolve("data" + id).toString(),
            "--peers",
            ItSupport.peersJson(id, LAN, (from, to) -> ports[to]),
            "--sync-interval",
            "0.5",
            "--remote-scheme",
            "http",
            "--env-file",
            env.toString(),
            "--admin-token",
            TOKEN);
    lan.put(id, node);
    return node;
  }

  private NodeProcess startCloud(String nodeId, int logId) {
    NodeProcess node =
        ItSupport.startNode(
            dir,
            logId,
            NodeProcess.freeLoopbackPort(),
            "--node-id",
            nodeId,
            "--mode",
            "dynamo",
            "--data-dir",
            dir.resolve("data-" + nodeId).toString(),
            "--sync-interval",
            "0.5",
            "--oauth2-issuer",
            issuer("cloud"),
            "--oauth2-audience",
            AUDIENCE,
            "--admin-token",
            TOKEN);
    clouds.put(nodeId, node);
    return node;
  }

  /** Runs {@code datastore-node ARGS --url (node) --admin-token T}; returns its output. */
  private String cli(NodeProcess on, String... arguments) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.add("-jar");
    command.add(ItSupport.nodeJar().toString());
    command.addAll(List.of(arguments));
    command.add("--url");
    command.add(on.baseUrl().toString());
    command.add("--admin-token");
    command.add(TOKEN);
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    System.out.println(String.join(" ", arguments) + " -> " + output.strip());
    assertThat(process.exitValue()).as("exit status of %s: %s", arguments[0], output).isZero();
    return output;
  }

  private void addCloudPeer(NodeProcess on, String nodeId, NodeProcess cloud) throws Exception {
    cli(
        on,
        "add-cloud-peer",
        "--node-id",
        nodeId,
        "--address",
        "127.0.0.1:" + cloud.port(),
        "--authority",
        issuer("cloud"),
        "--client-id",
        "lan-gateway",
        "--client-secret",
        "${CLOUD_SECRET}",
        "--scopes",
        "skein:sync");
  }

  private static JsonNode quietCluster(NodeProcess node) {
    try {
      return cluster(node);
    } catch (IOException e) {
      return JSON.createObjectNode();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return JSON.createObjectNode();
    }
  }

  /** The cloud peers a node holds a session with, and their state: {@code cloud-1=connected}. */
  private static List<String> sessions(NodeProcess node) {
    List<String> sessions = new ArrayList<>();
    for (JsonNode peer : quietCluster(node).path("cloudPeers")) {
      sessions.add(peer.path("nodeId").asText() + "=" + peer.path("state").asText());
    }
    return sessions;
  }

  private static int status(NodeProcess node, String path) {
    try (HttpJson http = http(node)) {
      return http.get(path).status();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private static int put(NodeProcess node, String collection, String id, String body) {
    try (HttpJson http = http(node)) {
      return http.put("/v1/collections/" + collection + "/docs/" + id, body).status();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  private static boolean has(NodeProcess node, String collection, String id) {
    return status(node, "/v1/collections/" + collection + "/docs/" + id) == 200;
  }

  private static String peerList(NodeProcess node) throws Exception {
    try (HttpClient client = HttpClient.newHttpClient()) {
      HttpResponse<String> answer =
          client.send(
              HttpRequest.newBuilder(URI.create(node.baseUrl() + "/admin/peers"))
                  .timeout(Duration.ofSeconds(10))
                  .header("Authorization", "Bearer " + TOKEN)
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(answer.statusCode()).isEqualTo(200);
      return answer.body();
    }
  }

  @Test
  void aLanClusterAndItsCloudPeersStayInSyncThroughTheGateway() throws Exception {
    startAuthorizationServer();
    for (int id = 1; id <= LAN; id++) {
      ports[id] = NodeProcess.freeLoopbackPort();
    }
    for (int id = 1; id <= LAN; id++) {
      startLan(id);
    }
    NodeProcess cloud1 = startCloud("cloud-1", 101);
    assertThat(
            awaitCondition(
                WAIT,
                () ->
                    lan.values().stream()
                        .allMatch(
                            n ->
                                quietCluster(n)
                                    .path("gateway")
                                    .path("nodeId")
                                    .asText()
                                    .equals("1"))))
        .as("node 1, the lowest id, is the gateway on every node")
        .isTrue();

    // 1. Added on node 3 (not the gateway) with the CLI; every node lists it; only node 1 syncs.
    addCloudPeer(lanNode(3), "cloud-1", cloud1);
    for (int id = 1; id <= LAN; id++) {
      NodeProcess node = lanNode(id);
      assertThat(awaitCondition(WAIT, () -> peerListQuiet(node).contains("\"cloud-1\"")))
          .as("node %d lists cloud-1", id)
          .isTrue();
    }
    assertThat(
            awaitCondition(WAIT, () -> sessions(lanNode(1)).equals(List.of("cloud-1=connected"))))
        .as("the gateway syncs with cloud-1: %s", quietCluster(lanNode(1)).path("cloudPeers"))
        .isTrue();
    assertThat(sessions(lanNode(2))).isEmpty();
    assertThat(sessions(lanNode(3))).isEmpty();
    assertThat(put(lanNode(2), "orders", "from-lan", "{\"site\":\"lan\"}")).isEqualTo(200);
    assertThat(put(cloud1, "orders", "from-cloud", "{\"site\":\"cloud\"}")).isEqualTo(200);
    assertThat(awaitCondition(WAIT, () -> has(cloud1, "orders", "from-lan"))).isTrue();
    for (int id = 1; id <= LAN; id++) {
      NodeProcess node = lanNode(id);
      assertThat(awaitCondition(WAIT, () -> has(node, "orders", "from-cloud")))
          .as("node %d has the cloud's document", id)
          .isTrue();
    }
    JsonNode clients = quietCluster(cloud1).path("siteClients");
    assertThat(clients).hasSize(1);
    assertThat(clients.get(0).path("nodeId").asText()).isEqualTo("1");
    // The LAN's peer list (a system collection) did not cross to the cloud.
    assertThat(peerList(cloud1)).doesNotContain("cloud-1");

    // 2. Disabled: the gateway drops the session; enabled: what was written meanwhile crosses.
    cli(lanNode(2), "peers", "disable", "cloud-1");
    assertThat(awaitCondition(WAIT, () -> sessions(lanNode(1)).isEmpty()))
        .as("the gateway closed its session with the disabled peer")
        .isTrue();
    assertThat(put(cloud1, "orders", "while-disabled", "{\"n\":1}")).isEqualTo(200);
    TimeUnit.MILLISECONDS.sleep(1_500); // three sync intervals
    assertThat(has(lanNode(1), "orders", "while-disabled")).isFalse();
    cli(lanNode(2), "peers", "enable", "cloud-1");
    assertThat(awaitCondition(WAIT, () -> has(lanNode(3), "orders", "while-disabled"))).isTrue();

    // 3. Replaced: cloud-1 removed, cloud-2 added; cloud-2 gets the whole history.
    NodeProcess cloud2 = startCloud("cloud-2", 102);
    cli(lanNode(1), "peers", "remove", "cloud-1");
    addCloudPeer(lanNode(1), "cloud-2", cloud2);
    assertThat(
            awaitCondition(WAIT, () -> sessions(lanNode(1)).equals(List.of("cloud-2=connected"))))
        .as("the gateway moved to cloud-2: %s", quietCluster(lanNode(1)).path("cloudPeers"))
        .isTrue();
    for (String id : List.of("from-lan", "from-cloud", "while-disabled")) {
      assertThat(awaitCondition(WAIT, () -> has(cloud2, "orders", id)))
          .as("cloud-2 has %s", id)
          .isTrue();
    }
    Objects.requireNonNull(clouds.remove("cloud-1")).close();

    // 4. The gateway dies under writes on both sites; node 2 takes over.
    Map<String, NodeProcess> acked = new ConcurrentHashMap<>();
    AtomicBoolean writing = new AtomicBoolean(true);
    List<NodeProcess> writers = List.of(lanNode(1), lanNode(2), lanNode(3), cloud2);
    Thread load =
        Thread.ofPlatform()
            .start(
                () -> {
                  for (int i = 0; writing.get() && i < 2_000; i++) {
                    NodeProcess target = writers.get(i % writers.size());
                    String id = "w" + i;
                    if (put(target, "load", id, "{\"i\":" + i + "}") == 200) {
                      acked.put(id, target);
                    }
                  }
                });
    TimeUnit.MILLISECONDS.sleep(1_000);
    lanNode(1).kill();
    lan.remove(1);
    assertThat(
            awaitCondition(
                WAIT,
                () ->
                    quietCluster(lanNode(2)).path("isGateway").asBoolean()
                        && sessions(lanNode(2)).equals(List.of("cloud-2=connected"))))
        .as("node 2 took over as gateway: %s", quietCluster(lanNode(2)))
        .isTrue();
    assertThat(sessions(lanNode(3))).isEmpty();
    TimeUnit.MILLISECONDS.sleep(1_000);
    writing.set(false);
    load.join(30_000);
    startLan(1);
    assertThat(acked).hasSizeGreaterThan(20);
    List<NodeProcess> everyone = new ArrayList<>(lan.values());
    everyone.add(cloud2);
    for (NodeProcess node : everyone) {
      assertThat(
              awaitCondition(
                  Duration.ofSeconds(60),
                  () -> acked.keySet().stream().allMatch(id -> has(node, "load", id))))
          .as(
              "every acknowledged write is on %s; missing: %s",
              node.baseUrl(),
              acked.keySet().stream().filter(id -> !has(node, "load", id)).limit(10).toList())
          .isTrue();
    }
    // Node 1, back, is the gateway again and syncs once more.
    assertThat(
            awaitCondition(WAIT, () -> sessions(lanNode(1)).equals(List.of("cloud-2=connected"))))
        .isTrue();

    // 5. Strangers are refused: no token, or a token of another issuer.
    assertThat(syncStatus(cloud2, null)).isEqualTo(401);
    assertThat(
            syncStatus(
                cloud2,
                oauth2()
                    .issueToken("elsewhere", "x", AUDIENCE, Map.of("scope", "skein:sync"), 60)
                    .serialize()))
        .isEqualTo(401);
    assertThat(
            syncStatus(
                cloud2,
                oauth2()
                    .issueToken("cloud", "x", AUDIENCE, Map.of("scope", "read"), 60)
                    .serialize()))
        .isEqualTo(403);

    // The client secret appears in no database file and no log line of any node.
    for (NodeProcess node : everyone) {
      node.close();
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        if (file.getFileName().toString().equals("lan.env")) {
          continue;
        }
        String content = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
        assertThat(content).as("%s", file).doesNotContain(CLIENT_SECRET);
      }
    }
  }

  private String peerListQuiet(NodeProcess node) {
    try {
      return peerList(node);
    } catch (Exception e) {
      return "";
    }
  }

  /** The status of a {@code POST /v1/sync} with this bearer token (or none). */
  private static int syncStatus(NodeProcess node, @Nullable String token) throws Exception {
    try (HttpClient client = HttpClient.newHttpClient()) {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(URI.create(node.baseUrl() + "/v1/sync"))
              .timeout(Duration.ofSeconds(10))
              .header("Content-Type", "application/x-protobuf")
              .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[] {1, 2, 3}));
      if (token != null) {
        request.header("Authorization", "Bearer " + token);
      }
      return client.send(request.build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }
  }
}
