package io.skein.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.skein.Durability;
import io.skein.core.hlc.Hlc;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.Operation;
import io.skein.core.oplog.OplogEntry;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No read of the leader log walks the log (issue 14): every read the loop makes per write, and the
 * reads made at start, cost about as many SQLite steps on a 100,000-entry log as on a 1,000-entry
 * one. Counted in virtual-machine steps, not timed, so the machine's load cannot make it flaky. A
 * query that filters rows one by one (as the apply once did, 5.5 ms for 20 entries at the end of a
 * 73,588-entry log) costs thousands of steps per thousand rows and fails it.
 */
class LeaderLogScanTest {
  private static final NodeId ONE = NodeId.of("1");
  private static final CollectionName C = CollectionName.user("c");

  @TempDir Path dir;

  /** SQLite steps each read costs on a log of {@code size} entries, all but 50 applied. */
  private Map<String, Long> costs(long size) throws Exception {
    Path data = dir.resolve("log-" + size);
    try (SqliteStore store =
        SqliteStore.open(data, ONE, Durability.BUFFERED, 2, new SimpleMeterRegistry())) {
      List<OplogEntry> batch = new ArrayList<>();
      for (long i = 1; i <= size; i++) {
        long epoch = 1 + i * 5 / size; // a few epochs along the log
        batch.add(
            OplogEntry.createInLog(
                ONE,
                i,
                new Hlc(1_000 + i, 0),
                Operation.PUT,
                C,
                DocumentId.of("d" + (i % 1_000)),
                "{\"n\":" + i + "}",
                epoch,
                i));
        if (batch.size() == 5_000 || i == size) {
          store.appendLeaderLog(
              null, 0, batch, List.of(), new Hlc(1_000 + i, 0), Math.max(0, i - 50), Map.of());
          batch.clear();
        }
      }
      long end = size;
      long lsn = store.lastLsn();
      Map<String, Long> costs = new java.util.LinkedHashMap<>();
      costs.put(
          "apply 20 entries read back from the log",
          store.vmSteps(() -> store.applyLeaderLog(end - 30, Map.of())));
      costs.put(
          "log entries for a follower", store.vmSteps(() -> store.leaderEntries(end - 10, 64)));
      costs.put(
          "open indexes of a slice", store.vmSteps(() -> store.leaderOpenIndexes(end - 20, end)));
      costs.put(
          "change feed page at the end", store.vmSteps(() -> store.changes(lsn - 5, null, 10)));
      costs.put(
          "append one entry",
          store.vmSteps(
              () ->
                  store.appendLeaderLog(
                      null,
                      0,
                      List.of(
                          OplogEntry.createInLog(
                              ONE,
                              end + 1,
                              new Hlc(2_000_000, 0),
                              Operation.PUT,
                              C,
                              DocumentId.of("x"),
                              "{}",
                              6,
                              end + 1)),
                      List.of(),
                      new Hlc(2_000_000, 0),
                      end - 20,
                      Map.of())));
      costs.put("recovery at start", store.vmSteps(store::leaderRecovered));
      return costs;
    }
  }

  @Test
  void noLeaderLogReadGrowsWithTheLog() throws Exception {
    Map<String, Long> small = costs(1_000);
    Map<String, Long> large = costs(100_000);
    System.out.println("leader log reads, SQLite steps, 1k log: " + small);
    System.out.println("leader log reads, SQLite steps, 100k log: " + large);
    for (Map.Entry<String, Long> e : large.entrySet()) {
      long base = small.getOrDefault(e.getKey(), 0L);
      assertThat(e.getValue())
          .as(
              "%s: %d SQLite steps on a 100,000-entry log, %d on a 1,000-entry one",
              e.getKey(), e.getValue(), base)
          .isLessThanOrEqualTo(2 * base + 2_000);
    }
  }
}
