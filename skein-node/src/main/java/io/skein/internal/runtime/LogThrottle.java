package io.skein.internal.runtime;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Lets a log line that strangers can cause (a refused connection, a bad frame) through at most once
 * per interval, and counts the occurrences it held back, so that a flood of them cannot flood the
 * log. The metric that counts the events is the complete record; the log line is a sample.
 *
 * <p>Thread-safe and lock-free.
 */
public final class LogThrottle {
  private final long intervalNanos;
  private final AtomicLong nextNanos;
  private final AtomicLong heldBack = new AtomicLong();

  /**
   * Creates a throttle whose first occurrence is logged.
   *
   * @param intervalMs the least time between two lines logged, in ms, at least 1
   */
  public LogThrottle(long intervalMs) {
    if (intervalMs < 1) {
      throw new IllegalArgumentException("intervalMs must be >= 1, was " + intervalMs);
    }
    this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMs);
    this.nextNanos = new AtomicLong(System.nanoTime());
  }

  /**
   * Records an occurrence.
   *
   * @return -1 if this occurrence must not be logged; otherwise how many occurrences were held back
   *     since the last one logged (to say so in the line)
   */
  public long tryLog() {
    long now = System.nanoTime();
    long next = nextNanos.get();
    if (now - next >= 0 && nextNanos.compareAndSet(next, now + intervalNanos)) {
      return heldBack.getAndSet(0);
    }
    heldBack.incrementAndGet();
    return -1;
  }
}
