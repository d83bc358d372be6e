package io.skein.node;

import static io.skein.node.ItSupport.awaitCondition;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.testkit.HttpJson;
import io.skein.testkit.NodeProcess;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A leader-mode cluster grows from three to five real processes and shrinks back to three while
 * clients write (issue 10 item 3), through the {@code datastore-node members} CLI and the admin
 * API: nodes 4 and 5 start with {@code --role joining} and are added one at a time (each catches up
 * as a learner first); then node 5 is removed, and then the primary itself, which steps down once
 * its removal commits. Checked: no request fails while members are added or a secondary removed;
 * while the primary leaves, only retryable answers (no primary for a moment, outcome unknown for
 * the writes in flight); and every acknowledged write is on every final member.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class LeaderMembershipIT {
  private static final String TOKEN = "an-admin-token-for-the-membership-it";
  private static final int NODES = 5;

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path dir;

  private final int[] ports = new int[NODES + 1];
  private final Map<Integer, NodeProcess> nodes = new ConcurrentHashMap<>();

  @AfterEach
  void stopAll() {
    nodes.values().forEach(NodeProcess::close);
  }

  private NodeProcess start(int id, String role, int... peers) {
    List<String> list = new ArrayList<>();
    for (int peer : peers) {
      list.add(
          "{\"node_id\":\"" + peer + "\",\"host\":\"127.0.0.1\",\"port\":" + ports[peer] + "}");
    }
    NodeProcess node =
        ItSupport.startNode(
            dir,
            id,
            ports[id],
            "--node-id",
            Integer.toString(id),
            "--role",
            role,
            "--data-dir",
            dir.resolve("data" + id).toString(),
            "--peers",
            "[" + String.join(",", list) + "]",
            "--admin-token",
            TOKEN);
    nodes.put(id, node);
    return node;
  }

  private JsonNode cluster(int id) {
    try {
      return ItSupport.cluster(java.util.Objects.requireNonNull(nodes.get(id)));
    } catch (Exception e) {
      return ItSupport.JSON.createObjectNode();
    }
  }

  private String leaderOf(int id) {
    return cluster(id).path("leader").path("nodeId").asText("");
  }

  private String voters(int id) {
    return cluster(id).path("configuration").path("voters").toString();
  }

  /** Runs {@code datastore-node members ...} against node {@code on}; returns its exit status. */
  private int members(int on, String... arguments) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.add("-jar");
    command.add(ItSupport.nodeJar().toString());
    command.add("members");
    command.addAll(List.of(arguments));
    command.add("--url");
    command.add("http://127.0.0.1:" + ports[on]);
    command.add("--admin-token");
    command.add(TOKEN);
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
    System.out.println("members " + String.join(" ", arguments) + " -> " + output.strip());
    return process.exitValue();
  }

  /** An admin request over HTTP that follows redirects to the primary; returns the status. */
  private int admin(int on, String method, String path, String body) throws Exception {
    URI uri = URI.create("http://127.0.0.1:" + ports[on] + path);
    try (java.net.http.HttpClient client = java.net.http.HttpClient.newHttpClient()) {
      for (int hop = 0; ; hop++) {
        java.net.http.HttpResponse<String> answer =
            client.send(
                java.net.http.HttpRequest.newBuilder(uri)
                    .timeout(Duration.ofSeconds(90))
                    .header("Authorization", "Bearer " + TOKEN)
                    .header("Content-Type", "application/json")
                    .method(method, java.net.http.HttpRequest.BodyPublishers.ofString(body))
                    .build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        if (answer.statusCode() != 307 || hop == 3) {
          System.out.println(method + " " + path + " -> " + answer.body());
          return answer.statusCode();
        }
        uri = uri.resolve(answer.headers().firstValue("Location").orElseThrow());
      }
    }
  }

  /** Writes one document through node {@code entry}, following redirects and retrying 503. */
  private HttpJson.Response write(int entry, String id) throws Exception {
    HttpJson.Response answer = writeOnce(entry, id);
    for (int retry = 0; retry < 50 && answer.status() == 503; retry++) {
      Thread.sleep(100);
      answer = writeOnce(entry, id);
    }
    return answer;
  }

  private HttpJson.Response writeOnce(int entry, String id) throws Exception {
    URI target =
        URI.create(
            "http://127.0.0.1:" + ports[entry] + "/v1/collections/m/docs/" + id + "?w=majority");
    for (int hop = 0; hop < 5; hop++) {
      try (HttpJson http =
          new HttpJson(URI.create(target.getScheme() + "://" + target.getRawAuthority()))) {
        HttpJson.Response answer =
            http.put(target.getRawPath() + "?" + target.getRawQuery(), "{\"v\":1}");
        if (answer.status() != 307) {
          return answer;
        }
        target = URI.create(answer.header("Location").orElseThrow());
      }
    }
    throw new AssertionError("more than 5 redirects for " + id);
  }

  private boolean holdsAll(int node, Set<String> ids) {
    try (HttpJson http = ItSupport.http(java.util.Objects.requireNonNull(nodes.get(node)))) {
      for (String id : ids) {
        if (http.get("/v1/collections/m/docs/" + id).status() != 200) {
          return false;
        }
      }
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  @Test
  void threeToFiveAndBackToThreeWhileClientsWrite() throws Exception {
    for (int id = 1; id <= NODES; id++) {
      ports[id] = NodeProcess.freeLoopbackPort();
    }
    start(1, "primary", 2, 3);
    start(2, "secondary", 1, 3);
    start(3, "secondary", 1, 2);
    assertThat(
            awaitCondition(
                Duration.ofSeconds(30),
                () ->
                    leaderOf(1).equals("1") && leaderOf(2).equals("1") && leaderOf(3).equals("1")))
        .isTrue();

    // Clients write through node 3, a member from start to end, which redirects to the primary.
    AtomicBoolean writing = new AtomicBoolean(true);
    AtomicReference<String> phase = new AtomicReference<>("grow");
    Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    List<String> failures = new CopyOnWriteArrayList<>();
    List<String> retryable = new CopyOnWriteArrayList<>();
    List<Thread> clients = new ArrayList<>();
    for (int c = 0; c < 2; c++) {
      int client = c;
      clients.add(
          Thread.ofPlatform()
              .daemon()
              .start(
                  () -> {
                    for (int n = 0; writing.get(); n++) {
                      String id = "c" + client + "-" + n;
                      String during = phase.get();
                      try {
                        HttpJson.Response answer = write(3, id);
                        if (answer.status() == 200) {
                          acknowledged.add(id);
                        } else if (during.equals("primary-leaves")
                            && (answer.status() == 503 || answer.status() == 504)) {
                          retryable.add(id + ": " + answer.status());
                        } else {
                          failures.add(during + " " + id + ": " + answer);
                        }
                      } catch (Exception e) {
                        failures.add(during + " " + id + ": " + e);
                      }
                    }
                  }));
    }
    assertThat(awaitCondition(Duration.ofSeconds(20), () -> acknowledged.size() > 200)).isTrue();

    start(4, "joining", 1, 2, 3);
    start(5, "joining", 1, 2, 3);
    long started = System.nanoTime();
    assertThat(members(2, "add", "--id", "4", "--member-url", "http://127.0.0.1:" + ports[4]))
        .isZero();
    long addFour = System.nanoTime() - started;
    started = System.nanoTime();
    assertThat(
            admin(
                3,
                "POST",
                "/admin/members",
                "{\"id\":\"5\",\"url\":\"http://127.0.0.1:" + ports[5] + "\"}"))
        .isEqualTo(200);
    long addFive = System.nanoTime() - started;
    for (int id = 1; id <= 5; id++) {
      int node = id;
      assertThat(
              awaitCondition(
                  Duration.ofSeconds(20),
                  () -> voters(node).equals("[\"1\",\"2\",\"3\",\"4\",\"5\"]")))
          .as("node %d sees five voters", node)
          .isTrue();
    }
    int grown = acknowledged.size();
    assertThat(awaitCondition(Duration.ofSeconds(20), () -> acknowledged.size() > grown + 200))
        .isTrue();

    phase.set("shrink");
    started = System.nanoTime();
    assertThat(admin(1, "DELETE", "/admin/members/5", "")).isEqualTo(200);
    long removeFive = System.nanoTime() - started;
    phase.set("primary-leaves");
    started = System.nanoTime();
    assertThat(members(2, "remove", "--id", "1")).isZero();
    long removePrimary = System.nanoTime() - started;
    assertThat(
            awaitCondition(
                Duration.ofSeconds(30),
                () -> {
                  String leader = leaderOf(2);
                  return !leader.isEmpty()
                      && !leader.equals("1")
                      && leader.equals(leaderOf(3))
                      && leader.equals(leaderOf(4));
                }))
        .as("nodes 2, 3 and 4 elect a primary among themselves")
        .isTrue();
    long newPrimary = System.nanoTime() - started;
    phase.set("after");
    int shrunk = acknowledged.size();
    assertThat(awaitCondition(Duration.ofSeconds(20), () -> acknowledged.size() > shrunk + 200))
        .isTrue();
    writing.set(false);
    for (Thread client : clients) {
      client.join(30_000);
    }

    System.out.printf(
        "membership IT: add 4 (CLI) %d ms, add 5 (HTTP) %d ms, remove 5 (HTTP) %d ms, remove the"
            + " primary (CLI) %d ms (new primary after %d ms); %d writes acknowledged, %d"
            + " retryable answers while the primary left%n",
        addFour / 1_000_000,
        addFive / 1_000_000,
        removeFive / 1_000_000,
        removePrimary / 1_000_000,
        newPrimary / 1_000_000,
        acknowledged.size(),
        retryable.size());
    assertThat(failures).isEmpty();
    assertThat(voters(3)).isEqualTo("[\"2\",\"3\",\"4\"]");
    for (int id : new int[] {2, 3, 4}) {
      int node = id;
      assertThat(awaitCondition(Duration.ofSeconds(30), () -> holdsAll(node, acknowledged)))
          .as("node %d holds every acknowledged write", node)
          .isTrue();
    }
  }
}
