package io.skein.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.skein.core.config.Config;
import io.skein.node.config.ConfigSources;
import io.skein.node.config.NodeSettings;
import io.skein.node.config.PeerAddress;
import io.skein.node.config.Settings;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line: flags generated from the catalog, the config file (sectioned, dotted or flat
 * keys), the env file and the environment, in D6's order; bad input exits with status 2 and a
 * message naming the problem.
 */
class DatastoreNodeCliTest {
  @TempDir Path dir;

  private record Result(int status, String err) {}

  private static Result run(String... args) {
    return run(Map.of(), args);
  }

  private static Result run(Map<String, String> env, String... args) {
    StringWriter err = new StringWriter();
    int status =
        DatastoreNode.run(new PrintWriter(new StringWriter()), new PrintWriter(err), env, args);
    return new Result(status, err.toString());
  }

  private static Config resolve(Map<String, String> env, String... args) {
    picocli.CommandLine commandLine = DatastoreNode.commandLine(env);
    commandLine.parseArgs(args);
    DatastoreNode command = commandLine.getCommand();
    return NodeSettings.resolve(command.sources());
  }

  @Test
  void badFlagValuesExitWithStatus2AndNameTheFlag() {
    String[][] cases = {
      {"--port", "70000"},
      {"--port", "abc"},
      {"--mode", "raft"},
      {"--role", "king"},
      {"--node-id", "bad id"},
      {"--election-interval", "0"},
      {"--replication-timeout", "-1"},
      {"--durability", "sometimes"},
      {"--no-such-flag"},
      {"--peers", "not json"},
      {"--peers", "{\"node_id\":2}"},
      {"--peers", "[{\"node_id\":2,\"host\":\"127.0.0.1\"}]"},
      {"--peers", "[{\"node_id\":1,\"host\":\"127.0.0.1\",\"port\":9001}]"},
      {"--peers", "[{\"node_id\":2,\"host\":\"h\",\"port\":9001,\"extra\":1}]"},
      {"--log-format", "xml"},
      {"--rate-limit", "-3"},
      {"--heartbeat", "1", "--election-interval", "0.5"},
    };
    for (String[] args : cases) {
      Result result = run(args);
      assertThat(result.status()).as(String.join(" ", args)).isEqualTo(2);
      assertThat(result.err()).as(String.join(" ", args)).isNotBlank();
    }
    assertThat(run("--port", "70000").err()).contains("--port").contains("0 to 65535");
    assertThat(run("--mode", "raft").err()).contains("leader, dynamo");
    assertThat(run("--peers", "[{\"node_id\":1,\"host\":\"h\",\"port\":9}]").err())
        .contains("own id");
  }

  @Test
  void everyProblemIsReportedNotJustTheFirst() {
    Result result = run("--port", "70000", "--mode", "raft", "--sync-interval", "soon");
    assertThat(result.status()).isEqualTo(2);
    assertThat(result.err()).contains("--port").contains("--mode").contains("--sync-interval");
  }

  @Test
  void seedPeersJsonIsAcceptedVerbatim() {
    var peers =
        PeerAddress.parseList(
            io.skein.internal.json.Json.parse(
                "[{\"node_id\":2,\"host\":\"127.0.0.1\",\"port\":9001},"
                    + "{\"node_id\":3,\"host\":\"127.0.0.1\",\"port\":9002}]"));
    assertThat(peers)
        .extracting(PeerAddress::url)
        .containsExactly("http://127.0.0.1:9001", "http://127.0.0.1:9002");
  }

  @Test
  void flatKeysOfEarlierVersionsStillWorkAndFlagsOverrideThem() throws Exception {
    Path file = dir.resolve("node.yaml");
    Files.writeString(
        file,
        """
        port: 9123
        node-id: 7
        mode: dynamo
        election-interval: 0.25
        peers:
          - {node_id: 8, host: 127.0.0.1, port: 9124}
        """);
    Config config = resolve(Map.of(), "--config", file.toString(), "--port", "9200");
    assertThat(config.get(Settings.NODE_PORT)).isEqualTo(9200);
    assertThat(config.entry("node.port").source()).isEqualTo("flags");
    assertThat(config.get(Settings.NODE_ID)).isEqualTo("7");
    assertThat(config.entry("node.id").source()).isEqualTo("file");
    assertThat(config.get(Settings.CLUSTER_MODE)).isEqualTo("dynamo");
    assertThat(config.get(Settings.ELECTION_INTERVAL)).isEqualTo(Duration.ofMillis(250));
    assertThat(config.get(Settings.CLUSTER_PEERS))
        .singleElement()
        .extracting(p -> p.nodeId().value())
        .isEqualTo("8");
  }

  @Test
  void sectionedAndDottedKeysAndUnitsAreAccepted() throws Exception {
    Path file = dir.resolve("node.yaml");
    Files.writeString(
        file,
        """
        node:
          port: 9300
        replication:
          sync-interval: 750ms
          oplog-retention: 2d
        limits.max-request-bytes: 2MiB
        discovery:
          enabled: false
        """);
    Config config = resolve(Map.of(), "--config", file.toString());
    assertThat(config.get(Settings.NODE_PORT)).isEqualTo(9300);
    assertThat(config.get(Settings.SYNC_INTERVAL)).isEqualTo(Duration.ofMillis(750));
    assertThat(config.get(Settings.OPLOG_RETENTION)).isEqualTo(Duration.ofDays(2));
    assertThat(config.get(Settings.MAX_REQUEST_BYTES)).isEqualTo(2L << 20);
  }

  @Test
  void sourcesLayerInD6Order() throws Exception {
    Path file = dir.resolve("node.json");
    Files.writeString(file, "{\"replication\":{\"sync-interval\":1,\"replication-timeout\":1}}");
    Path envFile = dir.resolve("node.env");
    Files.writeString(
        envFile,
        """
        # comments and blank lines are fine

        SKEIN_REPLICATION_SYNC_INTERVAL=2
        export SKEIN_REPLICATION_REPLICATION_TIMEOUT="3"
        SKEIN_LIMITS_RATE_LIMIT=4
        """);
    Map<String, String> env =
        Map.of("SKEIN_REPLICATION_REPLICATION_TIMEOUT", "5", "SKEIN_LOG_LEVEL", "warn");
    Config config =
        resolve(
            env,
            "--config",
            file.toString(),
            "--env-file",
            envFile.toString(),
            "--rate-limit",
            "6");
    assertThat(config.get(Settings.SYNC_INTERVAL)).isEqualTo(Duration.ofSeconds(2));
    assertThat(config.entry("replication.sync-interval").source()).isEqualTo("env-file");
    assertThat(config.get(Settings.REPLICATION_TIMEOUT)).isEqualTo(Duration.ofSeconds(5));
    assertThat(config.entry("replication.replication-timeout").source()).isEqualTo("environment");
    assertThat(config.get(Settings.RATE_LIMIT)).isEqualTo(6.0);
    assertThat(config.entry("limits.rate-limit").source()).isEqualTo("flags");
    assertThat(config.get(Settings.LOG_LEVEL)).isEqualTo("warn");
    assertThat(config.entry("node.port").source()).isEqualTo("default");
  }

  @Test
  void configFileErrorsNameTheKeyAndTheFile() throws Exception {
    Path file = dir.resolve("node.yaml");
    Files.writeString(file, "prot: 9000\n");
    assertThat(run("--config", file.toString()).err())
        .contains("unknown key 'prot'")
        .contains("node.port");
    Files.writeString(file, "port: nine\n");
    assertThat(run("--config", file.toString()).err())
        .contains(file + ": node.port")
        .contains("integer");
    Files.writeString(file, "node: {port: [1, 2\n");
    assertThat(run("--config", file.toString()).err()).contains("does not parse");
    assertThat(run("--config", dir.resolve("missing.yaml").toString()).status()).isEqualTo(2);
  }

  @Test
  void onlyRegularFilesAreReadAndParseErrorsNeverQuoteTheFile() throws Exception {
    assertThat(run("--config", "/dev/zero").err()).contains("not a regular file");
    assertThat(run("--config", dir.toString()).err()).contains("not a regular file");
    Path json = dir.resolve("node.json");
    Files.writeString(json, "{\"cluster.secret\": TopSecretClusterKey123}");
    Result leak = run("--config", json.toString());
    assertThat(leak.status()).isEqualTo(2);
    assertThat(leak.err()).contains("syntax error at line 1").doesNotContain("TopSecret");
    Path yaml = dir.resolve("node.yaml");
    Files.writeString(yaml, "cluster:\n  secret: \"Unclosed-secret-value-123\n");
    assertThat(run("--config", yaml.toString()).err()).doesNotContain("Unclosed-secret");
    Files.writeString(yaml, "");
    assertThat(run("--config", yaml.toString()).err()).contains("is empty");
    Files.writeString(yaml, "log:\n  level: info\nlog:\n  level: warn\n");
    assertThat(run("--config", yaml.toString()).status()).isEqualTo(2);
  }

  @Test
  void theEnvFileDefinesVariablesForReferences() throws Exception {
    Path envFile = dir.resolve("node.env");
    Files.writeString(envFile, "MY_ADMIN_TOKEN=an-admin-token-from-the-env-file\n");
    Path file = dir.resolve("node.yaml");
    Files.writeString(file, "admin:\n  token: ${MY_ADMIN_TOKEN}\n");
    Config config =
        resolve(Map.of(), "--config", file.toString(), "--env-file", envFile.toString());
    assertThat(config.get(Settings.ADMIN_TOKEN).value())
        .isEqualTo("an-admin-token-from-the-env-file");
    Files.writeString(envFile, "SKEIN_NO_SUCH_SETTING=1\n");
    assertThat(run("--env-file", envFile.toString()).err()).contains("SKEIN_NO_SUCH_SETTING");
  }

  @Test
  void secretsAreRedactedAndValidated() {
    assertThat(new io.skein.core.config.Secret("correct horse battery").toString())
        .isEqualTo("[REDACTED]");
    assertThat(run("--cluster-secret", "short").err()).contains("at least 16");
    assertThat(run("--cluster-secret", "${SKEIN_TEST_SURELY_UNSET_VAR}").err()).contains("not set");
    Config config =
        resolve(
            Map.of("MY_SECRET", "a-secret-of-twenty-chars"), "--cluster-secret", "${MY_SECRET}");
    assertThat(config.get(Settings.CLUSTER_SECRET).value()).isEqualTo("a-secret-of-twenty-chars");
    assertThat(config.toString()).doesNotContain("a-secret-of-twenty-chars");
  }

  @Test
  void helpListsEveryFlagOfTheCatalog() {
    StringWriter out = new StringWriter();
    DatastoreNode.run(
        new PrintWriter(out), new PrintWriter(new StringWriter()), Map.of(), "--help");
    for (io.skein.core.config.Setting<?> setting : Settings.CATALOG.settings()) {
      if (setting.flag() != null) {
        assertThat(out.toString()).contains(setting.flag());
      }
    }
    // picocli interpolates ${...}: the help must show the reference syntax, not "null".
    assertThat(out.toString()).contains("${ENV_NAME}").doesNotContain("or null");
  }

  @Test
  @org.junit.jupiter.api.Timeout(60)
  void aTakenPortStopsTheNodeBeforeItCreatesItsDataFile() throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0)) {
      Path data = dir.resolve("fresh");
      Result result =
          run("--port", Integer.toString(taken.getLocalPort()), "--data-dir", data.toString());
      assertThat(result.status()).isEqualTo(1);
      assertThat(result.err()).contains("cannot listen on");
      assertThat(data.resolve("node-1.db")).doesNotExist();
    }
  }

  @Test
  @org.junit.jupiter.api.Timeout(60)
  void theDataDirectoryAndFileAreReadableByTheirOwnerOnly() throws Exception {
    Path data = dir.resolve("private");
    try (NodeServer server =
        NodeServer.start(
            ConfigSources.builder()
                .flag("--port", "0")
                .flag("--data-dir", data.toString())
                .build())) {
      assertThat(server.port()).isPositive();
    }
    if (data.getFileSystem().supportedFileAttributeViews().contains("posix")) {
      assertThat(
              java.nio.file.attribute.PosixFilePermissions.toString(
                  Files.getPosixFilePermissions(data)))
          .isEqualTo("rwx------");
      assertThat(
              java.nio.file.attribute.PosixFilePermissions.toString(
                  Files.getPosixFilePermissions(data.resolve("node-1.db"))))
          .isEqualTo("rw-------");
    }
  }

  @Test
  @org.junit.jupiter.api.Timeout(60)
  void aCorruptDataFileStopsTheNodeWithStatus1() throws Exception {
    Files.writeString(dir.resolve("node-1.db"), "garbage that is not sqlite");
    Result result = run("--port", "0", "--data-dir", dir.toString());
    assertThat(result.status()).isEqualTo(1);
    assertThat(Files.readString(dir.resolve("node-1.db"))).isEqualTo("garbage that is not sqlite");
  }
}
