package io.skein.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.skein.Durability;
import io.skein.core.hlc.Hlc;
import io.skein.core.leader.LeaderRecovered;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.Operation;
import io.skein.core.oplog.OplogEntry;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Leader mode's log on SQLite: appended unapplied, applied at commit, an uncommitted suffix moved
 * into {@code _system_rollback} (D3), and the election state recovered after a restart.
 */
class LeaderLogStorageTest {
  private static final NodeId ONE = NodeId.of("1");
  private static final NodeId TWO = NodeId.of("2");
  private static final CollectionName C = CollectionName.user("c");

  @TempDir Path dir;

  private SqliteStore open() {
    return SqliteStore.open(dir, TWO, Durability.FSYNC, 2, new SimpleMeterRegistry());
  }

  private static OplogEntry entry(
      NodeId primary, long epoch, long index, String id, @Nullable String doc) {
    return OplogEntry.createInLog(
        primary,
        index,
        new Hlc(1_000 + index * 10 + epoch, 0),
        doc == null ? Operation.DELETE : Operation.PUT,
        C,
        DocumentId.of(id),
        doc,
        epoch,
        index);
  }

  private static DocumentKey key(String id) {
    return new DocumentKey(C, DocumentId.of(id));
  }

  @Test
  void logReadsForFollowersAreBoundedInBytesButNeverEmpty() {
    try (SqliteStore store = open()) {
      String big = "{\"pad\":\"" + "x".repeat(10_000) + "\"}";
      List<OplogEntry> entries = new java.util.ArrayList<>();
      for (long i = 1; i <= 10; i++) {
        entries.add(entry(ONE, 1, i, "d" + i, big));
      }
      store.appendLeaderLog(new SqliteStore.LeaderHardState(1, ONE), 0, entries, new Hlc(2_000, 0));
      assertThat(store.leaderEntries(1, 512)).hasSize(10);
      assertThat(store.leaderEntries(3, 512, 35_000))
          .extracting(OplogEntry::index)
          .containsExactly(3L, 4L, 5L);
      assertThat(store.leaderEntries(3, 512, 1)).extracting(OplogEntry::index).containsExactly(3L);
      assertThat(store.highestLsn())
          .as("rows appended, none applied")
          .isGreaterThan(store.lastLsn());
    }
  }

  @Test
  void batchEndsSurviveARestartAndATruncation() {
    List<OplogEntry> entries = new java.util.ArrayList<>();
    for (long i = 1; i <= 6; i++) {
      entries.add(entry(ONE, 1, i, "d" + i, "{}"));
    }
    try (SqliteStore store = open()) {
      // Two batches: 1-3 and 4-6; entries 1, 2, 4 and 5 do not end their write.
      store.appendLeaderLog(
          new SqliteStore.LeaderHardState(1, ONE),
          0,
          entries,
          List.of(1L, 2L, 4L, 5L),
          new Hlc(2_000, 0),
          0,
          java.util.Map.of());
      store.applyLeaderLog(3);
      assertThat(store.leaderOpenIndexes(1, 6)).containsExactlyInAnyOrder(1L, 2L, 4L, 5L);
    }
    try (SqliteStore store = open()) {
      assertThat(store.leaderRecovered().openIndexes())
          .as("those above the applied index come back")
          .containsExactlyInAnyOrder(4L, 5L);
      store.appendLeaderLog(null, 5, List.of(), new Hlc(2_000, 0));
      assertThat(store.leaderOpenIndexes(1, 6)).containsExactlyInAnyOrder(1L, 2L, 4L);
    }
  }

  @Test
  void theLogIsAppliedAtCommitAndAnUncommittedSuffixGoesToRollback() {
    try (SqliteStore store = open()) {
      store.appendLeaderLog(
          new SqliteStore.LeaderHardState(1, ONE),
          0,
          List.of(
              entry(ONE, 1, 1, "a", "{\"v\":1}"),
              entry(ONE, 1, 2, "b", "{\"v\":1}"),
              entry(ONE, 1, 3, "a", "{\"v\":2}")),
          new Hlc(2_000, 0));
      // Appended, not committed: no document, nothing in the feed.
      assertThat(store.get(key("a"))).isEmpty();
      assertThat(store.changes(0, null, 100).changes()).isEmpty();

      assertThat(store.applyLeaderLog(2)).hasSize(2);
      assertThat(store.writerPragma("synchronous"))
          .as("applying commits without fsync, then every other commit is fsynced again")
          .isEqualTo("2");
      assertThat(store.get(key("a")).orElseThrow().body()).isEqualTo("{\"v\":1}");
      assertThat(store.changes(0, null, 100).changes()).hasSize(2);

      // A new primary in epoch 2 overwrites index 3: the old entry goes to _system_rollback.
      store.appendLeaderLog(
          new SqliteStore.LeaderHardState(2, null),
          3,
          List.of(entry(TWO, 2, 3, "c", "{\"v\":3}")),
          new Hlc(2_100, 0));
      StoredDocument rolledBack =
          store.get(new DocumentKey(SqliteStore.ROLLBACK, DocumentId.of("e1-i3"))).orElseThrow();
      assertThat(rolledBack.body())
          .contains("\"collection\":\"c\"")
          .contains("\"id\":\"a\"")
          .contains("\"doc\":{\"v\":2}")
          .contains("\"epoch\":1");
      assertThat(store.get(key("a")).orElseThrow().body()).isEqualTo("{\"v\":1}");

      assertThat(store.applyLeaderLog(3)).hasSize(1);
      assertThat(store.get(key("c"))).isPresent();
      // A committed entry is never truncated.
      assertThatThrownBy(() -> store.appendLeaderLog(null, 2, List.of(), new Hlc(2_200, 0)))
          .isInstanceOf(StorageException.class)
          .hasMessageContaining("applied");
    }
    try (SqliteStore store = open()) {
      LeaderRecovered recovered = store.leaderRecovered();
      assertThat(recovered.epoch()).isEqualTo(2);
      assertThat(recovered.votedFor()).isNull();
      assertThat(recovered.lastIndex()).isEqualTo(3);
      assertThat(recovered.epochStarts()).isEqualTo(Map.of(1L, 1L, 3L, 2L));
      assertThat(recovered.commitIndex()).isEqualTo(3);
      assertThat(store.changes(0, null, 100).changes()).hasSize(3);
    }
  }

  @Test
  void entriesAppendedButNotAppliedStayOutOfTheFeedAcrossARestart() {
    try (SqliteStore store = open()) {
      store.appendLeaderLog(
          new SqliteStore.LeaderHardState(1, ONE),
          0,
          List.of(entry(ONE, 1, 1, "a", "{}"), entry(ONE, 1, 2, "b", "{}")),
          new Hlc(2_000, 0));
      store.applyLeaderLog(1);
    }
    try (SqliteStore store = open()) {
      assertThat(store.lastLsn()).isEqualTo(1);
      assertThat(store.changes(0, null, 100).changes()).hasSize(1);
      assertThat(store.leaderRecovered().lastIndex()).isEqualTo(2);
    }
  }
}
