package io.skein.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.skein.node.config.ConfigSources;
import io.skein.testkit.HttpJson;
import io.skein.testkit.NodeProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dynamo mode between in-process nodes on loopback: the peer transport, the handshake's refusals,
 * write concerns and catch-up, through the public HTTP API.
 */
@Timeout(120)
class DynamoClusterTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SECRET = "a-test-cluster-secret-of-some-length";

  @TempDir Path dir;
  private final List<NodeServer> servers = new ArrayList<>();

  @AfterEach
  void stopAll() {
    for (NodeServer server : servers) {
      server.close();
    }
  }

  record Member(String id, int port) {
    String peerJson() {
      return "{\"node_id\":\"" + id + "\",\"host\":\"127.0.0.1\",\"port\":" + port + "}";
    }
  }

  static List<Member> members(String... ids) {
    List<Member> members = new ArrayList<>();
    for (String id : ids) {
      members.add(new Member(id, NodeProcess.freeLoopbackPort()));
    }
    return members;
  }

  private static String peersOf(Member self, List<Member> all) {
    List<String> peers = new ArrayList<>();
    for (Member m : all) {
      if (!m.id().equals(self.id())) {
        peers.add(m.peerJson());
      }
    }
    return "[" + String.join(",", peers) + "]";
  }

  private ConfigSources.Builder settings(Member self, List<Member> all) {
    return ConfigSources.builder()
        .flag("--port", String.valueOf(self.port()))
        .flag("--node-id", String.valueOf(self.id()))
        .flag("--mode", String.valueOf("dynamo"))
        .flag("--data-dir", String.valueOf(dir.resolve("data-" + self.id() + "-" + self.port())))
        .flag("--peers", String.valueOf(peersOf(self, all)))
        .flag("--sync-interval", String.valueOf(0.2))
        .flag("--replication-timeout", String.valueOf(0.5))
        .flag("--cluster-secret", String.valueOf(SECRET));
  }

  private NodeServer start(ConfigSources.Builder settings) {
    NodeServer server = NodeServer.start(settings.build());
    servers.add(server);
    return server;
  }

  private static HttpJson http(NodeServer server) {
    return new HttpJson(URI.create("http://127.0.0.1:" + server.port()));
  }

  private static JsonNode cluster(NodeServer server) throws Exception {
    try (HttpJson http = http(server)) {
      return JSON.readTree(http.get("/v1/cluster").body());
    }
  }

  private static JsonNode peer(NodeServer server, String id) throws Exception {
    for (JsonNode peer : cluster(server).path("peers")) {
      if (peer.path("nodeId").asText().equals(id)) {
        return peer;
      }
    }
    throw new AssertionError("no peer " + id + " in " + cluster(server));
  }

  static boolean await(Duration timeout, BooleanSupplier condition) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      TimeUnit.MILLISECONDS.sleep(20);
    }
    return true;
  }

  static boolean connected(NodeServer server, String peer) {
    try {
      return peer(server, peer).path("state").asText().equals("connected");
    } catch (Exception e) {
      return false;
    }
  }

  private static int status(NodeServer server, String path) {
    try (HttpJson http = http(server)) {
      return http.get(path).status();
    } catch (Exception e) {
      return -1;
    }
  }

  static double metric(NodeServer server, String line) throws Exception {
    try (HttpJson http = http(server)) {
      for (String l : http.get("/metrics").body().lines().toList()) {
        if (l.startsWith(line + " ")) {
          return Double.parseDouble(l.substring(line.length() + 1));
        }
      }
    }
    return 0;
  }

  @Test
  void writesOnEveryNodeReachEveryNodeAndWAllWaitsForAllOfThem() throws Exception {
    List<Member> all = members("1", "2", "3");
    NodeServer one = start(settings(all.get(0), all));
    NodeServer two = start(settings(all.get(1), all));
    NodeServer three = start(settings(all.get(2), all));
    assertThat(
            await(
                Duration.ofSeconds(20),
                () ->
                    connected(one, "2")
                        && connected(one, "3")
                        && connected(two, "1")
                        && connected(three, "1")))
        .isTrue();

    try (HttpJson h1 = http(one);
        HttpJson h3 = http(three)) {
      assertThat(h1.put("/v1/collections/c/docs/from1", "{\"n\":1}").status()).isEqualTo(200);
      HttpJson.Response all3 = h3.put("/v1/collections/c/docs/from3?w=all", "{\"n\":3}");
      assertThat(all3.status()).isEqualTo(200);
    }
    // w=all answered, so node 1 and node 2 hold the document durably already.
    assertThat(status(one, "/v1/collections/c/docs/from3")).isEqualTo(200);
    assertThat(status(two, "/v1/collections/c/docs/from3")).isEqualTo(200);
    assertThat(
            await(
                Duration.ofSeconds(10), () -> status(three, "/v1/collections/c/docs/from1") == 200))
        .isTrue();
    assertThat(
            await(
                Duration.ofSeconds(10),
                () -> {
                  try {
                    return peer(one, "2").path("lagEntries").asLong(-1) == 0
                        && peer(one, "3").path("lagEntries").asLong(-1) == 0;
                  } catch (Exception e) {
                    return false;
                  }
                }))
        .isTrue();
    assertThat(cluster(one).path("versionVector").path("3").asLong()).isEqualTo(1);
    assertThat(metric(one, "skein_peer_entries_sent_total{peer=\"2\"}")).isGreaterThanOrEqualTo(1);
  }

  private static String gatewayOf(NodeServer server) {
    try {
      JsonNode gateway = cluster(server).path("gateway");
      return gateway.isObject() ? gateway.path("nodeId").asText() : "";
    } catch (Exception e) {
      return "?";
    }
  }

  private static boolean isGateway(NodeServer server) {
    try {
      return cluster(server).path("isGateway").asBoolean(false);
    } catch (Exception e) {
      return false;
    }
  }

  @Test
  void theLowestIdIsElectedGatewayAndTheNextLowestTakesOverWhenItStops() throws Exception {
    List<Member> all = members("1", "2", "3");
    NodeServer one = start(settings(all.get(0), all));
    NodeServer two = start(settings(all.get(1), all));
    NodeServer three = start(settings(all.get(2), all));
    List<io.skein.LeadershipChanged> seenByTwo =
        java.util.Collections.synchronizedList(new ArrayList<>());
    two.skein().onLeadershipChanged(seenByTwo::add);
    assertThat(
            await(
                Duration.ofSeconds(20),
                () ->
                    gatewayOf(one).equals("1")
                        && gatewayOf(two).equals("1")
                        && gatewayOf(three).equals("1")))
        .isTrue();
    assertThat(isGateway(one)).isTrue();
    assertThat(isGateway(two) || isGateway(three)).isFalse();
    long firstEpoch = cluster(two).path("gatewayEpoch").asLong();
    assertThat(firstEpoch).isPositive();

    one.close();
    assertThat(
            await(
                Duration.ofSeconds(20),
                () -> gatewayOf(two).equals("2") && gatewayOf(three).equals("2") && isGateway(two)))
        .isTrue();
    assertThat(isGateway(three)).isFalse();
    assertThat(cluster(two).path("gatewayEpoch").asLong()).isGreaterThan(firstEpoch);
    // The embedded listener heard node 2 become the gateway (in dynamo mode: no primary).
    assertThat(
            await(
                Duration.ofSeconds(5),
                () -> {
                  synchronized (seenByTwo) {
                    return seenByTwo.stream()
                        .anyMatch(c -> c.isGateway() && "2".equals(c.gatewayId()) && !c.isLeader());
                  }
                }))
        .isTrue();
    assertThat(metric(two, "skein_gateway_changes_total")).isGreaterThanOrEqualTo(1);

    // The lowest id takes the role back when it returns (the seed's rule, through a new epoch).
    NodeServer again = start(settings(all.get(0), all));
    assertThat(
            await(
                Duration.ofSeconds(20),
                () ->
                    gatewayOf(again).equals("1")
                        && gatewayOf(two).equals("1")
                        && gatewayOf(three).equals("1")
                        && isGateway(again)
                        && !isGateway(two)))
        .isTrue();
  }

  @Test
  void aWriteWhoseConcernCannotBeMetAnswers504OutcomeUnknownButStaysDurableLocally()
      throws Exception {
    List<Member> all = members("1", "2");
    NodeServer one = start(settings(all.get(0), all)); // node 2 never starts
    try (HttpJson h1 = http(one)) {
      HttpJson.Response majority = h1.put("/v1/collections/c/docs/x?w=majority", "{}");
      assertThat(majority.status()).isEqualTo(504);
      assertThat(majority.body()).contains("outcome_unknown");
      assertThat(h1.get("/v1/collections/c/docs/x").status()).isEqualTo(200);
      assertThat(h1.put("/v1/collections/c/docs/y?w=1", "{}").status()).isEqualTo(200);
      assertThat(h1.get("/v1/collections/c/docs/x?consistency=strong").status())
          .as("no dynamo node can promise a strong read")
          .isEqualTo(400);
    }
    JsonNode peer = peer(one, "2");
    assertThat(peer.path("state").asText()).isIn("connecting", "disconnected");
    assertThat(peer.path("lastContact").isNull()).isTrue();
  }

  @Test
  void aNodeWithTheWrongSecretIsRefusedAndNothingCrosses() throws Exception {
    List<Member> all = members("1", "2");
    NodeServer one = start(settings(all.get(0), all));
    NodeServer intruder =
        start(
            settings(all.get(1), all)
                .flag("--cluster-secret", String.valueOf("not-the-cluster-secret-at-all")));
    assertThat(
            await(
                Duration.ofSeconds(20),
                () -> {
                  try {
                    return peer(intruder, "1").path("state").asText().equals("refused")
                        && peer(one, "2").path("state").asText().equals("refused");
                  } catch (Exception e) {
                    return false;
                  }
                }))
        .isTrue();
    assertThat(peer(intruder, "1").path("lastError").asText()).contains("bad_proof");
    assertThat(peer(one, "2").path("lastError").asText()).contains("bad_proof");
    assertThat(
            metric(one, "skein_peer_handshake_refusals_total{reason=\"bad_proof\",side=\"local\"}"))
        .isGreaterThanOrEqualTo(1);
    try (HttpJson h2 = http(intruder)) {
      assertThat(h2.put("/v1/collections/c/docs/planted", "{}").status()).isEqualTo(200);
    }
    TimeUnit.MILLISECONDS.sleep(600); // three sync intervals
    assertThat(status(one, "/v1/collections/c/docs/planted")).isEqualTo(404);
  }

  @Test
  void aPeerOfAnotherClusterIsRefused() throws Exception {
    List<Member> all = members("1", "2");
    NodeServer one = start(settings(all.get(0), all));
    NodeServer other =
        start(settings(all.get(1), all).flag("--cluster-id", String.valueOf("other")));
    assertThat(
            await(
                Duration.ofSeconds(20),
                () -> {
                  try {
                    return peer(other, "1").path("lastError").asText().contains("cluster_mismatch");
                  } catch (Exception e) {
                    return false;
                  }
                }))
        .isTrue();
    assertThat(peer(one, "2").path("state").asText()).isNotEqualTo("connected");
  }

  @Test
  void aSecondLiveProcessWithTheSameNodeIdIsRefusedOnBothSides() throws Exception {
    List<Member> all = members("1", "2");
    NodeServer one = start(settings(all.get(0), all));
    NodeServer two = start(settings(all.get(1), all));
    assertThat(await(Duration.ofSeconds(20), () -> connected(two, "1"))).isTrue();
    // Another process that also calls itself node 2, on its own port.
    Member twin = new Member("2", NodeProcess.freeLoopbackPort());
    NodeServer impostor =
        start(
            settings(twin, all)
                .flag("--peers", String.valueOf("[" + all.get(0).peerJson() + "]"))
                .flag("--data-dir", String.valueOf(dir.resolve("twin"))));
    assertThat(
            await(
                Duration.ofSeconds(20),
                () -> {
                  try {
                    return peer(impostor, "1").path("lastError").asText().contains("duplicate");
                  } catch (Exception e) {
                    return false;
                  }
                }))
        .isTrue();
    assertThat(
            metric(
                one,
                "skein_peer_handshake_refusals_total{reason=\"duplicate_node_id\",side=\"local\"}"))
        .isGreaterThanOrEqualTo(1);
    assertThat(connected(two, "1")).isTrue();
  }

  @Test
  void aCorruptFrameClosesTheStreamAndIsCounted() throws Exception {
    List<Member> all = members("1", "2");
    NodeServer one = start(settings(all.get(0), all));
    CompletableFuture<String> closed = new CompletableFuture<>();
    try (HttpClient client = HttpClient.newHttpClient()) {
      WebSocket ws =
          client
              .newWebSocketBuilder()
              .buildAsync(
                  URI.create("ws://127.0.0.1:" + one.port() + "/v1/peer"),
                  new WebSocket.Listener() {
                    @Override
                    public @Nullable CompletionStage<?> onClose(
                        WebSocket w, int code, String reason) {
                      closed.complete(code + " " + reason);
                      return null;
                    }
                  })
              .get(5, TimeUnit.SECONDS);
      // A header that declares 4 bytes with a wrong checksum.
      ws.sendBinary(ByteBuffer.wrap(new byte[] {0, 0, 0, 4, 1, 2, 3, 4, 9, 9, 9, 9}), true)
          .get(5, TimeUnit.SECONDS);
      assertThat(closed.get(10, TimeUnit.SECONDS)).startsWith("1002").contains("checksum");
    }
    assertThat(metric(one, "skein_peer_frames_refused_total{reason=\"checksum\"}")).isEqualTo(1);
  }

  @Test
  void aNodeThatWasDownCatchesUpOnThousandsOfWrites() throws Exception {
    List<Member> all = members("1", "2");
    NodeServer one = start(settings(all.get(0), all));
    int writes = 3_000;
    try (HttpJson h1 = http(one)) {
      StringBuilder batch = new StringBuilder();
      for (int b = 0; b < writes / 500; b++) {
        batch.setLength(0);
        batch.append("{\"ops\":[");
        for (int i = 0; i < 500; i++) {
          int n = b * 500 + i;
          batch
              .append(i == 0 ? "" : ",")
              .append("{\"op\":\"put\",\"collection\":\"c\",\"id\":\"d")
              .append(n)
              .append("\",\"doc\":{\"n\":")
              .append(n)
              .append("}}");
        }
        batch.append("]}");
        assertThat(h1.post("/v1/batch", batch.toString()).status()).isEqualTo(200);
      }
    }
    NodeServer two = start(settings(all.get(1), all));
    assertThat(
            await(
                Duration.ofSeconds(30),
                () -> {
                  try {
                    return cluster(two).path("versionVector").path("1").asLong() == writes;
                  } catch (Exception e) {
                    return false;
                  }
                }))
        .as("node 2 holds all of node 1's entries")
        .isTrue();
    assertThat(status(two, "/v1/collections/c/docs/d0")).isEqualTo(200);
    assertThat(status(two, "/v1/collections/c/docs/d" + (writes - 1))).isEqualTo(200);
  }

  @Test
  void aNodeBehindTheRetentionHorizonCatchesUpBySnapshot() throws Exception {
    List<Member> all = members("1", "2");
    NodeServer one =
        start(settings(all.get(0), all).flag("--oplog-retention", String.valueOf(0.5)));
    try (HttpJson h1 = http(one)) {
      StringBuilder batch = new StringBuilder("{\"ops\":[");
      for (int n = 0; n < 1_000; n++) {
        batch
            .append(n == 0 ? "" : ",")
            .append("{\"op\":\"put\",\"collection\":\"c\",\"id\":\"d")
            .append(n)
            .append("\",\"doc\":{\"n\":")
            .append(n)
            .append("}}");
      }
      assertThat(h1.post("/v1/batch", batch.append("]}").toString()).status()).isEqualTo(200);
      for (int n = 0; n < 100; n++) {
        assertThat(h1.delete("/v1/collections/c/docs/d" + n).status()).isEqualTo(200);
      }
    }
    // Retention runs every second: wait until the writes above are pruned from node 1's oplog.
    assertThat(
            await(
                Duration.ofSeconds(20),
                () -> {
                  try {
                    return metric(one, "skein_storage_pruned_entries_total") >= 1_100;
                  } catch (Exception e) {
                    return false;
                  }
                }))
        .isTrue();
    NodeServer two = start(settings(all.get(1), all));
    assertThat(
            await(
                Duration.ofSeconds(30),
                () -> {
                  try {
                    return cluster(two).path("versionVector").path("1").asLong() >= 1_100;
                  } catch (Exception e) {
                    return false;
                  }
                }))
        .as("node 2 holds everything node 1 wrote, by snapshot")
        .isTrue();
    assertThat(status(two, "/v1/collections/c/docs/d999")).isEqualTo(200);
    assertThat(status(two, "/v1/collections/c/docs/d100")).isEqualTo(200);
    assertThat(status(two, "/v1/collections/c/docs/d0")).isEqualTo(404);
    try (HttpJson h2 = http(two)) {
      JsonNode page = JSON.readTree(h2.get("/v1/collections/c/docs?limit=1000").body());
      assertThat(page.path("docs").size()).isEqualTo(900);
      // The snapshot's documents reach node 2's change feed too.
      JsonNode feed = JSON.readTree(h2.get("/v1/changes?limit=10000").body());
      assertThat(feed.path("changes").size()).isGreaterThanOrEqualTo(900);
    }
    // A write after the snapshot flows incrementally.
    try (HttpJson h1 = http(one)) {
      assertThat(h1.put("/v1/collections/c/docs/after?w=all", "{}").status()).isEqualTo(200);
    }
    assertThat(status(two, "/v1/collections/c/docs/after")).isEqualTo(200);
    // Node 1's old feed tokens have expired, with a clear error.
    try (HttpJson h1 = http(one)) {
      HttpJson.Response expired = h1.get("/v1/changes?since=5");
      assertThat(expired.status()).isEqualTo(400);
      assertThat(expired.body()).contains("since_expired");
    }
  }

  /** A PKCS12 key store with a self-signed certificate for 127.0.0.1, made by the JDK's keytool. */
  private Path keystore() throws Exception {
    Path file = dir.resolve("cluster.p12");
    Process keytool =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair",
                "-keystore",
                file.toString(),
                "-storetype",
                "PKCS12",
                "-storepass",
                "test-keystore-pw",
                "-alias",
                "node",
                "-keyalg",
                "EC",
                "-dname",
                "CN=skein-test",
                "-ext",
                "SAN=ip:127.0.0.1",
                "-validity",
                "2")
            .redirectErrorStream(true)
            .start();
    String output =
        new String(
            keytool.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(keytool.waitFor()).as(output).isZero();
    return file;
  }

  @Test
  void withTlsTheApiIsHttpsAndPeersReplicateOverTls() throws Exception {
    Path keystore = keystore();
    List<Member> all = members("1", "2");
    NodeServer one =
        start(
            settings(all.get(0), all)
                .flag("--tls-keystore", String.valueOf(keystore))
                .flag("--tls-keystore-password", String.valueOf("test-keystore-pw")));
    NodeServer two =
        start(
            settings(all.get(1), all)
                .flag("--tls-keystore", String.valueOf(keystore))
                .flag("--tls-keystore-password", String.valueOf("test-keystore-pw")));
    ConfigSources tlsSettings =
        settings(all.get(0), all)
            .flag("--tls-keystore", String.valueOf(keystore))
            .flag("--tls-keystore-password", String.valueOf("test-keystore-pw"))
            .build();
    javax.net.ssl.SSLContext trust =
        java.util.Objects.requireNonNull(
                io.skein.node.config.NodeSettings.tls(
                    io.skein.node.config.NodeSettings.resolve(tlsSettings)))
            .clientContext();
    try (HttpClient client = HttpClient.newBuilder().sslContext(trust).build()) {
      java.net.http.HttpResponse<String> put =
          client.send(
              java.net.http.HttpRequest.newBuilder(
                      URI.create(
                          "https://127.0.0.1:" + one.port() + "/v1/collections/c/docs/tls?w=all"))
                  .header("Content-Type", "application/json")
                  .PUT(java.net.http.HttpRequest.BodyPublishers.ofString("{\"secure\":true}"))
                  .build(),
              java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
      java.net.http.HttpResponse<String> get =
          client.send(
              java.net.http.HttpRequest.newBuilder(
                      URI.create("https://127.0.0.1:" + two.port() + "/v1/collections/c/docs/tls"))
                  .build(),
              java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(get.statusCode()).isEqualTo(200);
      assertThat(get.body()).contains("secure");
      java.net.http.HttpResponse<String> cluster =
          client.send(
              java.net.http.HttpRequest.newBuilder(
                      URI.create("https://127.0.0.1:" + one.port() + "/v1/cluster"))
                  .build(),
              java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(cluster.body()).contains("\"state\":\"connected\"").contains("https://");
    }
    // Plain HTTP to the TLS port gets no answer.
    assertThat(status(one, "/health")).isNotEqualTo(200);
  }

  @Test
  void aWrongKeystorePasswordIsAClearSettingsError() throws Exception {
    Path keystore = keystore();
    List<Member> all = members("1", "2");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                io.skein.node.config.NodeSettings.resolve(
                    settings(all.get(0), all)
                        .flag("--tls-keystore", String.valueOf(keystore))
                        .flag("--tls-keystore-password", String.valueOf("wrong-password"))
                        .build()))
        .isInstanceOf(io.skein.node.config.SettingsException.class)
        .hasMessageContaining("--tls-keystore")
        .hasMessageContaining(keystore.toString());
  }

  private static int freeUdpPort() throws Exception {
    try (java.net.DatagramSocket socket =
        new java.net.DatagramSocket(0, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private static List<String> peerIds(NodeServer server) {
    List<String> ids = new ArrayList<>();
    try {
      for (JsonNode peer : cluster(server).path("peers")) {
        ids.add(peer.path("nodeId").asText() + "=" + peer.path("state").asText());
      }
    } catch (Exception e) {
      ids.add(e.toString());
    }
    return ids;
  }

  @Test
  void nodesFindEachOtherByBeaconExpireWhenSilentAndRememberThePeersTheyMet() throws Exception {
    int[] udp = {freeUdpPort(), freeUdpPort(), freeUdpPort(), freeUdpPort()};
    List<Member> all = members("1", "2", "3");
    List<NodeServer> nodes = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      List<String> targets = new ArrayList<>();
      for (int j = 0; j < 3; j++) {
        if (j != i) {
          targets.add("127.0.0.1:" + udp[j]);
        }
      }
      nodes.add(
          start(
              settings(all.get(i), all)
                  .flag("--peers", String.valueOf("[]"))
                  .flag("--discovery", String.valueOf(true))
                  .flag("--discovery-port", String.valueOf(udp[i]))
                  .flag("--discovery-targets", String.valueOf(String.join(",", targets)))
                  .flag("--discovery-expiry", String.valueOf(1.5))));
    }
    NodeServer one = nodes.get(0);
    NodeServer three = nodes.get(2);
    assertThat(
            await(
                Duration.ofSeconds(20),
                () ->
                    nodes.stream()
                        .allMatch(
                            n ->
                                peerIds(n).stream().filter(p -> p.endsWith("=connected")).count()
                                    == 2)))
        .as("every node discovers and connects to the two others: %s", peerIds(one))
        .isTrue();
    try (HttpJson h1 = http(one)) {
      assertThat(h1.put("/v1/collections/c/docs/found?w=all", "{}").status()).isEqualTo(200);
    }
    assertThat(status(three, "/v1/collections/c/docs/found")).isEqualTo(200);

    // A node of another cluster beacons at node 1: ignored.
    Member stranger = new Member("4", NodeProcess.freeLoopbackPort());
    start(
        settings(stranger, List.of(stranger))
            .flag("--peers", String.valueOf("[]"))
            .flag("--cluster-id", String.valueOf("elsewhere"))
            .flag("--discovery", String.valueOf(true))
            .flag("--discovery-port", String.valueOf(udp[3]))
            .flag("--discovery-targets", String.valueOf("127.0.0.1:" + udp[0])));
    assertThat(
            await(
                Duration.ofSeconds(10),
                () -> {
                  try {
                    return metric(one, "skein_discovery_beacons_total{outcome=\"foreign_cluster\"}")
                        >= 1;
                  } catch (Exception e) {
                    return false;
                  }
                }))
        .isTrue();
    assertThat(peerIds(one)).noneMatch(p -> p.startsWith("4="));

    // Node 3 goes away: after the expiry it is inactive and w=all needs only nodes 1 and 2.
    three.close();
    servers.remove(three);
    assertThat(await(Duration.ofSeconds(15), () -> peerIds(one).contains("3=inactive")))
        .as("%s", peerIds(one))
        .isTrue();
    try (HttpJson h1 = http(one)) {
      assertThat(h1.put("/v1/collections/c/docs/two-of-two?w=all", "{}").status()).isEqualTo(200);
    }
    // Node 3 comes back: its beacons reactivate it, and the streams both ways come up again.
    List<String> targets3 = List.of("127.0.0.1:" + udp[0], "127.0.0.1:" + udp[1]);
    NodeServer back =
        start(
            settings(all.get(2), all)
                .flag("--peers", String.valueOf("[]"))
                .flag("--discovery", String.valueOf(true))
                .flag("--discovery-port", String.valueOf(udp[2]))
                .flag("--discovery-targets", String.valueOf(String.join(",", targets3)))
                .flag("--discovery-expiry", String.valueOf(1.5)));
    assertThat(await(Duration.ofSeconds(20), () -> peerIds(one).contains("3=connected")))
        .as("%s", peerIds(one))
        .isTrue();
    assertThat(
            await(
                Duration.ofSeconds(20),
                () -> status(back, "/v1/collections/c/docs/two-of-two") == 200))
        .as("the returning node catches up")
        .isTrue();
    // The peers it met are on disk, for the next start.
    String known =
        java.nio.file.Files.readString(
            dir.resolve("data-1-" + all.get(0).port()).resolve("peers-1.json"));
    assertThat(known).contains("\"nodeId\":\"2\"").contains("\"nodeId\":\"3\"");
  }
}
