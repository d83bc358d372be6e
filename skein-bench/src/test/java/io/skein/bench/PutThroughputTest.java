package io.skein.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.skein.Durability;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A harness test: the runner measures both sides and reports them. It asserts no timing. */
class PutThroughputTest {
  @TempDir Path dataParent;

  @Test
  void measuresSkeinAndRawSqliteInTheSameRun() throws InterruptedException {
    PutThroughput.Options options =
        new PutThroughput.Options(
            200,
            400,
            1,
            List.of(Durability.BUFFERED),
            List.of(2),
            List.of(),
            100,
            List.of("raw", "skein"),
            dataParent);
    ByteArrayOutputStream progress = new ByteArrayOutputStream();

    List<PutThroughput.Row> rows =
        PutThroughput.run(options, new PrintStream(progress, true, StandardCharsets.UTF_8));

    assertThat(rows).hasSize(1);
    PutThroughput.Row row = rows.get(0);
    for (String target : List.of("raw", "skein")) {
      PutThroughput.Tally tally = row.tally(target);
      assertThat(tally.units).as(target + " puts").isPositive();
      assertThat(tally.errors).as(target + " errors").isZero();
      assertThat(tally.latencyMicros.getTotalCount()).as(target + " latencies").isPositive();
    }
    assertThat(row.tally("skein").commits.commits()).isPositive();
    String table = Report.putTable(rows, Durability.BUFFERED, options.targets());
    assertThat(table).contains("| put, 2 writers |").contains("skein ÷ raw");
    assertThat(dataParent).isEmptyDirectory();
  }
}
