package io.skein.core.hlc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class HybridClockTest {
  private long physicalMs;

  private HybridClock clock(long maxOffsetMs) {
    return new HybridClock(() -> physicalMs, maxOffsetMs, Hlc.ZERO);
  }

  @Test
  void followsPhysicalTimeAndCountsWithinAMillisecond() {
    HybridClock clock = clock(500);
    physicalMs = 1_000;
    assertThat(clock.now()).isEqualTo(new Hlc(1_000, 0));
    assertThat(clock.now()).isEqualTo(new Hlc(1_000, 1));
    physicalMs = 1_001;
    assertThat(clock.now()).isEqualTo(new Hlc(1_001, 0));
  }

  @Test
  void staysMonotonicWhenPhysicalTimeGoesBack() {
    HybridClock clock = clock(500);
    physicalMs = 5_000;
    Hlc before = clock.now();
    physicalMs = 4_000;
    assertThat(clock.now()).isGreaterThan(before);
  }

  @Test
  void refusesATimestampBeyondTheMaxOffsetWithATypedResult() {
    HybridClock clock = clock(500);
    physicalMs = 10_000;
    Hlc last = clock.now();
    ClockObservation result = clock.observe(new Hlc(10_501, 0));
    assertThat(result).isInstanceOf(ClockObservation.TooFarAhead.class);
    assertThat(((ClockObservation.TooFarAhead) result).aheadMs()).isEqualTo(501);
    assertThat(clock.last()).isEqualTo(last);
  }

  @Test
  void acceptsATimestampWithinTheOffsetAndMovesPastIt() {
    HybridClock clock = clock(500);
    physicalMs = 10_000;
    Hlc remote = new Hlc(10_500, 7);
    assertThat(clock.observe(remote)).isEqualTo(new ClockObservation.Accepted(remote));
    assertThat(clock.now()).isEqualTo(new Hlc(10_500, 8));
  }

  @Test
  void logicalOverflowMovesThePhysicalPartInsteadOfWrapping() {
    HybridClock clock = new HybridClock(() -> 100, 500, new Hlc(100, Hlc.LOGICAL_MAX));
    assertThat(clock.now()).isEqualTo(new Hlc(101, 0));
  }

  @Test
  void restartsAboveItsHighWaterMark() {
    HybridClock clock = new HybridClock(() -> 50, 500, new Hlc(90, 3));
    assertThat(clock.now()).isEqualTo(new Hlc(90, 4));
  }

  @Test
  void packingPreservesOrderAndRoundTrips() {
    Hlc a = new Hlc(1_763_860_068_000L, 5);
    assertThat(Hlc.unpack(a.pack())).isEqualTo(a);
    assertThat(new Hlc(1, Hlc.LOGICAL_MAX).pack()).isLessThan(new Hlc(2, 0).pack());
    assertThatThrownBy(() -> new Hlc(-1, 0)).isInstanceOf(IllegalArgumentException.class);
  }

  /** One step of a random clock history: physical time moves, then a now() or an observe(). */
  record Step(long physicalDeltaMs, boolean observe, long remoteOffsetMs, int remoteLogical) {}

  @Property(tries = 500)
  void everyIssuedTimestampExceedsEverythingBefore(@ForAll("histories") List<Step> history) {
    physicalMs = 1_000_000;
    HybridClock clock = clock(500);
    Hlc highest = Hlc.ZERO;
    for (Step step : history) {
      physicalMs = Math.max(0, physicalMs + step.physicalDeltaMs());
      if (step.observe()) {
        Hlc remote = new Hlc(Math.max(0, physicalMs + step.remoteOffsetMs()), step.remoteLogical());
        ClockObservation result = clock.observe(remote);
        boolean tooFar = remote.physicalMs() - physicalMs > 500;
        assertThat(result instanceof ClockObservation.TooFarAhead).isEqualTo(tooFar);
        if (!tooFar) {
          highest = Hlc.max(highest, remote);
        }
        assertThat(clock.last()).isGreaterThanOrEqualTo(highest);
      } else {
        Hlc now = clock.now();
        assertThat(now).isGreaterThan(highest);
        highest = now;
        assertThat(now.physicalMs()).isGreaterThanOrEqualTo(physicalMs);
      }
    }
  }

  @Provide
  Arbitrary<List<Step>> histories() {
    Arbitrary<Step> step =
        net.jqwik.api.Combinators.combine(
                Arbitraries.longs().between(-50, 50),
                Arbitraries.of(true, false),
                Arbitraries.longs().between(-1_000, 1_000),
                Arbitraries.integers().between(0, Hlc.LOGICAL_MAX))
            .as(Step::new);
    return step.list().ofMaxSize(200);
  }
}
