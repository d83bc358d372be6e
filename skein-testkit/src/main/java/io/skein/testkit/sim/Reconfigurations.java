package io.skein.testkit.sim;

import java.util.Random;

/**
 * When a simulated run changes its nodes' timings mid-run, and to what, as a reloaded config would.
 * About one seed in three ({@link #SEEDS_SHARE}) reconfigures. The draws come from a PRNG of their
 * own, seeded from the run's seed: a run replays from its seed as before, and a seed that does not
 * reconfigure draws the same faults from the run's main PRNG as it did before reconfiguration
 * existed, so seeds proven then stay the same runs.
 */
final class Reconfigurations {
  /** The share of seeds whose runs reconfigure nodes. */
  static final double SEEDS_SHARE = 1.0 / 3;

  /**
   * The chance that a reconfiguration restores the original timings instead of drawing new ones.
   */
  private static final double RESTORE_CHANCE = 0.25;

  /** Spreads consecutive seeds apart before they seed the PRNG (the golden-ratio constant). */
  private static final long SEED_MIX = 0x9E3779B97F4A7C15L;

  private final Random random;
  private final boolean enabled;
  private final double chancePerStep;

  /**
   * Decides from the seed whether the run reconfigures.
   *
   * @param seed the run's seed
   * @param perMinute reconfigurations per minute of virtual fault phase, on the seeds that
   *     reconfigure; 0 for none
   * @param stepMs the run's step, in ms
   */
  Reconfigurations(long seed, double perMinute, long stepMs) {
    this.random = new Random(seed * SEED_MIX + 1);
    this.enabled = perMinute > 0 && random.nextDouble() < SEEDS_SHARE;
    this.chancePerStep = perMinute * stepMs / 60_000.0;
  }

  /** Returns whether this run reconfigures at all. */
  boolean enabled() {
    return enabled;
  }

  /** Returns whether a reconfiguration happens in this step (never, if the run does not). */
  boolean due() {
    return enabled && random.nextDouble() < chancePerStep;
  }

  /** Returns which of {@code count} nodes to reconfigure. */
  int node(int count) {
    return random.nextInt(count);
  }

  /** Returns whether this reconfiguration restores the original timings. */
  boolean restores() {
    return random.nextDouble() < RESTORE_CHANCE;
  }

  /** Returns true with the given chance. */
  boolean chance(double probability) {
    return random.nextDouble() < probability;
  }

  /** Returns a value drawn uniformly from {@code [min, max]}. */
  long between(long min, long max) {
    return min + random.nextLong(max - min + 1);
  }
}
