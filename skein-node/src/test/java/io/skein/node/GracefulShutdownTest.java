package io.skein.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.skein.Skein;
import io.skein.SkeinConfig;
import io.skein.node.config.ConfigSources;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shutting down (what SIGTERM does) while clients write: every write that was acknowledged is in
 * the store after it reopens, and the shutdown completes.
 */
class GracefulShutdownTest {
  @TempDir Path dir;

  @Test
  @Timeout(120)
  void everyAcknowledgedWriteSurvivesAShutdownUnderLoad() throws Exception {
    NodeServer server =
        NodeServer.start(
            ConfigSources.builder()
                .flag("--port", String.valueOf(0))
                .flag("--data-dir", String.valueOf(dir))
                .build());
    String base = "http://127.0.0.1:" + server.port();
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    Set<String> acknowledged = ConcurrentHashMap.newKeySet();
    AtomicInteger refused = new AtomicInteger();
    List<Thread> writers = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      int thread = t;
      writers.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    for (int n = 0; n < 5_000; n++) {
                      String id = "w" + thread + "-" + n;
                      try {
                        HttpResponse<String> response =
                            http.send(
                                HttpRequest.newBuilder(
                                        URI.create(base + "/v1/collections/c/docs/" + id))
                                    .timeout(Duration.ofSeconds(10))
                                    .header("Content-Type", "application/json")
                                    .PUT(HttpRequest.BodyPublishers.ofString("{\"n\":" + n + "}"))
                                    .build(),
                                HttpResponse.BodyHandlers.ofString());
                        if (response.statusCode() == 200) {
                          acknowledged.add(id);
                        } else {
                          assertThat(response.statusCode()).isEqualTo(503);
                          refused.incrementAndGet();
                          return;
                        }
                      } catch (java.io.IOException e) {
                        return; // the listener closed: the write was not acknowledged
                      } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                      }
                    }
                  }));
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (acknowledged.size() < 300 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(acknowledged.size()).isGreaterThanOrEqualTo(300);
    server.close();
    for (Thread writer : writers) {
      writer.join(TimeUnit.SECONDS.toMillis(30));
    }
    try (Skein reopened = Skein.open(SkeinConfig.builder(dir, "1").build())) {
      for (String id : acknowledged) {
        assertThat(reopened.collection("c").get(id)).as(id).isPresent();
      }
    }
  }
}
