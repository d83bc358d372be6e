package io.skein.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.skein.internal.runtime.ReloadOrchestrator;
import io.skein.node.config.ConfigSources;
import io.skein.testkit.HttpJson;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Queries have a time budget (408 query_timeout), and it is a dynamic setting. */
@Timeout(120)
class QueryLimitsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  @Test
  void aQueryOverItsBudgetGets408AndTheBudgetChangesLive() throws Exception {
    try (NodeServer server =
            NodeServer.start(
                ConfigSources.builder()
                    .flag("--port", "0")
                    .flag("--data-dir", dir.toString())
                    .flag("--durability", "buffered")
                    .flag("--query-timeout", "10ms")
                    .build());
        HttpJson http =
            new HttpJson(URI.create("http://127.0.0.1:" + server.port()), Duration.ofSeconds(60))) {
      for (int from = 0; from < 20_000; from += 1_000) {
        ObjectNode batch = JSON.createObjectNode();
        ArrayNode ops = batch.putArray("ops");
        for (int i = from; i < from + 1_000; i++) {
          ops.addObject()
              .put("op", "put")
              .put("collection", "c")
              .put("id", "d" + i)
              .set("doc", JSON.createObjectNode().put("n", i).put("g", i % 7));
        }
        assertThat(http.post("/v1/batch", batch.toString()).status()).isEqualTo(200);
      }
      ObjectNode query = JSON.createObjectNode();
      ArrayNode clauses = query.putObject("selector").putArray("$or");
      for (int i = 0; i < 120; i++) {
        clauses.addObject().putObject("n").put("$gte", i * 83);
      }
      query.putArray("sort").add("g").add("n");
      query.put("skip", 19_000).put("limit", 10);
      HttpJson.Response slow = http.post("/v1/collections/c/query", query.toString());
      assertThat(slow.status()).isEqualTo(408);
      assertThat(slow.body()).contains("query_timeout").contains("limits.query-timeout");
      assertThat(server.override(Map.of("limits.query-timeout", "60s")).outcome())
          .isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
      HttpJson.Response answered = http.post("/v1/collections/c/query", query.toString());
      assertThat(answered.status()).isEqualTo(200);
      assertThat(JSON.readTree(answered.body()).get("docs")).hasSize(10);
    }
  }
}
