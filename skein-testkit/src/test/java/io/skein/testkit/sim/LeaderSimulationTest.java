package io.skein.testkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Leader mode under faults, over many seeds (see {@link LeaderSimulation} for the checkers). */
class LeaderSimulationTest {
  private static long seeds() {
    return Long.getLong("skein.sim.seeds", 1_000);
  }

  private static void runSeeds(LeaderSimulation.Config config, long count) {
    Long only = Long.getLong("skein.sim.seed");
    long from = only != null ? only : 1;
    long to = only != null ? only : count;
    long acknowledged = 0;
    long elections = 0;
    long crashes = 0;
    long tornCrashes = 0;
    long reconfigurations = 0;
    for (long seed = from; seed <= to; seed++) {
      LeaderSimulation.Stats stats = new LeaderSimulation(seed, config).run();
      acknowledged += stats.acknowledgedMajority;
      elections += stats.elections;
      crashes += stats.crashes;
      tornCrashes += stats.tornCrashes;
      reconfigurations += stats.reconfigurations;
    }
    // The runs must have exercised what they claim: acknowledged writes, failovers, crashes,
    // timings changed mid-run.
    assertThat(acknowledged).isPositive();
    if (only == null) {
      assertThat(elections).isGreaterThan(count);
      assertThat(crashes).isPositive();
      assertThat(tornCrashes)
          .as("primaries dying between their appends and their own write")
          .isPositive();
      assertThat(reconfigurations).isPositive();
    }
  }

  @Test
  void threeNodesKeepEveryMajorityWriteAndOnePrimaryPerEpoch() {
    runSeeds(LeaderSimulation.Config.faulty(), seeds());
  }

  @Test
  void fiveNodesToo() {
    runSeeds(LeaderSimulation.Config.faultyFive(), Math.max(1, seeds() / 5));
  }
}
