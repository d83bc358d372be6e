package io.skein.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.skein.testkit.HttpJson;
import io.skein.testkit.NodeProcess;
import io.skein.testkit.NodeProcessException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * {@code datastore-node} processes in dynamo or leader mode on 127.0.0.1, each a peer of all the
 * others: node ids 1 to n, ports fixed at creation (members name each other's ports, and a
 * restarted node comes back on its own), one data directory and one log file per node under a
 * directory the caller owns. Each node may have arguments of its own (leader mode's {@code
 * --role}); a restarted node gets the same arguments it was first started with.
 *
 * <p>Design notes. Every node is a {@link NodeProcess}, so this class only ever ends processes it
 * started, through their handles, and every wait has a deadline. {@link #close()} stops every node
 * still running with SIGTERM and falls back to SIGKILL. The status methods read {@code GET
 * /v1/cluster} and answer "unknown" (-1, false, empty) rather than throw while a node is down, so
 * that pollers can simply retry until their deadline.
 *
 * <p>Not thread-safe: one thread drives the cluster.
 */
final class LocalCluster implements AutoCloseable {
  /** How long a node may take to exit after SIGTERM before it is killed. */
  static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

  private static final Duration STATUS_TIMEOUT = Duration.ofSeconds(2);
  private static final long POLL_INTERVAL_MS = 20;
  private static final ObjectMapper JSON = new ObjectMapper();

  /** The warning every node logs when no cluster secret is set; expected on loopback. */
  private static final String NO_SECRET_WARNING = "no cluster secret is set";

  /** One node of the cluster: its id, port, data directory and log. */
  record Member(int nodeId, int port, Path dataDir, Path logFile) {
    URI baseUrl() {
      return URI.create("http://127.0.0.1:" + port);
    }

    String peerJson() {
      return "{\"node_id\":" + nodeId + ",\"host\":\"127.0.0.1\",\"port\":" + port + "}";
    }
  }

  private final Path nodeJar;
  private final String mode;
  private final List<List<String>> nodeArguments;
  private final List<Member> members;
  // Each slot is written by one thread at a time: a starting thread (joined before the slot is
  // read) or the driving thread.
  private final List<@Nullable NodeProcess> processes = new ArrayList<>();
  private final List<HttpJson> statusClients = new ArrayList<>();

  private LocalCluster(
      Path nodeJar, String mode, List<List<String>> nodeArguments, List<Member> members) {
    this.nodeJar = nodeJar;
    this.mode = mode;
    this.nodeArguments = nodeArguments.stream().map(List::copyOf).toList();
    this.members = List.copyOf(members);
    for (Member member : members) {
      processes.add(null);
      statusClients.add(new HttpJson(member.baseUrl(), STATUS_TIMEOUT));
    }
  }

  /**
   * Starts {@code size} nodes in dynamo mode at once and returns when each answers {@code /health};
   * a single node has no peers.
   *
   * @param nodeArguments more {@code datastore-node} arguments for every node ({@code
   *     --durability}, ...)
   * @throws IllegalArgumentException if {@code size} is not positive
   * @throws NodeProcessException if a node does not start; the nodes started are stopped
   * @throws InterruptedException if the thread is interrupted (the nodes started are stopped)
   */
  static LocalCluster start(Path nodeJar, Path dir, int size, List<String> nodeArguments)
      throws InterruptedException {
    if (size < 1) {
      throw new IllegalArgumentException("a cluster needs at least one node, was " + size);
    }
    return start(nodeJar, dir, "dynamo", Collections.nCopies(size, nodeArguments));
  }

  /**
   * Starts one node per element of {@code nodeArguments} at once, in {@code mode} ({@code dynamo}
   * or {@code leader}), and returns when each answers {@code /health}; a single node has no peers.
   *
   * @param nodeArguments more {@code datastore-node} arguments of each node, node 1 first ({@code
   *     --durability}, {@code --role}, ...); a restart gives a node the same ones
   * @throws IllegalArgumentException if there is no node
   * @throws NodeProcessException if a node does not start; the nodes started are stopped
   * @throws InterruptedException if the thread is interrupted (the nodes started are stopped)
   */
  static LocalCluster start(Path nodeJar, Path dir, String mode, List<List<String>> nodeArguments)
      throws InterruptedException {
    int size = nodeArguments.size();
    if (size < 1) {
      throw new IllegalArgumentException("a cluster needs at least one node, was " + size);
    }
    List<Member> members = new ArrayList<>();
    for (int nodeId = 1; nodeId <= size; nodeId++) {
      members.add(
          new Member(
              nodeId,
              NodeProcess.freeLoopbackPort(),
              dir.resolve("node-" + nodeId),
              dir.resolve("node-" + nodeId + ".log")));
    }
    LocalCluster cluster = new LocalCluster(nodeJar, mode, nodeArguments, members);
    try {
      cluster.startAll();
      return cluster;
    } catch (RuntimeException | InterruptedException e) {
      cluster.close();
      throw e;
    }
  }

  /**
   * Starts every node, each on its own thread, since a JVM's start is mostly waiting; each start is
   * bounded by {@link NodeProcess}'s start timeout.
   */
  private void startAll() throws InterruptedException {
    List<Thread> threads = new ArrayList<>();
    @Nullable RuntimeException[] failures = new RuntimeException[size()];
    for (int i = 0; i < size(); i++) {
      int index = i;
      threads.add(
          Thread.ofPlatform()
              .name("bench-start-node-" + member(index).nodeId())
              .start(
                  () -> {
                    try {
                      startNode(index);
                    } catch (RuntimeException e) {
                      failures[index] = e;
                    }
                  }));
    }
    // Every start thread is joined even if this one is interrupted, so that no node starts after
    // the caller stopped the ones it knows of.
    boolean interrupted = false;
    for (Thread thread : threads) {
      while (true) {
        try {
          thread.join();
          break;
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    }
    if (interrupted) {
      throw new InterruptedException("interrupted while the nodes started");
    }
    RuntimeException failure = null;
    for (RuntimeException e : failures) {
      if (e == null) {
        continue;
      }
      if (failure == null) {
        failure = e;
      } else {
        failure.addSuppressed(e);
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  /** Returns the number of nodes. */
  int size() {
    return members.size();
  }

  /** Returns the node at {@code index} (0-based; its node id is {@code index + 1}). */
  Member member(int index) {
    return members.get(index);
  }

  /**
   * Starts the node at {@code index} again, on its port and data directory, and waits until it
   * serves.
   *
   * @throws IllegalStateException if it is running
   * @throws NodeProcessException if it does not start
   */
  void startNode(int index) {
    NodeProcess running = processes.get(index);
    if (running != null && running.isAlive()) {
      throw new IllegalStateException("node " + member(index).nodeId() + " is running");
    }
    Member self = member(index);
    List<String> arguments = new ArrayList<>();
    arguments.addAll(
        List.of(
            "--node-id",
            Integer.toString(self.nodeId()),
            "--mode",
            mode,
            "--data-dir",
            self.dataDir().toString()));
    if (members.size() > 1) {
      arguments.addAll(List.of("--peers", peersOf(self)));
    }
    arguments.addAll(nodeArguments.get(index));
    processes.set(
        index,
        NodeProcess.builder(nodeJar)
            .port(self.port())
            .arguments(arguments.toArray(String[]::new))
            .logFile(self.logFile())
            .start());
  }

  private String peersOf(Member self) {
    List<String> peers = new ArrayList<>();
    for (Member member : members) {
      if (member.nodeId() != self.nodeId()) {
        peers.add(member.peerJson());
      }
    }
    return "[" + String.join(",", peers) + "]";
  }

  /**
   * Stops the node at {@code index} with SIGTERM (it drains and closes its store) and waits for it.
   *
   * @return its exit status (0 after a clean shutdown)
   * @throws IllegalStateException if it was not started
   * @throws NodeProcessException if it did not exit within {@link #STOP_TIMEOUT} (it is killed)
   */
  int stopNode(int index) {
    NodeProcess process = processes.get(index);
    if (process == null) {
      throw new IllegalStateException("node " + member(index).nodeId() + " was never started");
    }
    return process.stop(STOP_TIMEOUT);
  }

  /**
   * Kills the node at {@code index} with SIGKILL (no shutdown hook runs) and waits until it is
   * gone.
   *
   * @return its exit status (137 on Linux)
   * @throws IllegalStateException if it was not started
   * @throws NodeProcessException if it is still alive after the kill's wait
   */
  int killNode(int index) {
    NodeProcess process = processes.get(index);
    if (process == null) {
      throw new IllegalStateException("node " + member(index).nodeId() + " was never started");
    }
    return process.kill();
  }

  /** Returns the index of the member whose HTTP port is {@code port}, or -1 if none. */
  int indexOfPort(int port) {
    for (int index = 0; index < size(); index++) {
      if (member(index).port() == port) {
        return index;
      }
    }
    return -1;
  }

  /** Returns the process id of the node at {@code index} (0-based), or -1 if it is not running. */
  long pid(int index) {
    NodeProcess process = processes.get(index);
    return process != null && process.isAlive() ? process.pid() : -1;
  }

  /** Returns the process ids of the nodes that are running. */
  List<Long> pids() {
    List<Long> pids = new ArrayList<>();
    for (NodeProcess process : processes) {
      if (process != null && process.isAlive()) {
        pids.add(process.pid());
      }
    }
    return pids;
  }

  /**
   * Returns how many entries of {@code originNodeId} the node at {@code index} holds durably (its
   * version vector), or -1 if the node does not answer.
   *
   * @throws InterruptedException if the thread is interrupted
   */
  long versionOf(int index, int originNodeId) throws InterruptedException {
    JsonNode status = status(index);
    if (status == null) {
      return -1;
    }
    return status.path("versionVector").path(Integer.toString(originNodeId)).asLong(0);
  }

  /**
   * Returns the version vector of the node at {@code index}, origin node id to count, without the
   * origins it holds no entry of (a node lists itself and the peers it has heard from, with 0 for
   * none), or an empty map if the node does not answer.
   *
   * @throws InterruptedException if the thread is interrupted
   */
  Map<String, Long> versionVector(int index) throws InterruptedException {
    Map<String, Long> vector = new TreeMap<>();
    JsonNode status = status(index);
    if (status != null) {
      for (Map.Entry<String, JsonNode> origin : status.path("versionVector").properties()) {
        long count = origin.getValue().asLong();
        if (count > 0) {
          vector.put(origin.getKey(), count);
        }
      }
    }
    return vector;
  }

  /**
   * Returns whether every node answers and sees all its peers in state {@code connected}.
   *
   * @throws InterruptedException if the thread is interrupted
   */
  boolean allConnected() throws InterruptedException {
    for (int index = 0; index < size(); index++) {
      JsonNode status = status(index);
      if (status == null) {
        return false;
      }
      int connected = 0;
      for (JsonNode peer : status.path("peers")) {
        if (peer.path("state").asText().equals("connected")) {
          connected++;
        }
      }
      if (connected != size() - 1) {
        return false;
      }
    }
    return true;
  }

  /**
   * Returns whether every node answers with the same, non-empty version vector: all of them hold
   * every entry written so far. A single node is always settled.
   *
   * @throws InterruptedException if the thread is interrupted
   */
  boolean settled() throws InterruptedException {
    if (size() == 1) {
      return true;
    }
    Map<String, Long> first = versionVector(0);
    if (first.isEmpty()) {
      return false;
    }
    for (int index = 1; index < size(); index++) {
      if (!versionVector(index).equals(first)) {
        return false;
      }
    }
    return true;
  }

  /** A status check that may be retried. */
  @FunctionalInterface
  interface Check {
    boolean holds() throws InterruptedException;
  }

  /**
   * Polls {@code check} every {@value #POLL_INTERVAL_MS} ms until it holds or {@code timeout}
   * passed; returns how long it took in ns, or -1 if it never held.
   *
   * @throws InterruptedException if the thread is interrupted
   */
  static long await(Duration timeout, Check check) throws InterruptedException {
    long startNanos = System.nanoTime();
    long deadlineNanos = startNanos + timeout.toNanos();
    while (!check.holds()) {
      if (System.nanoTime() - deadlineNanos >= 0) {
        return -1;
      }
      TimeUnit.MILLISECONDS.sleep(POLL_INTERVAL_MS);
    }
    return System.nanoTime() - startNanos;
  }

  /**
   * Returns the answer of the node at {@code index} to {@code GET /v1/cluster}, or null if it does
   * not answer 200.
   *
   * @throws InterruptedException if the thread is interrupted
   */
  @Nullable JsonNode status(int index) throws InterruptedException {
    try {
      HttpJson.Response response = statusClients.get(index).get("/v1/cluster");
      return response.status() == 200 ? JSON.readTree(response.body()) : null;
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * Returns the WARN and ERROR lines of every node's log, each prefixed with its node id, except
   * the expected warning that no cluster secret is set.
   */
  List<String> warningsAndErrors() {
    List<String> found = new ArrayList<>();
    for (Member member : members) {
      LogLines.addMatching(
          found,
          "node " + member.nodeId(),
          member.logFile(),
          line ->
              (line.contains(" WARN ") || line.contains(" ERROR "))
                  && !line.contains(NO_SECRET_WARNING));
    }
    return found;
  }

  /** Deletes every node's data directory (the logs stay). Call after {@link #close()}. */
  void deleteData() {
    for (Member member : members) {
      TempDirs.delete(member.dataDir());
    }
  }

  /**
   * Stops every node still running: SIGTERM, then SIGKILL after {@link #STOP_TIMEOUT}.
   *
   * @throws NodeProcessException if a node had to be killed (after all were stopped)
   */
  @Override
  public void close() {
    NodeProcessException failure = null;
    for (NodeProcess process : processes) {
      if (process == null || !process.isAlive()) {
        continue;
      }
      try {
        process.stop(STOP_TIMEOUT);
      } catch (NodeProcessException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    statusClients.forEach(HttpJson::close);
    if (failure != null) {
      throw failure;
    }
  }
}
