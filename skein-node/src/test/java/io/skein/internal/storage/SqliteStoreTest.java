package io.skein.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.skein.Durability;
import io.skein.core.hlc.Hlc;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.Operation;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.replica.RecoveredState;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteStoreTest {
  private static final NodeId ONE = NodeId.of("1");
  private static final CollectionName C = CollectionName.user("c");

  @TempDir Path dir;

  private SqliteStore open(NodeId id) {
    return SqliteStore.open(dir, id, Durability.FSYNC, 2, new SimpleMeterRegistry());
  }

  static OplogEntry entry(
      String origin, long seq, long physicalMs, String id, @Nullable String body) {
    return OplogEntry.create(
        NodeId.of(origin),
        seq,
        new Hlc(physicalMs, 0),
        body == null ? Operation.DELETE : Operation.PUT,
        C,
        DocumentId.of(id),
        body);
  }

  private static DocumentKey key(String id) {
    return new DocumentKey(C, DocumentId.of(id));
  }

  @Test
  void appendWritesDocumentAndOplogTogetherAndAppliesLastWriteWins() {
    try (SqliteStore store = open(ONE)) {
      store.append(List.of(entry("1", 1, 2_000, "a", "{\"v\":2}")), new Hlc(2_000, 0));
      // An older write from another origin arrives later: it is logged but loses.
      List<Change> changes =
          store.append(List.of(entry("2", 1, 1_000, "a", "{\"v\":1}")), new Hlc(2_000, 0));
      assertThat(changes).singleElement().extracting(Change::won).isEqualTo(false);
      assertThat(store.get(key("a")).orElseThrow().body()).isEqualTo("{\"v\":2}");
      // Same HLC, higher origin id: wins.
      store.append(List.of(entry("3", 1, 2_000, "a", "{\"v\":3}")), new Hlc(2_000, 0));
      assertThat(store.get(key("a")).orElseThrow().body()).isEqualTo("{\"v\":3}");
      assertThat(store.versionVector()).containsEntry(ONE, 1L).containsEntry(NodeId.of("2"), 1L);
      assertThat(store.changes(0, null, 10).changes()).hasSize(3);
    }
  }

  @Test
  void durabilityChoosesFsyncPerCommitOrOsBuffering() {
    try (SqliteStore store = open(ONE)) {
      assertThat(store.writerPragma("journal_mode")).isEqualTo("wal");
      assertThat(store.writerPragma("synchronous")).isEqualTo("2"); // FULL: fsync every commit
    }
    try (SqliteStore store =
        SqliteStore.open(dir, ONE, Durability.BUFFERED, 1, new SimpleMeterRegistry())) {
      assertThat(store.writerPragma("synchronous")).isEqualTo("1"); // NORMAL: no commit fsync
    }
    assertThat(dir.resolve("node-1.db")).exists();
  }

  @Test
  void deletesLeaveTombstonesThatListingsAndQueriesSkip() {
    try (SqliteStore store = open(ONE)) {
      store.append(
          List.of(entry("1", 1, 1_000, "a", "{}"), entry("1", 2, 1_001, "b", "{}")),
          new Hlc(1_001, 0));
      store.append(List.of(entry("1", 3, 1_002, "a", null)), new Hlc(1_002, 0));
      assertThat(store.get(key("a")).orElseThrow().isTombstone()).isTrue();
      assertThat(store.list(C, null, 10))
          .extracting(d -> d.key().id().value())
          .containsExactly("b");
    }
  }

  @Test
  void aFailedTransactionLeavesNothingBehind() {
    try (SqliteStore store = open(ONE)) {
      store.append(List.of(entry("1", 1, 1_000, "a", "{}")), new Hlc(1_000, 0));
      // The second entry duplicates (origin, seq) of the first: the UNIQUE constraint fails
      // after "b" was already upserted inside the transaction.
      List<OplogEntry> bad =
          List.of(entry("1", 2, 1_001, "b", "{}"), entry("1", 2, 1_002, "c", "{}"));
      assertThatThrownBy(() -> store.append(bad, new Hlc(1_002, 0)))
          .isInstanceOf(StorageException.class)
          .hasMessageContaining("rolled back");
      assertThat(store.get(key("b"))).isEmpty();
      assertThat(store.get(key("c"))).isEmpty();
      assertThat(store.changes(0, null, 10).changes()).hasSize(1);
      // The store stays usable, and the lsn counter did not skip.
      List<Change> next = store.append(List.of(entry("1", 2, 1_003, "d", "{}")), Hlc.ZERO);
      assertThat(next.get(0).lsn()).isEqualTo(2);
    }
  }

  @Test
  void recoversTheSequenceAndClockHighWaterAfterReopen() {
    try (SqliteStore store = open(ONE)) {
      store.append(
          List.of(entry("1", 1, 1_000, "a", "{}"), entry("1", 2, 1_001, "b", "{}")),
          new Hlc(9_000, 4));
    }
    try (SqliteStore store = open(ONE)) {
      assertThat(store.recoveredState())
          .isEqualTo(new RecoveredState(2, new Hlc(9_000, 4), java.util.Map.of(ONE, 2L)));
      assertThat(store.lastLsn()).isEqualTo(2);
    }
  }

  @Test
  void theGatewayElectionsVoteSurvivesAReopen() {
    try (SqliteStore store = open(ONE)) {
      assertThat(store.recoveredState().gatewayTerm())
          .isEqualTo(io.skein.core.replica.GatewayTerm.NONE);
      store.saveGatewayTerm(new io.skein.core.replica.GatewayTerm(3, NodeId.of("2")));
      store.saveGatewayTerm(new io.skein.core.replica.GatewayTerm(4, null));
    }
    try (SqliteStore store = open(ONE)) {
      assertThat(store.recoveredState().gatewayTerm())
          .isEqualTo(new io.skein.core.replica.GatewayTerm(4, null));
      store.saveGatewayTerm(new io.skein.core.replica.GatewayTerm(4, ONE));
    }
    try (SqliteStore store = open(ONE)) {
      assertThat(store.recoveredState().gatewayTerm())
          .isEqualTo(new io.skein.core.replica.GatewayTerm(4, ONE));
    }
  }

  @Test
  void refusesAFileThatIsNotSqliteAndLeavesItUntouched() throws Exception {
    Path file = dir.resolve("node-1.db");
    byte[] garbage =
        "this is not a database, but it is someone's data".getBytes(StandardCharsets.UTF_8);
    Files.write(file, garbage);
    assertThatThrownBy(() -> open(ONE))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("not an SQLite database")
        .hasMessageContaining("left untouched");
    assertThat(Files.readAllBytes(file)).isEqualTo(garbage);
  }

  @Test
  void refusesACorruptSkeinFileAndLeavesItUntouched() throws Exception {
    try (SqliteStore store = open(ONE)) {
      for (int i = 1; i <= 200; i++) {
        store.append(
            List.of(entry("1", i, 1_000 + i, "d" + i, "{\"pad\":\"" + "x".repeat(200) + "\"}")),
            Hlc.ZERO);
      }
    }
    Path file = dir.resolve("node-1.db");
    byte[] bytes = Files.readAllBytes(file);
    // Overwrite the middle of the file (table and index pages), keeping the header intact.
    for (int i = 4096; i < Math.min(bytes.length, 4096 * 6); i++) {
      bytes[i] = (byte) 0xA5;
    }
    Files.write(file, bytes);
    assertThatThrownBy(() -> open(ONE))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("refusing to open");
    assertThat(Files.readAllBytes(file)).isEqualTo(bytes);
  }

  @Test
  void refusesAnotherApplicationsDatabase() throws Exception {
    Path file = dir.resolve("node-1.db");
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER)");
      s.execute("INSERT INTO accounts VALUES (1, 100)");
    }
    byte[] before = Files.readAllBytes(file);
    assertThatThrownBy(() -> open(ONE)).hasMessageContaining("another application");
    assertThat(Files.readAllBytes(file)).isEqualTo(before);
  }

  @Test
  void refusesAnUnknownSchemaVersion() throws Exception {
    open(ONE).close();
    Path file = dir.resolve("node-1.db");
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement s = c.createStatement()) {
      s.execute("PRAGMA user_version = 99");
    }
    assertThatThrownBy(() -> open(ONE))
        .hasMessageContaining("schema version is 99")
        .hasMessageContaining("only version " + Schema.VERSION);
  }

  @Test
  void refusesAFileOfAnotherNode() throws Exception {
    open(NodeId.of("2")).close();
    Files.move(dir.resolve("node-2.db"), dir.resolve("node-1.db"));
    assertThatThrownBy(() -> open(ONE)).hasMessageContaining("belongs to node '2'");
  }

  @Test
  void aCorruptedOplogRowFailsItsChecksumOnRead() throws Exception {
    try (SqliteStore store = open(ONE)) {
      store.append(List.of(entry("1", 1, 1_000, "a", "{\"v\":1}")), Hlc.ZERO);
    }
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("node-1.db"));
        Statement s = c.createStatement()) {
      s.execute("UPDATE oplog SET body = '{\"v\":666}'");
    }
    try (SqliteStore store = open(ONE)) {
      assertThatThrownBy(() -> store.changes(0, null, 10))
          .isInstanceOf(StorageException.class)
          .hasMessageContaining("checksum");
    }
  }
}
