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
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Backup and restore of a database file (docs/operating/backup.md): a snapshot taken while a writer
 * commits is a consistent prefix of its writes; the file format refuses anything damaged, truncated
 * or foreign before it writes a byte; a restore takes the new node id, keeps a dynamo node from
 * reusing a sequence number, and {@code --seed-leader} turns a leader log into a snapshot state.
 */
@Timeout(120)
class BackupTest {
  private static final CollectionName C = CollectionName.user("c");
  private static final int KEYS = 20;

  @TempDir Path dir;

  private Path source() {
    return dir.resolve("source");
  }

  private SqliteStore open(Path dataDir, String id) {
    return SqliteStore.open(
        dataDir, NodeId.of(id), Durability.BUFFERED, 2, new SimpleMeterRegistry());
  }

  private static OplogEntry put(String origin, long seq, String id, String body) {
    return OplogEntry.create(
        NodeId.of(origin), seq, new Hlc(1_000 + seq, 0), Operation.PUT, C, DocumentId.of(id), body);
  }

  private static OplogEntry leaderEntry(long epoch, long index, String id) {
    return OplogEntry.createInLog(
        NodeId.of("1"),
        index,
        new Hlc(1_000 + index, 0),
        Operation.PUT,
        C,
        DocumentId.of(id),
        "{\"index\":" + index + "}",
        epoch,
        index);
  }

  /** Takes a backup of a node's file into {@code name}; returns its path. */
  private Path backup(Path dataDir, String id, String name) throws IOException {
    Path file = dir.resolve(name);
    try (Backup.Lease lease = Backup.begin(Backup.databaseFile(dataDir, NodeId.of(id)));
        Backup.Snapshot snapshot = Backup.snapshot(lease, Instant.parse("2025-01-02T03:04:05Z"));
        OutputStream out = Files.newOutputStream(file)) {
      snapshot.writeTo(out);
    }
    return file;
  }

  private static String body(SqliteStore store, String id) {
    return store
        .get(new DocumentKey(C, DocumentId.of(id)))
        .map(d -> String.valueOf(d.body()))
        .orElse("absent");
  }

  private static List<String> listing(Path directory) throws IOException {
    if (!Files.exists(directory)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(directory)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  private static Map<String, String> meta(Path file) throws SQLException {
    Map<String, String> meta = new HashMap<>();
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT key, value FROM meta")) {
      while (r.next()) {
        meta.put(r.getString(1), r.getString(2));
      }
    }
    return meta;
  }

  private static long count(Path file, String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement s = c.createStatement();
        ResultSet r = s.executeQuery(sql)) {
      r.next();
      return r.getLong(1);
    }
  }

  private static void exec(Path file, String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  @Test
  void aBackupTakenWhileAWriterCommitsIsAConsistentPrefixOfItsWrites() throws Exception {
    String pad = "x".repeat(2_000);
    AtomicLong committed = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<@Nullable Throwable> failure = new AtomicReference<>();
    try (SqliteStore store = open(source(), "1")) {
      // Write i goes to key k(i % KEYS): a snapshot after write P holds, for each key, the last
      // write to it up to P, and nothing later.
      for (long i = 1; i <= 2_000; i++) {
        store.append(List.of(put("1", i, "k" + i % KEYS, doc(i, pad))), new Hlc(1_000 + i, 0));
        committed.set(i);
      }
      Thread writer =
          Thread.ofPlatform()
              .start(
                  () -> {
                    try {
                      for (long i = committed.get() + 1; !stop.get(); i++) {
                        store.append(
                            List.of(put("1", i, "k" + i % KEYS, doc(i, pad))),
                            new Hlc(1_000 + i, 0));
                        committed.set(i);
                      }
                    } catch (RuntimeException e) {
                      failure.set(e);
                    }
                  });
      try {
        for (int round = 0; round < 3; round++) {
          long before = committed.get();
          Path file = backup(source(), "1", "during-" + round + ".skeinbak");
          long after = committed.get();
          Path restored = dir.resolve("restored-" + round);
          Restore.restore(file, restored, NodeId.of("5"), false); // integrity_check included
          try (SqliteStore copy = open(restored, "5")) {
            long prefix = 0;
            for (int key = 0; key < KEYS; key++) {
              prefix = Math.max(prefix, index(body(copy, "k" + key)));
            }
            // A write is counted just after its commit, so the snapshot may hold one more.
            assertThat(prefix).as("the snapshot is of the live state").isBetween(before, after + 1);
            for (int key = 0; key < KEYS; key++) {
              long expected = prefix - Math.floorMod(prefix - key, KEYS);
              assertThat(index(body(copy, "k" + key)))
                  .as("key k%d in a snapshot taken after write %d", key, prefix)
                  .isEqualTo(expected);
            }
            assertThat(copy.lastLsn()).isEqualTo(prefix);
          }
        }
        assertThat(committed.get()).as("the writer went on").isGreaterThan(2_000);
      } finally {
        stop.set(true);
        writer.join();
      }
      assertThat(failure.get()).isNull();
    }
    assertThat(listing(source())).noneMatch(name -> name.contains(".tmp"));
  }

  private static String doc(long i, String pad) {
    return "{\"i\":" + i + ",\"pad\":\"" + pad + "\"}";
  }

  private static long index(String body) {
    return Long.parseLong(body.replaceAll("^\\{\"i\":(\\d+),.*$", "$1"));
  }

  /** A dynamo file of node 2 holding its own writes (1..3) and node 7's (1..4). */
  private void dynamoSource() {
    try (SqliteStore store = open(source(), "2")) {
      for (long seq = 1; seq <= 3; seq++) {
        store.append(List.of(put("2", seq, "own" + seq, "{\"n\":" + seq + "}")), new Hlc(2_000, 0));
      }
      for (long seq = 1; seq <= 4; seq++) {
        store.append(List.of(put("7", seq, "seven" + seq, "{}")), new Hlc(2_000, 0));
      }
    }
  }

  @Test
  void theManifestDescribesTheSnapshotAndTheRestoredFileOpensAsTheNewNode() throws Exception {
    dynamoSource();
    Path file = backup(source(), "2", "b.skeinbak");
    BackupManifest manifest = BackupFile.verify(file);
    assertThat(manifest.mode()).isEqualTo("dynamo");
    assertThat(manifest.sourceNodeId()).isEqualTo("2");
    assertThat(manifest.schemaVersion()).isEqualTo(Schema.VERSION);
    assertThat(manifest.versionVector()).isEqualTo(Map.of("2", 3L, "7", 4L));
    assertThat(manifest.lsn()).isEqualTo(7);
    assertThat(manifest.leader()).isNull();
    assertThat(manifest.createdAt()).isEqualTo("2025-01-02T03:04:05Z");
    assertThat(Files.size(file))
        .isEqualTo(BackupFile.header(manifest).length + manifest.databaseBytes());
    assertThat(new String(Files.readAllBytes(file), 0, 11, StandardCharsets.US_ASCII))
        .isEqualTo("SKEINBAK 1\n");

    Path target = dir.resolve("fresh");
    Restore.Result result = Restore.restore(file, target, NodeId.of("5"), false);
    assertThat(result.databaseFile()).isEqualTo(target.resolve("node-5.db"));
    assertThat(listing(target)).containsExactly("node-5.db");
    assertThat(meta(target.resolve("node-5.db"))).containsEntry("node_id", "5");
    try (SqliteStore restored = open(target, "5");
        SqliteStore original = open(source(), "2")) {
      for (String id : List.of("own1", "own2", "own3", "seven1", "seven4")) {
        assertThat(body(restored, id)).isEqualTo(body(original, id)).isNotEqualTo("absent");
      }
      assertThat(restored.lastLsn()).isEqualTo(7);
    }
    Path renamed = dir.resolve("renamed");
    Files.createDirectories(renamed);
    Files.copy(target.resolve("node-5.db"), renamed.resolve("node-2.db"));
    assertThatThrownBy(() -> open(renamed, "2"))
        .as("the file is node 5's now, not a second node 2")
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("belongs to node '5'");
  }

  @Test
  void aDynamoNodeNeverReusesASequenceTheFileHoldsNorSkipsOne() throws Exception {
    dynamoSource();
    Path file = backup(source(), "2", "b.skeinbak");

    Restore.Result seven = Restore.restore(file, dir.resolve("as7"), NodeId.of("7"), false);
    assertThat(seven.localSequence()).as("node 7's highest sequence in the file").isEqualTo(4);
    assertThat(meta(dir.resolve("as7/node-7.db"))).containsEntry("local_sequence", "4");
    try (SqliteStore store = open(dir.resolve("as7"), "7")) {
      assertThat(store.recoveredState().lastLocalSequence()).isEqualTo(4);
    }

    Restore.Result nine = Restore.restore(file, dir.resolve("as9"), NodeId.of("9"), false);
    assertThat(nine.localSequence()).as("a new id starts at 0, not at node 2's 3").isZero();
    assertThat(meta(dir.resolve("as9/node-9.db"))).doesNotContainKey("local_sequence");
    try (SqliteStore store = open(dir.resolve("as9"), "9")) {
      assertThat(store.recoveredState().lastLocalSequence()).isZero();
      assertThat(store.recoveredState().versionVector())
          .containsEntry(NodeId.of("2"), 3L)
          .containsEntry(NodeId.of("7"), 4L);
    }

    exec(
        source().resolve("node-2.db"), "UPDATE meta SET value = '12' WHERE key = 'local_sequence'");
    Path again = backup(source(), "2", "again.skeinbak");
    Restore.Result two = Restore.restore(again, dir.resolve("as2"), NodeId.of("2"), false);
    assertThat(two.localSequence()).as("the source's own counter is kept").isEqualTo(12);
  }

  /** A leader file of node 2: epochs 1 (indexes 1-3) and 3 (4-6), applied up to 5. */
  private void leaderSource() throws SQLException {
    try (SqliteStore store = open(source(), "2")) {
      List<OplogEntry> entries = new ArrayList<>();
      for (long index = 1; index <= 6; index++) {
        entries.add(leaderEntry(index <= 3 ? 1 : 3, index, "d" + index));
      }
      store.appendLeaderLog(
          new SqliteStore.LeaderHardState(3, NodeId.of("1")),
          0,
          entries,
          List.of(6L),
          new Hlc(2_000, 0),
          5,
          Map.of());
    }
    exec(
        source().resolve("node-2.db"),
        "INSERT INTO meta (key, value) VALUES ('leader_snapshot_members', '[\"1\",\"2\"]'),"
            + " ('leader_snapshot_config_index', '0'), ('leader_snapshot_receive', '{}')");
  }

  @Test
  void seedLeaderTurnsTheLogIntoASnapshotStateAtTheAppliedIndex() throws Exception {
    leaderSource();
    Path file = backup(source(), "2", "leader.skeinbak");
    BackupManifest manifest = BackupFile.verify(file);
    assertThat(manifest.mode()).isEqualTo("leader");
    assertThat(manifest.leader()).isEqualTo(new BackupManifest.LeaderPosition(5, 3, 3));
    assertThat(manifest.versionVector()).isEmpty();

    Restore.Result result = Restore.restore(file, dir.resolve("seeded"), NodeId.of("4"), true);
    assertThat(result.seededLeader()).isTrue();
    Path seeded = dir.resolve("seeded/node-4.db");
    assertThat(count(seeded, "SELECT count(*) FROM leader_log")).isZero();
    assertThat(count(seeded, "SELECT count(*) FROM leader_open")).isZero();
    assertThat(meta(seeded))
        .containsEntry("node_id", "4")
        .containsEntry("leader_applied", "5")
        .containsEntry("leader_snapshot_index", "5")
        .containsEntry("leader_snapshot_epoch", "3")
        .containsEntry("leader_epoch", "3")
        .doesNotContainKeys(
            "leader_vote",
            "leader_snapshot_config_index",
            "leader_snapshot_members",
            "leader_snapshot_receive");
    assertThat(count(seeded, "SELECT count(*) FROM docs WHERE id IN ('d1','d2','d3','d4','d5')"))
        .isEqualTo(5);
    assertThat(count(seeded, "SELECT count(*) FROM docs WHERE id = 'd6'"))
        .as("entry 6 was not applied: it is not in the snapshot state")
        .isZero();

    Restore.Result plain = Restore.restore(file, dir.resolve("plain"), NodeId.of("4"), false);
    assertThat(plain.seededLeader()).isFalse();
    assertThat(count(dir.resolve("plain/node-4.db"), "SELECT count(*) FROM leader_log"))
        .as("without --seed-leader the log is kept")
        .isEqualTo(6);
  }

  @Test
  void seedLeaderTakesTheEpochFromTheSnapshotMetaWhenTheLogWasCompacted() throws Exception {
    leaderSource();
    exec(source().resolve("node-2.db"), "DELETE FROM leader_log WHERE log_index <= 5");
    exec(
        source().resolve("node-2.db"),
        "INSERT INTO meta (key, value) VALUES ('leader_snapshot_index', '5'),"
            + " ('leader_snapshot_epoch', '2')");
    Path file = backup(source(), "2", "compacted.skeinbak");
    Restore.restore(file, dir.resolve("seeded"), NodeId.of("4"), true);
    assertThat(meta(dir.resolve("seeded/node-4.db")))
        .containsEntry("leader_snapshot_index", "5")
        .containsEntry("leader_snapshot_epoch", "2")
        .containsEntry("leader_epoch", "2");
  }

  @Test
  void seedLeaderRefusesADynamoBackup() throws Exception {
    dynamoSource();
    Path file = backup(source(), "2", "b.skeinbak");
    assertThatThrownBy(() -> Restore.restore(file, dir.resolve("x"), NodeId.of("4"), true))
        .isInstanceOfSatisfying(
            BackupException.class, e -> assertThat(e.code()).isEqualTo(BackupException.REFUSED))
        .hasMessageContaining("--seed-leader needs a leader-mode backup");
    assertThat(dir.resolve("x")).doesNotExist();
  }

  /** Asserts that restoring {@code file} is refused with {@code code} and writes nothing. */
  private void assertRefused(Path file, String code, String message) {
    Path target = dir.resolve("target");
    assertThatThrownBy(() -> Restore.restore(file, target, NodeId.of("5"), false))
        .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.code()).isEqualTo(code))
        .hasMessageContaining(message)
        .hasMessageContaining(file.toString());
    assertThat(target).as("nothing is written").doesNotExist();
  }

  private Path variant(String name, byte[] bytes) throws IOException {
    Path file = dir.resolve(name);
    Files.write(file, bytes);
    return file;
  }

  @Test
  void damagedTruncatedAndForeignFilesAreRefusedBeforeAnythingIsWritten() throws Exception {
    dynamoSource();
    byte[] good = Files.readAllBytes(backup(source(), "2", "good.skeinbak"));
    int header = BackupFile.header(BackupFile.verify(dir.resolve("good.skeinbak"))).length;

    byte[] flipped = good.clone();
    flipped[header + (good.length - header) / 2] ^= 0x01;
    assertRefused(
        variant("flipped", flipped), BackupException.DAMAGED, "checksum mismatch: the database");
    assertRefused(variant("flipped", flipped), BackupException.DAMAGED, "the file is damaged");

    byte[] manifest = good.clone();
    manifest[20] ^= 0x01;
    assertRefused(
        variant("manifest", manifest),
        BackupException.DAMAGED,
        "checksum mismatch in the manifest");

    for (int length : List.of(5, 12, header - 3, header, header + 100, good.length - 1)) {
      byte[] truncated = java.util.Arrays.copyOf(good, length);
      assertRefused(
          variant("truncated" + length, truncated), BackupException.TRUNCATED, "truncated");
    }

    byte[] longer = java.util.Arrays.copyOf(good, good.length + 1);
    assertRefused(variant("longer", longer), BackupException.DAMAGED, "bytes follow");

    byte[] random = new byte[100_000];
    new Random(7).nextBytes(random);
    assertRefused(variant("random", random), BackupException.NOT_A_BACKUP, "not a Skein backup");
    assertRefused(
        variant("empty", new byte[0]), BackupException.NOT_A_BACKUP, "not a Skein backup");
    assertRefused(
        variant("sqlite", Files.readAllBytes(source().resolve("node-2.db"))),
        BackupException.NOT_A_BACKUP,
        "not a Skein backup");

    byte[] future = good.clone();
    future[9] = '2';
    assertRefused(variant("future", future), BackupException.UNSUPPORTED, "format 2");
  }

  @Test
  void aBackupOfANewerSchemaIsRefused() throws Exception {
    dynamoSource();
    Path good = backup(source(), "2", "good.skeinbak");
    BackupManifest m = BackupFile.verify(good);
    BackupManifest newer =
        new BackupManifest(
            m.formatVersion(),
            Schema.VERSION + 1,
            m.sourceNodeId(),
            m.mode(),
            m.lsn(),
            m.leader(),
            m.versionVector(),
            m.createdAt(),
            m.databaseBytes(),
            m.databaseSha256());
    byte[] bytes = Files.readAllBytes(good);
    int header = BackupFile.header(m).length;
    Path file = dir.resolve("newer.skeinbak");
    try (OutputStream out = Files.newOutputStream(file)) {
      out.write(BackupFile.header(newer));
      out.write(bytes, header, bytes.length - header);
    }
    assertRefused(file, BackupException.UNSUPPORTED, "newer build");
  }

  @Test
  void aDatabaseThatFailsItsIntegrityCheckIsRefusedAndLeavesNothing() throws Exception {
    dynamoSource();
    Path good = backup(source(), "2", "good.skeinbak");
    BackupManifest m = BackupFile.verify(good);
    byte[] bytes = Files.readAllBytes(good);
    int header = BackupFile.header(m).length;
    byte[] database = java.util.Arrays.copyOfRange(bytes, header, bytes.length);
    // Scramble the second page (a b-tree page) and write a backup whose checksums are right for
    // these bytes: only SQLite's own check can tell.
    int pageBytes = ((database[16] & 0xff) << 8) | (database[17] & 0xff);
    for (int i = pageBytes; i < pageBytes + 200; i++) {
      database[i] = (byte) 0x5a;
    }
    BackupManifest corrupt =
        new BackupManifest(
            m.formatVersion(),
            m.schemaVersion(),
            m.sourceNodeId(),
            m.mode(),
            m.lsn(),
            m.leader(),
            m.versionVector(),
            m.createdAt(),
            database.length,
            BackupFile.sha256Hex(database));
    Path file = dir.resolve("corrupt.skeinbak");
    try (OutputStream out = Files.newOutputStream(file)) {
      out.write(BackupFile.header(corrupt));
      out.write(database);
    }
    assertThat(BackupFile.verify(file)).isEqualTo(corrupt);
    assertRefused(file, BackupException.DAMAGED, "the file is damaged");
  }

  @Test
  void aRestoreNeverOverwritesANodesDatabase() throws Exception {
    dynamoSource();
    Path file = backup(source(), "2", "b.skeinbak");
    Path target = dir.resolve("target");
    Files.createDirectories(target);
    Files.writeString(target.resolve("node-5.db"), "precious");
    assertThatThrownBy(() -> Restore.restore(file, target, NodeId.of("5"), false))
        .isInstanceOfSatisfying(
            BackupException.class, e -> assertThat(e.code()).isEqualTo(BackupException.REFUSED))
        .hasMessageContaining(target.resolve("node-5.db").toString())
        .hasMessageContaining("exists");
    assertThat(Files.readString(target.resolve("node-5.db"))).isEqualTo("precious");
    assertThat(listing(target)).containsExactly("node-5.db");

    Path notADirectory = dir.resolve("not-a-directory");
    Files.writeString(notADirectory, "a file where the data directory should be");
    assertThatThrownBy(() -> Restore.restore(file, notADirectory, NodeId.of("5"), false))
        .isInstanceOf(BackupException.class);
    assertThat(Files.readString(notADirectory))
        .isEqualTo("a file where the data directory should be");

    Files.delete(target.resolve("node-5.db"));
    Files.writeString(target.resolve("node-5.db-wal"), "a stale log SQLite would replay");
    assertThatThrownBy(() -> Restore.restore(file, target, NodeId.of("5"), false))
        .hasMessageContaining("node-5.db-wal");
    assertThat(listing(target)).containsExactly("node-5.db-wal");
  }

  @Test
  void oneBackupAtATimeAndNoTemporaryFileOutlivesIt() throws Exception {
    dynamoSource();
    Path database = source().resolve("node-2.db");
    Files.writeString(source().resolve(".node-2.db.backup-left-by-a-crash.tmp"), "old");
    try (Backup.Lease lease = Backup.begin(database)) {
      assertThatThrownBy(() -> Backup.begin(database))
          .isInstanceOfSatisfying(
              BackupException.class,
              e -> assertThat(e.code()).isEqualTo(BackupException.IN_PROGRESS))
          .hasMessageContaining("already running");
      try (Backup.Snapshot snapshot = Backup.snapshot(lease, Instant.now())) {
        assertThat(listing(source()))
            .as("the leftover is gone, the snapshot's own copy is there")
            .filteredOn(name -> name.endsWith(".tmp"))
            .singleElement()
            .matches(name -> name.startsWith(".node-2.db.backup-") && !name.contains("crash"));
        assertThat(snapshot.lengthBytes()).isPositive();
      }
      assertThat(listing(source())).noneMatch(name -> name.endsWith(".tmp"));
    }
    Backup.begin(database).close(); // free again once the lease is closed
  }
}
