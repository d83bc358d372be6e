package io.skein.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.skein.Durability;
import io.skein.core.hlc.Hlc;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.Operation;
import io.skein.core.oplog.OplogEntry;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A file written by schema version 1 opens, is upgraded to version 2, and loses nothing. */
class SchemaMigrationTest {
  private static final NodeId ONE = NodeId.of("1");
  private static final CollectionName C = CollectionName.user("c");

  /** Version 1's tables, as released before retention (Schema.java at version 1). */
  private static final List<String> VERSION_1 =
      List.of(
          """
          CREATE TABLE docs (collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT,
            hlc INTEGER NOT NULL, origin TEXT NOT NULL, origin_key TEXT NOT NULL,
            lsn INTEGER NOT NULL, PRIMARY KEY (collection, id)) WITHOUT ROWID""",
          """
          CREATE TABLE oplog (lsn INTEGER PRIMARY KEY, origin TEXT NOT NULL, seq INTEGER NOT NULL,
            hlc INTEGER NOT NULL, op INTEGER NOT NULL, collection TEXT NOT NULL,
            id TEXT NOT NULL, body TEXT, epoch INTEGER NOT NULL, log_index INTEGER NOT NULL,
            checksum INTEGER NOT NULL, won INTEGER NOT NULL, UNIQUE (origin, seq))""",
          "CREATE INDEX oplog_key ON oplog (collection, id)",
          "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
          """
          CREATE TABLE indexes (collection TEXT NOT NULL, name TEXT NOT NULL,
            fields TEXT NOT NULL, PRIMARY KEY (collection, name)) WITHOUT ROWID""");

  @TempDir Path dir;

  @Test
  void aVersionOneFileIsUpgradedInPlaceWithEveryEntryAndDocument() throws Exception {
    OplogEntry put =
        OplogEntry.create(
            ONE, 1, new Hlc(1_000, 0), Operation.PUT, C, DocumentId.of("a"), "{\"v\":1}");
    OplogEntry delete =
        OplogEntry.create(ONE, 2, new Hlc(1_001, 0), Operation.DELETE, C, DocumentId.of("b"), null);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("node-1.db"));
        Statement s = c.createStatement()) {
      for (String ddl : VERSION_1) {
        s.execute(ddl);
      }
      s.execute("PRAGMA application_id = " + Schema.APPLICATION_ID);
      s.execute("PRAGMA user_version = 1");
      s.execute("INSERT INTO meta VALUES ('node_id', '1'), ('local_sequence', '2')");
      long lsn = 1;
      for (OplogEntry e : List.of(put, delete)) {
        try (PreparedStatement p =
            c.prepareStatement("INSERT INTO oplog VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, 1)")) {
          p.setLong(1, lsn);
          p.setString(2, e.origin().value());
          p.setLong(3, e.sequence());
          p.setLong(4, e.hlc().pack());
          p.setInt(5, e.operation() == Operation.PUT ? Schema.OP_PUT : Schema.OP_DELETE);
          p.setString(6, C.value());
          p.setString(7, e.id().value());
          p.setString(8, e.document());
          p.setInt(9, e.checksum());
          p.executeUpdate();
        }
        try (PreparedStatement p =
            c.prepareStatement("INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?)")) {
          p.setString(1, C.value());
          p.setString(2, e.id().value());
          p.setString(3, e.document());
          p.setLong(4, e.hlc().pack());
          p.setString(5, ONE.value());
          p.setString(6, ONE.sortKey());
          p.setLong(7, lsn);
          p.executeUpdate();
        }
        lsn++;
      }
    }

    try (SqliteStore store =
        SqliteStore.open(dir, ONE, Durability.FSYNC, 2, new SimpleMeterRegistry())) {
      assertThat(store.recoveredState().versionVector()).containsEntry(ONE, 2L);
      assertThat(store.get(new DocumentKey(C, DocumentId.of("a")))).isPresent();
      assertThat(store.entries(ONE, 1, 10)).containsExactly(put, delete);
      // docs.seq was filled from the oplog: a snapshot sends the winning entries themselves.
      assertThat(store.snapshotDocuments(Map.of(ONE, 2L), null, 10).documents())
          .containsExactly(put, delete);
      OplogEntry next =
          OplogEntry.create(ONE, 3, new Hlc(1_002, 0), Operation.PUT, C, DocumentId.of("c"), "{}");
      store.append(List.of(next), next.hlc());
      assertThat(store.entries(ONE, 3, 10)).containsExactly(next);
      assertThat(store.writerPragma("user_version")).isEqualTo(Integer.toString(Schema.VERSION));
    }
    // And it opens again as a file of the current version.
    try (SqliteStore store =
        SqliteStore.open(dir, ONE, Durability.FSYNC, 2, new SimpleMeterRegistry())) {
      assertThat(store.recoveredState().versionVector()).containsEntry(ONE, 3L);
    }
  }
}
