package io.skein.node;

import static io.skein.node.ItSupport.http;
import static org.assertj.core.api.Assertions.assertThat;

import io.skein.testkit.HttpJson;
import io.skein.testkit.NodeProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Backup and restore with real processes, in both modes (docs/operating/backup.md): a node takes
 * writes (in leader mode, a secondary of a two-member cluster); {@code datastore-node backup}
 * downloads a backup of it; more writes follow; {@code datastore-node restore} puts the backup into
 * a fresh data directory as node 3; node 3 starts on it and serves every document written before
 * the backup, none written after it, and takes writes.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class BackupIT {
  private static final String TOKEN = "an-admin-token-for-the-backup-test";
  private static final long COMMAND_WAIT_SECONDS = 60;
  private static final java.time.Duration ELECTION_WAIT = java.time.Duration.ofSeconds(20);

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path dir;

  private final List<NodeProcess> nodes = new ArrayList<>();

  @AfterEach
  void stopAll() {
    nodes.forEach(NodeProcess::close);
  }

  private NodeProcess start(int logId, int port, String... arguments) {
    NodeProcess node = ItSupport.startNode(dir, logId, port, arguments);
    nodes.add(node);
    return node;
  }

  private record Command(int status, String output) {}

  /** Runs {@code datastore-node ARGS} as a process of its own; kills it if it overruns. */
  private Command datastoreNode(String name, String... arguments)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(
        ProcessHandle.current()
            .info()
            .command()
            .orElseGet(() -> Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    command.addAll(List.of("-jar", ItSupport.nodeJar().toString()));
    command.addAll(List.of(arguments));
    Path output = dir.resolve(name + ".out");
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(output.toFile())
            .start();
    process.getOutputStream().close();
    if (!process.waitFor(COMMAND_WAIT_SECONDS, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
      throw new AssertionError(
          name + " did not end within " + COMMAND_WAIT_SECONDS + " s: " + Files.readString(output));
    }
    return new Command(process.exitValue(), Files.readString(output));
  }

  /**
   * Starts the source in {@code mode}: in leader mode a two-member cluster (leader mode needs
   * peers; alone a node keeps no leader log), backed up on its secondary; in dynamo mode one node.
   *
   * @return the node to back up, and the one that takes writes
   */
  private Source startSource(String mode) throws Exception {
    if (mode.equals("dynamo")) {
      NodeProcess node =
          start(
              1,
              port(),
              "--node-id",
              "1",
              "--mode",
              mode,
              "--data-dir",
              data(1),
              "--admin-token",
              TOKEN);
      return new Source(node, node);
    }
    int[] ports = {0, port(), port()};
    NodeProcess primary =
        start(
            1,
            ports[1],
            "--node-id",
            "1",
            "--mode",
            mode,
            "--role",
            "primary",
            "--data-dir",
            data(1),
            "--peers",
            ItSupport.peersJson(1, 2, (self, peer) -> ports[peer]));
    NodeProcess secondary =
        start(
            2,
            ports[2],
            "--node-id",
            "2",
            "--mode",
            mode,
            "--role",
            "secondary",
            "--data-dir",
            data(2),
            "--peers",
            ItSupport.peersJson(2, 2, (self, peer) -> ports[peer]),
            "--admin-token",
            TOKEN);
    return new Source(secondary, primary);
  }

  private record Source(NodeProcess backedUp, NodeProcess writable) {}

  private static int port() {
    return NodeProcess.freeLoopbackPort();
  }

  private String data(int node) {
    return dir.resolve("data" + node).toString();
  }

  /** A PUT that the node acknowledged, retried while leader mode elects its first primary. */
  private static void put(NodeProcess writable, String path, String body) throws Exception {
    try (HttpJson http = http(writable)) {
      assertThat(
              ItSupport.awaitCondition(
                  ELECTION_WAIT,
                  () -> {
                    try {
                      return http.put(path, body).status() == 200;
                    } catch (IOException | InterruptedException e) {
                      return false;
                    }
                  }))
          .as("PUT %s acknowledged", path)
          .isTrue();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"leader", "dynamo"})
  void aBackupOfARunningNodeRestoresIntoANewNodeThatServesItsDocuments(String mode)
      throws Exception {
    Source nodes = startSource(mode);
    NodeProcess source = nodes.backedUp();
    for (int i = 0; i < 50; i++) {
      put(nodes.writable(), "/v1/collections/c/docs/before" + i, "{\"n\":" + i + "}");
    }
    try (HttpJson http = http(source)) {
      // A secondary applies what the primary acknowledged a moment later, in log order.
      assertThat(
              ItSupport.awaitCondition(
                  ELECTION_WAIT,
                  () -> {
                    try {
                      return http.get("/v1/collections/c/docs/before49").status() == 200;
                    } catch (IOException | InterruptedException e) {
                      return false;
                    }
                  }))
          .isTrue();
    }
    Path backup = dir.resolve("source.skeinbak");
    Command taken =
        datastoreNode(
            "backup",
            "backup",
            "--url",
            source.baseUrl().toString(),
            "--admin-token",
            TOKEN,
            "--out",
            backup.toString());
    assertThat(taken.status()).as(taken.output()).isZero();
    assertThat(taken.output()).contains(", " + mode + " mode");
    put(nodes.writable(), "/v1/collections/c/docs/after", "{\"late\":true}");

    Command restored =
        datastoreNode(
            "restore",
            "restore",
            "--in",
            backup.toString(),
            "--data-dir",
            data(3),
            "--node-id",
            "3");
    assertThat(restored.status()).as(restored.output()).isZero();

    NodeProcess copy = start(3, port(), "--node-id", "3", "--mode", mode, "--data-dir", data(3));
    try (HttpJson http = http(copy)) {
      for (int i = 0; i < 50; i++) {
        HttpJson.Response document = http.get("/v1/collections/c/docs/before" + i);
        assertThat(document.status()).as("before%d", i).isEqualTo(200);
        assertThat(document.body()).contains("\"n\":" + i);
      }
      assertThat(http.get("/v1/collections/c/docs/after").status())
          .as("written after the backup: not in it")
          .isEqualTo(404);
      assertThat(http.put("/v1/collections/c/docs/new", "{}").status())
          .as("the restored node takes writes")
          .isEqualTo(200);
      assertThat(ItSupport.JSON.readTree(http.get("/v1/cluster").body()).path("nodeId").asText())
          .isEqualTo("3");
    }
    try (var files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .as("no partial download")
          .noneMatch(name -> name.endsWith(".part"));
    }
  }
}
