package io.skein.bench;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The client of a failover trial: one thread writes new keys back to back, to the node it believes
 * is the primary, and keeps going through a kill until a write sent after the kill is acknowledged.
 *
 * <p>Design notes. A write answered with a redirect is sent again at once to the node the redirect
 * names; any other failure (refused connection, timeout, {@code 503}, an error) moves on to the
 * next node in id order after {@code retryIntervalMs}, so the probe tries every survivor in turn
 * and, like a real client, also the dead node, whose refusal on loopback costs well under a
 * millisecond. Every attempt writes a new key, so a write that timed out but was applied later
 * never counts as the acknowledgement. The kill time is set by the driving thread just before it
 * sends SIGKILL; only a write <em>sent</em> after it counts, so an answer of the old primary that
 * arrived before the kill and was read late cannot end the trial. The loop is bounded by a deadline
 * after the kill and by a cap on attempts.
 */
final class FailoverProbe {
  /** The most attempts of one trial, kill or not: a bound on a runaway loop. */
  private static final int ATTEMPTS_MAX = 100_000;

  private static final long NOT_KILLED = Long.MIN_VALUE;

  /** What one write attempt got. */
  sealed interface Attempt {
    /** The write was acknowledged (200). */
    record Acknowledged() implements Attempt {}

    /**
     * The node named another one to write to.
     *
     * @param nodeIndex the index of that node
     */
    record Redirected(int nodeIndex) implements Attempt {}

    /**
     * The write failed; it may be tried elsewhere.
     *
     * @param kind a short label counted in the trial's tally ({@code 503 no_primary}, {@code
     *     ConnectException}, ...)
     */
    record Failed(String kind) implements Attempt {}
  }

  /** Writes one key to one node. Must not throw but for an interrupt. */
  @FunctionalInterface
  interface Writer {
    Attempt write(int nodeIndex, String key) throws InterruptedException;
  }

  /**
   * What the probe did.
   *
   * @param acknowledgedNanos from the kill to the first acknowledgement of a write sent after it,
   *     or -1 if none came before the deadline
   * @param acknowledgedBy the index of the node that acknowledged it, or -1
   * @param acknowledgedKeys every key acknowledged, before the kill and after
   * @param attemptsAfterKill attempts sent after the kill, the acknowledged one included
   * @param tally how many attempts after the kill got each kind of failure, and {@code 307} for
   *     redirects
   * @param failure why the probe thread stopped early, or null
   * @param killedAt the wall-clock time of the kill (to find it in the logs), or null if none
   */
  record Result(
      long acknowledgedNanos,
      int acknowledgedBy,
      List<String> acknowledgedKeys,
      int attemptsAfterKill,
      Map<String, Integer> tally,
      @Nullable String failure,
      @Nullable Instant killedAt) {

    boolean acknowledged() {
      return acknowledgedNanos >= 0;
    }
  }

  private final Writer writer;
  private final int nodes;
  private final String keyPrefix;
  private final long retryIntervalMs;
  private final Duration timeout;
  private volatile long killNanos = NOT_KILLED;
  private volatile @Nullable Instant killedAt;
  private volatile boolean stopped;
  private volatile int acknowledgedBeforeKill;
  private @Nullable Thread thread;

  // Written by the probe thread, read by the driving thread after join().
  private final List<String> acknowledgedKeys = new ArrayList<>();
  private final Map<String, Integer> tally = new TreeMap<>();
  private long acknowledgedNanos = -1;
  private int acknowledgedBy = -1;
  private int attemptsAfterKill;
  private @Nullable String failure;

  /**
   * Creates a probe.
   *
   * @param writer sends one write
   * @param nodes how many nodes there are (indexes 0 to {@code nodes - 1})
   * @param keyPrefix the prefix of every key it writes
   * @param retryIntervalMs the pause after a failed attempt before the next node is tried
   * @param timeout how long after the kill the probe keeps trying
   */
  FailoverProbe(
      Writer writer, int nodes, String keyPrefix, long retryIntervalMs, Duration timeout) {
    this.writer = writer;
    this.nodes = nodes;
    this.keyPrefix = keyPrefix;
    this.retryIntervalMs = retryIntervalMs;
    this.timeout = timeout;
  }

  /**
   * Starts writing to {@code firstNode}.
   *
   * @throws IllegalStateException if it was started before
   */
  void start(int firstNode) {
    if (thread != null) {
      throw new IllegalStateException("the probe was started before");
    }
    thread = Thread.ofPlatform().name("bench-failover-probe").start(() -> loop(firstNode));
  }

  /** Returns how many writes were acknowledged so far (before the kill is set). */
  int acknowledgedBeforeKill() {
    return acknowledgedBeforeKill;
  }

  /** Marks now as the kill time; call just before sending the signal. */
  void killing() {
    killedAt = Instant.now();
    killNanos = System.nanoTime();
  }

  /** Makes the probe stop after its current attempt (for a trial abandoned before its kill). */
  void stop() {
    stopped = true;
  }

  /**
   * Waits for the probe to end (an acknowledgement after the kill, or the deadline) and returns
   * what it did.
   *
   * @throws IllegalStateException if it was not started, or did not end well after its deadline
   * @throws InterruptedException if the thread is interrupted
   */
  Result await() throws InterruptedException {
    Thread running = thread;
    if (running == null) {
      throw new IllegalStateException("the probe was not started");
    }
    // The probe ends within its timeout of the kill plus one request; the margin covers both.
    if (!running.join(timeout.plusSeconds(30))) {
      running.interrupt();
      throw new IllegalStateException("the failover probe did not end");
    }
    return new Result(
        acknowledgedNanos,
        acknowledgedBy,
        List.copyOf(acknowledgedKeys),
        attemptsAfterKill,
        Map.copyOf(tally),
        failure,
        killedAt);
  }

  private void loop(int firstNode) {
    int target = firstNode;
    try {
      for (int sequence = 0; sequence < ATTEMPTS_MAX; sequence++) {
        if (stopped) {
          failure = "stopped";
          return;
        }
        long sentNanos = System.nanoTime();
        long kill = killNanos;
        boolean afterKill = kill != NOT_KILLED && sentNanos - kill >= 0;
        if (kill != NOT_KILLED && sentNanos - kill - timeout.toNanos() >= 0) {
          return;
        }
        String key = keyPrefix + sequence;
        Attempt attempt = writer.write(target, key);
        if (afterKill) {
          attemptsAfterKill++;
        }
        switch (attempt) {
          case Attempt.Acknowledged acknowledged -> {
            acknowledgedKeys.add(key);
            if (afterKill) {
              acknowledgedNanos = System.nanoTime() - kill;
              acknowledgedBy = target;
              return;
            }
            acknowledgedBeforeKill++;
          }
          case Attempt.Redirected redirected -> {
            count(afterKill, "307");
            target = redirected.nodeIndex();
          }
          case Attempt.Failed failed -> {
            count(afterKill, failed.kind());
            target = (target + 1) % nodes;
            TimeUnit.MILLISECONDS.sleep(retryIntervalMs);
          }
        }
      }
      failure = "gave up after " + ATTEMPTS_MAX + " attempts";
    } catch (InterruptedException e) {
      failure = "interrupted";
    } catch (RuntimeException e) {
      failure = e.toString();
    }
  }

  private void count(boolean afterKill, String kind) {
    if (afterKill) {
      tally.merge(kind, 1, Integer::sum);
    }
  }
}
