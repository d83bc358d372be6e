package io.skein.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.skein.node.config.ConfigSources;
import io.skein.node.config.Settings;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code datastore-node reload} and {@code status} against a running node. */
@Timeout(60)
class AdminCommandsTest {
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
  void reloadAndStatusTalkToARunningNode() throws Exception {
    Path file = dir.resolve("node.yaml");
    Files.writeString(file, "admin:\n  token: " + TOKEN + "\nlog:\n  level: info\n");
    try (NodeServer server =
        NodeServer.start(
            ConfigSources.builder()
                .configFile(file)
                .flag("--port", "0")
                .flag("--data-dir", dir.resolve("data").toString())
                .flag("--reload-watch", "false")
                .build())) {
      String url = "http://127.0.0.1:" + server.port();
      Files.writeString(file, "admin:\n  token: " + TOKEN + "\nlog:\n  level: warn\n");
      Result reload =
          run("reload", "--url", url, "--admin-token", TOKEN, "--sections", "log,limits");
      assertThat(reload.status()).as(reload.err()).isZero();
      assertThat(reload.out()).contains("\"outcome\":\"completed\"").contains("log.level");
      assertThat(server.config().get(Settings.LOG_LEVEL)).isEqualTo("warn");

      Result wrongToken = run("reload", "--url", url, "--admin-token", "not-the-token-at-all");
      assertThat(wrongToken.status()).isEqualTo(1);
      assertThat(wrongToken.out()).contains("unauthorized");

      Result status = run("status", "--url", url);
      assertThat(status.status()).isZero();
      assertThat(status.out()).contains("\"nodeId\":\"1\"");
    }
    Result unreachable = run("status", "--url", "http://127.0.0.1:1");
    assertThat(unreachable.status()).isEqualTo(3);
    assertThat(unreachable.err()).contains("cannot reach");
  }

  @Test
  void theCliFollowsRedirectsWithTheTokenOnlyWithinHttpOrHttps() {
    java.net.URI https = java.net.URI.create("https://db1.example:9000/admin/members");
    java.net.URI http = java.net.URI.create("http://127.0.0.1:9000/admin/members");
    assertThat(AdminCommands.Target.safeRedirect(http, https)).isTrue();
    assertThat(AdminCommands.Target.safeRedirect(http, http)).isTrue();
    assertThat(AdminCommands.Target.safeRedirect(https, https)).isTrue();
    assertThat(AdminCommands.Target.safeRedirect(https, http))
        .as("the token never leaves https")
        .isFalse();
    assertThat(AdminCommands.Target.safeRedirect(http, java.net.URI.create("ftp://x:1/")))
        .isFalse();
  }
}
