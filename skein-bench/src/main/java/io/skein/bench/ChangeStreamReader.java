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
 * Holds an SSE change stream ({@code GET /v1/changes?since=now}, {@code Accept: text/event-stream})
 * open on a node and records, for each document {@code PREFIX<n>} of one collection, the {@link
 * System#nanoTime()} at which its first change event was read.
 *
 * <p>Design notes. One platform thread reads the stream line by line and takes the time as soon as
 * it has read a {@code data:} line, before parsing it, so the time is when the event left the
 * socket, not when the bench got round to it. Events for other collections or ids, and repeats of
 * an id, are counted and otherwise ignored. The ids are bounded by {@code idsMax} (the arrival
 * table is allocated once).
 *
 * <p>When the node ends the stream, the reader does what the API documents for clients: it opens a
 * new stream with {@code Last-Event-ID} set to the last {@code id:} it read, after {@value
 * #REOPEN_PAUSE_MS} ms, so no event is lost; the events in between arrive late, and that lateness
 * is measured like any other. It counts the reopenings and keeps why the first stream ended (the
 * last line that was not SSE, such as an error object the node wrote into the stream). After
 * {@value #REOPENINGS_MAX} reopenings, or if the first stream cannot be opened, it gives up and
 * {@link #failure()} says why.
 *
 * <p>Thread-safe: the getters may be called from any thread while the reader runs.
 */
final class ChangeStreamReader implements AutoCloseable {
  /** The value of an arrival not seen yet. */
  static final long NOT_SEEN = Long.MIN_VALUE;

  private static final int REOPENINGS_MAX = 1_000;
  private static final long REOPEN_PAUSE_MS = 10;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String FEED_COMMENT = ": skein change feed from ";
  private static final String DATA_PREFIX = "data: ";
  private static final String ID_PREFIX = "id: ";
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
  private static final Duration JOIN_TIMEOUT = Duration.ofSeconds(5);
  private static final int ERROR_TEXT_MAX = 300;

  private final URI uri;
  private final String collection;
  private final String idPrefix;
  private final AtomicLongArray arrivalNanos;
  private final AtomicLongArray reopenedStreamNanos;
  private final HttpClient client;
  private final CountDownLatch opened = new CountDownLatch(1);
  private final Thread thread;
  private volatile @Nullable InputStream body;
  private volatile @Nullable String failure;
  private volatile @Nullable String firstEnding;
  private volatile @Nullable String lastEventId;
  private volatile boolean closing;
  private volatile long events;
  private volatile long repeats;
  private volatile long unrelated;
  private volatile int reopenings;
  private volatile long reopenedNanos;

  private ChangeStreamReader(URI baseUrl, String collection, String idPrefix, int idsMax) {
    this.uri = baseUrl.resolve("/v1/changes?since=now");
    this.collection = collection;
    this.idPrefix = idPrefix;
    long[] notSeen = new long[idsMax];
    Arrays.fill(notSeen, NOT_SEEN);
    this.arrivalNanos = new AtomicLongArray(notSeen);
    this.reopenedStreamNanos = new AtomicLongArray(notSeen);
    this.client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(CONNECT_TIMEOUT)
            .build();
    this.thread = Thread.ofPlatform().daemon().name("bench-change-stream").unstarted(this::run);
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

  /** Reads streams, one after the other, until closed or given up. */
  @SuppressWarnings("NonAtomicVolatileUpdate") // Only the reader thread writes the counters.
  private void run() {
    try {
      while (!closing) {
        String ending = readOneStream();
        if (closing) {
          return;
        }
        if (opened.getCount() > 0) {
          failure = "the first change stream did not open: " + ending;
          return;
        }
        if (firstEnding == null) {
          firstEnding = ending;
        }
        if (reopenings >= REOPENINGS_MAX) {
          failure = "gave up after " + reopenings + " reopenings; the last stream: " + ending;
          return;
        }
        reopenings++;
        Thread.sleep(REOPEN_PAUSE_MS);
      }
    } catch (InterruptedException e) {
      if (!closing) {
        failure = "interrupted";
      }
    } finally {
      opened.countDown();
    }
  }

  /** Reads one stream to its end and returns why it ended. */
  private String readOneStream() throws InterruptedException {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri).header("Accept", "text/event-stream");
    String resumeAfter = lastEventId;
    if (resumeAfter != null) {
      request.header("Last-Event-ID", resumeAfter);
    }
    try {
      HttpResponse<InputStream> response =
          client.send(request.GET().build(), HttpResponse.BodyHandlers.ofInputStream());
      InputStream in = response.body();
      body = in;
      try (BufferedReader lines =
          new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        if (response.statusCode() != 200) {
          return "answered " + response.statusCode() + ": " + firstLine(lines);
        }
        String unexpected = null;
        String line;
        while ((line = lines.readLine()) != null) {
          if (!readLine(line)) {
            unexpected = line;
          }
        }
        return "the node ended the stream"
            + (unexpected == null ? "" : " after writing " + clip(unexpected));
      }
    } catch (IOException | RuntimeException e) {
      return String.valueOf(e);
    }
  }

  private static String firstLine(BufferedReader lines) throws IOException {
    String line = lines.readLine();
    return line == null ? "(no body)" : clip(line);
  }

  private static String clip(String text) {
    return text.length() <= ERROR_TEXT_MAX ? text : text.substring(0, ERROR_TEXT_MAX) + "...";
  }

  /** Handles one line; returns false if it is not a line of an SSE stream. */
  private boolean readLine(String line) throws IOException {
    if (line.startsWith(DATA_PREFIX)) {
      long nowNanos = System.nanoTime();
      record(JSON.readTree(line.substring(DATA_PREFIX.length())), nowNanos);
    } else if (line.startsWith(ID_PREFIX)) {
      lastEventId = line.substring(ID_PREFIX.length());
    } else if (line.startsWith(FEED_COMMENT)) {
      reopenedNanos = System.nanoTime();
      opened.countDown();
    } else if (!line.isEmpty() && !line.startsWith(":") && !line.startsWith("event:")) {
      return false;
    }
    return true;
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
    } else if (reopenings > 0) {
      reopenedStreamNanos.set(index, reopenedNanos);
    }
  }

  /** Returns when the change for id {@code PREFIX<index>} was read, or {@link #NOT_SEEN}. */
  long arrivalNanos(int index) {
    return arrivalNanos.get(index);
  }

  /**
   * Returns when the reopened stream that delivered the change for id {@code PREFIX<index>} sent
   * its first line, or {@link #NOT_SEEN} if the first stream delivered it (or nothing did).
   */
  long reopenedStreamNanos(int index) {
    return reopenedStreamNanos.get(index);
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

  /** Returns how many times the node ended the stream and it was opened again. */
  int reopenings() {
    return reopenings;
  }

  /** Returns why the first stream the node ended ended, or null if none ended. */
  @Nullable String firstEnding() {
    return firstEnding;
  }

  /** Returns why the reader gave up, or null while it runs. */
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
    thread.interrupt();
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
