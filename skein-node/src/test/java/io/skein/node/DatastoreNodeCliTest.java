package io.skein.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad flags and config files exit with status 2 and a message naming the problem. */
class DatastoreNodeCliTest {
  @TempDir Path dir;

  private record Result(int status, String err) {}

  private static Result run(String... args) {
    StringWriter err = new StringWriter();
    int status = DatastoreNode.run(new PrintWriter(new StringWriter()), new PrintWriter(err), args);
    return new Result(status, err.toString());
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
    };
    for (String[] args : cases) {
      Result result = run(args);
      assertThat(result.status()).as(String.join(" ", args)).isEqualTo(2);
      assertThat(result.err()).as(String.join(" ", args)).isNotBlank();
    }
    assertThat(run("--port", "70000").err()).contains("--port").contains("0-65535");
    assertThat(run("--mode", "raft").err()).contains("leader, dynamo");
    assertThat(run("--peers", "[{\"node_id\":1,\"host\":\"h\",\"port\":9}]").err())
        .contains("own id");
  }

  @Test
  void seedPeersJsonIsAcceptedVerbatim() {
    var peers =
        PeerAddress.parseList(
            "[{\"node_id\":2,\"host\":\"127.0.0.1\",\"port\":9001},"
                + "{\"node_id\":3,\"host\":\"127.0.0.1\",\"port\":9002}]",
            io.skein.core.model.NodeId.of("1"));
    assertThat(peers)
        .extracting(PeerAddress::url)
        .containsExactly("http://127.0.0.1:9001", "http://127.0.0.1:9002");
  }

  @Test
  void configFileIsReadAndFlagsOverrideIt() throws Exception {
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
    DatastoreNode command = new DatastoreNode();
    new picocli.CommandLine(command).parseArgs("--config", file.toString(), "--port", "9200");
    NodeSettings settings = command.settings();
    assertThat(settings.port()).isEqualTo(9200);
    assertThat(settings.nodeId().value()).isEqualTo("7");
    assertThat(settings.mode()).isEqualTo(NodeSettings.Mode.DYNAMO);
    assertThat(settings.electionIntervalMs()).isEqualTo(250);
    assertThat(settings.peers()).singleElement().extracting(p -> p.nodeId().value()).isEqualTo("8");
  }

  @Test
  void configFileErrorsNameTheKey() throws Exception {
    Path file = dir.resolve("node.yaml");
    Files.writeString(file, "prot: 9000\n");
    assertThat(run("--config", file.toString()).err()).contains("unknown key 'prot'");
    Files.writeString(file, "port: nine\n");
    assertThat(run("--config", file.toString()).err()).contains("'port' must be an integer");
    assertThat(run("--config", dir.resolve("missing.yaml").toString()).status()).isEqualTo(2);
  }

  @Test
  void secretsAreRedactedAndValidated() {
    NodeSettings.Secret secret = new NodeSettings.Secret("correct horse battery");
    assertThat(secret.toString()).isEqualTo("[redacted]");
    assertThatThrownBy(() -> NodeSettings.resolveSecret("short"))
        .hasMessageContaining("at least 16");
    assertThatThrownBy(() -> NodeSettings.resolveSecret("${SKEIN_TEST_SURELY_UNSET_VAR}"))
        .hasMessageContaining("not set");
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
