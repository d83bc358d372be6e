package io.skein.core.hlc;

/**
 * A hybrid logical clock timestamp (Kulkarni et al. 2014): physical milliseconds since the epoch
 * and a logical counter that orders events within one millisecond. The node id that completes the
 * triple of DESIGN.md lives beside it in {@link io.skein.core.oplog.Version}.
 *
 * <p>A timestamp packs into one {@code long} ({@link #pack()}): the physical part in the high 47
 * bits (good until the year 6429) and the logical part in the low 16 bits, so packed values compare
 * like timestamps.
 *
 * @param physicalMs wall-clock milliseconds since 1970-01-01T00:00Z, non-negative
 * @param logical the counter within that millisecond, 0 to {@value #LOGICAL_MAX}
 */
public record Hlc(long physicalMs, int logical) implements Comparable<Hlc> {
  /** The largest logical counter; the clock moves its physical part forward past it. */
  public static final int LOGICAL_MAX = 0xFFFF;

  /** The largest physical part that packs into a {@code long}. */
  public static final long PHYSICAL_MS_MAX = (1L << 47) - 1;

  /** The zero timestamp, below every real one. */
  public static final Hlc ZERO = new Hlc(0, 0);

  /** Validates the ranges. */
  public Hlc {
    if (physicalMs < 0 || physicalMs > PHYSICAL_MS_MAX) {
      throw new IllegalArgumentException("HLC physical part out of range: " + physicalMs);
    }
    if (logical < 0 || logical > LOGICAL_MAX) {
      throw new IllegalArgumentException("HLC logical part out of range: " + logical);
    }
  }

  /** Returns the timestamp packed into one order-preserving {@code long}. */
  public long pack() {
    return (physicalMs << 16) | logical;
  }

  /**
   * Returns the timestamp that {@link #pack()} produced.
   *
   * @throws IllegalArgumentException if the value is negative
   */
  public static Hlc unpack(long packed) {
    if (packed < 0) {
      throw new IllegalArgumentException("packed HLC is negative: " + packed);
    }
    return new Hlc(packed >>> 16, (int) (packed & LOGICAL_MAX));
  }

  /** Returns the later of two timestamps. */
  public static Hlc max(Hlc a, Hlc b) {
    return a.compareTo(b) >= 0 ? a : b;
  }

  @Override
  public int compareTo(Hlc other) {
    int byPhysical = Long.compare(physicalMs, other.physicalMs);
    return byPhysical != 0 ? byPhysical : Integer.compare(logical, other.logical);
  }

  @Override
  public String toString() {
    return physicalMs + "." + logical;
  }
}
