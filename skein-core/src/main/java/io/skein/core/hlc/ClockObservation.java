package io.skein.core.hlc;

/** The result of {@link HybridClock#observe(Hlc)}: either accepted, or refused as too far ahead. */
public sealed interface ClockObservation {
  /**
   * The remote timestamp was within the max offset; the clock is now at or past it.
   *
   * @param clock the clock's timestamp after the observation
   */
  record Accepted(Hlc clock) implements ClockObservation {}

  /**
   * The remote timestamp is more than the max offset ahead of local physical time. The clock did
   * not move: a peer with a runaway clock must not drag every replica into its future (D4).
   *
   * @param remote the refused timestamp
   * @param localPhysicalMs local physical time when it was refused
   * @param maxOffsetMs the configured max offset
   */
  record TooFarAhead(Hlc remote, long localPhysicalMs, long maxOffsetMs)
      implements ClockObservation {
    /** Returns how far the remote timestamp is ahead of local physical time, in ms. */
    public long aheadMs() {
      return remote.physicalMs() - localPhysicalMs;
    }
  }
}
