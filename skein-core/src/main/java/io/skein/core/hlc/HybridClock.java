package io.skein.core.hlc;

import java.util.function.LongSupplier;

/**
 * A hybrid logical clock, after CockroachDB's {@code pkg/util/hlc/hlc.go}.
 *
 * <p>Design notes. Physical time comes from a {@link LongSupplier} of milliseconds, so the clock
 * reads no ambient time: the node passes its tick time, tests and the simulator pass virtual time.
 * Invariants: every timestamp returned by {@link #now()} is strictly greater than every timestamp
 * the clock returned or observed before; {@link #observe(Hlc)} never moves the clock more than the
 * max offset ahead of physical time. When the logical counter would overflow within one
 * millisecond, the clock moves its physical part one millisecond ahead instead of wrapping.
 *
 * <p>Not thread-safe: one owner (the node's event loop) calls it.
 */
public final class HybridClock {
  private final LongSupplier physicalClockMs;
  private final long maxOffsetMs;
  private Hlc last;

  /**
   * Creates a clock.
   *
   * @param physicalClockMs supplies physical time in ms since the epoch; it may go backwards, and
   *     the clock stays monotonic when it does
   * @param maxOffsetMs how far ahead of local physical time a remote timestamp may be, in ms
   * @param highWater a timestamp the clock must stay above (the persisted high-water mark after a
   *     restart), or {@link Hlc#ZERO}
   * @throws IllegalArgumentException if {@code maxOffsetMs} is negative
   */
  public HybridClock(LongSupplier physicalClockMs, long maxOffsetMs, Hlc highWater) {
    if (maxOffsetMs < 0) {
      throw new IllegalArgumentException("maxOffsetMs must be >= 0, was " + maxOffsetMs);
    }
    this.physicalClockMs = physicalClockMs;
    this.maxOffsetMs = maxOffsetMs;
    this.last = highWater;
  }

  /** Returns a new timestamp, strictly greater than any returned or observed before. */
  public Hlc now() {
    long physicalMs = physicalClockMs.getAsLong();
    if (physicalMs > last.physicalMs()) {
      last = new Hlc(physicalMs, 0);
    } else {
      last = successor(last);
    }
    return last;
  }

  /**
   * Observes a timestamp from another node (HLC paper, receive event). If it is within the max
   * offset of local physical time, the clock moves to at least it; if it is further ahead, the
   * clock does not move and the result says by how much it was ahead.
   */
  public ClockObservation observe(Hlc remote) {
    long physicalMs = physicalClockMs.getAsLong();
    if (remote.physicalMs() - physicalMs > maxOffsetMs) {
      return new ClockObservation.TooFarAhead(remote, physicalMs, maxOffsetMs);
    }
    if (remote.compareTo(last) > 0) {
      last = remote;
    }
    return new ClockObservation.Accepted(last);
  }

  /** Returns the last timestamp issued or observed, without advancing the clock. */
  public Hlc last() {
    return last;
  }

  /** Returns the configured max offset in ms. */
  public long maxOffsetMs() {
    return maxOffsetMs;
  }

  private static Hlc successor(Hlc hlc) {
    if (hlc.logical() == Hlc.LOGICAL_MAX) {
      return new Hlc(hlc.physicalMs() + 1, 0);
    }
    return new Hlc(hlc.physicalMs(), hlc.logical() + 1);
  }
}
