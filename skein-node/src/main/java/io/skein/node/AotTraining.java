package io.skein.node;

import io.skein.node.config.ConfigSources;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code datastore-node aot-train}: the training run of the JDK's ahead-of-time cache (JEP 483 and
 * 515 on JDK 25, a dynamic CDS archive on JDK 21 to 24), which {@code bin/datastore-node} builds
 * once per build of the jar. It runs a three-node leader-mode cluster in this JVM on loopback ports
 * and a temporary directory, writes, reads, queries and batches through the HTTP API for a few
 * seconds, so that the classes (and on JDK 25 the method profiles) of the client and replication
 * paths go into the cache, then stops the nodes and deletes the directory. Hidden: an operator
 * never needs it.
 */
@Command(
    name = "aot-train",
    hidden = true,
    description = "Exercises a throwaway 3-node cluster in this JVM (for the JDK's AOT cache).")
final class AotTraining implements Callable<Integer> {
  @Option(names = "--seconds", description = "How long to write (default ${DEFAULT-VALUE}).")
  int seconds = 15;

  @Override
  public Integer call() throws Exception {
    if (seconds < 1 || seconds > 600) {
      System.err.println("aot-train: --seconds must be between 1 and 600, was " + seconds);
      return 2;
    }
    Path dir = Files.createTempDirectory("skein-aot-train");
    List<NodeServer> servers = new ArrayList<>();
    try {
      int[] ports = {freePort(), freePort(), freePort()};
      String secret = "aot-training-" + System.nanoTime() + "-not-a-real-secret";
      for (int i = 0; i < 3; i++) {
        List<String> peers = new ArrayList<>();
        for (int j = 0; j < 3; j++) {
          if (j != i) {
            peers.add(
                "{\"node_id\":" + (j + 1) + ",\"host\":\"127.0.0.1\",\"port\":" + ports[j] + "}");
          }
        }
        servers.add(
            NodeServer.start(
                ConfigSources.builder()
                    .flag("--port", Integer.toString(ports[i]))
                    .flag("--host", "127.0.0.1")
                    .flag("--node-id", Integer.toString(i + 1))
                    .flag("--mode", "leader")
                    .flag("--role", i == 0 ? "primary" : "secondary")
                    .flag("--data-dir", dir.resolve("node-" + (i + 1)).toString())
                    .flag("--peers", "[" + String.join(",", peers) + "]")
                    .flag("--cluster-secret", secret)
                    .flag("--reload-watch", "false")
                    .flag("--log-level", "warn")
                    .build()));
      }
      URI primary = URI.create("http://127.0.0.1:" + ports[0]);
      long written = exercise(primary, seconds);
      System.err.println("aot-train: " + written + " writes in " + seconds + " s");
      return written > 0 ? 0 : 1;
    } finally {
      for (NodeServer server : servers) {
        server.close();
      }
      deleteTree(dir);
    }
  }

  /** Eight clients write, read, batch and query for {@code seconds}; returns the writes made. */
  private static long exercise(URI primary, int seconds) throws InterruptedException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
    AtomicLong writes = new AtomicLong();
    List<Thread> clients = new ArrayList<>();
    for (int c = 0; c < 8; c++) {
      int client = c;
      clients.add(
          io.skein.internal.runtime.Threads.platform(
              "skein-aot-train-" + client,
              true,
              () -> {
                long n = 0;
                while (System.nanoTime() < end) {
                  n++;
                  String id = "c" + client + "-" + (n % 500);
                  String body = "{\"n\":" + n + ",\"client\":" + client + ",\"tag\":\"t\"}";
                  try {
                    if (send(http, put(primary.resolve("/v1/collections/train/docs/" + id), body))
                        == 200) {
                      writes.incrementAndGet();
                    } else {
                      Thread.sleep(50); // no primary yet
                      continue;
                    }
                    send(http, get(primary.resolve("/v1/collections/train/docs/" + id)));
                    if (n % 25 == 0) {
                      send(
                          http,
                          post(
                              primary.resolve("/v1/batch"),
                              "{\"ops\":[{\"op\":\"put\",\"collection\":\"train\",\"id\":\"b"
                                  + client
                                  + "\",\"doc\":{\"n\":1}},{\"op\":\"delete\",\"collection\":"
                                  + "\"train\",\"id\":\"gone\"}]}"));
                      send(
                          http,
                          post(
                              primary.resolve("/v1/collections/train/query"),
                              "{\"selector\":{\"n\":{\"$gt\":" + (n - 10) + "}},\"limit\":5}"));
                      send(http, get(primary.resolve("/v1/changes?limit=20")));
                    }
                  } catch (IOException e) {
                    sleepQuietly();
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                  }
                }
              }));
    }
    for (Thread t : clients) {
      t.join();
    }
    return writes.get();
  }

  private static void sleepQuietly() {
    try {
      Thread.sleep(50);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static int send(HttpClient http, HttpRequest request)
      throws IOException, InterruptedException {
    return http.send(request, HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  private static HttpRequest put(URI uri, String body) {
    return withBody(uri, "PUT", body);
  }

  private static HttpRequest post(URI uri, String body) {
    return withBody(uri, "POST", body);
  }

  private static HttpRequest withBody(URI uri, String method, String body) {
    return HttpRequest.newBuilder(uri)
        .timeout(Duration.ofSeconds(10))
        .header("Content-Type", "application/json")
        .method(method, HttpRequest.BodyPublishers.ofString(body))
        .build();
  }

  private static HttpRequest get(URI uri) {
    return HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private static void deleteTree(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + dir, e);
    }
  }
}
