package io.skein.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;

/**
 * Puts documents {@code PREFIX0}, {@code PREFIX1}, ... at a steady rate, open loop: write {@code i}
 * is due at {@code start + i / rate}, whenever the earlier writes are answered.
 *
 * <p>Design notes. A fixed pool of sender threads takes the next write in order, sleeps until it is
 * due and sends it synchronously. Latency is measured from when the write was due, not from when it
 * was sent, so a stall of the node counts in full for every write it delayed (no coordinated
 * omission), even when all senders are busy and writes go out late. The senders bound the writes in
 * flight, and every request has a timeout, so a run ends within {@code writes / rate} plus one
 * timeout. A write that fails (a status other than 200, or a transport error) is counted; its
 * acknowledgement stays {@link #NOT_ACKNOWLEDGED}.
 */
final class OpenLoopWriter {
  /** The acknowledgement time of a write that was not acknowledged. */
  static final long NOT_ACKNOWLEDGED = Long.MIN_VALUE;

  private static final long JOIN_MARGIN_MS = 10_000;

  private OpenLoopWriter() {}

  /**
   * What a run did.
   *
   * @param startNanos when write 0 was due ({@link System#nanoTime()})
   * @param ratePerSecond the rate writes were due at
   * @param writes writes due
   * @param acknowledged writes answered 200
   * @param failed writes that failed
   * @param firstError the first failure, or null
   * @param elapsedNanos from {@code startNanos} to the last answer
   * @param sentLateMaxNanos the most a write went out after it was due (all senders were busy)
   * @param acknowledgedNanos when each write's 200 was read, or {@link #NOT_ACKNOWLEDGED}
   * @param latencyMicros from due to acknowledged, of the writes from {@code measuredFrom} on
   */
  record Result(
      long startNanos,
      int ratePerSecond,
      int writes,
      int acknowledged,
      int failed,
      @Nullable String firstError,
      long elapsedNanos,
      long sentLateMaxNanos,
      AtomicLongArray acknowledgedNanos,
      Histogram latencyMicros) {

    /** Returns when write {@code index} was due. */
    long dueNanos(int index) {
      return OpenLoopWriter.dueNanos(startNanos, ratePerSecond, index);
    }
  }

  private static long dueNanos(long startNanos, int ratePerSecond, int index) {
    return startNanos + index * TimeUnit.SECONDS.toNanos(1) / ratePerSecond;
  }

  /**
   * Runs the writes and returns once every one is answered or failed.
   *
   * @param documents where the documents go: {@code .../v1/collections/c/docs/}
   * @param query the query string of every put, with its {@code ?} (or empty)
   * @param measuredFrom the first write whose latency is recorded (the ones before warm up)
   * @throws IllegalStateException if a sender does not stop in time
   * @throws InterruptedException if the thread is interrupted
   */
  static Result run(
      HttpClient client,
      URI documents,
      String query,
      String idPrefix,
      int writes,
      int measuredFrom,
      int ratePerSecond,
      int senders,
      Duration requestTimeout)
      throws InterruptedException {
    long[] notAcknowledged = new long[writes];
    Arrays.fill(notAcknowledged, NOT_ACKNOWLEDGED);
    AtomicLongArray acknowledged = new AtomicLongArray(notAcknowledged);
    AtomicInteger next = new AtomicInteger();
    // Starts a little ahead, so every sender is running before the first write is due.
    long startNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50);
    List<Sender> started = new ArrayList<>();
    for (int i = 0; i < senders; i++) {
      Sender sender =
          new Sender(
              client,
              documents,
              query,
              idPrefix,
              writes,
              measuredFrom,
              ratePerSecond,
              startNanos,
              next,
              acknowledged,
              requestTimeout);
      sender.thread = Thread.ofPlatform().name("bench-open-loop-" + i).start(sender);
      started.add(sender);
    }
    long runMs =
        TimeUnit.SECONDS.toMillis(writes) / ratePerSecond
            + requestTimeout.toMillis()
            + JOIN_MARGIN_MS;
    long deadlineNanos = startNanos + TimeUnit.MILLISECONDS.toNanos(runMs);
    for (Sender sender : started) {
      Thread thread = sender.thread;
      long leftMs = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
      if (thread != null && !thread.join(Duration.ofMillis(Math.max(1, leftMs)))) {
        throw new IllegalStateException("open-loop sender did not stop within " + runMs + " ms");
      }
    }
    return merge(started, startNanos, ratePerSecond, writes, acknowledged);
  }

  private static Result merge(
      List<Sender> senders,
      long startNanos,
      int ratePerSecond,
      int writes,
      AtomicLongArray acknowledged) {
    Histogram latency = ClosedLoop.newHistogram();
    int acknowledgedCount = 0;
    int failed = 0;
    String firstError = null;
    long lastNanos = startNanos;
    long lateMaxNanos = 0;
    for (Sender sender : senders) {
      latency.add(sender.latencyMicros);
      acknowledgedCount += sender.acknowledged;
      failed += sender.failed;
      lastNanos = Math.max(lastNanos, sender.lastAnswerNanos);
      lateMaxNanos = Math.max(lateMaxNanos, sender.sentLateMaxNanos);
      if (firstError == null) {
        firstError = sender.firstError;
      }
    }
    return new Result(
        startNanos,
        ratePerSecond,
        writes,
        acknowledgedCount,
        failed,
        firstError,
        lastNanos - startNanos,
        lateMaxNanos,
        acknowledged,
        latency);
  }

  /** One sender thread; its counters are read only after it is joined. */
  private static final class Sender implements Runnable {
    private final HttpClient client;
    private final URI documents;
    private final String query;
    private final String idPrefix;
    private final int writes;
    private final int measuredFrom;
    private final int ratePerSecond;
    private final long startNanos;
    private final AtomicInteger next;
    private final AtomicLongArray acknowledgedNanos;
    private final Duration requestTimeout;
    private final Histogram latencyMicros = ClosedLoop.newHistogram();
    @Nullable Thread thread;
    private int acknowledged;
    private int failed;
    private @Nullable String firstError;
    private long lastAnswerNanos;
    private long sentLateMaxNanos;

    Sender(
        HttpClient client,
        URI documents,
        String query,
        String idPrefix,
        int writes,
        int measuredFrom,
        int ratePerSecond,
        long startNanos,
        AtomicInteger next,
        AtomicLongArray acknowledgedNanos,
        Duration requestTimeout) {
      this.client = client;
      this.documents = documents;
      this.query = query;
      this.idPrefix = idPrefix;
      this.writes = writes;
      this.measuredFrom = measuredFrom;
      this.ratePerSecond = ratePerSecond;
      this.startNanos = startNanos;
      this.next = next;
      this.acknowledgedNanos = acknowledgedNanos;
      this.requestTimeout = requestTimeout;
    }

    @Override
    public void run() {
      for (int index = next.getAndIncrement(); index < writes; index = next.getAndIncrement()) {
        long due = dueNanos(startNanos, ratePerSecond, index);
        sleepUntil(due);
        sentLateMaxNanos = Math.max(sentLateMaxNanos, System.nanoTime() - due);
        send(index, due);
        if (Thread.currentThread().isInterrupted()) {
          return;
        }
      }
    }

    private static void sleepUntil(long dueNanos) {
      for (long left = dueNanos - System.nanoTime();
          left > 0;
          left = dueNanos - System.nanoTime()) {
        LockSupport.parkNanos(left);
      }
    }

    private void send(int index, long dueNanos) {
      HttpRequest request =
          HttpRequest.newBuilder(documents.resolve(idPrefix + index + query))
              .timeout(requestTimeout)
              .header("Content-Type", "application/json")
              .PUT(HttpRequest.BodyPublishers.ofString(Documents.body(index)))
              .build();
      try {
        HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
        long answeredNanos = System.nanoTime();
        lastAnswerNanos = answeredNanos;
        if (response.statusCode() != 200) {
          failure("PUT " + index + " answered " + response.statusCode() + ": " + response.body());
          return;
        }
        acknowledgedNanos.set(index, answeredNanos);
        acknowledged++;
        if (index >= measuredFrom) {
          long micros = TimeUnit.NANOSECONDS.toMicros(answeredNanos - dueNanos);
          latencyMicros.recordValue(Math.min(Math.max(micros, 1), ClosedLoop.LATENCY_MICROS_MAX));
        }
      } catch (java.io.IOException e) {
        lastAnswerNanos = System.nanoTime();
        failure("PUT " + index + ": " + e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        failure("interrupted");
      }
    }

    private void failure(String message) {
      failed++;
      if (firstError == null) {
        firstError = message;
      }
    }
  }
}
