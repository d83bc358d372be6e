package io.skein.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;

/**
 * Runs a closed-loop load: {@code workers} threads each call their {@link Operation} back to back,
 * first for a warm-up, then for the measured window, and stop.
 *
 * <p>Design notes. The main thread moves the phase (warm-up, measure, stop) and takes the time; a
 * worker counts an operation, and records its latency, if the phase is "measure" when the operation
 * returns. So operations that straddle the start are counted and those that straddle the end are
 * not, which balances out over a window much longer than one operation. Each worker has its own
 * counters and histogram; they are merged after the workers are joined. A failed operation is
 * counted as an error (the first message is kept) and the worker goes on.
 */
final class ClosedLoop {
  /** The largest latency a histogram records, in µs; longer ones are recorded as this. */
  static final long LATENCY_MICROS_MAX = TimeUnit.SECONDS.toMicros(120);

  /** How long stopping may take: the workers' operations in flight must end within it, in ms. */
  private static final long JOIN_TIMEOUT_MS = 120_000;

  private static final int WARMING = 0;
  private static final int MEASURING = 1;
  private static final int STOPPED = 2;

  private ClosedLoop() {}

  /** One operation of a worker; returns how many units (puts, requests) it did. */
  @FunctionalInterface
  interface Operation extends AutoCloseable {
    int run() throws Exception;

    /** Releases the worker's resources; called on the worker's thread after it stops. */
    @Override
    default void close() {}
  }

  /**
   * What a run measured.
   *
   * @param units units done in the window (puts, or requests)
   * @param calls operations completed in the window
   * @param errors operations that failed in the window
   * @param firstError the message of the first failure, warm-up included, or null
   * @param elapsedNanos the length of the window, in ns
   * @param process what the whole process used in the window: CPU time and bytes written
   * @param latencyMicros the latency of each completed operation, in µs
   */
  record Result(
      long units,
      long calls,
      long errors,
      @Nullable String firstError,
      long elapsedNanos,
      ProcessCounters process,
      Histogram latencyMicros) {

    /** Returns units per second. */
    double unitsPerSecond() {
      return units * 1e9 / elapsedNanos;
    }
  }

  /** Hooks run by the main thread at the edges of the window (to read counters). */
  interface Window {
    /** Runs just before the window opens. */
    void opening();

    /** Runs just after the window closed. */
    void closed();
  }

  /**
   * Runs the load and returns what the window measured.
   *
   * @param operations makes the operation of worker {@code i}, called on the calling thread
   * @throws IllegalStateException if a worker does not stop within the join timeout
   * @throws InterruptedException if the calling thread is interrupted
   */
  static Result run(
      int workers, IntFunction<Operation> operations, long warmupMs, long durationMs, Window window)
      throws InterruptedException {
    Phase phase = new Phase();
    List<Worker> started = new ArrayList<>(workers);
    for (int i = 0; i < workers; i++) {
      Worker worker = new Worker(operations.apply(i), phase);
      started.add(worker);
    }
    for (int i = 0; i < workers; i++) {
      started.get(i).thread = Thread.ofPlatform().name("bench-worker-" + i).start(started.get(i));
    }
    Thread.sleep(warmupMs);
    window.opening();
    ProcessCounters atStart = ProcessCounters.now();
    long startNanos = System.nanoTime();
    phase.value = MEASURING;
    Thread.sleep(durationMs);
    phase.value = STOPPED;
    long elapsedNanos = System.nanoTime() - startNanos;
    ProcessCounters process = ProcessCounters.now().minus(atStart);
    window.closed();
    joinAll(started);
    return merge(started, elapsedNanos, process);
  }

  private static void joinAll(List<Worker> workers) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(JOIN_TIMEOUT_MS);
    for (Worker worker : workers) {
      long leftMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
      Thread thread = worker.thread;
      if (thread != null && !thread.join(java.time.Duration.ofMillis(Math.max(1, leftMs)))) {
        throw new IllegalStateException(
            "worker " + thread.getName() + " did not stop within " + JOIN_TIMEOUT_MS + " ms");
      }
    }
  }

  private static Result merge(List<Worker> workers, long elapsedNanos, ProcessCounters process) {
    Histogram latency = newHistogram();
    long units = 0;
    long calls = 0;
    long errors = 0;
    String firstError = null;
    for (Worker worker : workers) {
      latency.add(worker.latencyMicros);
      units += worker.units;
      calls += worker.calls;
      errors += worker.errors;
      if (firstError == null) {
        firstError = worker.firstError;
      }
    }
    return new Result(units, calls, errors, firstError, elapsedNanos, process, latency);
  }

  /** Returns an empty latency histogram (1 µs to {@link #LATENCY_MICROS_MAX}, 3 digits). */
  static Histogram newHistogram() {
    return new Histogram(LATENCY_MICROS_MAX, 3);
  }

  private static final class Phase {
    volatile int value = WARMING;
  }

  private static final class Worker implements Runnable {
    private final Operation operation;
    private final Phase phase;
    private final Histogram latencyMicros = newHistogram();
    @Nullable Thread thread;
    private long units;
    private long calls;
    private long errors;
    private @Nullable String firstError;

    Worker(Operation operation, Phase phase) {
      this.operation = operation;
      this.phase = phase;
    }

    @Override
    public void run() {
      try (operation) {
        while (phase.value != STOPPED) {
          runOnce();
        }
      }
    }

    private void runOnce() {
      long startNanos = System.nanoTime();
      int done;
      try {
        done = operation.run();
      } catch (Exception e) {
        if (firstError == null) {
          firstError = String.valueOf(e);
        }
        if (phase.value == MEASURING) {
          errors++;
        }
        return;
      }
      long micros = (System.nanoTime() - startNanos) / 1_000;
      if (phase.value == MEASURING) {
        units += done;
        calls++;
        latencyMicros.recordValue(Math.min(Math.max(micros, 1), LATENCY_MICROS_MAX));
      }
    }
  }
}
