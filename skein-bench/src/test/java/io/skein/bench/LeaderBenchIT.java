package io.skein.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A harness test of {@link LeaderBench} on real {@code datastore-node} processes in leader mode,
 * smaller than {@code --quick} and without etcd: every window wrote, every failover trial (3 on the
 * fresh cluster, 1 after the windows) ended with an acknowledged write on a new primary and a
 * healthy cluster, no acknowledged write went missing, and the tables come out. It asserts nothing
 * about time.
 */
@Timeout(240)
class LeaderBenchIT {
  @TempDir Path dataParent;

  @Test
  void measuresThroughputAndFailoverOnRealNodes() throws InterruptedException, IOException {
    LeaderBench.Options options =
        new LeaderBench.Options(
            3,
            List.of("primary", "secondary", "secondary"),
            "0.5",
            1,
            300,
            700,
            List.of(4),
            3,
            1,
            0,
            200,
            10,
            250,
            10_000,
            60_000,
            "fsync",
            "none",
            BenchItSupport.nodeJar(),
            dataParent,
            3_000,
            1_000);
    ByteArrayOutputStream progress = new ByteArrayOutputStream();

    LeaderBench.Results results =
        LeaderBench.run(options, new PrintStream(progress, true, StandardCharsets.UTF_8));

    assertThat(results.notes())
        .as("progress:%n%s", progress)
        .singleElement(org.assertj.core.api.InstanceOfAssertFactories.STRING)
        .startsWith("The long-log windows ran after 3,000 more entries");
    // w=1, w=majority, GET /health, then w=majority on the longer log.
    assertThat(results.throughput())
        .extracting(LeaderBench.Throughput::system)
        .containsExactly(
            LeaderBench.Throughput.SKEIN,
            LeaderBench.Throughput.SKEIN,
            LeaderBench.Throughput.SKEIN_HEALTH,
            LeaderBench.Throughput.SKEIN_LONG_LOG);
    for (LeaderBench.Throughput row : results.throughput()) {
      assertThat(row.result().units()).as("w=" + row.writeConcern()).isPositive();
      PutCosts.Counters primary =
          java.util.Objects.requireNonNull(row.costs().processes().get("node 1"));
      assertThat(primary.cpuTicks()).as("the primary's CPU in the window").isNotNegative();
      assertThat(row.result().errors()).as("errors: %s", row.result().firstError()).isZero();
      assertThat(row.settleNanos()).isNotNegative();
    }

    assertThat(results.skeinTrials()).as("progress:%n%s", progress).hasSize(3);
    assertThat(results.loadedTrials()).as("progress:%n%s", progress).hasSize(1);
    List<LeaderBench.Trial> trials = new ArrayList<>(results.skeinTrials());
    trials.addAll(results.loadedTrials());
    for (LeaderBench.Trial trial : trials) {
      String described = "trial " + trial.trial() + ", progress:%n" + progress;
      assertThat(trial.probe().acknowledged()).as(described).isTrue();
      assertThat(trial.acknowledgedById()).as(described).isNotEqualTo(trial.killed());
      assertThat(trial.healthyNanos()).as(described).isNotNegative();
      assertThat(trial.check().keys()).as(described).isPositive();
      assertThat(trial.check().missingOnLeader()).as(described).isZero();
      assertThat(trial.check().missingElsewhere()).as(described).isZero();
    }
    assertThat(results.etcdTrials()).isEmpty();

    String markdown = LeaderReport.markdown(results);
    assertThat(markdown)
        .contains("### Throughput", "### Ratios", "### Failover", "| Skein | majority | 4 |")
        .contains("### Per put, by process", "| Skein | majority | 4 | servers together |")
        .contains("not run (--etcd none)");
    // The data directories are gone; the logs stay.
    assertThat(BenchItSupport.regularFileNames(results.runDirectory()))
        .containsExactlyInAnyOrder("node-1.log", "node-2.log", "node-3.log");
  }
}
