package io.skein.node;

import static io.skein.node.ItSupport.JSON;
import static io.skein.node.ItSupport.awaitCondition;
import static io.skein.node.ItSupport.cluster;
import static io.skein.node.ItSupport.http;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.skein.testkit.HttpJson;
import io.skein.testkit.NodeProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * Client work never costs the cluster its primary (issue 12, item 1). Sixteen clients send valid
 * but heavy queries ({@code $or} of 120 clauses, a two-field sort, {@code skip} 9,000, over 10,000
 * documents) to the primary of a three-node leader cluster for 20 s. Before the fix, JDBC calls on
 * virtual threads pinned both carriers and the primary was deposed within about 3 s.
 *
 * <p>Asserted: no leadership change (the same primary, the same epoch). Reported (printed, not
 * asserted, since timings flake on a shared machine): the latency of {@code GET /health} during the
 * load, and how the queries were answered.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class QueryLoadIT {
  private static final int NODES = 3;
  private static final int DOCUMENTS = 10_000;
  private static final int CLIENTS = 16;
  private static final Duration LOAD = Duration.ofSeconds(20);

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path dir;

  private final int[] ports = new int[NODES + 1];
  private final Map<Integer, NodeProcess> nodes = new ConcurrentHashMap<>();

  @AfterEach
  void stopAll() {
    nodes.values().forEach(NodeProcess::close);
  }

  private NodeProcess node(int id) {
    return Objects.requireNonNull(nodes.get(id));
  }

  private static String heavyQuery() {
    ObjectNode query = JSON.createObjectNode();
    ArrayNode clauses = query.putObject("selector").putArray("$or");
    for (int i = 0; i < 120; i++) {
      clauses.addObject().putObject("n").put("$gte", i * 83);
    }
    query.putArray("sort").add("g").add("n");
    query.put("skip", 9_000).put("limit", 100);
    return query.toString();
  }

  private void load(HttpJson http) throws Exception {
    String pad = "x".repeat(200);
    for (int from = 0; from < DOCUMENTS; from += 500) {
      ObjectNode batch = JSON.createObjectNode();
      ArrayNode ops = batch.putArray("ops");
      for (int i = from; i < from + 500; i++) {
        ops.addObject()
            .put("op", "put")
            .put("collection", "heavy")
            .put("id", "d" + i)
            .set("doc", JSON.createObjectNode().put("n", i).put("g", i % 7).put("pad", pad));
      }
      assertThat(http.post("/v1/batch", batch.toString()).status()).isEqualTo(200);
    }
  }

  @Test
  void heavyQueriesOnThePrimaryNeverDeposeIt() throws Exception {
    for (int id = 1; id <= NODES; id++) {
      ports[id] = NodeProcess.freeLoopbackPort();
    }
    for (int id = 1; id <= NODES; id++) {
      nodes.put(
          id,
          ItSupport.startNode(
              dir,
              id,
              ports[id],
              "--node-id",
              Integer.toString(id),
              "--role",
              id == 1 ? "primary" : "secondary",
              "--data-dir",
              dir.resolve("data" + id).toString(),
              "--peers",
              ItSupport.peersJson(id, NODES, (self, peer) -> ports[peer])));
    }
    assertThat(
            awaitCondition(
                Duration.ofSeconds(30),
                () -> {
                  try {
                    return cluster(node(1)).path("role").asText().equals("primary");
                  } catch (Exception e) {
                    return false;
                  }
                }))
        .isTrue();
    try (HttpJson http = http(node(1))) {
      load(http);
    }
    JsonNode before = cluster(node(1));
    long epoch = before.path("epoch").asLong();

    String query = heavyQuery();
    AtomicBoolean stop = new AtomicBoolean();
    Map<Integer, Integer> answers = new ConcurrentHashMap<>();
    List<Thread> clients = new ArrayList<>();
    for (int c = 0; c < CLIENTS; c++) {
      clients.add(
          Thread.ofPlatform()
              .name("heavy-query-" + c)
              .start(
                  () -> {
                    try (HttpJson http = new HttpJson(node(1).baseUrl(), Duration.ofSeconds(60))) {
                      while (!stop.get()) {
                        int status = http.post("/v1/collections/heavy/query", query).status();
                        answers.merge(status, 1, Integer::sum);
                      }
                    } catch (Exception e) {
                      answers.merge(-1, 1, Integer::sum);
                    }
                  }));
    }
    List<Long> healthMicros = Collections.synchronizedList(new ArrayList<>());
    List<String> leadership = Collections.synchronizedList(new ArrayList<>());
    long endNanos = System.nanoTime() + LOAD.toNanos();
    try (HttpJson probe = new HttpJson(node(1).baseUrl(), Duration.ofSeconds(30))) {
      int round = 0;
      while (System.nanoTime() < endNanos) {
        long start = System.nanoTime();
        int status = probe.get("/health").status();
        healthMicros.add((System.nanoTime() - start) / 1_000);
        assertThat(status).isEqualTo(200);
        if (round++ % 10 == 0) {
          for (int id = 1; id <= NODES; id++) {
            JsonNode view = cluster(node(id));
            leadership.add(
                id + ":" + view.path("epoch").asLong() + ":" + view.path("leader").path("nodeId"));
          }
        }
        Thread.sleep(50);
      }
    }
    stop.set(true);
    for (Thread client : clients) {
      client.join(Duration.ofSeconds(60));
    }
    JsonNode after = cluster(node(1));
    report(healthMicros, answers);
    assertThat(after.path("role").asText()).as("node 1 is still the primary").isEqualTo("primary");
    assertThat(after.path("epoch").asLong()).as("no election happened").isEqualTo(epoch);
    assertThat(leadership)
        .as("every member saw node 1 lead in epoch %d throughout", epoch)
        .allMatch(line -> line.endsWith(":" + epoch + ":\"1\""));
    assertThat(answers.getOrDefault(200, 0)).as("some queries were answered").isPositive();
  }

  private static void report(List<Long> healthMicros, Map<Integer, Integer> answers) {
    List<Long> sorted = new ArrayList<>(healthMicros);
    Collections.sort(sorted);
    long p50 = sorted.get(sorted.size() / 2);
    long p99 = sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(sorted.size() * 0.99) - 1));
    long max = sorted.get(sorted.size() - 1);
    System.out.printf(
        "QueryLoadIT: /health under %d heavy query clients for %d s: %d probes, p50 %.1f ms,"
            + " p99 %.1f ms, max %.1f ms; query answers by status %s%n",
        CLIENTS,
        LOAD.toSeconds(),
        sorted.size(),
        p50 / 1000.0,
        p99 / 1000.0,
        max / 1000.0,
        answers);
  }
}
