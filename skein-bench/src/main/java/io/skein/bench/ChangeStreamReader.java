package io.skein.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import org.jspecify.annotations.Nullable;

/**
 * Holds one SSE change stream ({@code GET /v1/changes?since=now}, {@code Accept:
 * text/event-stream}) open on a node and records, for each document {@code PREFIX<n>} of one
 * collection, the {@link System#nanoTime()} at which its first change event was read.
 *
 * <p>Design notes. One platform thread reads the stream line by line and takes the time as soon as
 * it has read a {@code data:} line, before parsing it, so the time is when the event left the
 * socket, not when the bench got round to it. Events for other collections or ids, and repeats of
 * an id, are counted and otherwise ignored. The ids are bounded by {@code idsMax} (the arrival
 * table is allocated once). A stream that ends or fails records why in {@link #failure()}; nothing
 * reconnects, so a failure shows as missing arrivals.
 *
 * <p>Thread-safe: the getters may be called from any thread while the reader runs.
 */
final class ChangeStreamReader implements AutoCloseable {
  /** The value of an arrival not seen yet. */
  static final long NOT_SEEN = Long.MIN_VALUE;

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String FEED_COMMENT = ": skein change feed from ";
  private static final String DATA_PREFIX = "data: ";
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
  private static final Duration JOIN_TIMEOUT = Duration.ofSeconds(5);

  private final String collection;
  private final String idPrefix;
  private final AtomicLongArray arrivalNanos;
  private final HttpClient client;
  private final CountDownLatch opened = new CountDownLatch(1);
  private final Thread thread;
  private volatile @Nullable InputStream body;
  private volatile @Nullable String failure;
  private volatile boolean closing;
  private volatile long events;
  private volatile long repeats;
  private volatile long unrelated;

  private ChangeStreamReader(URI baseUrl, String collection, String idPrefix, int idsMax) {
    this.collection = collection;
    this.idPrefix = idPrefix;
    long[] notSeen = new long[idsMax];
    Arrays.fill(notSeen, NOT_SEEN);
    this.arrivalNanos = new AtomicLongArray(notSeen);
    this.client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(CONNECT_TIMEOUT)
            .build();
    URI uri = baseUrl.resolve("/v1/changes?since=now");
    this.thread =
        Thread.ofPlatform().daemon().name("bench-change-stream").unstarted(() -> read(uri));
  }

  /**
   * Opens the stream and returns once the node has sent its first line (the stream then starts from
   * the node's current end: changes made before this returns may be missed).
   *
   * @param idsMax ids {@code PREFIX0} to {@code PREFIX<idsMax - 1>} are recorded
   * @throws IllegalStateException if the stream does not open within {@code timeout}
   * @throws InterruptedException if the thread is interrupted
   */
  static ChangeStreamReader open(
      URI baseUrl, String collection, String idPrefix, int idsMax, Duration timeout)
      throws InterruptedException {
    ChangeStreamReader reader = new ChangeStreamReader(baseUrl, collection, idPrefix, idsMax);
    reader.thread.start();
    if (!reader.opened.await(timeout.toNanos(), TimeUnit.NANOSECONDS) || reader.failure != null) {
      String why = reader.failure;
      reader.close();
      throw new IllegalStateException(
          "the change stream of "
              + baseUrl
              + " did not open within "
              + timeout
              + (why == null ? "" : ": " + why));
    }
    return reader;
  }

  private void read(URI uri) {
    HttpRequest request =
        HttpRequest.newBuilder(uri).header("Accept", "text/event-stream").GET().build();
    try {
      HttpResponse<InputStream> response =
          client.send(request, HttpResponse.BodyHandlers.ofInputStream());
      InputStream in = response.body();
      body = in;
      if (response.statusCode() != 200) {
        throw new IOException("the change stream answered " + response.statusCode());
      }
      try (BufferedReader lines =
          new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = lines.readLine()) != null) {
          readLine(line);
        }
      }
      fail("the node ended the change stream");
    } catch (IOException | RuntimeException e) {
      fail(String.valueOf(e));
    } catch (InterruptedException e) {
      fail("interrupted");
    } finally {
      opened.countDown();
    }
  }

  private void readLine(String line) throws IOException {
    if (line.startsWith(DATA_PREFIX)) {
      long nowNanos = System.nanoTime();
      record(JSON.readTree(line.substring(DATA_PREFIX.length())), nowNanos);
    } else if (line.startsWith(FEED_COMMENT)) {
      opened.countDown();
    }
  }

  // Only the reader thread writes the counters, so the non-atomic increments are safe.
  @SuppressWarnings("NonAtomicVolatileUpdate")
  private void record(JsonNode change, long nowNanos) {
    events++;
    String id = change.path("id").asText();
    if (!change.path("collection").asText().equals(collection) || !id.startsWith(idPrefix)) {
      unrelated++;
      return;
    }
    int index;
    try {
      index = Integer.parseInt(id.substring(idPrefix.length()));
    } catch (NumberFormatException e) {
      unrelated++;
      return;
    }
    if (index < 0 || index >= arrivalNanos.length()) {
      unrelated++;
    } else if (!arrivalNanos.compareAndSet(index, NOT_SEEN, nowNanos)) {
      repeats++;
    }
  }

  private void fail(String why) {
    if (!closing && failure == null) {
      failure = why;
    }
  }

  /** Returns when the change for id {@code PREFIX<index>} was read, or {@link #NOT_SEEN}. */
  long arrivalNanos(int index) {
    return arrivalNanos.get(index);
  }

  /** Returns the number of change events read, of any collection. */
  long events() {
    return events;
  }

  /** Returns the events for an id already seen. */
  long repeats() {
    return repeats;
  }

  /** Returns the events for other collections or ids. */
  long unrelated() {
    return unrelated;
  }

  /** Returns why the stream ended before {@link #close()}, or null while it runs. */
  @Nullable String failure() {
    return failure;
  }

  /** Closes the stream and waits (bounded) for the reader thread to end. */
  @Override
  public void close() {
    closing = true;
    InputStream in = body;
    if (in != null) {
      try {
        in.close();
      } catch (IOException e) {
        // The stream is being abandoned; the client's shutdown below closes the connection.
      }
    }
    client.shutdownNow();
    try {
      if (!thread.join(JOIN_TIMEOUT)) {
        throw new IllegalStateException("the change stream reader did not stop in " + JOIN_TIMEOUT);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      client.close();
    }
  }
}
