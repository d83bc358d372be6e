package io.skein.internal.transport;

import java.util.random.RandomGenerator;

/**
 * Reconnect delays: capped exponential backoff with full jitter (the AWS architecture blog's "full
 * jitter"): the n-th consecutive failure waits a uniform random time in {@code [0, min(cap, base *
 * 2^n))}, so peers that lost a node at the same moment do not reconnect in lockstep. Not
 * thread-safe: one per connection.
 */
public final class Backoff {
  private final long baseMs;
  private final long capMs;
  private final RandomGenerator random;
  private int failures;

  /**
   * Creates a backoff.
   *
   * @param baseMs the first ceiling, at least 1
   * @param capMs the largest ceiling, at least {@code baseMs}
   * @param random the jitter source
   */
  public Backoff(long baseMs, long capMs, RandomGenerator random) {
    if (baseMs < 1 || capMs < baseMs) {
      throw new IllegalArgumentException("need 1 <= baseMs <= capMs, got " + baseMs + ", " + capMs);
    }
    this.baseMs = baseMs;
    this.capMs = capMs;
    this.random = random;
  }

  /** Returns the ceiling of the next delay: {@code min(cap, base * 2^failures)}. */
  public long ceilingMs() {
    int shift = Math.min(failures, 30);
    return Math.min(capMs, baseMs << shift);
  }

  /** Records a failure and returns how long to wait before the next attempt. */
  public long nextDelayMs() {
    long ceiling = ceilingMs();
    failures++;
    return random.nextLong(ceiling) + 1;
  }

  /** Forgets the failures after a successful connection. */
  public void reset() {
    failures = 0;
  }
}
