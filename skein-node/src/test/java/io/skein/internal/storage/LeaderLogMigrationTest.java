package io.skein.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.skein.Durability;
import io.skein.core.hlc.Hlc;
import io.skein.core.leader.LeaderMembers;
import io.skein.core.leader.LeaderRecovered;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.Operation;
import io.skein.core.oplog.OplogEntry;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A leader-mode file of schema version 3 (its log in {@code oplog}, lsns with the gaps truncations
 * leave) is upgraded in place to version 4: the log moves to {@code leader_log} whole, recovery
 * finds the same epochs, configurations and applied index, the documents keep verifying against
 * their entries, and no change-feed token handed out before the upgrade skips an entry after it.
 */
class LeaderLogMigrationTest {
  private static final NodeId ONE = NodeId.of("1");
  private static final CollectionName C = CollectionName.user("c");

  /** Version 3's tables, as released (Schema.java at version 3). */
  private static final List<String> VERSION_3 =
      List.of(
          """
          CREATE TABLE docs (collection TEXT NOT NULL, id TEXT NOT NULL, body TEXT,
            hlc INTEGER NOT NULL, origin TEXT NOT NULL, origin_key TEXT NOT NULL,
            lsn INTEGER NOT NULL, seq INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (collection, id))
            WITHOUT ROWID""",
          "CREATE INDEX docs_tombstones ON docs (hlc) WHERE body IS NULL",
          """
          CREATE TABLE oplog (lsn INTEGER PRIMARY KEY, origin TEXT NOT NULL, seq INTEGER NOT NULL,
            hlc INTEGER NOT NULL, op INTEGER NOT NULL, collection TEXT NOT NULL,
            id TEXT NOT NULL, body TEXT, epoch INTEGER NOT NULL, log_index INTEGER NOT NULL,
            checksum INTEGER NOT NULL, won INTEGER NOT NULL, snapshot INTEGER NOT NULL DEFAULT 0)""",
          "CREATE UNIQUE INDEX oplog_origin_seq ON oplog (origin, seq) WHERE snapshot = 0",
          "CREATE INDEX oplog_hlc ON oplog (hlc)",
          "CREATE INDEX oplog_key ON oplog (collection, id)",
          "CREATE INDEX oplog_log_index ON oplog (log_index) WHERE log_index > 0",
          "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
          """
          CREATE TABLE indexes (collection TEXT NOT NULL, name TEXT NOT NULL,
            fields TEXT NOT NULL, PRIMARY KEY (collection, name)) WITHOUT ROWID""",
          "CREATE TABLE leader_open (log_index INTEGER PRIMARY KEY) WITHOUT ROWID");

  @TempDir Path dir;

  private static OplogEntry entry(long epoch, long index, CollectionName c, String id, String doc) {
    return OplogEntry.createInLog(
        ONE,
        index,
        new Hlc(1_000 + index, 0),
        Operation.PUT,
        c,
        DocumentId.of(id),
        doc,
        epoch,
        index);
  }

  @Test
  void aVersionThreeLeaderFileIsUpgradedInPlace() throws Exception {
    String members = LeaderMembers.of(List.of(ONE, NodeId.of("2"), NodeId.of("3"))).toDocument();
    List<OplogEntry> log =
        List.of(
            entry(1, 1, C, "a", "{\"v\":1}"),
            entry(1, 2, LeaderMembers.COLLECTION, LeaderMembers.DOCUMENT.value(), members),
            entry(1, 3, C, "b", "{\"v\":3}"),
            entry(2, 4, C, "a", "{\"v\":4}"),
            entry(2, 5, C, "c", "{\"v\":5}"));
    // Old lsns: 4 and 5 were written again after a truncation took lsns 4 to 6.
    long[] oldLsn = {1, 2, 3, 7, 8};
    Path file = dir.resolve("node-1.db");
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement s = c.createStatement()) {
      for (String ddl : VERSION_3) {
        s.execute(ddl);
      }
      s.execute("PRAGMA application_id = " + Schema.APPLICATION_ID);
      s.execute("PRAGMA user_version = 3");
      s.execute(
          "INSERT INTO meta VALUES ('node_id', '1'), ('leader_epoch', '2'), ('leader_vote', '1'),"
              + " ('leader_applied', '4'), ('hlc_high_water', '"
              + new Hlc(2_000, 0).pack()
              + "')");
      for (int i = 0; i < log.size(); i++) {
        OplogEntry e = log.get(i);
        try (PreparedStatement p =
            c.prepareStatement(
                "INSERT INTO oplog VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, 0)")) {
          p.setLong(1, oldLsn[i]);
          p.setString(2, e.origin().value());
          p.setLong(3, e.sequence());
          p.setLong(4, e.hlc().pack());
          p.setInt(5, Schema.OP_PUT);
          p.setString(6, e.collection().value());
          p.setString(7, e.id().value());
          p.setString(8, e.document());
          p.setLong(9, e.epoch());
          p.setLong(10, e.index());
          p.setInt(11, e.checksum());
          p.executeUpdate();
        }
        if (e.index() <= 4) { // applied
          try (PreparedStatement p =
              c.prepareStatement("INSERT OR REPLACE INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
            p.setString(1, e.collection().value());
            p.setString(2, e.id().value());
            p.setString(3, e.document());
            p.setLong(4, e.hlc().pack());
            p.setString(5, ONE.value());
            p.setString(6, ONE.sortKey());
            p.setLong(7, oldLsn[i]);
            p.setLong(8, e.sequence());
            p.executeUpdate();
          }
        }
      }
    }

    try (SqliteStore store =
        SqliteStore.open(dir, ONE, Durability.FSYNC, 2, new SimpleMeterRegistry())) {
      assertThat(store.writerPragma("user_version")).isEqualTo("4");
      assertThat(store.leaderEntries(1, 10)).containsExactlyElementsOf(log);
      LeaderRecovered recovered = store.leaderRecovered();
      assertThat(recovered.epoch()).isEqualTo(2);
      assertThat(recovered.lastIndex()).isEqualTo(5);
      assertThat(recovered.commitIndex()).isEqualTo(4);
      assertThat(recovered.epochStarts()).isEqualTo(Map.of(1L, 1L, 4L, 2L));
      assertThat(recovered.configurations()).containsOnlyKeys(2L);
      assertThat(store.holdsWritesOutsideLeaderLog()).isFalse();

      // The feed: lsns at least the old ones, so no old token skips an entry after it.
      assertThat(store.lastLsn()).isGreaterThanOrEqualTo(7);
      List<Change> all = store.changes(0, null, 100).changes();
      assertThat(all).extracting(ch -> ch.entry().index()).containsExactly(1L, 2L, 3L, 4L);
      for (int i = 0; i < all.size(); i++) {
        assertThat(all.get(i).lsn()).isGreaterThanOrEqualTo(oldLsn[i]);
      }
      for (int i = 0; i < 4; i++) {
        long token = oldLsn[i];
        List<Long> after = new ArrayList<>();
        store.changes(token, null, 100).changes().forEach(ch -> after.add(ch.entry().index()));
        for (long later = i + 2; later <= 4; later++) {
          assertThat(after).as("after the old token %d", token).contains(later);
        }
      }
      assertThat(store.oldestLsn()).as("every old token is still good").isLessThanOrEqualTo(1);

      // It goes on: entry 5 is applied under its new lsn.
      List<Change> applied = store.applyLeaderLog(5);
      assertThat(applied).extracting(ch -> ch.entry().index()).containsExactly(5L);
      assertThat(applied.get(0).lsn()).isGreaterThan(all.get(3).lsn());
    }
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement s = c.createStatement()) {
      try (ResultSet r = s.executeQuery("SELECT count(*) FROM oplog")) {
        assertThat(r.next() && r.getLong(1) == 0).as("the oplog holds no leader rows").isTrue();
      }
      try (ResultSet r =
          s.executeQuery(
              "SELECT group_concat(name) FROM sqlite_master WHERE type = 'index'"
                  + " AND tbl_name IN ('oplog', 'leader_log') AND sql IS NOT NULL")) {
        r.next();
        assertThat(r.getString(1).split(","))
            .containsExactlyInAnyOrder("oplog_origin_seq", "oplog_hlc", "leader_log_config");
      }
    }
    StoreCheck.Report report = StoreCheck.check(file);
    assertThat(report.problems()).isEmpty();
    assertThat(report.entries()).isEqualTo(5);
    assertThat(report.documentsVerified()).isEqualTo(4);
    try (SqliteStore store =
        SqliteStore.open(dir, ONE, Durability.FSYNC, 2, new SimpleMeterRegistry())) {
      assertThat(store.leaderRecovered().commitIndex()).isEqualTo(5);
      assertThat(store.changes(0, null, 100).changes()).hasSize(5);
    }
  }
}
