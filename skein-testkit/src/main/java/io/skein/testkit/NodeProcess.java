package io.skein.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ProcessBuilder.Redirect;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * A {@code datastore-node} running as a child process of the test JVM, on a loopback port.
 *
 * <pre>{@code
 * try (NodeProcess node =
 *     NodeProcess.builder(Path.of(System.getProperty("skein.nodeJar")))
 *         .arguments("--node-id", "1", "--data-dir", dataDir.toString())
 *         .logFile(tempDir.resolve("node-1.log"))
 *         .start()) {
 *   HttpJson http = new HttpJson(node.baseUrl());
 *   ...
 *   node.kill(); // SIGKILL
 * }
 * }</pre>
 *
 * <p>Design notes. The node runs on the same JVM binary as the test ({@code
 * ProcessHandle.current().info().command()}), with {@code --host 127.0.0.1 --port P} added to the
 * caller's arguments, P a port that was free a moment before. Another process may take P in
 * between; the node then exits with status 1 and "cannot listen on" in its log, and the start is
 * retried on a new port, at most {@link #BIND_ATTEMPTS_MAX} times. Standard output and error go,
 * appended, to one log file, so that a restarted node adds to the log of the run before it, and
 * every failure message quotes the log's tail. This class only ever ends the process it started,
 * through its own {@link Process} handle, and every wait has a deadline.
 *
 * <p>Not thread-safe: one test thread drives a node; {@link #port()}, {@link #baseUrl()} and {@link
 * #pid()} may be read from any thread.
 */
public final class NodeProcess implements AutoCloseable {
  /** How many ports to try when the chosen free port is taken before the node binds it. */
  public static final int BIND_ATTEMPTS_MAX = 3;

  private static final Duration KILL_WAIT = Duration.ofSeconds(10);
  private static final long HEALTH_POLL_INTERVAL_MS = 50;
  private static final Duration HEALTH_CONNECT_TIMEOUT = Duration.ofSeconds(1);
  private static final Duration HEALTH_REQUEST_TIMEOUT = Duration.ofSeconds(2);
  private static final int LOG_TAIL_LINES = 40;
  private static final int LOG_TAIL_BYTES_MAX = 16 * 1024;
  private static final String BIND_FAILURE_MARKER = "cannot listen on";

  private final Process process;
  private final int port;
  private final URI baseUrl;
  private final Path logFile;
  private final long logStartOffset;

  private NodeProcess(Process process, int port, Path logFile, long logStartOffset) {
    this.process = process;
    this.port = port;
    this.baseUrl = URI.create("http://127.0.0.1:" + port);
    this.logFile = logFile;
    this.logStartOffset = logStartOffset;
  }

  /** Returns a builder for a node that runs {@code java -jar nodeJar}. */
  public static Builder builder(Path nodeJar) {
    return new Builder(nodeJar);
  }

  /** Configures and starts a {@link NodeProcess}. */
  public static final class Builder {
    private final Path nodeJar;
    private final List<String> jvmOptions = new ArrayList<>();
    private final List<String> arguments = new ArrayList<>();
    private @Nullable Path logFile;
    private Duration startTimeout = Duration.ofSeconds(30);
    private int fixedPort;
    private boolean portFromConfigFile;

    private Builder(Path nodeJar) {
      this.nodeJar = nodeJar;
    }

    /**
     * Adds arguments for {@code datastore-node}, after {@code --host} and {@code --port} (which
     * this class sets, so they must not be given).
     *
     * @throws IllegalArgumentException if an argument is {@code --host} or {@code --port}
     */
    public Builder arguments(String... values) {
      for (String value : values) {
        if (value.equals("--host") || value.equals("--port")) {
          throw new IllegalArgumentException(value + " is set by NodeProcess");
        }
        arguments.add(value);
      }
      return this;
    }

    /**
     * Binds this port instead of a free one (for clusters, whose members name each other's ports,
     * and for restarts). With a fixed port there is no retry when it is taken.
     *
     * @throws IllegalArgumentException if the port is not 1-65535
     */
    public Builder port(int port) {
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port must be 1-65535, was " + port);
      }
      this.fixedPort = port;
      return this;
    }

    /**
     * Leaves {@code --port} off the command line: the node's config file must give the {@link
     * #port(int) fixed port} as {@code node.port}, so that an edit of the file can move the node
     * while it runs (a flag outranks the file).
     *
     * @throws IllegalStateException at start if no fixed port was given
     */
    public Builder portFromConfigFile() {
      this.portFromConfigFile = true;
      return this;
    }

    /** Adds options for the node's JVM, before {@code -jar}. */
    public Builder jvmOptions(String... values) {
      jvmOptions.addAll(Arrays.asList(values));
      return this;
    }

    /** Sets the file that receives the node's standard output and error, appended (required). */
    public Builder logFile(Path file) {
      this.logFile = file;
      return this;
    }

    /**
     * Sets how long {@link #start()} waits for {@code GET /health} to answer 200 (default 30 s).
     *
     * @throws IllegalArgumentException if the timeout is not positive
     */
    public Builder startTimeout(Duration timeout) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("startTimeout must be positive, was " + timeout);
      }
      this.startTimeout = timeout;
      return this;
    }

    /**
     * Starts the node and waits until it serves.
     *
     * @throws IllegalStateException if no log file was set or the jar does not exist
     * @throws NodeProcessException if the node exits or is not healthy within the start timeout
     *     (the process is then killed), or no port could be bound in {@link #BIND_ATTEMPTS_MAX}
     *     attempts
     */
    public NodeProcess start() {
      Path log = logFile;
      if (log == null) {
        throw new IllegalStateException("NodeProcess.Builder needs a logFile");
      }
      if (!Files.isRegularFile(nodeJar)) {
        throw new IllegalStateException(
            "node jar " + nodeJar + " does not exist: build skein-node (mvn package) first");
      }
      long deadlineNanos = System.nanoTime() + startTimeout.toNanos();
      for (int attempt = 1; ; attempt++) {
        NodeProcess node = launch(log, fixedPort != 0 ? fixedPort : freeLoopbackPort());
        try {
          node.awaitHealthy(deadlineNanos, startTimeout);
          return node;
        } catch (PortTakenException e) {
          if (fixedPort != 0 || attempt >= BIND_ATTEMPTS_MAX) {
            throw new NodeProcessException(
                "the node could not bind a port in "
                    + attempt
                    + " attempts"
                    + node.logTailMessage());
          }
        } catch (RuntimeException | Error e) {
          node.close();
          throw e;
        }
      }
    }

    private NodeProcess launch(Path log, int port) {
      List<String> command = new ArrayList<>();
      command.add(javaCommand());
      command.addAll(jvmOptions);
      command.addAll(List.of("-jar", nodeJar.toString()));
      command.addAll(List.of("--host", "127.0.0.1"));
      if (portFromConfigFile) {
        if (fixedPort == 0) {
          throw new IllegalStateException("portFromConfigFile needs a fixed port");
        }
      } else {
        command.addAll(List.of("--port", Integer.toString(port)));
      }
      command.addAll(arguments);
      try {
        Path parent = log.toAbsolutePath().getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
        long offset = Files.exists(log) ? Files.size(log) : 0;
        Files.writeString(
            log,
            "### NodeProcess: " + String.join(" ", command) + System.lineSeparator(),
            StandardCharsets.UTF_8,
            StandardOpenOption.CREATE,
            StandardOpenOption.APPEND);
        Process process =
            new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(Redirect.appendTo(log.toFile()))
                .start();
        closeStandardInput(process);
        return new NodeProcess(process, port, log, offset);
      } catch (IOException e) {
        throw new NodeProcessException("cannot start " + String.join(" ", command), e);
      }
    }
  }

  private static void closeStandardInput(Process process) {
    try {
      process.getOutputStream().close();
    } catch (IOException e) {
      // The node reads nothing from its standard input; an open pipe does no harm.
    }
  }

  /** The node exited because another process took its port first. */
  private static final class PortTakenException extends RuntimeException {
    private static final long serialVersionUID = 1L;
  }

  /**
   * Returns a loopback port that was free when this method looked: it binds port 0 on 127.0.0.1,
   * reads the port the system chose, and closes the socket.
   *
   * @throws UncheckedIOException if no socket can be bound
   */
  public static int freeLoopbackPort() {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1);
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot find a free loopback port", e);
    }
  }

  private void awaitHealthy(long deadlineNanos, Duration startTimeout) {
    URI health = baseUrl.resolve("/health");
    String lastProblem = "no answer yet";
    try (HttpClient client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(HEALTH_CONNECT_TIMEOUT)
            .build()) {
      while (true) {
        if (!process.isAlive()) {
          int status = process.exitValue();
          if (status == 1 && logSinceStart().contains(BIND_FAILURE_MARKER)) {
            throw new PortTakenException();
          }
          throw new NodeProcessException(
              "the node exited with status " + status + " before it served" + logTailMessage());
        }
        if (System.nanoTime() - deadlineNanos >= 0) {
          throw new NodeProcessException(
              "the node did not answer 200 on "
                  + health
                  + " within "
                  + startTimeout
                  + " (last: "
                  + lastProblem
                  + ")"
                  + logTailMessage());
        }
        lastProblem = probe(client, health);
        if (lastProblem.isEmpty()) {
          return;
        }
        // Paces the polls, and wakes at once if the process exits.
        process.waitFor(HEALTH_POLL_INTERVAL_MS, TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new NodeProcessException("interrupted while waiting for the node to serve", e);
    }
  }

  /** Returns "" if the node answered 200 on /health, else what went wrong. */
  private static String probe(HttpClient client, URI health) throws InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(health).timeout(HEALTH_REQUEST_TIMEOUT).build();
    try {
      int status = client.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
      return status == 200 ? "" : "status " + status;
    } catch (ConnectException e) {
      return "connection refused";
    } catch (IOException e) {
      return e.toString();
    }
  }

  /** Returns the operating system's id of the process. */
  public long pid() {
    return process.pid();
  }

  /** Returns the port the node serves on. */
  public int port() {
    return port;
  }

  /** Returns {@code http://127.0.0.1:PORT}. */
  public URI baseUrl() {
    return baseUrl;
  }

  /** Returns the file that receives the node's output. */
  public Path logFile() {
    return logFile;
  }

  /** Returns whether the process is running. */
  public boolean isAlive() {
    return process.isAlive();
  }

  /**
   * Kills the process with SIGKILL (no shutdown hook runs) and waits until it is gone.
   *
   * @return the exit status, 137 (128 + SIGKILL) on Linux unless the process had already exited
   * @throws NodeProcessException if the process is still alive {@link #KILL_WAIT} later
   */
  public int kill() {
    process.destroyForcibly();
    return awaitExit(KILL_WAIT, "SIGKILL");
  }

  /**
   * Asks the process to stop with SIGTERM (its shutdown hook drains and closes the store) and waits
   * up to {@code timeout} for it to exit.
   *
   * @return the exit status: 0 after a clean shutdown
   * @throws NodeProcessException if the process has not exited within {@code timeout}; it is then
   *     killed with SIGKILL
   */
  public int stop(Duration timeout) {
    process.destroy();
    try {
      return awaitExit(timeout, "SIGTERM");
    } catch (NodeProcessException e) {
      kill();
      throw e;
    }
  }

  private int awaitExit(Duration timeout, String signal) {
    try {
      if (!process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
        throw new NodeProcessException(
            "node pid "
                + process.pid()
                + " did not exit within "
                + timeout
                + " of "
                + signal
                + logTailMessage());
      }
      return process.exitValue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new NodeProcessException("interrupted while waiting for the node to exit", e);
    }
  }

  /** Kills the process if it is still alive (SIGKILL). */
  @Override
  public void close() {
    if (process.isAlive()) {
      kill();
    }
  }

  /**
   * Returns the last {@code lines} lines (or fewer) that this run of the node wrote to its log, for
   * failure messages.
   */
  public String logTail(int lines) {
    List<String> all = logSinceStart().lines().toList();
    return String.join(
        System.lineSeparator(), all.subList(Math.max(0, all.size() - lines), all.size()));
  }

  private String logTailMessage() {
    return System.lineSeparator()
        + "--- last lines of "
        + logFile
        + " ---"
        + System.lineSeparator()
        + logTail(LOG_TAIL_LINES);
  }

  /** Returns what this run wrote to the log, at most its last {@link #LOG_TAIL_BYTES_MAX} bytes. */
  private String logSinceStart() {
    try (SeekableByteChannel channel = Files.newByteChannel(logFile)) {
      long size = channel.size();
      long start = Math.max(logStartOffset, size - LOG_TAIL_BYTES_MAX);
      ByteBuffer buffer = ByteBuffer.allocate((int) Math.max(0, size - start));
      channel.position(start);
      while (buffer.hasRemaining() && channel.read(buffer) > 0) {
        // Reads until the buffer is full or the file ends.
      }
      return new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(cannot read " + logFile + ": " + e + ")";
    }
  }

  private static String javaCommand() {
    return ProcessHandle.current()
        .info()
        .command()
        .orElseGet(() -> Path.of(System.getProperty("java.home"), "bin", "java").toString());
  }
}
