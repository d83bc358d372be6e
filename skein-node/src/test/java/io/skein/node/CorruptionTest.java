package io.skein.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.skein.node.config.ConfigSources;
import io.skein.testkit.HttpJson;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Corruption is loud (issue 12, item 7): an entry that fails its checksum is answered with {@code
 * data_corrupt}, counted, and turns {@code /health} to degraded; {@code datastore-node check} finds
 * a document changed on disk and an entry that fails its checksum in a stopped node's file.
 */
@Timeout(120)
class CorruptionTest {
  @TempDir Path dir;

  private NodeServer start() {
    return NodeServer.start(
        ConfigSources.builder()
            .flag("--port", "0")
            .flag("--data-dir", dir.toString())
            .flag("--mode", "dynamo")
            .build());
  }

  private void writeDocuments() throws Exception {
    try (NodeServer server = start();
        HttpJson http = new HttpJson(URI.create("http://127.0.0.1:" + server.port()))) {
      for (int i = 0; i < 5; i++) {
        assertThat(http.put("/v1/collections/c/docs/d" + i, "{\"n\":" + i + "}").status())
            .isEqualTo(200);
      }
    }
  }

  private void tamper(String sql) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("node-1.db"));
        Statement s = c.createStatement()) {
      assertThat(s.executeUpdate(sql)).isPositive();
    }
  }

  private record Result(int status, String out) {}

  private Result check() {
    StringWriter out = new StringWriter();
    int status =
        DatastoreNode.run(
            new PrintWriter(out),
            new PrintWriter(new StringWriter()),
            Map.of(),
            "check",
            "--data-dir",
            dir.toString());
    return new Result(status, out.toString());
  }

  @Test
  void aSoundFilePassesTheCheck() throws Exception {
    writeDocuments();
    Result result = check();
    assertThat(result.status()).as(result.out()).isZero();
    assertThat(result.out()).contains("OK").contains("verified against their entry: 5");
  }

  @Test
  void theCheckFindsADocumentChangedOnDiskAndABadChecksum() throws Exception {
    writeDocuments();
    tamper("UPDATE docs SET body = '{\"n\":99}' WHERE id = 'd1'");
    tamper("UPDATE oplog SET body = '{\"n\":77}' WHERE id = 'd3'");
    Result result = check();
    assertThat(result.status()).isEqualTo(1);
    assertThat(result.out())
        .contains("document c/d1 differs from its entry")
        .contains("(c/d3) fails its checksum");
  }

  @Test
  void aFileThatIsNotSqliteFailsTheCheck() throws Exception {
    Files.writeString(dir.resolve("node-1.db"), "not sqlite at all, just some text here");
    assertThat(check().status()).isEqualTo(1);
  }

  @Test
  void aChecksumFailureAtRunTimeIsAnsweredCountedAndDegradesHealth() throws Exception {
    writeDocuments();
    tamper("UPDATE oplog SET body = '{\"n\":77}' WHERE id = 'd3'");
    try (NodeServer server = start();
        HttpJson http = new HttpJson(URI.create("http://127.0.0.1:" + server.port()))) {
      assertThat(http.get("/health").status()).isEqualTo(200);
      HttpJson.Response feed = http.get("/v1/changes?since=0");
      assertThat(feed.status()).isEqualTo(500);
      assertThat(feed.body()).contains("data_corrupt").contains("c/d3");
      HttpJson.Response health = http.get("/health");
      assertThat(health.status()).isEqualTo(503);
      assertThat(health.body()).contains("degraded").contains("checksum");
      assertThat(http.get("/metrics").body()).contains("skein_storage_corruption_total 1.0");
    }
  }
}
