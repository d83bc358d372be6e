package io.skein.internal.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class BackoffTest {
  @Test
  void theCeilingDoublesUpToTheCapAndResetStartsOver() {
    Backoff backoff = new Backoff(100, 5_000, new SplittableRandom(1));
    long[] ceilings = new long[8];
    for (int i = 0; i < ceilings.length; i++) {
      ceilings[i] = backoff.ceilingMs();
      backoff.nextDelayMs();
    }
    assertThat(ceilings).containsExactly(100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000);
    backoff.reset();
    assertThat(backoff.ceilingMs()).isEqualTo(100);
  }

  @Property(tries = 200)
  void everyDelayIsPositiveAndWithinItsCeiling(
      @ForAll long seed, @ForAll @IntRange(min = 0, max = 80) int failures) {
    Backoff backoff = new Backoff(50, 2_000, new SplittableRandom(seed));
    for (int i = 0; i < failures; i++) {
      long ceiling = backoff.ceilingMs();
      long delay = backoff.nextDelayMs();
      assertThat(delay).isBetween(1L, ceiling);
    }
  }

  @Test
  void delaysAreJittered() {
    Backoff backoff = new Backoff(1_000, 1_000, new SplittableRandom(7));
    java.util.Set<Long> seen = new java.util.HashSet<>();
    for (int i = 0; i < 20; i++) {
      seen.add(backoff.nextDelayMs());
    }
    assertThat(seen.size()).isGreaterThan(10);
  }

  @Test
  void invalidBoundsAreRefused() {
    assertThatThrownBy(() -> new Backoff(0, 10, new SplittableRandom()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Backoff(10, 5, new SplittableRandom()))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
