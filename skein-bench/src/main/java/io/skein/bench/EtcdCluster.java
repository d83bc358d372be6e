package io.skein.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.skein.testkit.HttpJson;
import io.skein.testkit.NodeProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ProcessBuilder.Redirect;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * An etcd cluster on 127.0.0.1, the baseline of {@link LeaderBench}: {@code size} members started
 * from the {@code etcd} binary with default settings (100 ms heartbeat, 1 s election timeout, WAL
 * fsync on every commit), each with a client and a peer port fixed at creation, and one data
 * directory and log file per member under a directory the caller owns.
 *
 * <p>Design notes. Each member is a child {@link Process} of this JVM, so this class only ever ends
 * processes it started, through their handles: {@link #killMember} sends SIGKILL, {@link #close()}
 * SIGTERM and then SIGKILL. A killed member restarts with the same command on its data directory,
 * so it rejoins as the same member. The status methods read the v3 JSON gateway's {@code POST
 * /v3/maintenance/status} and answer "unknown" (null, -1, false) while a member is down, so that
 * pollers can retry until their deadline.
 *
 * <p>Not thread-safe: one thread drives the cluster.
 */
final class EtcdCluster implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration STATUS_TIMEOUT = Duration.ofSeconds(2);
  private static final Duration VERSION_TIMEOUT = Duration.ofSeconds(10);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One member: its name, ports, data directory and log. */
  record Member(String name, int clientPort, int peerPort, Path dataDir, Path logFile) {
    URI clientUrl() {
      return URI.create("http://127.0.0.1:" + clientPort);
    }

    String peerUrl() {
      return "http://127.0.0.1:" + peerPort;
    }
  }

  /**
   * What a member said of itself.
   *
   * @param memberId its member id
   * @param leaderId the member id of the leader it knows, 0 if none
   * @param raftIndex the last index of its raft log
   * @param appliedIndex the last index it applied
   */
  record Status(String memberId, String leaderId, long raftIndex, long appliedIndex) {}

  private final Path executable;
  private final List<Member> members;
  private final List<@Nullable Process> processes = new ArrayList<>();
  private final List<HttpJson> statusClients = new ArrayList<>();

  private EtcdCluster(Path executable, List<Member> members) {
    this.executable = executable;
    this.members = List.copyOf(members);
    for (Member member : members) {
      processes.add(null);
      statusClients.add(new HttpJson(member.clientUrl(), STATUS_TIMEOUT));
    }
  }

  /**
   * Returns the etcd binary: {@code spec} itself if it is a path, or with {@code auto} the first
   * {@code etcd} on the {@code PATH}; empty for {@code none} or if {@code auto} finds none.
   *
   * @throws IllegalArgumentException if {@code spec} is a path that is not an executable file
   */
  static Optional<Path> find(String spec) {
    if (spec.equals("none")) {
      return Optional.empty();
    }
    if (!spec.equals("auto")) {
      Path path = Path.of(spec);
      if (!Files.isRegularFile(path) || !Files.isExecutable(path)) {
        throw new IllegalArgumentException("--etcd " + spec + " is not an executable file");
      }
      return Optional.of(path);
    }
    String searchPath = System.getenv("PATH");
    if (searchPath == null) {
      return Optional.empty();
    }
    for (String directory : searchPath.split(":", -1)) {
      if (directory.isEmpty()) {
        continue;
      }
      Path candidate = Path.of(directory, "etcd");
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /**
   * Returns the first line of {@code etcd --version}, or a note saying why it is unknown.
   *
   * @throws InterruptedException if the thread is interrupted
   */
  static String version(Path executable) throws InterruptedException {
    try {
      Process process =
          new ProcessBuilder(executable.toString(), "--version").redirectErrorStream(true).start();
      process.getOutputStream().close();
      if (!process.waitFor(VERSION_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        return "unknown version (etcd --version did not answer)";
      }
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      return output.lines().findFirst().orElse("unknown version").trim();
    } catch (IOException e) {
      return "unknown version (" + e + ")";
    }
  }

  /**
   * Starts {@code size} members at once and returns when every one sees the same leader.
   *
   * @throws IllegalStateException if the members do not agree on a leader within the start timeout
   *     (the members started are stopped)
   * @throws UncheckedIOException if a member cannot be launched
   * @throws InterruptedException if the thread is interrupted (the members started are stopped)
   */
  static EtcdCluster start(Path executable, Path dir, int size) throws InterruptedException {
    List<Member> members = new ArrayList<>();
    for (int i = 1; i <= size; i++) {
      members.add(
          new Member(
              "etcd-" + i,
              NodeProcess.freeLoopbackPort(),
              NodeProcess.freeLoopbackPort(),
              dir.resolve("etcd-" + i),
              dir.resolve("etcd-" + i + ".log")));
    }
    EtcdCluster cluster = new EtcdCluster(executable, members);
    try {
      for (int index = 0; index < size; index++) {
        cluster.launch(index);
      }
      if (LocalCluster.await(START_TIMEOUT, () -> cluster.leaderIndex() >= 0) < 0) {
        throw new IllegalStateException(
            "the etcd members did not agree on a leader within " + START_TIMEOUT);
      }
      return cluster;
    } catch (RuntimeException | InterruptedException e) {
      cluster.close();
      throw e;
    }
  }

  /** Returns the number of members. */
  int size() {
    return members.size();
  }

  /** Returns the member at {@code index} (0-based). */
  Member member(int index) {
    return members.get(index);
  }

  private String initialCluster() {
    List<String> urls = new ArrayList<>();
    for (Member member : members) {
      urls.add(member.name() + "=" + member.peerUrl());
    }
    return String.join(",", urls);
  }

  /**
   * Launches the member at {@code index} (on its data directory, so a restart rejoins as the same
   * member) without waiting for it.
   *
   * @throws IllegalStateException if it is running
   * @throws UncheckedIOException if it cannot be launched
   */
  void launch(int index) {
    Process running = processes.get(index);
    if (running != null && running.isAlive()) {
      throw new IllegalStateException(member(index).name() + " is running");
    }
    Member self = member(index);
    List<String> command =
        List.of(
            executable.toString(),
            "--name",
            self.name(),
            "--data-dir",
            self.dataDir().toString(),
            "--listen-client-urls",
            self.clientUrl().toString(),
            "--advertise-client-urls",
            self.clientUrl().toString(),
            "--listen-peer-urls",
            self.peerUrl(),
            "--initial-advertise-peer-urls",
            self.peerUrl(),
            "--initial-cluster",
            initialCluster(),
            "--initial-cluster-state",
            "new",
            "--initial-cluster-token",
            "skein-bench",
            "--logger",
            "zap",
            "--log-outputs",
            "stderr");
    try {
      Path logDirectory = self.logFile().toAbsolutePath().getParent();
      if (logDirectory != null) {
        Files.createDirectories(logDirectory);
      }
      Files.writeString(
          self.logFile(),
          "### EtcdCluster: " + String.join(" ", command) + System.lineSeparator(),
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
      Process process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(Redirect.appendTo(self.logFile().toFile()))
              .start();
      process.getOutputStream().close();
      processes.set(index, process);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + String.join(" ", command), e);
    }
  }

  /**
   * Kills the member at {@code index} with SIGKILL and waits until it is gone.
   *
   * @throws IllegalStateException if it was never started or is still alive after the wait
   * @throws InterruptedException if the thread is interrupted
   */
  void killMember(int index) throws InterruptedException {
    Process process = processes.get(index);
    if (process == null) {
      throw new IllegalStateException(member(index).name() + " was never started");
    }
    process.destroyForcibly();
    if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new IllegalStateException(
          member(index).name() + " (pid " + process.pid() + ") survived SIGKILL");
    }
  }

  /**
   * Returns the process id of the member at {@code index} (0-based), or -1 if it is not running.
   */
  long pid(int index) {
    Process process = processes.get(index);
    return process != null && process.isAlive() ? process.pid() : -1;
  }

  /** Returns the process ids of the members that are running. */
  List<Long> pids() {
    List<Long> pids = new ArrayList<>();
    for (Process process : processes) {
      if (process != null && process.isAlive()) {
        pids.add(process.pid());
      }
    }
    return pids;
  }

  /**
   * Returns what the member at {@code index} says of itself, or null if it does not answer.
   *
   * @throws InterruptedException if the thread is interrupted
   */
  @Nullable Status status(int index) throws InterruptedException {
    try {
      HttpJson.Response response = statusClients.get(index).post("/v3/maintenance/status", "{}");
      if (response.status() != 200) {
        return null;
      }
      JsonNode body = JSON.readTree(response.body());
      return new Status(
          body.path("header").path("member_id").asText(""),
          body.path("leader").asText("0"),
          body.path("raftIndex").asLong(-1),
          body.path("raftAppliedIndex").asLong(-1));
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * Returns the index of the leader if every member answers and names the same leader, else -1.
   *
   * @throws InterruptedException if the thread is interrupted
   */
  int leaderIndex() throws InterruptedException {
    String leader = null;
    int leaderIndex = -1;
    for (int index = 0; index < size(); index++) {
      Status status = status(index);
      if (status == null || status.leaderId().equals("0") || status.leaderId().isEmpty()) {
        return -1;
      }
      if (leader == null) {
        leader = status.leaderId();
      } else if (!leader.equals(status.leaderId())) {
        return -1;
      }
      if (status.memberId().equals(status.leaderId())) {
        leaderIndex = index;
      }
    }
    return leaderIndex;
  }

  /**
   * Returns whether every member answers, names the same leader, and has applied the same last
   * index: every entry is on every member.
   *
   * @throws InterruptedException if the thread is interrupted
   */
  boolean settled() throws InterruptedException {
    if (leaderIndex() < 0) {
      return false;
    }
    long applied = -1;
    for (int index = 0; index < size(); index++) {
      Status status = status(index);
      if (status == null || (applied >= 0 && status.appliedIndex() != applied)) {
        return false;
      }
      applied = status.appliedIndex();
    }
    return true;
  }

  /**
   * Returns the lines of the members' logs whose level is warn or above ({@code "level":"warn"},
   * error, fatal), each prefixed with the member's name.
   */
  List<String> warningsAndErrors() {
    List<String> found = new ArrayList<>();
    for (Member member : members) {
      LogLines.addMatching(
          found,
          member.name(),
          member.logFile(),
          line ->
              line.contains("\"level\":\"warn\"")
                  || line.contains("\"level\":\"error\"")
                  || line.contains("\"level\":\"fatal\""));
    }
    return found;
  }

  /** Deletes every member's data directory (the logs stay). Call after {@link #close()}. */
  void deleteData() {
    for (Member member : members) {
      TempDirs.delete(member.dataDir());
    }
  }

  /** Stops every member still running: SIGTERM, then SIGKILL after the stop timeout. */
  @Override
  public void close() {
    boolean interrupted = false;
    for (Process process : processes) {
      if (process == null || !process.isAlive()) {
        continue;
      }
      process.destroy();
      try {
        if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
          process.destroyForcibly();
          process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        interrupted = true;
      }
    }
    statusClients.forEach(HttpJson::close);
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
