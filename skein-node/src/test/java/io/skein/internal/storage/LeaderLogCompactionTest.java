package io.skein.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.skein.Durability;
import io.skein.core.hlc.Hlc;
import io.skein.core.leader.LeaderMembers;
import io.skein.core.leader.LeaderReady;
import io.skein.core.leader.LeaderRecovered;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.Operation;
import io.skein.core.oplog.OplogEntry;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13 on SQLite: compaction of the applied log (with its snapshot record and slices), and the
 * install of a snapshot from a primary (progress, keeping or dropping the log), across restarts.
 */
class LeaderLogCompactionTest {
  private static final NodeId ONE = NodeId.of("1");
  private static final NodeId TWO = NodeId.of("2");
  private static final CollectionName C = CollectionName.user("c");

  @TempDir Path dir;

  private SqliteStore open() {
    return SqliteStore.open(dir, TWO, Durability.FSYNC, 2, new SimpleMeterRegistry());
  }

  private static OplogEntry entry(long epoch, long index, String id, @Nullable String doc) {
    return OplogEntry.createInLog(
        ONE,
        index,
        new Hlc(1_000 + index * 10, 0),
        doc == null ? Operation.DELETE : Operation.PUT,
        C,
        DocumentId.of(id),
        doc,
        epoch,
        index);
  }

  private static List<OplogEntry> entries(long from, long to) {
    List<OplogEntry> entries = new ArrayList<>();
    for (long i = from; i <= to; i++) {
      entries.add(entry(i <= 50 ? 1 : 2, i, "d" + (i % 7), "{\"i\":" + i + "}"));
    }
    return entries;
  }

  private static DocumentKey key(String id) {
    return new DocumentKey(C, DocumentId.of(id));
  }

  private static void appendAndApply(SqliteStore store, List<OplogEntry> entries) {
    store.appendLeaderLog(
        new SqliteStore.LeaderHardState(2, ONE),
        0,
        entries,
        List.of(),
        new Hlc(9_000, 0),
        0,
        Map.of());
    store.applyLeaderLog(entries.get(entries.size() - 1).index());
  }

  @Test
  void compactionRemovesTheAppliedPrefixAndKeepsWhatLogMatchingAndRecoveryNeed() {
    LeaderMembers members = LeaderMembers.of(List.of(ONE, TWO));
    try (SqliteStore store = open()) {
      appendAndApply(store, entries(1, 100));
      long feedBefore = store.oldestLsn();
      assertThatThrownBy(() -> store.compactLeaderLog(101, 2, 0, null))
          .as("index 101 is not applied")
          .isInstanceOf(StorageException.class)
          .hasMessageContaining("applied only up to 100");
      store.compactLeaderLog(60, 2, 40, members);
      assertThat(store.leaderEntries(1, 1_000))
          .first()
          .extracting(OplogEntry::index)
          .isEqualTo(61L);
      assertThat(store.leaderEntries(1, 1_000)).hasSize(40);
      assertThat(store.oldestLsn())
          .as("the feed starts after the compacted entries")
          .isGreaterThan(feedBefore);
      assertThat(store.get(key("d3")).orElseThrow().body()).isEqualTo("{\"i\":94}");
    }
    try (SqliteStore store = open()) {
      LeaderRecovered recovered = store.leaderRecovered();
      assertThat(recovered.snapshotIndex()).isEqualTo(60);
      assertThat(recovered.snapshotEpoch()).isEqualTo(2);
      assertThat(recovered.lastIndex()).isEqualTo(100);
      assertThat(recovered.commitIndex()).isEqualTo(100);
      assertThat(recovered.configurations()).containsEntry(40L, members);
      assertThat(recovered.epochStarts()).containsEntry(61L, 2L);
    }
  }

  @Test
  void theWalIsCheckpointedAndTruncatedBackToABound() {
    try (SqliteStore store = open()) {
      assertThat(store.writerPragma("wal_autocheckpoint"))
          .isEqualTo(Integer.toString(SqliteStore.WAL_AUTOCHECKPOINT_PAGES));
      assertThat(store.writerPragma("journal_size_limit"))
          .isEqualTo(Integer.toString(SqliteStore.WAL_BYTES_MAX));
    }
  }

  @Test
  void aLargeCompactionDeletesItsRowsInSlicesThatARestartCarriesOn() {
    try (SqliteStore store = open()) {
      for (long from = 1; from <= 40_000; from += 10_000) {
        appendAndApply(store, entries(from, from + 9_999));
      }
      store.compactLeaderLog(39_000, 2, 0, null);
      assertThat(store.leaderRecovered().snapshotIndex()).isEqualTo(39_000);
      assertThat(store.leaderEntries(1, 1).get(0).index())
          .as("one slice deleted, the rest still there")
          .isEqualTo(SqliteStore.COMPACT_ROWS_MAX + 1);
    }
    try (SqliteStore store = open()) {
      int slices = 0;
      while (store.compactLeaderLogSlice()) {
        slices++;
      }
      assertThat(slices).isPositive();
      assertThat(store.leaderEntries(1, 1).get(0).index()).isEqualTo(39_001);
      assertThat(store.compactLeaderLogSlice()).isFalse();
    }
  }

  private static LeaderReady.SnapshotInstall chunk(
      long index, List<OplogEntry> docs, boolean done, boolean keepLog) {
    DocumentKey last =
        docs.isEmpty()
            ? null
            : new DocumentKey(
                docs.get(docs.size() - 1).collection(), docs.get(docs.size() - 1).id());
    return new LeaderReady.SnapshotInstall(
        ONE, index, 2, 5, LeaderMembers.of(List.of(ONE, TWO)), docs, last, done, keepLog);
  }

  @Test
  void aSnapshotInstallsChunkByChunkResumesAfterARestartAndReplacesAConflictingLog() {
    try (SqliteStore store = open()) {
      // A log the primary's does not share from index 8 (epoch 1 where the primary's is 2),
      // applied up to 4; the snapshot stands for index 8.
      List<OplogEntry> mine = new ArrayList<>();
      for (long i = 1; i <= 10; i++) {
        mine.add(entry(1, i, "mine" + i, "{\"mine\":" + i + "}"));
      }
      store.appendLeaderLog(
          new SqliteStore.LeaderHardState(1, ONE), 0, mine, List.of(), Hlc.ZERO, 0, Map.of());
      store.applyLeaderLog(4);
      store.installLeaderSnapshot(
          chunk(
              8, List.of(entry(2, 400, "a", "{\"v\":1}"), entry(2, 410, "b", null)), false, false),
          new Hlc(9_000, 0));
    }
    try (SqliteStore store = open()) {
      LeaderRecovered.Receiving receiving = store.leaderRecovered().receiving();
      assertThat(receiving).isEqualTo(new LeaderRecovered.Receiving(8, key("b")));
      assertThat(store.leaderRecovered().snapshotIndex()).as("not done yet").isZero();
      store.installLeaderSnapshot(
          chunk(8, List.of(entry(2, 490, "c", "{\"v\":3}")), true, false), new Hlc(9_000, 0));
      LeaderRecovered recovered = store.leaderRecovered();
      assertThat(recovered.receiving()).isNull();
      assertThat(recovered.snapshotIndex()).isEqualTo(8);
      assertThat(recovered.lastIndex()).as("the conflicting log is gone").isEqualTo(8);
      assertThat(recovered.commitIndex()).isEqualTo(8);
      assertThat(recovered.configurations()).containsKey(5L);
      assertThat(store.leaderEntries(1, 100)).isEmpty();
      assertThat(store.oldestLsn())
          .as("the feed starts after the snapshot: a token from before it is expired")
          .isGreaterThan(8);
      assertThat(store.get(key("a")).orElseThrow().body()).isEqualTo("{\"v\":1}");
      assertThat(store.get(key("b")).orElseThrow().isTombstone()).isTrue();
      assertThat(store.get(key("c")).orElseThrow().body()).isEqualTo("{\"v\":3}");
      assertThat(store.get(key("mine2")).orElseThrow().body())
          .as("applied before: committed state, kept")
          .isEqualTo("{\"mine\":2}");
      assertThat(store.get(key("mine7"))).as("never applied: not a document").isEmpty();
      assertThat(store.list(SqliteStore.ROLLBACK, null, 100))
          .as(
              "the entries it dropped at and after the snapshot's index (8 to 10) are kept in"
                  + " _system_rollback; those below it are the snapshot's")
          .hasSize(3);
      // The log continues after the snapshot.
      store.appendLeaderLog(
          null,
          0,
          List.of(entry(2, 9, "z", "{\"v\":2}")),
          List.of(),
          new Hlc(9_999, 0),
          9,
          Map.of());
      assertThat(store.get(key("z")).orElseThrow().body()).isEqualTo("{\"v\":2}");
    }
  }

  @Test
  void aSnapshotWhoseEntryTheLogHoldsKeepsTheSuffixAfterIt() {
    try (SqliteStore store = open()) {
      store.appendLeaderLog(
          new SqliteStore.LeaderHardState(2, ONE),
          0,
          entries(1, 80),
          List.of(),
          Hlc.ZERO,
          0,
          Map.of());
      store.applyLeaderLog(20);
      store.installLeaderSnapshot(chunk(60, List.of(), true, true), new Hlc(9_000, 0));
      assertThat(store.leaderEntries(1, 100)).extracting(OplogEntry::index).first().isEqualTo(61L);
      assertThat(store.leaderEntries(1, 100)).hasSize(20);
      assertThat(store.leaderRecovered().lastIndex()).isEqualTo(80);
      assertThat(store.leaderRecovered().commitIndex()).isEqualTo(60);
      // A compaction decided before the install, carried out after it in the same ready: it
      // must not move the recorded start back (the review's finding 1).
      store.compactLeaderLog(20, 1, 0, null);
      assertThat(store.leaderRecovered().snapshotIndex()).isEqualTo(60);
      assertThat(store.leaderRecovered().snapshotEpoch()).isEqualTo(2);
    }
  }
}
