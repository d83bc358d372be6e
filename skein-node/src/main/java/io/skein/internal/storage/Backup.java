package io.skein.internal.storage;

import io.skein.core.model.NodeId;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;

/**
 * Online backup of a node's database file ({@code GET /admin/backup}, docs/operating/backup.md).
 *
 * <p>Design notes. The snapshot is SQLite's {@code VACUUM INTO}, run on a connection of its own,
 * opened read-only on the live file: in WAL mode it is one read transaction, so it copies the last
 * committed state while the node's writer goes on committing (it only keeps the WAL from being
 * checkpointed past that point until it ends). It writes a temporary file in the data directory,
 * {@code .node-{id}.db.backup-*.tmp}, created 0600 like the database. The manifest is read from
 * that copy, never from the live file, so it describes exactly the bytes it precedes. {@link
 * Snapshot} deletes the copy when closed, whatever happened; a copy left by a process that died is
 * deleted by the next backup of the same file. At most one backup per database file runs at a time
 * in this JVM ({@link #begin}): each costs a full copy of the file on disk and a read of it.
 *
 * <p>Blocking: {@link #snapshot} runs JDBC and reads the whole file; call it on a platform thread
 * (a JDBC call pins a virtual thread's carrier).
 */
public final class Backup {
  private static final Logger log = LoggerFactory.getLogger(Backup.class);

  /** Database files with a backup running, absolute and normalized. */
  private static final Set<Path> RUNNING = ConcurrentHashMap.newKeySet();

  private static final int BUSY_TIMEOUT_MS = 10_000;

  private Backup() {}

  /** Returns where a node keeps its database: {@code dataDir/node-{id}.db}. */
  public static Path databaseFile(Path dataDir, NodeId nodeId) {
    return dataDir.resolve("node-" + nodeId.value() + ".db");
  }

  /**
   * Reserves the one backup of a database file. Close the lease when the backup has ended.
   *
   * @throws BackupException {@value BackupException#IN_PROGRESS} if a backup of the file runs
   */
  public static Lease begin(Path databaseFile) {
    Path key = databaseFile.toAbsolutePath().normalize();
    if (!RUNNING.add(key)) {
      throw new BackupException(
          BackupException.IN_PROGRESS,
          "a backup of "
              + key.getFileName()
              + " is already running: one backup runs at a time per node; retry when it ends");
    }
    return new Lease(key);
  }

  /** The reservation of a backup; {@link #close} ends it (idempotent). */
  public static final class Lease implements AutoCloseable {
    private final Path file;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Lease(Path file) {
      this.file = file;
    }

    /** Returns the database file this lease is for. */
    public Path file() {
      return file;
    }

    @Override
    public void close() {
      if (closed.compareAndSet(false, true)) {
        RUNNING.remove(file);
      }
    }
  }

  /**
   * Takes a consistent snapshot of the leased database file into a temporary file beside it, and
   * describes it. Blocking (see the class notes).
   *
   * @param createdAt the time to record in the manifest
   * @throws BackupException {@value BackupException#FAILED} if SQLite or the disk failed (no
   *     temporary file is left)
   */
  public static Snapshot snapshot(Lease lease, Instant createdAt) {
    Path file = lease.file();
    Path directory = file.getParent();
    if (directory == null || !Files.isRegularFile(file)) {
      throw new BackupException(BackupException.FAILED, "there is no database file " + file);
    }
    deleteLeftovers(directory, file);
    Path copy;
    try {
      copy = Files.createTempFile(directory, temporaryPrefix(file), ".tmp");
    } catch (IOException e) {
      throw new BackupException(
          BackupException.FAILED,
          "cannot create a temporary file in " + directory + ": " + e.getMessage(),
          e);
    }
    try {
      vacuumInto(file, copy);
      return new Snapshot(copy, describe(copy, createdAt));
    } catch (SQLException | IOException | RuntimeException e) {
      deleteQuietly(copy);
      if (e instanceof BackupException backup) {
        throw backup;
      }
      throw new BackupException(
          BackupException.FAILED, "the snapshot of " + file + " failed: " + e.getMessage(), e);
    }
  }

  /**
   * A snapshot in a temporary file with its manifest, ready to stream. {@link #close} deletes the
   * file. Not thread-safe.
   */
  public static final class Snapshot implements AutoCloseable {
    private final Path copy;
    private final BackupManifest manifest;
    private final byte[] header;

    private Snapshot(Path copy, BackupManifest manifest) {
      this.copy = copy;
      this.manifest = manifest;
      this.header = BackupFile.header(manifest);
    }

    /** Returns the manifest. */
    public BackupManifest manifest() {
      return manifest;
    }

    /** Returns the length of the backup file {@link #writeTo} writes. */
    public long lengthBytes() {
      return header.length + manifest.databaseBytes();
    }

    /**
     * Writes the backup file: header, then the database.
     *
     * @throws IOException if {@code out} fails (for a download: the client went away)
     */
    public void writeTo(OutputStream out) throws IOException {
      out.write(header);
      long copied;
      try (InputStream in = Files.newInputStream(copy)) {
        copied = in.transferTo(out);
      }
      if (copied != manifest.databaseBytes()) {
        throw new IllegalStateException(
            "the snapshot changed length while streamed: " + copied + " bytes, not " + manifest);
      }
    }

    /** Deletes the temporary file. */
    @Override
    public void close() {
      deleteQuietly(copy);
    }
  }

  private static String temporaryPrefix(Path file) {
    return "." + file.getFileName() + ".backup-";
  }

  /** Deletes snapshots of this file left by a process that died mid-backup (we hold the lease). */
  private static void deleteLeftovers(Path directory, Path file) {
    String prefix = temporaryPrefix(file);
    DirectoryStream.Filter<Path> leftover =
        path -> {
          String name = path.getFileName().toString();
          return name.startsWith(prefix) && name.endsWith(".tmp");
        };
    try (DirectoryStream<Path> found = Files.newDirectoryStream(directory, leftover)) {
      for (Path path : found) {
        log.atInfo().addKeyValue("file", path).log("deleting the leftover of an earlier backup");
        deleteQuietly(path);
      }
    } catch (IOException e) {
      log.atWarn().addKeyValue("directory", directory).log("cannot list: {}", e.toString());
    }
  }

  private static void vacuumInto(Path file, Path copy) throws SQLException {
    SQLiteConfig config = new SQLiteConfig();
    config.setReadOnly(true);
    config.setBusyTimeout(BUSY_TIMEOUT_MS);
    try (Connection c = config.createConnection("jdbc:sqlite:" + file);
        PreparedStatement vacuum = c.prepareStatement("VACUUM INTO ?")) {
      vacuum.setString(1, copy.toString());
      vacuum.execute();
    }
  }

  /** Reads the manifest's figures from the snapshot, then digests it. */
  private static BackupManifest describe(Path copy, Instant createdAt)
      throws SQLException, IOException {
    SQLiteConfig config = new SQLiteConfig();
    config.setReadOnly(true);
    BackupManifest.LeaderPosition leader;
    Map<String, Long> vector;
    long lsn;
    int schemaVersion;
    String source;
    try (Connection c = config.createConnection("jdbc:sqlite:" + copy)) {
      if (queryLong(c, "PRAGMA application_id") != Schema.APPLICATION_ID) {
        throw new BackupException(
            BackupException.FAILED, "the database file is not a Skein file (application_id)");
      }
      schemaVersion = Math.toIntExact(queryLong(c, "PRAGMA user_version"));
      String owner = meta(c, "node_id");
      if (owner == null) {
        throw new BackupException(BackupException.FAILED, "the database file names no node id");
      }
      source = owner;
      leader = leaderPosition(c);
      vector = leader == null ? versionVector(c, NodeId.of(source)) : Map.of();
      lsn = lastLsn(c, leader);
    }
    long length = Files.size(copy);
    MessageDigest digest = BackupFile.sha256();
    try (InputStream in = Files.newInputStream(copy)) {
      byte[] buffer = new byte[64 * 1024];
      for (int read = in.read(buffer); read >= 0; read = in.read(buffer)) {
        digest.update(buffer, 0, read);
      }
    }
    return new BackupManifest(
        BackupFile.FORMAT_VERSION,
        schemaVersion,
        source,
        leader == null ? BackupManifest.DYNAMO : BackupManifest.LEADER,
        lsn,
        leader,
        vector,
        createdAt.toString(),
        length,
        HexFormat.of().formatHex(digest.digest()));
  }

  /** Leader mode's applied position, or {@code null} for a file that holds no leader log. */
  static BackupManifest.@Nullable LeaderPosition leaderPosition(Connection c) throws SQLException {
    String applied = meta(c, "leader_applied");
    if (applied == null) {
      return null;
    }
    long index = Long.parseLong(applied);
    String epoch = meta(c, "leader_epoch");
    return new BackupManifest.LeaderPosition(
        index, appliedEpoch(c, index), epoch == null ? 0 : Long.parseLong(epoch));
  }

  /**
   * The epoch of the entry at {@code appliedIndex}: from the log, or, once compaction removed it,
   * meta {@code leader_snapshot_epoch}; 0 for index 0.
   */
  static long appliedEpoch(Connection c, long appliedIndex) throws SQLException {
    if (appliedIndex == 0) {
      return 0;
    }
    try (PreparedStatement p =
        c.prepareStatement("SELECT epoch FROM leader_log WHERE log_index = ?")) {
      p.setLong(1, appliedIndex);
      try (ResultSet r = p.executeQuery()) {
        if (r.next()) {
          return r.getLong(1);
        }
      }
    }
    String snapshotEpoch = meta(c, "leader_snapshot_epoch");
    return snapshotEpoch == null ? 0 : Long.parseLong(snapshotEpoch);
  }

  /** Dynamo mode's version vector, as {@code SqliteStore.recover} computes it. */
  static Map<String, Long> versionVector(Connection c, NodeId self) throws SQLException {
    Map<NodeId, Long> vector = SqliteStore.oplogVector(c);
    String local = meta(c, "local_sequence");
    if (local != null) {
      vector.merge(self, Long.parseLong(local), Math::max);
    }
    Map<String, Long> byName = new TreeMap<>();
    vector.forEach((origin, seq) -> byName.put(origin.value(), seq));
    return byName;
  }

  /** The last applied lsn, as {@code SqliteStore}'s constructor computes it. */
  private static long lastLsn(Connection c, BackupManifest.@Nullable LeaderPosition leader)
      throws SQLException {
    String floor = meta(c, "lsn_floor");
    long lsn =
        Math.max(
            floor == null ? 0 : Long.parseLong(floor),
            queryLong(c, "SELECT coalesce(max(lsn), 0) FROM oplog"));
    String base = meta(c, "leader_lsn_base");
    if (leader != null && base != null) {
      lsn = Math.max(lsn, Long.parseLong(base) + leader.appliedIndex());
    }
    return lsn;
  }

  static @Nullable String meta(Connection c, String key) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT value FROM meta WHERE key = ?")) {
      p.setString(1, key);
      try (ResultSet r = p.executeQuery()) {
        return r.next() ? r.getString(1) : null;
      }
    }
  }

  static long queryLong(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet r = s.executeQuery(sql)) {
      return r.next() ? r.getLong(1) : 0;
    }
  }

  static void deleteQuietly(Path path) {
    try {
      Files.deleteIfExists(path);
    } catch (IOException e) {
      log.atWarn().addKeyValue("file", path).log("cannot delete: {}", e.toString());
    }
  }
}
