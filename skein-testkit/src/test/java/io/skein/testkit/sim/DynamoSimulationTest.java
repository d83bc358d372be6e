package io.skein.testkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.skein.core.merge.DocumentState;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import java.util.Map;
import java.util.SortedMap;
import org.junit.jupiter.api.Test;

/**
 * Multi-writer replication in the deterministic simulator. {@code -Dskein.sim.seeds=N} runs more
 * seeds (default 1,000); {@code -Dskein.sim.seed=S} replays one (the failure message prints the
 * whole command).
 */
class DynamoSimulationTest {
  private static final long FIRST_SEED = 1;

  private static long seeds() {
    return Long.getLong("skein.sim.seeds", 1_000);
  }

  @Test
  void convergesUnderEveryFaultAcrossManySeeds() {
    Long only = Long.getLong("skein.sim.seed");
    long from = only != null ? only : FIRST_SEED;
    long to = only != null ? only : FIRST_SEED + seeds() - 1;
    long writes = 0;
    long acknowledgedAll = 0;
    long crashes = 0;
    long dropped = 0;
    long reconfigurations = 0;
    long gatewayElections = 0;
    for (long seed = from; seed <= to; seed++) {
      Simulation.Stats stats = new Simulation(seed, SimulationConfig.faulty()).run();
      gatewayElections += stats.gatewayElections;
      writes += stats.writes;
      acknowledgedAll += stats.acknowledgedAll;
      crashes += stats.crashes;
      dropped += stats.dropped;
      reconfigurations += stats.reconfigurations;
    }
    // The runs must have exercised what they claim to: writes, w=all acks, crashes, losses and
    // timings changed mid-run.
    assertThat(writes).isPositive();
    assertThat(acknowledgedAll).isPositive();
    // Every run elects at least one gateway (the checker saw at most one per epoch, and the lowest
    // id leading at the end); crashes and partitions make most runs elect several.
    assertThat(gatewayElections).isGreaterThan(to - from + 1);
    System.out.printf(
        "dynamo sim: %d seeds, %d writes, %d crashes, %d gateway elections%n",
        to - from + 1, writes, crashes, gatewayElections);
    if (only == null) {
      assertThat(crashes).isPositive();
      assertThat(dropped).isPositive();
      assertThat(reconfigurations).isPositive();
    }
  }

  @Test
  void nodesBehindTheHorizonCatchUpBySnapshotAndNoDeletedDocumentComesBack() {
    Long only = Long.getLong("skein.sim.seed");
    long from = only != null ? only : FIRST_SEED;
    long to = only != null ? only : FIRST_SEED + Math.max(1, seeds() / 2) - 1;
    long snapshots = 0;
    long collected = 0;
    long pruned = 0;
    long reconfigurations = 0;
    for (long seed = from; seed <= to; seed++) {
      Simulation.Stats stats = new Simulation(seed, SimulationConfig.faultyWithRetention()).run();
      snapshots += stats.snapshots;
      collected += stats.tombstonesCollected;
      pruned += stats.entriesPruned;
      reconfigurations += stats.reconfigurations;
    }
    // The runs must have pruned, collected tombstones, sent snapshots and changed retention
    // mid-run, or they prove nothing.
    assertThat(pruned).isPositive();
    if (only == null) {
      assertThat(snapshots).isPositive();
      assertThat(collected).isPositive();
      assertThat(reconfigurations).isPositive();
    }
  }

  @Test
  void concurrentWritesOfTheSameKeysOnEveryNodeConverge() {
    // The source project's failure: 20 of 20 concurrently written keys stayed different for good.
    for (long seed = 1; seed <= 50; seed++) {
      Simulation simulation = new Simulation(seed, SimulationConfig.concurrentSameKeys());
      Simulation.Stats stats = simulation.run();
      assertThat(stats.writes).isGreaterThan(1_000);
      Map<NodeId, SortedMap<DocumentKey, DocumentState>> documents = simulation.documentsByNode();
      SortedMap<DocumentKey, DocumentState> first =
          java.util.Objects.requireNonNull(documents.get(NodeId.of("1")));
      assertThat(first).hasSize(20);
      long divergentKeys =
          documents.values().stream()
              .flatMap(replica -> replica.entrySet().stream())
              .filter(entry -> !entry.getValue().equals(first.get(entry.getKey())))
              .count();
      assertThat(divergentKeys).as("seed " + seed).isZero();
    }
  }

  @Test
  void aRunIsAPureFunctionOfItsSeed() {
    Simulation a = new Simulation(42, SimulationConfig.faulty());
    Simulation b = new Simulation(42, SimulationConfig.faulty());
    Simulation.Stats statsA = a.run();
    Simulation.Stats statsB = b.run();
    assertThat(statsA.sent).isEqualTo(statsB.sent);
    assertThat(a.documentsByNode()).isEqualTo(b.documentsByNode());
  }
}
