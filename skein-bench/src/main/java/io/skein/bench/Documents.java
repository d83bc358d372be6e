package io.skein.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * The ids and bodies every benchmark writes, identical for Skein and for raw SQLite so that both
 * sides store the same rows.
 *
 * <p>Each writer has its own id prefix and counts up, so every put creates a new row (no write ever
 * replaces another writer's row). Bodies come from a small pool of ~150-byte JSON objects built
 * once, so that generating them costs nothing inside the measured loop.
 */
final class Documents {
  /** The collection (raw SQLite: the {@code collection} column) every put goes to. */
  static final String COLLECTION = "bench";

  private static final int BODY_POOL_SIZE = 256;
  private static final List<String> BODIES = bodies();

  private Documents() {}

  /** Returns the id of a writer's {@code sequence}-th document. */
  static String id(int writer, long sequence) {
    return "w" + writer + "-" + sequence;
  }

  /** Returns the body of the {@code sequence}-th document of any writer. */
  static String body(long sequence) {
    return BODIES.get((int) (sequence % BODY_POOL_SIZE));
  }

  /**
   * Returns the closed-loop operations of HTTP PUT workers: worker {@code i} PUTs documents {@code
   * <idPrefix>-<i>-<n>} (n counting up from 0) to {@code documents} with the given write concern.
   */
  static IntFunction<ClosedLoop.Operation> httpPuts(
      HttpClient client, Duration timeout, URI documents, String idPrefix, String writeConcern) {
    return worker ->
        httpPut(client, timeout, documents, idPrefix + "-" + worker + "-", writeConcern);
  }

  /**
   * Returns a closed-loop operation that PUTs documents {@code <idPrefix><n>} (n counting up from
   * 0) to {@code documents} over HTTP with the given write concern.
   *
   * <p>The operation throws {@link IllegalStateException} if a PUT does not answer 200, and the
   * client's exceptions if the request fails or times out.
   */
  private static ClosedLoop.Operation httpPut(
      HttpClient client, Duration timeout, URI documents, String idPrefix, String writeConcern) {
    long[] sequence = {0};
    return () -> {
      long s = sequence[0]++;
      HttpRequest request =
          HttpRequest.newBuilder(documents.resolve(idPrefix + s + "?w=" + writeConcern))
              .timeout(timeout)
              .header("Content-Type", "application/json")
              .PUT(HttpRequest.BodyPublishers.ofString(body(s)))
              .build();
      HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IllegalStateException(
            "PUT answered " + response.statusCode() + ": " + response.body());
      }
      return 1;
    };
  }

  private static List<String> bodies() {
    String[] cities = {"Lyon", "Oslo", "Lima", "Kyiv", "Pune", "Baku", "Riga", "Doha"};
    List<String> bodies = new ArrayList<>(BODY_POOL_SIZE);
    for (int i = 0; i < BODY_POOL_SIZE; i++) {
      bodies.add(
          "{\"name\":\"user-"
              + i
              + "\",\"email\":\"user-"
              + i
              + "@example.com\",\"age\":"
              + (18 + i % 60)
              + ",\"active\":"
              + (i % 3 != 0)
              + ",\"tags\":[\"bench\",\"t"
              + (i % 7)
              + "\"],\"address\":{\"city\":\""
              + cities[i % cities.length]
              + "\",\"zip\":\""
              + (10_000 + i * 37)
              + "\"}}");
    }
    return List.copyOf(bodies);
  }
}
