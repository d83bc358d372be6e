package io.skein.node;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cloudevents.CloudEvent;
import io.skein.internal.runtime.ReloadOrchestrator;
import io.skein.node.config.ConfigSources;
import io.skein.node.config.Settings;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Dynamic settings of one node change its behaviour without a restart: log level, request and
 * document limits, the rate limit, oplog retention, the admin token. The config file is watched
 * (edits, a Kubernetes-style symlink swap, a broken file), and the admin API drives reloads.
 */
@Timeout(120)
class LiveReloadTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TOKEN = "an-admin-token-for-tests";

  @TempDir Path dir;
  private final List<NodeServer> servers = new ArrayList<>();
  private final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @AfterEach
  void stop() {
    servers.forEach(NodeServer::close);
    setRootLevel(Level.INFO);
  }

  private Path config(String yaml) throws Exception {
    Path file = dir.resolve("node.yaml");
    write(file, yaml);
    return file;
  }

  /** Writes a file the way editors do: a temporary file renamed over the old one. */
  private static void write(Path file, String content) throws Exception {
    Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(temporary, content);
    Files.move(
        temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private NodeServer start(Path file, String... flags) {
    ConfigSources.Builder sources =
        ConfigSources.builder()
            .configFile(file)
            .flag("--port", "0")
            .flag("--data-dir", dir.resolve("data").toString())
            .flag("--durability", "buffered");
    for (int i = 0; i < flags.length; i += 2) {
      sources.flag(flags[i], flags[i + 1]);
    }
    NodeServer server = NodeServer.start(sources.build());
    servers.add(server);
    return server;
  }

  private HttpResponse<String> send(
      NodeServer server, String method, String path, String body, @Nullable String token)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json")
            // A large body waits for the server's go-ahead, as careful clients send one: a 413
            // then comes before the body, not while the client still writes it (the server
            // answers an oversized request from its Content-Length and closes the connection, and
            // a client still writing could lose the answer to a reset).
            .expectContinue(body.length() > 64 * 1024)
            .method(method, HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static void await(String what, Duration timeout, BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(20);
    }
  }

  private static Level rootLevel() {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    return context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).getLevel();
  }

  private static void setRootLevel(Level level) {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).setLevel(level);
  }

  private static String doc(int bytes) {
    return "{\"pad\":\"" + "x".repeat(bytes) + "\"}";
  }

  @Test
  void logLevelChangesLive() throws Exception {
    Path file = config("log:\n  level: info\n");
    NodeServer server = start(file);
    assertThat(rootLevel()).isEqualTo(Level.INFO);
    write(file, "log:\n  level: debug\n");
    assertThat(server.reload().outcome()).isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    assertThat(rootLevel()).isEqualTo(Level.DEBUG);
    assertThat(server.config().get(Settings.LOG_LEVEL)).isEqualTo("debug");
  }

  @Test
  void requestAndDocumentLimitsChangeLive() throws Exception {
    Path file = config("limits: {}\n");
    NodeServer server = start(file);
    assertThat(send(server, "PUT", "/v1/collections/c/docs/a", doc(100_000), null).statusCode())
        .isEqualTo(200);
    write(file, "limits:\n  max-document-bytes: 64KiB\n  max-request-bytes: 256KiB\n");
    assertThat(server.reload().outcome()).isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    HttpResponse<String> tooBig =
        send(server, "PUT", "/v1/collections/c/docs/b", doc(100_000), null);
    assertThat(tooBig.statusCode()).isEqualTo(413);
    assertThat(tooBig.body()).contains("document_too_large");
    HttpResponse<String> bodyTooBig =
        send(server, "PUT", "/v1/collections/c/docs/b", doc(300_000), null);
    assertThat(bodyTooBig.statusCode()).isEqualTo(413);
    assertThat(bodyTooBig.body()).contains("body_too_large");
    assertThat(send(server, "PUT", "/v1/collections/c/docs/b", doc(10_000), null).statusCode())
        .isEqualTo(200);
  }

  @Test
  void aChunkedBodyIsCutAtTheLiveLimitNotReadWhole() throws Exception {
    Path file = config("limits:\n  max-request-bytes: 64KiB\n  max-document-bytes: 64KiB\n");
    NodeServer server = start(file);
    byte[] chunk = new byte[64 * 1024];
    java.util.Arrays.fill(chunk, (byte) 'x');
    java.util.concurrent.atomic.AtomicInteger sent =
        new java.util.concurrent.atomic.AtomicInteger();
    // 64 MiB in a stream with no Content-Length: the node must answer after about 64 KiB.
    HttpRequest request =
        HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + server.port() + "/v1/collections/c/docs/big"))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json")
            .PUT(
                HttpRequest.BodyPublishers.ofInputStream(
                    () ->
                        new java.io.InputStream() {
                          private int left = 64 * 1024 * 1024;

                          @Override
                          public int read() {
                            if (left == 0) {
                              return -1;
                            }
                            left--;
                            sent.incrementAndGet();
                            return 'x';
                          }
                        }))
            .build();
    HttpResponse<String> response;
    try {
      response = client.send(request, HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(413);
      assertThat(response.body()).contains("body_too_large");
    } catch (java.io.IOException e) {
      // The node may close the connection once it has answered: also a refusal.
    }
    // Socket buffers let some more through, but nowhere near the 64 MiB a whole read would take.
    assertThat(sent.get()).isLessThan(32 * 1024 * 1024);
    assertThat(send(server, "GET", "/health", "", null).statusCode()).isEqualTo(200);
  }

  @Test
  void aRateLimitPerClientTurnsOnAndOffLive() throws Exception {
    Path file = config("limits: {}\n");
    NodeServer server = start(file);
    for (int i = 0; i < 20; i++) {
      assertThat(send(server, "GET", "/v1/collections/c/docs/x", "", null).statusCode())
          .isEqualTo(404);
    }
    write(file, "limits:\n  rate-limit: 0.5\n  rate-limit-burst: 3\n");
    assertThat(server.reload().outcome()).isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    List<Integer> statuses = new ArrayList<>();
    HttpResponse<String> limited = null;
    for (int i = 0; i < 6; i++) {
      HttpResponse<String> response = send(server, "GET", "/v1/collections/c/docs/x", "", null);
      statuses.add(response.statusCode());
      if (response.statusCode() == 429) {
        limited = response;
      }
    }
    assertThat(statuses.subList(0, 3)).containsOnly(404);
    assertThat(statuses).contains(429);
    HttpResponse<String> refused = java.util.Objects.requireNonNull(limited);
    assertThat(refused.body()).contains("rate_limited");
    assertThat(Integer.parseInt(refused.headers().firstValue("Retry-After").orElseThrow()))
        .isGreaterThanOrEqualTo(1);
    assertThat(send(server, "GET", "/health", "", null).statusCode()).isEqualTo(200);
    write(file, "limits:\n  rate-limit: 0\n");
    assertThat(server.reload().outcome()).isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    assertThat(send(server, "GET", "/v1/collections/c/docs/x", "", null).statusCode())
        .isEqualTo(404);
  }

  @Test
  void oplogRetentionChangesLive() throws Exception {
    Path file = config("cluster:\n  mode: dynamo\n");
    NodeServer server = start(file);
    for (int i = 0; i < 20; i++) {
      send(server, "PUT", "/v1/collections/c/docs/d" + i, "{\"i\":" + i + "}", null);
    }
    Thread.sleep(1_500);
    assertThat(pruned(server)).isZero();
    write(file, "cluster:\n  mode: dynamo\nreplication:\n  oplog-retention: 1s\n");
    assertThat(server.reload().outcome()).isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    await("the oplog to be pruned", Duration.ofSeconds(30), () -> pruned(server) > 0);
  }

  private static double pruned(NodeServer server) {
    var counter = server.meters().find("skein.storage.pruned.entries").counter();
    return counter == null ? 0 : counter.count();
  }

  @Test
  void theAdminApiIsOffWithoutATokenAndChecksIt() throws Exception {
    Path file = config("log:\n  level: info\n");
    NodeServer server = start(file);
    HttpResponse<String> off = send(server, "POST", "/admin/reload", "", null);
    assertThat(off.statusCode()).isEqualTo(403);
    assertThat(off.body()).contains("admin_disabled").contains("admin.token");
    write(file, "admin:\n  token: " + TOKEN + "\n");
    assertThat(server.reload().outcome()).isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    assertThat(send(server, "POST", "/admin/reload", "", null).statusCode()).isEqualTo(401);
    assertThat(send(server, "POST", "/admin/reload", "", "wrong-token-xxxxxxxx").statusCode())
        .isEqualTo(401);
    HttpResponse<String> noChange = send(server, "POST", "/admin/reload", "", TOKEN);
    assertThat(noChange.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(noChange.body()).get("outcome").asText()).isEqualTo("no_change");
  }

  @Test
  void adminReloadReportsChangesRefusesStaticOnesAndRedactsSecrets() throws Exception {
    Path file =
        config("admin:\n  token: " + TOKEN + "\ncluster:\n  secret: a-cluster-secret-of-length\n");
    NodeServer server = start(file);
    write(
        file,
        "admin:\n  token: "
            + TOKEN
            + "\ncluster:\n  secret: another-cluster-secret-value\nlog:\n  level: warn\n");
    HttpResponse<String> refused = send(server, "POST", "/admin/reload", "", TOKEN);
    assertThat(refused.statusCode()).isEqualTo(422);
    JsonNode body = JSON.readTree(refused.body());
    assertThat(body.at("/error/code").asText()).isEqualTo("reload_failed");
    assertThat(body.at("/error/message").asText()).contains("cluster.secret").contains("static");
    assertThat(refused.body())
        .doesNotContain("another-cluster-secret")
        .doesNotContain("a-cluster-secret-of");
    assertThat(rootLevel()).isEqualTo(Level.INFO); // nothing was applied
    HttpResponse<String> logOnly =
        send(server, "POST", "/admin/reload", "{\"sections\":[\"log\"]}", TOKEN);
    assertThat(logOnly.statusCode()).isEqualTo(200);
    JsonNode applied = JSON.readTree(logOnly.body());
    assertThat(applied.get("outcome").asText()).isEqualTo("completed");
    assertThat(applied.at("/changes/0/fieldPath").asText()).isEqualTo("log.level");
    assertThat(applied.at("/changes/0/newValue").asText()).isEqualTo("warn");
    assertThat(rootLevel()).isEqualTo(Level.WARN);
    HttpResponse<String> config = send(server, "GET", "/admin/config", "", TOKEN);
    assertThat(config.statusCode()).isEqualTo(200);
    assertThat(config.body()).doesNotContain(TOKEN).doesNotContain("a-cluster-secret-of-length");
    JsonNode settings = JSON.readTree(config.body()).get("settings");
    assertThat(settings).hasSize(Settings.CATALOG.settings().size());
    for (JsonNode setting : settings) {
      if (setting.get("path").asText().equals("cluster.secret")) {
        assertThat(setting.get("value").asText()).isEqualTo("[REDACTED]");
        assertThat(setting.get("source").asText()).isEqualTo("file");
        assertThat(setting.get("reloadClass").asText()).isEqualTo("static");
      }
      if (setting.get("path").asText().equals("log.level")) {
        assertThat(setting.get("reloadClass").asText()).isEqualTo("dynamic");
      }
    }
    assertThat(
            send(server, "POST", "/admin/reload", "{\"sections\":[\"nope\"]}", TOKEN).statusCode())
        .isEqualTo(400);
  }

  @Test
  void theAdminEventStreamCarriesTheReloadCloudEvents() throws Exception {
    Path file = config("admin:\n  token: " + TOKEN + "\n");
    NodeServer server = start(file);
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/admin/events"))
            .header("Authorization", "Bearer " + TOKEN)
            .build();
    HttpResponse<java.util.stream.Stream<String>> stream =
        client.send(request, HttpResponse.BodyHandlers.ofLines());
    assertThat(stream.statusCode()).isEqualTo(200);
    assertThat(stream.headers().firstValue("Content-Type").orElse(""))
        .contains("text/event-stream");
    java.util.Iterator<String> lines = stream.body().iterator();
    assertThat(lines.next()).startsWith(": skein node events");
    write(file, "admin:\n  token: " + TOKEN + "\nlog:\n  level: warn\n");
    java.util.concurrent.CompletableFuture<ReloadOrchestrator.Result> reload =
        java.util.concurrent.CompletableFuture.supplyAsync(server::reload);
    List<String> types = new ArrayList<>();
    String completedData = null;
    while (completedData == null) {
      String line = lines.next();
      if (line.startsWith("event: ")) {
        types.add(line.substring("event: ".length()));
      } else if (line.startsWith("data: ") && types.contains("reload.completed")) {
        completedData = line.substring("data: ".length());
      }
    }
    assertThat(reload.get().outcome()).isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    assertThat(types).containsSubsequence("reload.started", "reload.validated", "reload.completed");
    JsonNode event = JSON.readTree(completedData);
    assertThat(event.get("specversion").asText()).isEqualTo("1.0");
    assertThat(event.get("type").asText()).isEqualTo("reload.completed");
    assertThat(event.get("source").asText()).isEqualTo("/skein/nodes/1");
    assertThat(event.at("/data/changeCount").asInt()).isEqualTo(1);
    assertThat(event.at("/data/reloadID").asText()).isNotBlank();
    // Rotating the token ends the stream opened with the old one.
    write(file, "admin:\n  token: another-admin-token-for-tests\nlog:\n  level: warn\n");
    assertThat(server.reload().outcome()).isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    java.util.concurrent.CompletableFuture<Void> drained =
        java.util.concurrent.CompletableFuture.runAsync(
            () -> {
              while (lines.hasNext()) {
                lines.next();
              }
            });
    drained.get(20, java.util.concurrent.TimeUnit.SECONDS); // the stream ends, or this times out
  }

  @Test
  void theBreakerBacksOffAndTheAdminApiResetsIt() throws Exception {
    Path file =
        config(
            "admin:\n  token: "
                + TOKEN
                + "\nreload:\n  failure-threshold: 2\n  backoff-base: 30s\n  backoff-cap: 60s\n");
    NodeServer server = start(file);
    write(file, "admin:\n  token: " + TOKEN + "\nnode:\n  port: [not a port\n");
    assertThat(send(server, "POST", "/admin/reload", "", TOKEN).statusCode()).isEqualTo(422);
    assertThat(send(server, "POST", "/admin/reload", "", TOKEN).statusCode()).isEqualTo(422);
    HttpResponse<String> backingOff = send(server, "POST", "/admin/reload", "", TOKEN);
    assertThat(backingOff.statusCode()).isEqualTo(503);
    assertThat(backingOff.body()).contains("backing_off");
    assertThat(Long.parseLong(backingOff.headers().firstValue("Retry-After").orElseThrow()))
        .isBetween(1L, 60L);
    assertThat(scrape(server)).contains("skein_reload_failures_total 2.0");
    HttpResponse<String> reset = send(server, "POST", "/admin/reload/reset", "", TOKEN);
    assertThat(reset.statusCode()).isEqualTo(200);
    assertThat(reset.body()).contains("closed");
    assertThat(send(server, "POST", "/admin/reload", "", TOKEN).statusCode()).isEqualTo(422);
  }

  private String scrape(NodeServer server) throws Exception {
    return send(server, "GET", "/metrics", "", null).body();
  }

  @Test
  void reloadMetricsHaveTheSeedsNames() throws Exception {
    Path file = config("log:\n  level: info\n");
    NodeServer server = start(file);
    write(file, "log:\n  level: warn\n");
    server.reload();
    String metrics = scrape(server);
    assertThat(metrics)
        .contains("skein_reload_attempts_total 1.0")
        .contains("skein_reload_failures_total 0.0")
        .contains("skein_reload_backoff_seconds 0.0")
        .contains("skein_reload_duration_seconds_count{module=\"log\"} 1")
        .contains("skein_config_last_reload_successful 1.0")
        .contains("skein_config_last_reload_success_timestamp_seconds");
  }

  @Test
  void theWatcherAppliesEditsAndSymlinkSwapsAndKeepsTheConfigOnABrokenFile() throws Exception {
    // Kubernetes mounts a ConfigMap as dir/config.yaml -> ..data/config.yaml, ..data -> ..v1,
    // and updates it by pointing ..data at a new directory in one rename.
    Path mount = Files.createDirectories(dir.resolve("mount"));
    Files.createDirectories(mount.resolve("..v1"));
    Files.writeString(mount.resolve("..v1/config.yaml"), "log:\n  level: info\n");
    Files.createSymbolicLink(mount.resolve("..data"), Path.of("..v1"));
    Files.createSymbolicLink(mount.resolve("config.yaml"), Path.of("..data/config.yaml"));
    NodeServer server = start(mount.resolve("config.yaml"), "--reload-check-interval", "60");
    List<CloudEvent> events = new CopyOnWriteArrayList<>();
    server.onEvent(events::add);

    Files.createDirectories(mount.resolve("..v2"));
    Files.writeString(mount.resolve("..v2/config.yaml"), "log:\n  level: warn\n");
    Path next = mount.resolve("..data_tmp");
    Files.createSymbolicLink(next, Path.of("..v2"));
    Files.move(next, mount.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
    await("the symlink swap to apply", Duration.ofSeconds(20), () -> rootLevel() == Level.WARN);

    Files.createDirectories(mount.resolve("..v3"));
    Files.writeString(mount.resolve("..v3/config.yaml"), "log:\n  level: [oops\n");
    next = mount.resolve("..data_tmp");
    Files.createSymbolicLink(next, Path.of("..v3"));
    Files.move(next, mount.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
    await(
        "the broken file to be reported",
        Duration.ofSeconds(20),
        () -> events.stream().anyMatch(e -> e.getType().equals("reload.failed")));
    assertThat(rootLevel()).isEqualTo(Level.WARN);
    assertThat(server.config().get(Settings.LOG_LEVEL)).isEqualTo("warn");

    // A file changed in place behind the symlink is not an event in the watched directory (the
    // poll finds it); Kubernetes always swaps, so swap again.
    Files.createDirectories(mount.resolve("..v4"));
    Files.writeString(mount.resolve("..v4/config.yaml"), "log:\n  level: error\n");
    next = mount.resolve("..data_tmp");
    Files.createSymbolicLink(next, Path.of("..v4"));
    Files.move(next, mount.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
    await("the fixed file to apply", Duration.ofSeconds(20), () -> rootLevel() == Level.ERROR);
    assertThat(events.stream().map(CloudEvent::getType))
        .contains(
            "reload.started",
            "reload.validated",
            "reload.module.started",
            "reload.module.completed",
            "reload.completed",
            "reload.failed");
  }

  @Test
  void pollingFindsChangesWhenEventsAreMissedAndSurvivesItsOwnReload() throws Exception {
    Path file = config("reload:\n  watch: true\n  check-interval: 200ms\n");
    NodeServer server = start(file);
    long before = server.configWatch().checks();
    await("the poll to run", Duration.ofSeconds(10), () -> server.configWatch().checks() > before);
    write(file, "reload:\n  watch: true\n  check-interval: 300ms\nlog:\n  level: warn\n");
    await("the change to apply", Duration.ofSeconds(20), () -> rootLevel() == Level.WARN);
    long after = server.configWatch().checks();
    await(
        "the rebuilt poll to keep running",
        Duration.ofSeconds(10),
        () -> server.configWatch().checks() > after + 2);
  }

  @Test
  void anOverrideThatDoesNotApplyDoesNotLinger() throws Exception {
    Path file = config("log:\n  level: info\n");
    NodeServer server = start(file);
    ReloadOrchestrator.Result refused = server.override(Map.of("node.data-dir", "/elsewhere"));
    assertThat(refused.outcome()).isEqualTo(ReloadOrchestrator.Outcome.FAILED);
    assertThat(refused.error()).contains("node.data-dir").contains("static");
    write(file, "log:\n  level: warn\n");
    assertThat(server.reload().outcome()).isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    assertThat(rootLevel()).isEqualTo(Level.WARN);
  }

  @Test
  void runtimeOverridesAreTheHighestSource() throws Exception {
    Path file = config("log:\n  level: info\n");
    NodeServer server = start(file, "--log-level", "info");
    ReloadOrchestrator.Result result = server.override(Map.of("log.level", "error"));
    assertThat(result.outcome()).isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    assertThat(server.config().entry("log.level").source()).isEqualTo("override");
    assertThat(rootLevel()).isEqualTo(Level.ERROR);
  }
}
