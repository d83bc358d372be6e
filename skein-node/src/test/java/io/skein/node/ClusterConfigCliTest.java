package io.skein.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.skein.node.config.ConfigSources;
import io.skein.node.config.Settings;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code datastore-node cluster-config get|set|unset} against a running node. */
@Timeout(60)
class ClusterConfigCliTest {
  private static final String TOKEN = "an-admin-token-for-the-cli";

  @TempDir Path dir;

  private record Result(int status, String out, String err) {}

  private static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status = DatastoreNode.run(new PrintWriter(out), new PrintWriter(err), Map.of(), args);
    return new Result(status, out.toString(), err.toString());
  }

  @Test
  void valuesAreSentAsJsonWhenTheyAreJsonAndAsTextOtherwise() {
    assertThat(AdminCommands.ClusterConfigSet.value("1s").isTextual()).isTrue();
    assertThat(AdminCommands.ClusterConfigSet.value("50").isNumber()).isTrue();
    assertThat(AdminCommands.ClusterConfigSet.value("true").isBoolean()).isTrue();
    assertThat(AdminCommands.ClusterConfigSet.value("[\"*\"]").isArray()).isTrue();
    assertThat(AdminCommands.ClusterConfigSet.value("8MiB").asText()).isEqualTo("8MiB");
    assertThat(AdminCommands.ClusterConfigSet.value("null").asText()).isEqualTo("null");
  }

  @Test
  void setGetAndUnsetTalkToARunningNode() throws Exception {
    try (NodeServer server =
        NodeServer.start(
            ConfigSources.builder()
                .flag("--port", "0")
                .flag("--mode", "dynamo")
                .flag("--admin-token", TOKEN)
                .flag("--data-dir", dir.resolve("data").toString())
                .flag("--reload-watch", "false")
                .build())) {
      String url = "http://127.0.0.1:" + server.port();
      Result set =
          run(
              "cluster-config",
              "set",
              "--url",
              url,
              "--admin-token",
              TOKEN,
              "limits.rate-limit-clients=1000",
              "log.level=warn");
      assertThat(set.status()).as(set.out() + set.err()).isZero();
      assertThat(set.out()).contains("\"written\"");
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (server.config().get(Settings.RATE_LIMIT_CLIENTS) != 1000
          && System.nanoTime() < deadline) {
        Thread.sleep(25);
      }
      assertThat(server.config().get(Settings.RATE_LIMIT_CLIENTS)).isEqualTo(1000);
      assertThat(server.config().get(Settings.LOG_LEVEL)).isEqualTo("warn");

      Result get = run("cluster-config", "get", "--url", url, "--admin-token", TOKEN);
      assertThat(get.status()).isZero();
      assertThat(get.out()).contains("\"limits.rate-limit-clients\":1000");

      Result refused =
          run("cluster-config", "set", "--url", url, "--admin-token", TOKEN, "node.port=9100");
      assertThat(refused.status()).isEqualTo(1);
      assertThat(refused.out()).contains("invalid_cluster_config").contains("node.port");

      Result malformed =
          run("cluster-config", "set", "--url", url, "--admin-token", TOKEN, "no-equals-sign");
      assertThat(malformed.status()).isEqualTo(2);

      Result unset =
          run("cluster-config", "unset", "--url", url, "--admin-token", TOKEN, "log.level");
      assertThat(unset.status()).isZero();
      deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (!server.config().get(Settings.LOG_LEVEL).equals("info")
          && System.nanoTime() < deadline) {
        Thread.sleep(25);
      }
      assertThat(server.config().get(Settings.LOG_LEVEL)).isEqualTo("info");
      assertThat(server.config().get(Settings.RATE_LIMIT_CLIENTS)).isEqualTo(1000);
    }
  }
}
