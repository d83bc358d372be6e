package io.skein.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.skein.testkit.HttpJson;
import io.skein.testkit.NodeProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

/** Shared support for the real-process tests ({@code *IT}) of this module. */
final class ItSupport {
  static final ObjectMapper JSON = new ObjectMapper();

  /** A client for a node, with a 10 s request timeout. */
  static HttpJson http(NodeProcess node) {
    return new HttpJson(node.baseUrl(), Duration.ofSeconds(10));
  }

  /** A node's {@code GET /v1/cluster}. */
  static JsonNode cluster(NodeProcess node) throws IOException, InterruptedException {
    try (HttpJson http = http(node)) {
      return JSON.readTree(http.get("/v1/cluster").body());
    }
  }

  /**
   * The seed's {@code --peers} JSON for node {@code self} of nodes 1 to {@code nodes}, each peer on
   * 127.0.0.1 at {@code portOf(self, peer)}.
   */
  static String peersJson(int self, int nodes, java.util.function.IntBinaryOperator portOf) {
    List<String> peers = new ArrayList<>();
    for (int id = 1; id <= nodes; id++) {
      if (id != self) {
        peers.add(
            "{\"node_id\":"
                + id
                + ",\"host\":\"127.0.0.1\",\"port\":"
                + portOf.applyAsInt(self, id)
                + "}");
      }
    }
    return "[" + String.join(",", peers) + "]";
  }

  /** Starts node {@code id} on {@code port}, logging to {@code dir/node{id}.log}. */
  static NodeProcess startNode(Path dir, int id, int port, String... arguments) {
    return NodeProcess.builder(nodeJar())
        .port(port)
        .logFile(dir.resolve("node" + id + ".log"))
        .arguments(arguments)
        .start();
  }

  private static final long POLL_INTERVAL_MS = 10;

  private ItSupport() {}

  /** Returns the shaded {@code datastore-node.jar} that failsafe names in {@code skein.nodeJar}. */
  static Path nodeJar() {
    String property = System.getProperty("skein.nodeJar");
    Path jar =
        property != null
            ? Path.of(property)
            : Path.of("target", "datastore-node.jar").toAbsolutePath();
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(
          "no node jar at "
              + jar
              + ": run the ITs with `mvn verify` (failsafe sets skein.nodeJar)");
    }
    return jar;
  }

  /**
   * Waits until {@code condition} holds, polling every {@value #POLL_INTERVAL_MS} ms, for at most
   * {@code timeout}; returns whether it held.
   */
  static boolean awaitCondition(Duration timeout, BooleanSupplier condition)
      throws InterruptedException {
    long deadlineNanos = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadlineNanos >= 0) {
        return false;
      }
      TimeUnit.MILLISECONDS.sleep(POLL_INTERVAL_MS);
    }
    return true;
  }

  /** Writes a file the way editors do: a temporary file renamed over the old one. */
  static void replaceFile(Path file, String content) throws IOException {
    Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(temporary, content);
    Files.move(
        temporary,
        file,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  /** Returns {@code "\"" + version + "\""}, the ETag of a version. */
  static String etag(String version) {
    return "\"" + version + "\"";
  }

  /** Returns the lines of a node's log at level WARN or ERROR. */
  static List<String> warningsAndErrors(NodeProcess node) throws IOException {
    try (var lines = Files.lines(node.logFile())) {
      return lines.filter(line -> line.contains(" WARN ") || line.contains(" ERROR ")).toList();
    }
  }

  /**
   * Client threads that each PUT new documents with distinct ids ({@code PREFIX-w{client}-{n}}) to
   * one collection as fast as the node answers, and record every write they attempted and every
   * write the node acknowledged.
   *
   * <p>A client stops at the first request that fails in transport (the node is gone), when {@link
   * #stop()} is called, when the phase's time or write budget is spent, or, once {@link
   * #nodeEnding()} was called, at the first answer that is not 200. A transport failure or a
   * malformed 200 before {@link #nodeEnding()} is recorded in {@link #problems()}.
   */
  static final class WriteLoad {
    private final HttpJson http;
    private final String collection;
    private final String prefix;
    private final String pad;
    private final int clients;
    private final int writesMax;
    private final long deadlineNanos;
    private final Map<String, String> attempted = new ConcurrentHashMap<>();
    private final Map<String, String> acknowledged = new ConcurrentHashMap<>();
    private final Map<Integer, AtomicInteger> refusedByStatus = new ConcurrentHashMap<>();
    private final Map<String, Integer> transportFailuresAfterEnd = new ConcurrentHashMap<>();
    private final List<String> problems = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger started = new AtomicInteger();
    private final AtomicBoolean stopRequested = new AtomicBoolean();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean nodeEnding;

    /**
     * Creates the load; {@link #start()} starts it.
     *
     * @param writesMax the most writes all clients together start
     * @param duration how long the clients keep writing at most
     */
    WriteLoad(
        HttpJson http,
        String collection,
        String prefix,
        String pad,
        int clients,
        int writesMax,
        Duration duration) {
      this.http = http;
      this.collection = collection;
      this.prefix = prefix;
      this.pad = pad;
      this.clients = clients;
      this.writesMax = writesMax;
      this.deadlineNanos = System.nanoTime() + duration.toNanos();
    }

    void start() {
      for (int client = 0; client < clients; client++) {
        int number = client;
        threads.add(
            Thread.ofPlatform()
                .name("write-load-" + prefix + "-" + client)
                .daemon()
                .start(() -> runClient(number)));
      }
    }

    /** Returns the document path of an id. */
    String path(String id) {
      return "/v1/collections/" + collection + "/docs/" + id;
    }

    /** Returns the body a client sends for its {@code n}th write. */
    String body(int client, int n) {
      return "{\"n\":" + n + ",\"t\":" + client + ",\"pad\":\"" + pad + "\"}";
    }

    private void runClient(int client) {
      for (int n = 0; !stopRequested.get() && System.nanoTime() - deadlineNanos < 0; n++) {
        if (started.incrementAndGet() > writesMax) {
          return;
        }
        String id = prefix + "-w" + client + "-" + n;
        String body = body(client, n);
        attempted.put(id, body);
        HttpJson.Response response;
        try {
          response = http.put(path(id), body);
        } catch (IOException e) {
          if (nodeEnding) {
            transportFailuresAfterEnd.merge(e.getClass().getSimpleName(), 1, Integer::sum);
          } else {
            problems.add(id + ": transport failure before the node was stopped: " + e);
          }
          return;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
        if (response.status() == 200) {
          acknowledge(id, response);
        } else {
          refusedByStatus
              .computeIfAbsent(response.status(), s -> new AtomicInteger())
              .incrementAndGet();
          if (nodeEnding) {
            return;
          }
        }
      }
    }

    private void acknowledge(String id, HttpJson.Response response) {
      try {
        JsonNode answer = JSON.readTree(response.body());
        String version = answer.path("version").asText("");
        boolean wellFormed =
            id.equals(answer.path("id").asText(""))
                && !version.isEmpty()
                && response.header("ETag").equals(Optional.of(etag(version)));
        if (!wellFormed) {
          problems.add(id + ": malformed 200 answer " + response + " " + response.headers());
          return;
        }
        acknowledged.put(id, version);
      } catch (IOException e) {
        problems.add(id + ": 200 answer is not JSON: " + response);
      }
    }

    /** Marks that the node is about to be killed or stopped: failures from now on are expected. */
    void nodeEnding() {
      nodeEnding = true;
    }

    /** Asks the clients to stop after the request each has in flight. */
    void stop() {
      stopRequested.set(true);
    }

    /** Waits up to {@code timeout} for every client thread to end; returns whether they did. */
    boolean awaitClients(Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      for (Thread thread : threads) {
        long leftNanos = deadline - System.nanoTime();
        if (leftNanos <= 0 || !thread.join(Duration.ofNanos(leftNanos))) {
          return false;
        }
      }
      return true;
    }

    /** Returns whether every client has ended. */
    boolean clientsDone() {
      return threads.stream().noneMatch(Thread::isAlive);
    }

    /** Returns id to body of every write a client started. */
    Map<String, String> attempted() {
      return attempted;
    }

    /** Returns id to version of every write the node answered with 200. */
    Map<String, String> acknowledged() {
      return acknowledged;
    }

    /** Returns how many writes the node answered with each status other than 200. */
    Map<Integer, AtomicInteger> refusedByStatus() {
      return refusedByStatus;
    }

    /**
     * Returns how many clients ended on a transport failure after {@link #nodeEnding()}, by the
     * exception's simple class name.
     */
    Map<String, Integer> transportFailuresAfterEnd() {
      return Map.copyOf(transportFailuresAfterEnd);
    }

    /** Returns the unexpected failures, empty if none. */
    List<String> problems() {
      return List.copyOf(problems);
    }
  }
}
