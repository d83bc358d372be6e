package io.skein.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A harness test of {@link ReplicationBench} on real {@code datastore-node} processes, smaller than
 * {@code --quick}: every write is acknowledged and shows on the other node, the restarted node
 * catches up, and the tables come out. It asserts nothing about time.
 */
@Timeout(180)
class ReplicationBenchIT {
  @TempDir Path dataParent;

  @Test
  void measuresLagThroughputAndCatchUpOnRealNodes() throws InterruptedException, IOException {
    ReplicationBench.Options options =
        new ReplicationBench.Options(
            2,
            200,
            500,
            1_500,
            16,
            10_000,
            2_000,
            500,
            60_000,
            1,
            300,
            700,
            List.of(4),
            "fsync",
            BenchItSupport.nodeJar(),
            dataParent);
    ByteArrayOutputStream progress = new ByteArrayOutputStream();

    ReplicationBench.Results results =
        ReplicationBench.run(options, new PrintStream(progress, true, StandardCharsets.UTF_8));

    ReplicationBench.Lag lag = results.lag();
    assertThat(lag.writes().writes()).isEqualTo(400);
    assertThat(lag.writes().failed()).as("failed writes: %s", lag.writes().firstError()).isZero();
    assertThat(lag.writes().acknowledged()).isEqualTo(400);
    assertThat(lag.streamFailure()).isNull();
    assertThat(lag.seen()).isEqualTo(400);
    assertThat(lag.missing()).isZero();
    assertThat(lag.lagMicros().getTotalCount()).isEqualTo(300);

    assertThat(results.throughput()).hasSize(3);
    for (ReplicationBench.Throughput row : results.throughput()) {
      assertThat(row.result().units()).as(row.setup() + " w=" + row.writeConcern()).isPositive();
      assertThat(row.result().errors()).as("errors: %s", row.result().firstError()).isZero();
    }

    ReplicationBench.CatchUp catchUp = results.catchUp();
    assertThat(catchUp.caughtUp()).as("progress:%n%s", progress).isTrue();
    assertThat(catchUp.reached()).isEqualTo(catchUp.target());
    assertThat(catchUp.target() - catchUp.beforeStop()).isEqualTo(2_000);

    String markdown = ReplicationReport.markdown(results);
    assertThat(markdown)
        .contains("### Replication lag", "### Throughput", "### Catch-up", "| 2 nodes | all | 4 |");
    // The data directories are gone; the logs stay.
    assertThat(BenchItSupport.regularFileNames(results.runDirectory()))
        .containsExactlyInAnyOrder("node-1.log", "node-1.log", "node-2.log");
  }
}
