package io.skein.internal.storage;

import io.skein.core.model.NodeId;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.sqlite.SQLiteConfig;

/**
 * Restores a backup file into a data directory as {@code node-{id}.db} ({@code datastore-node
 * restore}, docs/operating/backup.md).
 *
 * <p>Design notes. Nothing is written before the whole file has been verified ({@link
 * BackupFile#verify}: magic, format, manifest checksum, schema version, length, SHA-256). The
 * database is then copied into a temporary file in the data directory (so that the final step is a
 * rename within one file system), its SHA-256 checked again on the way (the file could have changed
 * since), and {@code PRAGMA integrity_check} run on the copy. The copy is changed in one
 * transaction: it takes the new node id, a dynamo file's own sequence is set so that the node never
 * reuses a sequence number the file holds, and {@code --seed-leader} turns a leader log into a
 * compacted snapshot state. Only then is the copy flushed to disk and linked to its final name,
 * which fails if that name appeared meanwhile: an existing database is never overwritten. On any
 * failure the temporary file is deleted, and so is the data directory if the restore created it.
 */
public final class Restore {
  private static final int BUSY_TIMEOUT_MS = 10_000;
  private static final int INTEGRITY_LINES_MAX = 5;

  /** Meta keys of a leader log's configuration and election that a seeded cluster must not keep. */
  private static final List<String> SEED_DROPPED_META =
      List.of(
          "leader_vote",
          "leader_snapshot_config_index",
          "leader_snapshot_members",
          "leader_snapshot_receive");

  private Restore() {}

  /**
   * What a restore did.
   *
   * @param manifest the backup's manifest
   * @param databaseFile the file written
   * @param localSequence dynamo mode: the node's own last sequence in the restored file, 0 if it
   *     holds none of its entries; -1 in leader mode
   * @param seededLeader whether the leader log was turned into a snapshot state
   */
  public record Result(
      BackupManifest manifest, Path databaseFile, long localSequence, boolean seededLeader) {}

  /**
   * Restores {@code backup} as node {@code nodeId}'s database in {@code dataDir}.
   *
   * @param seedLeader turn a leader-mode backup's log into a snapshot state, to seed a new cluster
   * @throws BackupException {@value BackupException#REFUSED} if the directory already holds a
   *     database for the node or the options do not fit the file; the codes of {@link
   *     BackupFile#verify} if the file is not a sound backup; {@value BackupException#DAMAGED} if
   *     the database fails its integrity check. Nothing is left in {@code dataDir} then.
   */
  public static Result restore(Path backup, Path dataDir, NodeId nodeId, boolean seedLeader) {
    Path target = Backup.databaseFile(dataDir, nodeId);
    refuseExisting(target);
    BackupManifest manifest = BackupFile.verify(backup);
    if (seedLeader && !manifest.leaderMode()) {
      throw new BackupException(
          BackupException.REFUSED,
          "--seed-leader needs a leader-mode backup, and "
              + backup
              + " is a dynamo-mode one (from node "
              + manifest.sourceNodeId()
              + ")");
    }
    if (seedLeader && manifest.schemaVersion() != Schema.VERSION) {
      throw new BackupException(
          BackupException.REFUSED,
          "--seed-leader needs schema version "
              + Schema.VERSION
              + " and "
              + backup
              + " holds version "
              + manifest.schemaVersion()
              + ": restore it without --seed-leader, start a node on it once (which upgrades it),"
              + " and back that node up");
    }
    boolean createdDirectory = !Files.exists(dataDir);
    Path temporary = null;
    try {
      PrivateFiles.createDirectories(dataDir);
      temporary = Files.createTempFile(dataDir, "." + target.getFileName() + ".restore-", ".tmp");
      extract(backup, manifest, temporary);
      long localSequence = prepare(temporary, manifest, nodeId, seedLeader, backup);
      BackupFile.force(temporary);
      try {
        BackupFile.publish(temporary, target);
      } catch (FileAlreadyExistsException e) {
        throw new BackupException(
            BackupException.REFUSED,
            "refusing to restore: " + target + " appeared while the backup was being restored");
      }
      return new Result(manifest, target, localSequence, seedLeader);
    } catch (IOException | SQLException e) {
      throw new BackupException(
          BackupException.FAILED, "cannot restore into " + dataDir + ": " + e.getMessage(), e);
    } finally {
      if (temporary != null) {
        Backup.deleteQuietly(temporary);
      }
      if (createdDirectory && !Files.exists(target)) {
        deleteIfEmpty(dataDir);
      }
    }
  }

  /**
   * Refuses a directory that holds the node's database, or what SQLite would take for part of it.
   */
  private static void refuseExisting(Path target) {
    for (String suffix : List.of("", "-wal", "-shm", "-journal")) {
      Path file = target.resolveSibling(target.getFileName() + suffix);
      if (Files.exists(file)) {
        throw new BackupException(
            BackupException.REFUSED,
            "refusing to restore: "
                + file
                + " exists. A restore never overwrites a node's data: move it away, or restore"
                + " into another --data-dir or as another --node-id");
      }
    }
  }

  /** Copies the database part out of the backup, checking its SHA-256 again on the way. */
  private static void extract(Path backup, BackupManifest manifest, Path temporary)
      throws IOException {
    try (InputStream in = new BufferedInputStream(Files.newInputStream(backup), 64 * 1024);
        OutputStream out = Files.newOutputStream(temporary, StandardOpenOption.TRUNCATE_EXISTING)) {
      BackupManifest again = BackupFile.readHeader(in, backup);
      if (!again.equals(manifest)) {
        throw new BackupException(
            BackupException.DAMAGED, backup + " changed while it was being restored");
      }
      BackupFile.readDatabase(in, manifest, backup, out);
    }
  }

  /**
   * Checks the copied database and makes it node {@code nodeId}'s, in one transaction.
   *
   * @return the node's own last sequence (dynamo), or -1 (leader)
   */
  private static long prepare(
      Path temporary, BackupManifest manifest, NodeId nodeId, boolean seedLeader, Path backup)
      throws SQLException {
    SQLiteConfig config = new SQLiteConfig();
    config.setBusyTimeout(BUSY_TIMEOUT_MS);
    config.setJournalMode(SQLiteConfig.JournalMode.DELETE);
    try (Connection c = config.createConnection("jdbc:sqlite:" + temporary)) {
      try {
        check(c, manifest, backup);
      } catch (SQLException e) {
        // The bytes are the ones the backup wrote (their SHA-256 matched): SQLite cannot read
        // what was backed up.
        throw inconsistent(backup, "SQLite cannot read the database: " + e.getMessage());
      }
      c.setAutoCommit(false);
      try {
        putMeta(c, "node_id", nodeId.value());
        long localSequence = manifest.leaderMode() ? -1 : ownSequence(c, manifest, nodeId);
        if (seedLeader) {
          seedLeader(c);
        }
        c.commit();
        return localSequence;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    }
  }

  /** Checks that the database is sound and is the one the manifest describes. */
  private static void check(Connection c, BackupManifest manifest, Path backup)
      throws SQLException {
    if (Backup.queryLong(c, "PRAGMA application_id") != Schema.APPLICATION_ID) {
      throw inconsistent(backup, "the database inside is not a Skein database");
    }
    long version = Backup.queryLong(c, "PRAGMA user_version");
    if (version != manifest.schemaVersion()) {
      throw inconsistent(
          backup,
          "the database is of schema version "
              + version
              + " where the manifest says "
              + manifest.schemaVersion());
    }
    List<String> problems = new ArrayList<>();
    try (Statement s = c.createStatement();
        ResultSet r = s.executeQuery("PRAGMA integrity_check(" + INTEGRITY_LINES_MAX + ")")) {
      while (r.next()) {
        problems.add(r.getString(1));
      }
    }
    if (!problems.equals(List.of("ok"))) {
      throw inconsistent(
          backup, "the database fails SQLite's integrity check: " + String.join("; ", problems));
    }
    String owner = Backup.meta(c, "node_id");
    if (!manifest.sourceNodeId().equals(owner)) {
      throw inconsistent(
          backup,
          "the database belongs to node "
              + owner
              + " where the manifest says "
              + manifest.sourceNodeId());
    }
    boolean leaderFile = Backup.meta(c, "leader_applied") != null;
    if (leaderFile != manifest.leaderMode()) {
      throw inconsistent(backup, "the database's mode is not the manifest's " + manifest.mode());
    }
  }

  private static BackupException inconsistent(Path backup, String why) {
    return new BackupException(
        BackupException.DAMAGED,
        backup
            + ": "
            + why
            + ": the file is damaged or was not written by Skein; use another backup");
  }

  /**
   * Dynamo mode: sets meta {@code local_sequence} to the highest sequence of origin {@code nodeId}
   * the file holds (oplog, documents, horizon; and the file's own counter when the node keeps the
   * source's id), so that the node's next write takes the next sequence, never one the file or a
   * peer that synced from it already holds. A node id the file never saw as an origin starts at 0:
   * the source's counter belongs to the source, and starting past it would leave a gap that peers
   * wait on forever (sequences are dense per origin).
   */
  private static long ownSequence(Connection c, BackupManifest manifest, NodeId nodeId)
      throws SQLException {
    long highest = 0;
    for (String sql :
        List.of(
            "SELECT coalesce(max(seq), 0) FROM oplog WHERE origin = ?",
            "SELECT coalesce(max(seq), 0) FROM docs WHERE origin = ?")) {
      try (PreparedStatement p = c.prepareStatement(sql)) {
        p.setString(1, nodeId.value());
        try (ResultSet r = p.executeQuery()) {
          highest = Math.max(highest, r.next() ? r.getLong(1) : 0);
        }
      }
    }
    highest =
        Math.max(
            highest, MetaCodec.parseVector(Backup.meta(c, "horizon")).getOrDefault(nodeId, 0L));
    if (nodeId.value().equals(manifest.sourceNodeId())) {
      String own = Backup.meta(c, "local_sequence");
      highest = Math.max(highest, own == null ? 0 : Long.parseLong(own));
    }
    if (highest > 0) {
      putMeta(c, "local_sequence", Long.toString(highest));
    } else {
      try (PreparedStatement p = c.prepareStatement("DELETE FROM meta WHERE key = ?")) {
        p.setString(1, "local_sequence");
        p.executeUpdate();
      }
    }
    return highest;
  }

  /**
   * {@code --seed-leader}: the log becomes a compacted snapshot state at the applied index A, of
   * the epoch E of entry A. The documents are the state at A; the new cluster's log starts after A
   * (meta {@code leader_snapshot_index}), its first primary's epoch above E. The log's entries
   * (also those after A: not applied, so not in the documents), the open batches, the vote and any
   * snapshot configuration go, so that the new cluster's configured members are in force.
   */
  private static void seedLeader(Connection c) throws SQLException {
    String appliedText = Objects.requireNonNull(Backup.meta(c, "leader_applied"));
    long applied = Long.parseLong(appliedText);
    long epoch = Backup.appliedEpoch(c, applied);
    try (Statement s = c.createStatement()) {
      s.executeUpdate("DELETE FROM leader_log");
      s.executeUpdate("DELETE FROM leader_open");
    }
    putMeta(c, "leader_snapshot_index", Long.toString(applied));
    putMeta(c, "leader_snapshot_epoch", Long.toString(epoch));
    putMeta(c, "leader_epoch", Long.toString(epoch));
    try (PreparedStatement p = c.prepareStatement("DELETE FROM meta WHERE key = ?")) {
      for (String key : SEED_DROPPED_META) {
        p.setString(1, key);
        p.addBatch();
      }
      p.executeBatch();
    }
  }

  private static void putMeta(Connection c, String key, String value) throws SQLException {
    try (PreparedStatement p =
        c.prepareStatement(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
                + " ON CONFLICT (key) DO UPDATE SET value = excluded.value")) {
      p.setString(1, key);
      p.setString(2, value);
      p.executeUpdate();
    }
  }

  private static void deleteIfEmpty(Path directory) {
    if (!Files.isDirectory(directory)) {
      return;
    }
    try {
      Files.deleteIfExists(directory);
    } catch (IOException e) {
      // Not empty (something else was put there meanwhile) or not ours to delete: leave it.
    }
  }
}
