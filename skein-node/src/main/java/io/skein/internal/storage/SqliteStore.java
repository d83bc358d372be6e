package io.skein.internal.storage;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.skein.Durability;
import io.skein.core.hlc.Hlc;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.Operation;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.oplog.Version;
import io.skein.core.query.FieldPath;
import io.skein.core.query.IndexSpec;
import io.skein.core.query.Query;
import io.skein.core.replica.GatewayTerm;
import io.skein.core.replica.RecoveredState;
import io.skein.core.replica.SnapshotApply;
import io.skein.core.replica.SnapshotProgress;
import io.skein.internal.query.ResultWindow;
import io.skein.internal.query.SqlQuery;
import io.skein.internal.query.SqlQueryTranslator;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.ProgressHandler;
import org.sqlite.SQLiteConfig;

/**
 * The {@link Store} on SQLite (xerial sqlite-jdbc) in WAL mode, one file per node id.
 *
 * <p>Design notes. One writer connection, guarded by {@code writeLock} (taken by {@link #append} on
 * the event loop and by {@link #createIndex}); a bounded pool of {@code readConnections} read
 * connections serves reads concurrently with the writer, as WAL allows, and each read sees the last
 * committed transaction. Opening never writes to a file before it has been checked: a file that is
 * not SQLite, not Skein's, of another schema version, of another node, or that fails {@code PRAGMA
 * quick_check} stops the open with a {@link StorageException} and is left untouched.
 *
 * <p>Why one class of this size (about 2,440 lines, over the project's 1,000-line guide): every
 * write path (dynamo appends, snapshot applies, retention and tombstone collection, and the
 * leader-mode log: append with the apply of what is committed, an apply alone with its fsync
 * toggle, rollback, compaction in slices and snapshot installs) must run on the single writer
 * connection, under {@code writeLock}, with the same prepared statements and the same lsn state
 * ({@code allocatedLsn} for rows, {@code lastLsn} published to readers, and the leader log's {@code
 * leaderLsnBase} and applied index). Splitting them across classes would mean sharing that mutable
 * state through package-private fields, which hides the one-writer invariant instead of keeping it
 * in one place. The stateless parts live elsewhere: {@link Schema} (DDL), {@link MetaCodec} (meta
 * values) and {@code SqlQueryTranslator} (queries). The file is ordered by concern (open and
 * checks, dynamo writes, reads, retention, snapshots, leader log) so each part reads on its own.
 * The read side (the read pool, its bounded queue and the replication loops' own connection) shares
 * {@code closed} and the close sequence, which must take every connection back before closing it;
 * it stays here for the same reason.
 */
public final class SqliteStore implements Store {
  private static final byte[] SQLITE_HEADER =
      "SQLite format 3\0".getBytes(StandardCharsets.US_ASCII);
  private static final long READ_BORROW_TIMEOUT_MS = 10_000;
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final String UPSERT_DOC =
      """
      INSERT INTO docs (collection, id, body, hlc, origin, origin_key, lsn, seq)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (collection, id) DO UPDATE SET
        body = excluded.body, hlc = excluded.hlc, origin = excluded.origin,
        origin_key = excluded.origin_key, lsn = excluded.lsn, seq = excluded.seq
      WHERE excluded.hlc > docs.hlc
        OR (excluded.hlc = docs.hlc AND excluded.origin_key > docs.origin_key)""";
  private static final String INSERT_OPLOG =
      """
      INSERT INTO oplog (lsn, origin, seq, hlc, op, collection, id, body, epoch, log_index,
                         checksum, won, snapshot)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""";
  private static final String INSERT_LEADER =
      """
      INSERT INTO leader_log (log_index, origin, seq, hlc, op, collection, id, body, epoch,
                              checksum)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""";
  private static final String UPSERT_META =
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value ="
          + " excluded.value";
  private static final Logger log = LoggerFactory.getLogger(SqliteStore.class);
  private static final String META_HORIZON_QUERY = "SELECT value FROM meta WHERE key = 'horizon'";

  /**
   * The most document characters in one snapshot chunk: with one more maximum-size document and
   * three UTF-8 bytes per character at worst, a chunk stays well under the 16 MiB frame limit.
   */
  static final long SNAPSHOT_CHUNK_BYTES_MAX = 2L << 20;

  /** The most oplog rows one prune deletes; the next round continues. */
  static final int PRUNE_ROWS_MAX = 50_000;

  static final String OPLOG_COLUMNS =
      "lsn, origin, seq, hlc, op, collection, id, body, epoch, log_index, checksum, won";

  private final Path file;
  private final NodeId nodeId;
  private final ReentrantLock writeLock = new ReentrantLock();
  private final Connection writer;
  private final boolean fullSync;
  private final PreparedStatement upsertDoc;
  private final PreparedStatement insertOplog;
  private final PreparedStatement upsertMeta;
  private final PreparedStatement insertLeader;

  /**
   * Leader mode: the last applied log index, -1 in a file that never held a leader log (written
   * under writeLock, mirrors meta {@code leader_applied}).
   */
  private long leaderApplied;

  /**
   * Leader mode: a log entry's lsn is its index plus this (meta {@code leader_lsn_base}), -1 until
   * the file's first leader append fixes it. Read by readers, written once under writeLock.
   */
  private volatile long leaderLsnBase;

  private final ArrayBlockingQueue<Connection> readers;

  /**
   * Where reads run when the caller is a virtual thread (an HTTP request): a JDBC call pins a
   * virtual thread to its carrier for its whole duration, and with two carriers two slow queries
   * would stall every other virtual thread of the node. On these platform threads a slow query
   * costs CPU, never a carrier. One thread per read connection.
   */
  private final java.util.concurrent.ExecutorService readExecutor;

  /**
   * The most reads that may wait for a read thread: one more is refused as {@code overloaded}
   * (503), so that a flood of readers (change streams, listings) costs each a refusal, never a
   * growing backlog.
   */
  static final int READ_QUEUE_MAX = 1_024;

  /**
   * The replication loop's own read connection (log entries for a follower, a push, a snapshot):
   * clients can hold every pooled connection (heavy queries, many change streams), and a loop that
   * waited for one would stop heartbeating and cost the cluster its primary. Only threads marked by
   * {@link #markLoopThread} use it, one at a time.
   */
  private final Connection loopReader;

  private final java.util.concurrent.locks.ReentrantLock loopReadLock =
      new java.util.concurrent.locks.ReentrantLock();

  /** Threads whose reads use {@link #loopReader}: the replication loops. */
  private static final ThreadLocal<Boolean> LOOP_THREAD = ThreadLocal.withInitial(() -> false);

  /**
   * Admission of queries: at most {@code queriesMax} run at once (limits.max-concurrent-queries).
   */
  private final QueryGate queryGate = new QueryGate(QUERIES_MAX_DEFAULT);

  /** Detected corruption: logged, counted, and reported by {@link #corruption()}. */
  private final Corruption corruption;

  /** The time budget of one query, in ms (limits.query-timeout). */
  private volatile long queryTimeoutMs = QUERY_TIMEOUT_MS_DEFAULT;

  /**
   * The default number of queries that may run at once: the processors less one, at least one, so
   * that heavy queries leave a core to replication and {@code /health}.
   */
  public static final int QUERIES_MAX_DEFAULT =
      Math.max(1, Runtime.getRuntime().availableProcessors() - 1);

  /** The default time budget of one query: 10 s. */
  public static final long QUERY_TIMEOUT_MS_DEFAULT = 10_000;

  private final List<Connection> allReaders;
  private final RecoveredState recovered;

  /** The last lsn published to readers (the change feed reads up to it). */
  private volatile long lastLsn;

  /** The last lsn handed to a row; beyond lastLsn only for leader-mode rows not yet applied. */
  private volatile long allocatedLsn; // written under writeLock; read by highestLsn()

  private volatile boolean closed;

  private final Timer commitTimer;
  private final Counter commitCounter;
  private final Counter commitFailureCounter;

  /** Commits made with an fsync (durability fsync: every commit but a leader-mode apply alone). */
  private final Counter syncCounter;

  private final DistributionSummary commitEntries;

  private final Counter readsRefused;
  private final Counter prunedCounter;
  private final Counter compactions;
  private final Counter compactedRows;
  private final Counter snapshotsInstalled;
  private final Counter tombstoneCounter;

  private SqliteStore(
      Path file, NodeId nodeId, Durability durability, int readConnections, MeterRegistry meters)
      throws SQLException {
    this.file = file;
    this.nodeId = nodeId;
    this.fullSync = durability == Durability.FSYNC;
    this.writer = connect(file, durability, false);
    try {
      writer.setAutoCommit(false);
      migrate(writer, file);
      this.upsertDoc = writer.prepareStatement(UPSERT_DOC);
      this.insertOplog = writer.prepareStatement(INSERT_OPLOG);
      this.upsertMeta = writer.prepareStatement(UPSERT_META);
      this.insertLeader = writer.prepareStatement(INSERT_LEADER);
      this.recovered = recover(writer, nodeId);
      String floor = queryString(writer, "SELECT value FROM meta WHERE key = 'lsn_floor'");
      long floorLsn = floor == null ? 0 : Long.parseLong(floor);
      long oplogLsn = queryLong(writer, "SELECT coalesce(max(lsn), 0) FROM oplog");
      String applied = queryString(writer, "SELECT value FROM meta WHERE key = 'leader_applied'");
      String base = queryString(writer, "SELECT value FROM meta WHERE key = 'leader_lsn_base'");
      this.leaderApplied = applied == null ? -1 : Long.parseLong(applied);
      String snapshotIndex =
          queryString(writer, "SELECT value FROM meta WHERE key = 'leader_snapshot_index'");
      this.leaderSnapshotIndex = snapshotIndex == null ? 0 : Long.parseLong(snapshotIndex);
      this.leaderLsnBase = base == null ? -1 : Long.parseLong(base);
      long leaderLsn =
          leaderLsnBase < 0
              ? 0
              : leaderLsnBase
                  + queryLong(writer, "SELECT coalesce(max(log_index), 0) FROM leader_log");
      this.allocatedLsn = Math.max(Math.max(oplogLsn, leaderLsn), floorLsn);
      this.lastLsn =
          applied == null
              ? allocatedLsn
              : Math.max(
                  Math.max(floorLsn, oplogLsn),
                  leaderLsnBase < 0 ? 0 : leaderLsnBase + leaderApplied);
      writer.commit();
      // SQLite's advice for long-lived connections: refresh planner statistics where they are
      // missing or stale, bounded in work (0x10002: analysis limit, and all tables).
      try (Statement s = writer.createStatement()) {
        s.execute("PRAGMA optimize = 0x10002");
      }
      writer.commit();
    } catch (SQLException e) {
      writer.close();
      throw e;
    }
    this.readExecutor =
        io.skein.internal.runtime.Threads.platformPool(
            "skein-read", readConnections, READ_QUEUE_MAX);
    this.loopReader = connect(file, durability, true);
    this.corruption = new Corruption(file, meters);
    this.readers = new ArrayBlockingQueue<>(readConnections);
    this.allReaders = new ArrayList<>(readConnections);
    for (int i = 0; i < readConnections; i++) {
      Connection reader = connect(file, durability, true);
      allReaders.add(reader);
      readers.add(reader);
    }
    this.commitTimer =
        Timer.builder("skein.storage.commit")
            .description("Time to commit one group of entries, fsync included")
            .register(meters);
    this.commitCounter =
        Counter.builder("skein.storage.commits")
            .description("Committed transactions")
            .register(meters);
    this.syncCounter =
        Counter.builder("skein.storage.syncs")
            .description("Transactions committed with an fsync of the write-ahead log")
            .register(meters);
    this.commitFailureCounter =
        Counter.builder("skein.storage.commit.failures")
            .description("Transactions that failed and rolled back")
            .register(meters);
    this.prunedCounter =
        Counter.builder("skein.storage.pruned.entries")
            .description("Oplog entries removed by retention")
            .register(meters);
    this.compactions =
        Counter.builder("skein.storage.leader.compactions")
            .description("Leader mode: log compactions (issue 13)")
            .register(meters);
    this.compactedRows =
        Counter.builder("skein.storage.leader.compacted.entries")
            .description("Leader mode: log entries removed by compaction or a snapshot install")
            .register(meters);
    this.snapshotsInstalled =
        Counter.builder("skein.storage.leader.snapshots.installed")
            .description("Leader mode: snapshots installed whole from a primary")
            .register(meters);
    this.tombstoneCounter =
        Counter.builder("skein.storage.tombstones.collected")
            .description("Tombstones collected after every peer acknowledged them (D5)")
            .register(meters);
    this.readsRefused =
        Counter.builder("skein.storage.reads.refused")
            .description("Reads refused because too many were waiting for a read thread")
            .register(meters);
    this.commitEntries =
        DistributionSummary.builder("skein.storage.commit.entries")
            .description("Entries per committed transaction (group commit size)")
            .register(meters);
    Gauge.builder("skein.storage.file.bytes", this, SqliteStore::fileBytes)
        .description("Size of the database file and its WAL")
        .baseUnit("bytes")
        .register(meters);
    Gauge.builder("skein.storage.last.lsn", this, store -> store.lastLsn)
        .description("Local sequence number of the last applied change")
        .register(meters);
  }

  /**
   * Opens {@code dataDir/node-{nodeId}.db}, creating it (and the directory) if it does not exist.
   *
   * @param readConnections the size of the read connection pool, at least 1
   * @throws StorageException if the file is corrupt, foreign, of an unknown schema version or of
   *     another node (the file is left untouched), or cannot be opened
   */
  public static SqliteStore open(
      Path dataDir,
      NodeId nodeId,
      Durability durability,
      int readConnections,
      MeterRegistry meters) {
    if (readConnections < 1) {
      throw new IllegalArgumentException("readConnections must be >= 1");
    }
    Path file = dataDir.resolve("node-" + nodeId.value() + ".db");
    try {
      PrivateFiles.createDirectories(dataDir);
    } catch (IOException e) {
      throw new StorageException(
          "storage_unavailable", "cannot create data directory " + dataDir + ": " + e, e);
    }
    boolean fresh = checkExistingFile(file, nodeId);
    try {
      if (fresh) {
        // SQLite gives the -wal and -shm files the mode of the database file: 0600 for all three.
        if (!Files.exists(file)) {
          PrivateFiles.createFile(file);
        }
        initialize(file, nodeId);
      }
      return new SqliteStore(file, nodeId, durability, readConnections, meters);
    } catch (SQLException | IOException e) {
      throw new StorageException(
          "storage_unavailable", "cannot open " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Returns the value of a pragma on the writer connection (for diagnostics and tests), for example
   * {@code synchronous} (2 = FULL, 1 = NORMAL) or {@code journal_mode}.
   */
  public String writerPragma(String name) {
    if (!name.matches("[a-z_]+")) {
      throw new IllegalArgumentException("not a pragma name: " + name);
    }
    writeLock.lock();
    try {
      String value = queryString(writer, "PRAGMA " + name);
      writer.commit();
      return String.valueOf(value);
    } catch (SQLException e) {
      throw new StorageException("read_failed", "PRAGMA " + name + " failed: " + e, e);
    } finally {
      writeLock.unlock();
    }
  }

  /** Returns the path of the database file. */
  public Path file() {
    return file;
  }

  // ---------------------------------------------------------------------------------------------
  // Opening and checking.

  /** Returns true if the file must be created; throws if it exists and is not usable. */
  private static boolean checkExistingFile(Path file, NodeId nodeId) {
    try {
      if (!Files.exists(file) || Files.size(file) == 0) {
        return true;
      }
      byte[] header = new byte[SQLITE_HEADER.length];
      int read;
      try (InputStream in = Files.newInputStream(file)) {
        read = in.readNBytes(header, 0, header.length);
      }
      if (read < header.length || !Arrays.equals(header, SQLITE_HEADER)) {
        throw refuse(file, "it is not an SQLite database (bad header)");
      }
    } catch (IOException e) {
      throw new StorageException("storage_unavailable", "cannot read " + file + ": " + e, e);
    }
    try (Connection probe = connectForCheck(file)) {
      return checkSchema(probe, file, nodeId);
    } catch (SQLException e) {
      throw refuse(file, "SQLite cannot read it: " + e.getMessage());
    }
  }

  private static boolean checkSchema(Connection probe, Path file, NodeId nodeId)
      throws SQLException {
    long tables = queryLong(probe, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'");
    long applicationId = queryLong(probe, "PRAGMA application_id");
    if (tables == 0 && applicationId == 0) {
      return true;
    }
    if (applicationId != Schema.APPLICATION_ID) {
      throw refuse(
          file,
          "it is an SQLite database of another application (application_id " + applicationId + ")");
    }
    long version = queryLong(probe, "PRAGMA user_version");
    if (version < 1 || version > Schema.VERSION) {
      throw refuse(
          file,
          "its schema version is "
              + version
              + " and this build reads only version "
              + Schema.VERSION);
    }
    String check = queryString(probe, "PRAGMA quick_check");
    if (!"ok".equals(check)) {
      throw refuse(file, "it is corrupt (quick_check: " + check + ")");
    }
    String owner = queryString(probe, "SELECT value FROM meta WHERE key = 'node_id'");
    if (!nodeId.value().equals(owner)) {
      throw refuse(file, "it belongs to node '" + owner + "', not '" + nodeId + "'");
    }
    return false;
  }

  private static StorageException refuse(Path file, String why) {
    return new StorageException(
        "storage_corrupt",
        "refusing to open "
            + file
            + ": "
            + why
            + ". The file was left untouched; move it away"
            + " or restore it from a backup.");
  }

  private static void initialize(Path file, NodeId nodeId) throws SQLException {
    try (Connection c = connect(file, Durability.FSYNC, false);
        Statement s = c.createStatement()) {
      c.setAutoCommit(false);
      for (String ddl : Schema.CREATE) {
        s.execute(ddl);
      }
      s.execute("PRAGMA application_id = " + Schema.APPLICATION_ID);
      s.execute("PRAGMA user_version = " + Schema.VERSION);
      try (PreparedStatement p = c.prepareStatement(UPSERT_META)) {
        p.setString(1, "node_id");
        p.setString(2, nodeId.value());
        p.executeUpdate();
      }
      c.commit();
    }
  }

  /** Upgrades an older schema in one transaction; a failure leaves the file as it was. */
  private static void migrate(Connection writer, Path file) throws SQLException {
    long version = queryLong(writer, "PRAGMA user_version");
    if (version == Schema.VERSION) {
      return;
    }
    try (Statement s = writer.createStatement()) {
      if (version == 1) {
        for (String ddl : Schema.MIGRATE_FROM_1) {
          s.execute(ddl);
        }
      }
      if (version <= 2) {
        for (String ddl : Schema.MIGRATE_FROM_2) {
          s.execute(ddl);
        }
      }
      migrateLeaderLog(writer, s);
      writer.commit();
    } catch (SQLException e) {
      writer.rollback();
      throw e;
    }
    log.atInfo()
        .addKeyValue("file", file)
        .log("upgraded the database schema from {} to {}", version, Schema.VERSION);
  }

  /**
   * Version 3 to 4: moves a leader file's log out of {@code oplog} into {@code leader_log}. The lsn
   * base is the largest {@code lsn - log_index} among the moved rows, so that every moved entry's
   * new lsn is at least its old one: a change-feed token handed out before the upgrade never skips
   * an entry after it (it may see a few again). Documents take their entry's new lsn.
   */
  private static void migrateLeaderLog(Connection writer, Statement s) throws SQLException {
    for (String ddl : Schema.MIGRATE_FROM_3_FIRST) {
      s.execute(ddl);
    }
    if (queryString(writer, "SELECT value FROM meta WHERE key = 'leader_applied'") != null) {
      String where = " WHERE log_index > 0 AND snapshot = 0";
      long base =
          Math.max(
              0, queryLong(writer, "SELECT coalesce(max(lsn - log_index), 0) FROM oplog" + where));
      s.execute(
          "UPDATE docs SET lsn = "
              + base
              + " + (SELECT o.log_index FROM oplog o WHERE o.lsn = docs.lsn)"
              + " WHERE EXISTS (SELECT 1 FROM oplog o WHERE o.lsn = docs.lsn AND o.log_index > 0"
              + " AND o.snapshot = 0)");
      s.execute(
          "INSERT INTO leader_log (log_index, origin, seq, hlc, op, collection, id, body, epoch,"
              + " checksum, won) SELECT log_index, origin, seq, hlc, op, collection, id, body,"
              + " epoch, checksum, won FROM oplog"
              + where);
      s.execute("DELETE FROM oplog" + where);
      s.execute(
          "INSERT INTO meta (key, value) VALUES ('leader_lsn_base', '"
              + base
              + "')"
              + " ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    }
    for (String ddl : Schema.MIGRATE_FROM_3_LAST) {
      s.execute(ddl);
    }
  }

  private static Connection connectForCheck(Path file) throws SQLException {
    // No pragmas that write (journal_mode would rewrite the header of a foreign file).
    return new SQLiteConfig().createConnection("jdbc:sqlite:" + file);
  }

  private static Connection connect(Path file, Durability durability, boolean readOnly)
      throws SQLException {
    SQLiteConfig config = new SQLiteConfig();
    config.setJournalMode(SQLiteConfig.JournalMode.WAL);
    config.setSynchronous(
        durability == Durability.FSYNC
            ? SQLiteConfig.SynchronousMode.FULL
            : SQLiteConfig.SynchronousMode.NORMAL);
    config.setBusyTimeout(10_000);
    // The WAL is checkpointed every WAL_AUTOCHECKPOINT_PAGES (SQLite's default, said here), and
    // truncated back to WAL_BYTES_MAX after a checkpoint that passed it (a burst, or a long read
    // that held checkpoints back): it stays bounded under sustained load (issue 13).
    config.setWalAutocheckpoint(WAL_AUTOCHECKPOINT_PAGES);
    config.setJournalSizeLimit(WAL_BYTES_MAX);
    config.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
    Connection c = config.createConnection("jdbc:sqlite:" + file);
    if (readOnly) {
      try (Statement s = c.createStatement()) {
        s.execute("PRAGMA query_only = 1");
      }
    }
    return c;
  }

  /**
   * Dynamo mode: every origin's highest sequence in the oplog (one scan), raised by the horizon
   * (what snapshots and retention covered). Also what a backup's manifest records.
   */
  static Map<NodeId, Long> oplogVector(Connection c) throws SQLException {
    Map<NodeId, Long> vector = new HashMap<>();
    try (Statement s = c.createStatement();
        ResultSet r =
            s.executeQuery(
                "SELECT origin, max(seq) FROM oplog WHERE snapshot = 0 GROUP BY origin")) {
      while (r.next()) {
        vector.put(NodeId.of(r.getString(1)), r.getLong(2));
      }
    }
    MetaCodec.parseVector(queryString(c, META_HORIZON_QUERY))
        .forEach((origin, seq) -> vector.merge(origin, seq, Math::max));
    return vector;
  }

  private static RecoveredState recover(Connection c, NodeId nodeId) throws SQLException {
    Map<NodeId, Long> vector = oplogVector(c);
    Map<NodeId, Long> horizon = MetaCodec.parseVector(queryString(c, META_HORIZON_QUERY));
    String metaSequence = queryString(c, "SELECT value FROM meta WHERE key = 'local_sequence'");
    long lastSequence =
        Math.max(
            vector.getOrDefault(nodeId, 0L),
            metaSequence == null ? 0 : Long.parseLong(metaSequence));
    vector.put(nodeId, lastSequence);
    Hlc hlc = Hlc.unpack(queryLong(c, "SELECT coalesce(max(hlc), 0) FROM oplog"));
    String metaHlc = queryString(c, "SELECT value FROM meta WHERE key = 'hlc_high_water'");
    if (metaHlc != null) {
      hlc = Hlc.max(hlc, Hlc.unpack(Long.parseLong(metaHlc)));
    }
    return new RecoveredState(
        lastSequence,
        hlc,
        vector,
        horizon,
        MetaCodec.parseProgress(
            queryString(c, "SELECT value FROM meta WHERE key = 'snapshot_receive'")),
        gatewayTerm(c));
  }

  private static GatewayTerm gatewayTerm(Connection c) throws SQLException {
    String epoch = queryString(c, "SELECT value FROM meta WHERE key = 'gateway_epoch'");
    if (epoch == null) {
      return GatewayTerm.NONE;
    }
    String vote = queryString(c, "SELECT value FROM meta WHERE key = 'gateway_vote'");
    return new GatewayTerm(
        Long.parseLong(epoch), vote == null || vote.isEmpty() ? null : NodeId.of(vote));
  }

  @Override
  public void saveGatewayTerm(GatewayTerm term) {
    writeLock.lock();
    try {
      ensureOpen();
      try {
        putMeta("gateway_epoch", Long.toString(term.epoch()));
        NodeId vote = term.votedFor();
        putMeta("gateway_vote", vote == null ? "" : vote.value());
        writer.commit();
      } catch (SQLException e) {
        rollbackQuietly(e);
        throw new StorageException("write_failed", "gateway term rolled back: " + e, e);
      }
    } finally {
      writeLock.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Writing.

  @Override
  public RecoveredState recoveredState() {
    return recovered;
  }

  @Override
  public List<Change> append(List<OplogEntry> entries, Hlc hlcHighWater) {
    if (entries.isEmpty()) {
      return List.of();
    }
    writeLock.lock();
    try {
      ensureOpen();
      Timer.Sample sample = Timer.start();
      List<Change> changes = appendInTransaction(entries, hlcHighWater);
      sample.stop(commitTimer);
      commitCounter.increment();
      if (fullSync) {
        syncCounter.increment();
      }
      commitEntries.record(entries.size());
      allocatedLsn = changes.get(changes.size() - 1).lsn();
      lastLsn = allocatedLsn;
      return changes;
    } finally {
      writeLock.unlock();
    }
  }

  private List<Change> appendInTransaction(List<OplogEntry> entries, Hlc hlcHighWater) {
    long firstLsn = allocatedLsn + 1;
    try {
      long lsn = firstLsn;
      for (OplogEntry e : entries) {
        bindDocument(e, lsn++);
        upsertDoc.addBatch();
      }
      int[] won = upsertDoc.executeBatch();
      lsn = firstLsn;
      long localSequence = 0;
      List<Change> changes = new ArrayList<>(entries.size());
      for (int i = 0; i < entries.size(); i++) {
        OplogEntry e = entries.get(i);
        boolean winner = won[i] > 0;
        bindOplog(e, lsn, winner);
        insertOplog.addBatch();
        changes.add(new Change(lsn++, e, winner));
        if (e.origin().equals(nodeId)) {
          localSequence = Math.max(localSequence, e.sequence());
        }
      }
      insertOplog.executeBatch();
      putMeta("hlc_high_water", Long.toString(hlcHighWater.pack()));
      if (localSequence > 0) {
        putMeta("local_sequence", Long.toString(localSequence));
      }
      writer.commit();
      return changes;
    } catch (SQLException e) {
      commitFailureCounter.increment();
      rollbackQuietly(e);
      throw new StorageException(
          "write_failed", "transaction of " + entries.size() + " entries rolled back: " + e, e);
    }
  }

  private void bindDocument(OplogEntry e, long lsn) throws SQLException {
    upsertDoc.setString(1, e.collection().value());
    upsertDoc.setString(2, e.id().value());
    upsertDoc.setString(3, e.document());
    upsertDoc.setLong(4, e.hlc().pack());
    upsertDoc.setString(5, e.origin().value());
    upsertDoc.setString(6, e.origin().sortKey());
    upsertDoc.setLong(7, lsn);
    upsertDoc.setLong(8, e.sequence());
  }

  private void bindOplog(OplogEntry e, long lsn, boolean won) throws SQLException {
    bindOplog(e, lsn, won, false);
  }

  private void bindOplog(OplogEntry e, long lsn, boolean won, boolean snapshot)
      throws SQLException {
    insertOplog.setInt(13, snapshot ? 1 : 0);
    insertOplog.setLong(1, lsn);
    insertOplog.setString(2, e.origin().value());
    insertOplog.setLong(3, e.sequence());
    insertOplog.setLong(4, e.hlc().pack());
    insertOplog.setInt(5, e.operation() == Operation.PUT ? Schema.OP_PUT : Schema.OP_DELETE);
    insertOplog.setString(6, e.collection().value());
    insertOplog.setString(7, e.id().value());
    insertOplog.setString(8, e.document());
    insertOplog.setLong(9, e.epoch());
    insertOplog.setLong(10, e.index());
    insertOplog.setInt(11, e.checksum());
    insertOplog.setInt(12, won ? 1 : 0);
  }

  private void putMeta(String key, String value) throws SQLException {
    upsertMeta.setString(1, key);
    upsertMeta.setString(2, value);
    upsertMeta.executeUpdate();
  }

  private void rollbackQuietly(SQLException cause) {
    try {
      upsertDoc.clearBatch();
      insertOplog.clearBatch();
      insertLeader.clearBatch();
      writer.rollback();
    } catch (SQLException e) {
      cause.addSuppressed(e);
    }
  }

  @Override
  public void createIndex(CollectionName collection, IndexSpec spec) {
    if (Thread.currentThread().isVirtual()) {
      // An index build over a large collection is long; see readExecutor.
      onPlatform(
          () -> {
            createIndex(collection, spec);
            return null;
          });
      return;
    }
    writeLock.lock();
    try (Statement s = writer.createStatement();
        PreparedStatement p =
            writer.prepareStatement(
                "INSERT INTO indexes (collection, name, fields) VALUES (?, ?, ?)"
                    + " ON CONFLICT (collection, name) DO NOTHING")) {
      ensureOpen();
      s.execute(SqlQueryTranslator.createIndexSql(collection.value(), spec));
      // Without statistics SQLite's planner prefers the primary key over an expression index
      // that does not cover the body; gather them for the new index now.
      s.execute("ANALYZE \"" + SqlQueryTranslator.indexName(collection.value(), spec) + "\"");
      p.setString(1, collection.value());
      p.setString(2, SqlQueryTranslator.indexName(collection.value(), spec));
      p.setString(
          3, JSON.writeValueAsString(spec.fields().stream().map(FieldPath::toString).toList()));
      p.executeUpdate();
      writer.commit();
    } catch (SQLException | JsonProcessingException e) {
      try {
        writer.rollback();
      } catch (SQLException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw new StorageException("write_failed", "creating index failed: " + e.getMessage(), e);
    } finally {
      writeLock.unlock();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Reading.

  @Override
  public Optional<StoredDocument> get(DocumentKey key) {
    return read(
        c -> {
          try (PreparedStatement p =
              c.prepareStatement(
                  "SELECT id, body, hlc, origin FROM docs WHERE collection = ? AND id = ?")) {
            p.setString(1, key.collection().value());
            p.setString(2, key.id().value());
            try (ResultSet r = p.executeQuery()) {
              return r.next() ? Optional.of(document(key.collection(), r)) : Optional.empty();
            }
          }
        });
  }

  @Override
  public List<StoredDocument> list(
      CollectionName collection, @Nullable DocumentId afterId, int limit) {
    return read(
        c -> {
          try (PreparedStatement p =
              c.prepareStatement(
                  "SELECT id, body, hlc, origin FROM docs WHERE collection = ? AND id > ?"
                      + " AND body IS NOT NULL ORDER BY id LIMIT ?")) {
            p.setString(1, collection.value());
            p.setString(2, afterId == null ? "" : afterId.value());
            p.setInt(3, limit);
            return documents(collection, p);
          }
        });
  }

  @Override
  public List<StoredDocument> query(CollectionName collection, Query query) {
    SqlQuery sql = SqlQueryTranslator.select(collection.value(), query);
    long budgetMs = queryTimeoutMs;
    long deadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(budgetMs);
    if (!queryGate.acquire(budgetMs)) {
      throw new StorageException(
          "overloaded",
          queryGate.max()
              + " queries are running and none finished within the "
              + budgetMs
              + " ms budget (limits.max-concurrent-queries, limits.query-timeout); retry later");
    }
    try {
      return read(c -> timedQuery(c, collection, query, sql, deadlineNanos, budgetMs));
    } finally {
      queryGate.release();
    }
  }

  /**
   * Runs a query: SQLite reads the candidates ({@link SqlQueryTranslator#select}) and abandons the
   * statement once the deadline passes (a progress handler); each candidate is matched in Java
   * ({@link ResultWindow}), which checks the deadline too.
   */
  private static List<StoredDocument> timedQuery(
      Connection c,
      CollectionName collection,
      Query query,
      SqlQuery sql,
      long deadlineNanos,
      long budgetMs)
      throws SQLException {
    ProgressHandler.setHandler(c, PROGRESS_STEPS, new Deadline(deadlineNanos));
    try (PreparedStatement p = c.prepareStatement(sql.sql())) {
      for (int i = 0; i < sql.parameters().size(); i++) {
        p.setObject(i + 1, sql.parameters().get(i));
      }
      ResultWindow<StoredDocument> window =
          new ResultWindow<>(query, new DeadlineBudget(deadlineNanos, budgetMs));
      try (ResultSet r = p.executeQuery()) {
        while (r.next()) {
          if (System.nanoTime() - deadlineNanos >= 0) {
            throw new SQLException("the query's deadline passed while matching candidates");
          }
          String id = r.getString(1);
          String body = r.getString(2);
          if (!window.offer(
              id, parseBody(collection, id, body), body.length(), () -> row(collection, r))) {
            break;
          }
        }
      }
      return window.page();
    } catch (SQLException e) {
      if (System.nanoTime() - deadlineNanos >= 0) {
        throw new StorageException(
            "query_timeout",
            "the query ran over its budget of "
                + budgetMs
                + " ms (limits.query-timeout); narrow the selector, lower skip, or declare an"
                + " index",
            e);
      }
      throw e;
    } finally {
      ProgressHandler.clearHandler(c);
    }
  }

  /**
   * For tests: about how many SQLite virtual-machine steps (to the hundred) {@code work} costs on
   * this store's connections (writer, loop reader and read pool), so that a test can tell a seek
   * from a scan without timing anything. Not for use while other threads use the store.
   */
  long vmSteps(Runnable work) throws SQLException {
    java.util.concurrent.atomic.AtomicLong steps = new java.util.concurrent.atomic.AtomicLong();
    List<Connection> all = new ArrayList<>(allReaders);
    all.add(writer);
    all.add(loopReader);
    for (Connection c : all) {
      ProgressHandler.setHandler(
          c,
          100,
          new ProgressHandler() {
            @Override
            protected int progress() {
              steps.incrementAndGet();
              return 0;
            }
          });
    }
    try {
      work.run();
    } finally {
      for (Connection c : all) {
        ProgressHandler.clearHandler(c);
      }
    }
    return steps.get() * 100;
  }

  /**
   * The deadline inside one document's matching: every {@value #BUDGET_CHECK_STEPS} steps charged
   * (elements visited, regex steps), the clock is read, so that one expensive document cannot run a
   * query far past its budget.
   */
  private static final class DeadlineBudget implements io.skein.core.query.WorkBudget {
    private final long deadlineNanos;
    private final long budgetMs;
    private long untilCheck = BUDGET_CHECK_STEPS;

    DeadlineBudget(long deadlineNanos, long budgetMs) {
      this.deadlineNanos = deadlineNanos;
      this.budgetMs = budgetMs;
    }

    @Override
    public void charge(long steps) {
      untilCheck -= steps;
      if (untilCheck > 0) {
        return;
      }
      untilCheck = BUDGET_CHECK_STEPS;
      if (System.nanoTime() - deadlineNanos >= 0) {
        throw new StorageException(
            "query_timeout",
            "the query ran over its budget of "
                + budgetMs
                + " ms (limits.query-timeout) while matching a document; narrow the selector or"
                + " simplify it");
      }
    }
  }

  /** Matching steps between deadline checks: about a millisecond of work or less. */
  private static final long BUDGET_CHECK_STEPS = 1_000_000;

  /** SQLite virtual-machine steps between deadline checks: about a millisecond of work. */
  private static final int PROGRESS_STEPS = 10_000;

  /** Interrupts a statement once its deadline has passed. */
  private static final class Deadline extends ProgressHandler {
    private final long deadlineNanos;

    Deadline(long deadlineNanos) {
      this.deadlineNanos = deadlineNanos;
    }

    @Override
    protected int progress() {
      return System.nanoTime() - deadlineNanos >= 0 ? 1 : 0;
    }
  }

  /**
   * Sets the query limits (dynamic settings).
   *
   * @param timeoutMs the time budget of one query, admission wait included
   * @param queriesMax how many queries may run at once
   */
  public void queryLimits(long timeoutMs, int queriesMax) {
    if (timeoutMs < 1 || queriesMax < 1) {
      throw new IllegalArgumentException("query limits must be positive");
    }
    this.queryTimeoutMs = timeoutMs;
    queryGate.max(queriesMax);
  }

  @Override
  public ChangePage changes(long afterLsn, @Nullable CollectionName collection, int limit) {
    return read(
        c -> {
          try (PreparedStatement p =
              c.prepareStatement(
                  "SELECT "
                      + OPLOG_COLUMNS
                      + " FROM oplog WHERE lsn > ? AND lsn <= ? ORDER BY lsn LIMIT ?")) {
            // Only up to the published lsn: a commit is visible to readers a moment before
            // lastLsn moves, and a token past lastLsn would be refused as never handed out.
            p.setLong(1, afterLsn);
            p.setLong(2, lastLsn);
            p.setInt(3, limit);
            List<Change> rows = new ArrayList<>();
            try (ResultSet r = p.executeQuery()) {
              while (r.next()) {
                rows.add(change(r));
              }
            }
            long base = leaderLsnBase;
            if (base >= 0) {
              // A leader file's log: the lsn range is an index range (the rows above, if any,
              // are from before the file's first leader append, so they come first).
              rows.addAll(
                  selectLeader(
                      c,
                      base,
                      "log_index > ? AND log_index <= ? ORDER BY log_index LIMIT ?",
                      Math.max(0, afterLsn - base),
                      lastLsn - base,
                      limit));
            }
            List<Change> changes = new ArrayList<>();
            long last = afterLsn;
            for (Change change : rows.subList(0, Math.min(limit, rows.size()))) {
              last = change.lsn();
              if (collection == null || collection.equals(change.entry().collection())) {
                changes.add(change);
              }
            }
            return new ChangePage(changes, last);
          }
        });
  }

  /**
   * The highest lsn of any durable oplog row, published or not. After a power cut a leader-mode
   * node may have published (and handed out as tokens) lsns of log rows whose unsynced apply was
   * lost; those rows are still in the log and are applied again, so such tokens stay valid.
   */
  public long highestLsn() {
    return allocatedLsn;
  }

  @Override
  public long lastLsn() {
    return lastLsn;
  }

  @Override
  public List<OplogEntry> entries(NodeId origin, long fromSequence, int limit) {
    return read(
        c -> {
          List<OplogEntry> entries = new ArrayList<>();
          for (Change change :
              selectOplog(
                  c,
                  "origin = ? AND seq >= ? AND snapshot = 0 ORDER BY seq LIMIT ?",
                  origin.value(),
                  fromSequence,
                  limit)) {
            entries.add(change.entry());
          }
          return entries;
        });
  }

  @Override
  public Map<NodeId, Long> versionVector() {
    return read(
        c -> {
          Map<NodeId, Long> vector = new HashMap<>();
          try (Statement s = c.createStatement();
              ResultSet r =
                  s.executeQuery(
                      "SELECT origin, max(seq) FROM oplog WHERE snapshot = 0 GROUP BY origin")) {
            while (r.next()) {
              vector.put(NodeId.of(r.getString(1)), r.getLong(2));
            }
          }
          return vector;
        });
  }

  @Override
  public List<IndexSpec> indexes(CollectionName collection) {
    return read(
        c -> {
          List<IndexSpec> specs = new ArrayList<>();
          try (PreparedStatement p =
              c.prepareStatement("SELECT fields FROM indexes WHERE collection = ? ORDER BY name")) {
            p.setString(1, collection.value());
            try (ResultSet r = p.executeQuery()) {
              while (r.next()) {
                specs.add(indexSpec(r.getString(1)));
              }
            }
          }
          return specs;
        });
  }

  private static IndexSpec indexSpec(String fieldsJson) throws SQLException {
    try {
      String[] fields = JSON.readValue(fieldsJson, String[].class);
      return new IndexSpec(Arrays.stream(fields).map(FieldPath::parse).toList());
    } catch (JsonProcessingException e) {
      throw new SQLException("unreadable index definition " + fieldsJson, e);
    }
  }

  private static List<StoredDocument> documents(CollectionName collection, PreparedStatement p)
      throws SQLException {
    List<StoredDocument> documents = new ArrayList<>();
    try (ResultSet r = p.executeQuery()) {
      while (r.next()) {
        documents.add(document(collection, r));
      }
    }
    return documents;
  }

  /** Parses a stored body with the limits it was written under (so any stored key is read). */
  private static com.fasterxml.jackson.databind.JsonNode parseBody(
      CollectionName collection, String id, String body) throws SQLException {
    try {
      return io.skein.internal.json.Json.MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      throw new SQLException("unreadable document " + collection + "/" + id, e);
    }
  }

  /** {@link #document}, for a caller that cannot throw {@link SQLException}. */
  private static StoredDocument row(CollectionName collection, ResultSet r) {
    try {
      return document(collection, r);
    } catch (SQLException e) {
      throw new StorageException("read_failed", "reading a query's row failed: " + e, e);
    }
  }

  private static StoredDocument document(CollectionName collection, ResultSet r)
      throws SQLException {
    DocumentKey key = new DocumentKey(collection, DocumentId.of(r.getString(1)));
    Version version = new Version(Hlc.unpack(r.getLong(3)), NodeId.of(r.getString(4)));
    return new StoredDocument(key, version, r.getString(2));
  }

  /** Reads oplog rows: {@code SELECT OPLOG_COLUMNS FROM oplog WHERE} the given condition. */
  private List<Change> selectOplog(Connection c, String condition, Object... parameters)
      throws SQLException {
    return selectChanges(
        c, "SELECT " + OPLOG_COLUMNS + " FROM oplog WHERE " + condition, parameters);
  }

  /** Runs a query whose columns are {@link #OPLOG_COLUMNS}' and reads its rows as changes. */
  private List<Change> selectChanges(Connection c, String sql, Object... parameters)
      throws SQLException {
    try (PreparedStatement p = c.prepareStatement(sql)) {
      for (int i = 0; i < parameters.length; i++) {
        p.setObject(i + 1, parameters[i]);
      }
      List<Change> changes = new ArrayList<>();
      try (ResultSet r = p.executeQuery()) {
        while (r.next()) {
          changes.add(change(r));
        }
      }
      return changes;
    }
  }

  /** Reads an oplog row selected with {@link #OPLOG_COLUMNS}, without checking its checksum. */
  static OplogEntry entryOf(ResultSet r) throws SQLException {
    return new OplogEntry(
        NodeId.of(r.getString(2)),
        r.getLong(3),
        Hlc.unpack(r.getLong(4)),
        r.getInt(5) == Schema.OP_PUT ? Operation.PUT : Operation.DELETE,
        new CollectionName(r.getString(6)),
        DocumentId.of(r.getString(7)),
        r.getString(8),
        r.getLong(9),
        r.getLong(10),
        r.getInt(11));
  }

  private Change change(ResultSet r) throws SQLException {
    OplogEntry entry = entryOf(r);
    if (!entry.isIntact()) {
      String where =
          "oplog entry lsn "
              + r.getLong(1)
              + " ("
              + entry.origin()
              + "#"
              + entry.sequence()
              + ", "
              + entry.collection()
              + "/"
              + entry.id()
              + ")";
      corruption.found(where + " fails its checksum");
      throw new StorageException(
          "data_corrupt", where + " in " + file + " fails its checksum: the file is corrupt");
    }
    return new Change(r.getLong(1), entry, r.getInt(12) == 1);
  }

  // ---------------------------------------------------------------------------------------------
  // Retention and snapshots (D5).

  @Override
  public Map<NodeId, Long> prune(long cutoffPhysicalMs, Map<NodeId, Long> tombstoneStable) {
    long cutoff = new Hlc(Math.max(0, cutoffPhysicalMs), 0).pack();
    writeLock.lock();
    try {
      ensureOpen();
      try {
        Map<NodeId, Long> horizon = MetaCodec.parseVector(queryString(writer, META_HORIZON_QUERY));
        // Bounded work per round: the oldest PRUNE_ROWS_MAX rows at most. Rows are cut at an HLC
        // bound, so what goes is a prefix of every origin's log (an origin's HLCs grow with its
        // sequence).
        long bound;
        try (PreparedStatement p =
            writer.prepareStatement(
                "SELECT max(hlc) FROM (SELECT hlc FROM oplog WHERE hlc < ? ORDER BY hlc LIMIT ?)")) {
          p.setLong(1, cutoff);
          p.setInt(2, PRUNE_ROWS_MAX);
          try (ResultSet r = p.executeQuery()) {
            bound = r.next() && r.getObject(1) != null ? r.getLong(1) : -1;
          }
        }
        long pruned = 0;
        if (bound >= 0) {
          try (PreparedStatement p =
              writer.prepareStatement(
                  "SELECT origin, max(seq), max(lsn) FROM oplog WHERE hlc <= ? AND snapshot = 0"
                      + " GROUP BY origin")) {
            p.setLong(1, bound);
            try (ResultSet r = p.executeQuery()) {
              while (r.next()) {
                horizon.merge(NodeId.of(r.getString(1)), r.getLong(2), Math::max);
              }
            }
          }
          try (PreparedStatement p = writer.prepareStatement("DELETE FROM oplog WHERE hlc <= ?")) {
            p.setLong(1, bound);
            pruned = p.executeUpdate();
          }
          putMeta("horizon", MetaCodec.formatVector(horizon));
          putMeta("lsn_floor", Long.toString(allocatedLsn));
        }
        long collected = collectTombstones(cutoff, tombstoneStable);
        writer.commit();
        prunedCounter.increment(pruned);
        tombstoneCounter.increment(collected);
        return horizon;
      } catch (SQLException e) {
        rollbackQuietly(e);
        throw new StorageException("write_failed", "retention rolled back: " + e, e);
      }
    } finally {
      writeLock.unlock();
    }
  }

  private long collectTombstones(long cutoff, Map<NodeId, Long> stable) throws SQLException {
    if (stable.isEmpty()) {
      return 0;
    }
    long collected = 0;
    try (PreparedStatement p =
        writer.prepareStatement(
            "DELETE FROM docs WHERE body IS NULL AND hlc < ? AND origin = ? AND seq > 0"
                + " AND seq <= ?")) {
      for (Map.Entry<NodeId, Long> origin : stable.entrySet()) {
        p.setLong(1, cutoff);
        p.setString(2, origin.getKey().value());
        p.setLong(3, origin.getValue());
        collected += p.executeUpdate();
      }
    }
    return collected;
  }

  @Override
  public SnapshotPage snapshotDocuments(
      Map<NodeId, Long> vector, @Nullable DocumentKey afterKey, int limit) {
    return documentsAfter(vector, afterKey, limit);
  }

  /**
   * Leader mode: a snapshot chunk, the applied documents in key order after {@code afterKey} (the
   * same chunk cursor as dynamo mode's). Rolled-back documents ({@code _system_rollback}, which
   * stay on the node that rolled them back) are not part of it.
   */
  public SnapshotPage leaderSnapshotDocuments(@Nullable DocumentKey afterKey, int limit) {
    return documentsAfter(null, afterKey, limit);
  }

  /**
   * The documents in key order after {@code afterKey}, at most {@code limit} scanned and at most
   * {@link #SNAPSHOT_CHUNK_BYTES_MAX} of them, without those newer than {@code vector} (none when
   * it is {@code null}) or never replicated (sequence 0).
   */
  private SnapshotPage documentsAfter(
      @Nullable Map<NodeId, Long> vector, @Nullable DocumentKey afterKey, int limit) {
    return read(
        c -> {
          String sql =
              "SELECT collection, id, body, hlc, origin, seq FROM docs"
                  + (afterKey == null ? "" : " WHERE (collection, id) > (?, ?)")
                  + " ORDER BY collection, id LIMIT ?";
          try (PreparedStatement p = c.prepareStatement(sql)) {
            int i = 1;
            if (afterKey != null) {
              p.setString(i++, afterKey.collection().value());
              p.setString(i++, afterKey.id().value());
            }
            p.setInt(i, limit);
            List<OplogEntry> documents = new ArrayList<>();
            DocumentKey lastKey = afterKey;
            int scanned = 0;
            long bytes = 0;
            boolean full = false;
            try (ResultSet r = p.executeQuery()) {
              while (r.next()) {
                if (bytes >= SNAPSHOT_CHUNK_BYTES_MAX) {
                  full = true; // the chunk must fit a frame: the rest goes in the next one
                  break;
                }
                scanned++;
                CollectionName collection = new CollectionName(r.getString(1));
                DocumentId id = DocumentId.of(r.getString(2));
                lastKey = new DocumentKey(collection, id);
                NodeId origin = NodeId.of(r.getString(5));
                long seq = r.getLong(6);
                if (seq < 1 || (vector != null && seq > vector.getOrDefault(origin, 0L))) {
                  continue; // newer than the snapshot: incremental sync brings it
                }
                String body = r.getString(3);
                bytes += 64 + (body == null ? 0 : body.length());
                documents.add(
                    OplogEntry.create(
                        origin,
                        seq,
                        Hlc.unpack(r.getLong(4)),
                        body == null ? Operation.DELETE : Operation.PUT,
                        collection,
                        id,
                        body));
              }
            }
            return new SnapshotPage(documents, lastKey, !full && scanned < limit);
          }
        });
  }

  @Override
  public List<Change> applySnapshot(SnapshotApply apply, Hlc hlcHighWater) {
    writeLock.lock();
    try {
      ensureOpen();
      long lsn = allocatedLsn + 1;
      List<Change> changes = new ArrayList<>();
      try {
        for (OplogEntry e : apply.documents()) {
          bindDocument(e, lsn);
          if (upsertDoc.executeUpdate() > 0) {
            bindOplog(e, lsn, true, true);
            insertOplog.executeUpdate();
            changes.add(new Change(lsn++, e, true));
          }
        }
        if (apply.done()) {
          Map<NodeId, Long> horizon =
              MetaCodec.parseVector(queryString(writer, META_HORIZON_QUERY));
          apply.vector().forEach((origin, seq) -> horizon.merge(origin, seq, Math::max));
          putMeta("horizon", MetaCodec.formatVector(horizon));
          try (PreparedStatement p =
              writer.prepareStatement("DELETE FROM meta WHERE key = 'snapshot_receive'")) {
            p.executeUpdate();
          }
        } else {
          putMeta(
              "snapshot_receive",
              MetaCodec.formatProgress(
                  new SnapshotProgress(apply.source(), apply.vector(), apply.lastKey())));
        }
        putMeta("hlc_high_water", Long.toString(hlcHighWater.pack()));
        writer.commit();
        if (!changes.isEmpty()) {
          allocatedLsn = changes.get(changes.size() - 1).lsn();
          lastLsn = allocatedLsn;
        }
        return changes;
      } catch (SQLException e) {
        rollbackQuietly(e);
        throw new StorageException(
            "write_failed",
            "snapshot chunk of " + apply.documents().size() + " rolled back: " + e,
            e);
      }
    } finally {
      writeLock.unlock();
    }
  }

  @Override
  public long oldestLsn() {
    return read(
        c -> {
          long oldest = queryLong(c, "SELECT coalesce(min(lsn), 0) FROM oplog");
          long base = leaderLsnBase;
          if (oldest != 0 || base < 0) {
            return oldest;
          }
          // A leader file: the feed holds everything from its first entry while nothing was
          // compacted, so every token is still good (tokens from before the version-4 upgrade
          // may be below the base).
          long first = queryLong(c, "SELECT coalesce(min(log_index), 0) FROM leader_log");
          long compacted = leaderSnapshotIndex;
          if (compacted > 0) {
            // The feed starts after the compacted entries (some of their rows may remain until
            // the slices delete them; a snapshot install leaves none).
            first = Math.max(first, compacted + 1);
          }
          return first <= 1 ? first : base + first;
        });
  }

  // ---------------------------------------------------------------------------------------------
  // Leader mode (issue 4): the log is appended unapplied and applied to the documents at commit,
  // so a truncated (never committed) entry has never touched a document.

  /**
   * Leader mode, in one transaction: persists the epoch and vote if given, removes the log from
   * {@code truncateFrom} on (if not 0) into {@code _system_rollback}, and appends the entries
   * without applying them. Truncating an applied entry is refused.
   *
   * @param hardState {@code {epoch, votedFor}} to persist, or {@code null}
   */
  public void appendLeaderLog(
      @Nullable LeaderHardState hardState,
      long truncateFrom,
      List<OplogEntry> entries,
      Hlc hlcHighWater) {
    appendLeaderLog(hardState, truncateFrom, entries, List.of(), hlcHighWater, 0, Map.of());
  }

  /**
   * Leader mode, in one transaction (one fsync): persists the election state, a truncation, the
   * appended entries with the indexes among them that do not end their write, and applies the
   * committed log up to {@code applyUpTo} (0 for none). The entries to apply are taken from {@code
   * known} where it holds them (the loop's own copies), else read from the log.
   *
   * @return the changes applied, in log order
   */
  public List<Change> appendLeaderLog(
      @Nullable LeaderHardState hardState,
      long truncateFrom,
      List<OplogEntry> entries,
      List<Long> openIndexes,
      Hlc hlcHighWater,
      long applyUpTo,
      Map<Long, OplogEntry> known) {
    writeLock.lock();
    try {
      ensureOpen();
      Timer.Sample sample = Timer.start();
      long base = leaderLsnBase < 0 ? allocatedLsn : leaderLsnBase;
      List<Change> applied;
      try {
        if (hardState != null) {
          putMeta("leader_epoch", Long.toString(hardState.epoch()));
          NodeId vote = hardState.votedFor();
          putMeta("leader_vote", vote == null ? "" : vote.value());
        }
        if (truncateFrom > 0) {
          rollBackFrom(truncateFrom, base);
        }
        for (OplogEntry e : entries) {
          bindLeader(e);
          insertLeader.addBatch();
        }
        insertLeader.executeBatch();
        if (!openIndexes.isEmpty()) {
          try (PreparedStatement p =
              writer.prepareStatement("INSERT OR IGNORE INTO leader_open (log_index) VALUES (?)")) {
            for (long index : openIndexes) {
              p.setLong(1, index);
              p.addBatch();
            }
            p.executeBatch();
          }
        }
        putMeta("hlc_high_water", Long.toString(hlcHighWater.pack()));
        if (leaderLsnBase < 0) {
          putMeta("leader_lsn_base", Long.toString(base));
        }
        applied = applyInTransaction(applyUpTo, known, base);
        if (leaderApplied < 0 && applied.isEmpty()) {
          putMeta("leader_applied", "0");
        }
        writer.commit();
      } catch (SQLException e) {
        rollbackQuietly(e);
        throw new StorageException("write_failed", "log append rolled back: " + e, e);
      }
      // Leader mode's durable commit is this one (an apply alone is fsync-free): the same meters
      // as dynamo mode's group commit, so dashboards work in both modes.
      sample.stop(commitTimer);
      commitCounter.increment(); // every committed transaction counts, in both modes
      if (fullSync) {
        syncCounter.increment();
      }
      if (!entries.isEmpty()) {
        commitEntries.record(entries.size());
        allocatedLsn = Math.max(allocatedLsn, base + entries.get(entries.size() - 1).index());
      }
      leaderLsnBase = base;
      published(applied);
      return applied;
    } finally {
      writeLock.unlock();
    }
  }

  private void bindLeader(OplogEntry e) throws SQLException {
    insertLeader.setLong(1, e.index());
    insertLeader.setString(2, e.origin().value());
    insertLeader.setLong(3, e.sequence());
    insertLeader.setLong(4, e.hlc().pack());
    insertLeader.setInt(5, e.operation() == Operation.PUT ? Schema.OP_PUT : Schema.OP_DELETE);
    insertLeader.setString(6, e.collection().value());
    insertLeader.setString(7, e.id().value());
    insertLeader.setString(8, e.document());
    insertLeader.setLong(9, e.epoch());
    insertLeader.setInt(10, e.checksum());
  }

  /**
   * The columns of {@link #OPLOG_COLUMNS}, in its order, selected from {@code leader_log} with the
   * given lsn base.
   */
  static String leaderColumns(long base) {
    return "log_index + "
        + base
        + ", origin, seq, hlc, op, collection, id, body, epoch, log_index, checksum, won";
  }

  /** Reads leader-log rows: {@code SELECT ... FROM leader_log WHERE} the given condition. */
  private List<Change> selectLeader(Connection c, long base, String condition, Object... parameters)
      throws SQLException {
    return selectChanges(
        c, "SELECT " + leaderColumns(base) + " FROM leader_log WHERE " + condition, parameters);
  }

  /** Moves the log from {@code from} on into {@code _system_rollback}, then deletes it. */
  private void rollBackFrom(long from, long base) throws SQLException {
    if (from <= leaderApplied) {
      throw new SQLException(
          "refusing to truncate the log from "
              + from
              + ": entries up to "
              + leaderApplied
              + " applied");
    }
    List<Change> removed = selectLeader(writer, base, "log_index >= ? ORDER BY log_index", from);
    try (PreparedStatement insert =
        writer.prepareStatement(
            "INSERT OR REPLACE INTO docs (collection, id, body, hlc, origin, origin_key, lsn, seq)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, 0)")) {
      for (Change change : removed) {
        OplogEntry e = change.entry();
        com.fasterxml.jackson.databind.node.ObjectNode body = JSON.createObjectNode();
        body.put("collection", e.collection().value())
            .put("id", e.id().value())
            .put("op", e.operation().wireName())
            .put("version", e.version().toString())
            .put("epoch", e.epoch())
            .put("index", e.index());
        String document = e.document();
        if (document == null) {
          body.putNull("doc");
        } else {
          body.putRawValue("doc", new com.fasterxml.jackson.databind.util.RawValue(document));
        }
        insert.setString(1, ROLLBACK.value());
        insert.setString(2, "e" + e.epoch() + "-i" + e.index());
        insert.setString(3, body.toString());
        insert.setLong(4, e.hlc().pack());
        insert.setString(5, e.origin().value());
        insert.setString(6, e.origin().sortKey());
        insert.setLong(7, change.lsn());
        insert.executeUpdate();
      }
    }
    try (PreparedStatement forget =
        writer.prepareStatement("DELETE FROM leader_open WHERE log_index >= ?")) {
      forget.setLong(1, from);
      forget.executeUpdate();
    }
    try (PreparedStatement delete =
        writer.prepareStatement("DELETE FROM leader_log WHERE log_index >= ?")) {
      delete.setLong(1, from);
      delete.executeUpdate();
    }
    if (!removed.isEmpty()) {
      log.atWarn()
          .addKeyValue("from", from)
          .addKeyValue("entries", removed.size())
          .log("uncommitted log entries rolled back into _system_rollback");
    }
  }

  /**
   * Turns fsync at commit off or back on, between transactions (SQLite refuses inside one). Off
   * only for what can be recomputed from durable data: applying the leader log (the log is fsynced,
   * and an applied index lost to a power cut is re-applied, idempotently, at start). WAL frames are
   * written in order, so the next fsynced commit makes an unsynced one durable too.
   */
  private void syncCommits(boolean on) throws SQLException {
    if (!fullSync) {
      return; // buffered durability never fsyncs at commit
    }
    writer.setAutoCommit(true); // ends the driver's open (empty) transaction
    try (Statement s = writer.createStatement()) {
      s.execute(on ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
    } finally {
      writer.setAutoCommit(false);
    }
  }

  /** The collection that keeps rolled-back leader-mode writes (D3). */
  public static final CollectionName ROLLBACK = CollectionName.system("_system_rollback");

  /**
   * Leader mode: applies the log up to {@code upToIndex} to the documents by last-write-wins, in
   * one fsync-free transaction, and publishes those changes to the feed.
   *
   * @return the changes applied
   */
  public List<Change> applyLeaderLog(long upToIndex) {
    return applyLeaderLog(upToIndex, Map.of());
  }

  /**
   * As {@link #applyLeaderLog(long)}, taking the entries from {@code known} where it holds them.
   *
   * @return the changes applied
   */
  public List<Change> applyLeaderLog(long upToIndex, Map<Long, OplogEntry> known) {
    writeLock.lock();
    try {
      ensureOpen();
      if (upToIndex <= Math.max(0, leaderApplied) || leaderLsnBase < 0) {
        return List.of(); // nothing to apply (or no log yet)
      }
      boolean committed = false;
      try {
        syncCommits(false);
        long base = leaderLsnBase < 0 ? allocatedLsn : leaderLsnBase;
        List<Change> changes = applyInTransaction(upToIndex, known, base);
        writer.commit();
        commitCounter.increment();
        committed = true;
        published(changes);
        syncCommits(true);
        return changes;
      } catch (SQLException e) {
        if (committed) {
          // Every later commit would go unsynced: this store must not be written again.
          throw new StorageException(
              "storage_failed", "cannot turn fsync back on after applying the log: " + e, e);
        }
        rollbackQuietly(e);
        try {
          syncCommits(true);
        } catch (SQLException restore) {
          e.addSuppressed(restore);
          throw new StorageException(
              "storage_failed", "cannot turn fsync back on after a failed apply: " + e, e);
        }
        throw new StorageException("write_failed", "applying the log rolled back: " + e, e);
      }
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * Applies the log from the last applied index to {@code upToIndex} inside the open transaction:
   * one document upsert per entry (the log row is written again only when the entry lost
   * last-write-wins, which leader mode's ordered clock makes rare) and {@code leader_applied}.
   * Entries are taken from {@code known}, and read from the log from the first one it lacks.
   */
  private List<Change> applyInTransaction(long upToIndex, Map<Long, OplogEntry> known, long base)
      throws SQLException {
    long from = Math.max(0, leaderApplied) + 1;
    if (upToIndex < from) {
      return List.of();
    }
    List<OplogEntry> pending = new ArrayList<>((int) Math.min(upToIndex - from + 1, 4_096));
    for (long index = from; index <= upToIndex; index++) {
      OplogEntry e = known.get(index);
      if (e == null) {
        for (Change change :
            selectLeader(
                writer,
                base,
                "log_index >= ? AND log_index <= ? ORDER BY log_index",
                index,
                upToIndex)) {
          pending.add(change.entry());
        }
        break;
      }
      pending.add(e);
    }
    if (pending.isEmpty()) {
      return List.of();
    }
    for (OplogEntry e : pending) {
      bindDocument(e, base + e.index());
      upsertDoc.addBatch();
    }
    int[] won = upsertDoc.executeBatch();
    List<Change> changes = new ArrayList<>(pending.size());
    for (int i = 0; i < pending.size(); i++) {
      OplogEntry e = pending.get(i);
      boolean winner = won[i] > 0;
      if (!winner) {
        try (PreparedStatement mark =
            writer.prepareStatement("UPDATE leader_log SET won = 0 WHERE log_index = ?")) {
          mark.setLong(1, e.index());
          mark.executeUpdate();
        }
      }
      changes.add(new Change(base + e.index(), e, winner));
    }
    putMeta("leader_applied", Long.toString(pending.get(pending.size() - 1).index()));
    return changes;
  }

  /** After a commit: the applied index and the feed's lsn move to the last change applied. */
  private void published(List<Change> changes) {
    if (changes.isEmpty()) {
      if (leaderApplied < 0) {
        leaderApplied = 0;
      }
      return;
    }
    Change last = changes.get(changes.size() - 1);
    leaderApplied = last.entry().index();
    lastLsn = Math.max(lastLsn, last.lsn());
  }

  /**
   * Leader mode: the log entries from {@code fromIndex} on, in index order, at most {@code limit}.
   */
  public List<OplogEntry> leaderEntries(long fromIndex, int limit) {
    return leaderEntries(fromIndex, limit, Long.MAX_VALUE);
  }

  /** Leader mode: the indexes from {@code fromIndex} to {@code toIndex} that do not end a write. */
  public java.util.Set<Long> leaderOpenIndexes(long fromIndex, long toIndex) {
    return read(
        c -> {
          java.util.Set<Long> open = new java.util.HashSet<>();
          try (PreparedStatement p =
              c.prepareStatement(
                  "SELECT log_index FROM leader_open WHERE log_index >= ? AND log_index <= ?")) {
            p.setLong(1, fromIndex);
            p.setLong(2, toIndex);
            try (ResultSet r = p.executeQuery()) {
              while (r.next()) {
                open.add(r.getLong(1));
              }
            }
          }
          return open;
        });
  }

  /**
   * Leader mode: the log entries from {@code fromIndex} on, in index order, at most {@code limit}
   * and, past the first, at most {@code bytesMax} of documents: a follower far behind on large
   * documents is fed in bounded reads.
   */
  public List<OplogEntry> leaderEntries(long fromIndex, int limit, long bytesMax) {
    return read(
        c -> {
          List<OplogEntry> entries = new ArrayList<>();
          try (PreparedStatement p =
              c.prepareStatement(
                  "SELECT "
                      + leaderColumns(Math.max(0, leaderLsnBase))
                      + " FROM leader_log WHERE log_index >= ? ORDER BY log_index LIMIT ?")) {
            p.setLong(1, fromIndex);
            p.setInt(2, limit);
            long bytes = 0;
            try (ResultSet r = p.executeQuery()) {
              while (r.next()) {
                OplogEntry entry = change(r).entry();
                String document = entry.document();
                bytes += 128 + (document == null ? 0 : document.length());
                if (bytes > bytesMax && !entries.isEmpty()) {
                  break;
                }
                entries.add(entry);
              }
            }
          }
          return entries;
        });
  }

  /**
   * Whether this file holds writes made outside the leader log (by a node without peers, or in
   * dynamo mode): they were never ordered by a primary, so leader mode with peers cannot take the
   * file over.
   */
  public boolean holdsWritesOutsideLeaderLog() {
    return read(
        c -> {
          boolean leaderFile =
              queryString(c, "SELECT value FROM meta WHERE key = 'leader_applied'") != null;
          if (!leaderFile) {
            return queryLong(c, "SELECT EXISTS (SELECT 1 FROM docs)") != 0
                || queryLong(c, "SELECT EXISTS (SELECT 1 FROM oplog)") != 0;
          }
          return queryLong(c, "SELECT EXISTS (SELECT 1 FROM oplog WHERE snapshot = 0)") != 0;
        });
  }

  /** Leader mode: what a {@code LeaderCore} needs to resume. */
  public io.skein.core.leader.LeaderRecovered leaderRecovered() {
    return read(
        c -> {
          String epoch = queryString(c, "SELECT value FROM meta WHERE key = 'leader_epoch'");
          String vote = queryString(c, "SELECT value FROM meta WHERE key = 'leader_vote'");
          String applied = queryString(c, "SELECT value FROM meta WHERE key = 'leader_applied'");
          LeaderSnapshot snapshot = leaderSnapshot(c);
          long lastIndex =
              Math.max(
                  snapshot.index(),
                  queryLong(c, "SELECT coalesce(max(log_index), 0) FROM leader_log"));
          Map<Long, Long> starts = epochStarts(c, lastIndex);
          long appliedIndex = Math.max(applied == null ? 0 : Long.parseLong(applied), 0);
          java.util.Set<Long> open = new java.util.HashSet<>();
          try (PreparedStatement p =
              c.prepareStatement("SELECT log_index FROM leader_open WHERE log_index > ?")) {
            p.setLong(1, appliedIndex);
            try (ResultSet r = p.executeQuery()) {
              while (r.next()) {
                open.add(r.getLong(1));
              }
            }
          }
          // Configuration entries are few (one per membership change): the partial index
          // leader_log_config finds them (its condition must be in the query, as a literal).
          Map<Long, io.skein.core.leader.LeaderMembers> configurations = new HashMap<>();
          if (snapshot.members() != null) {
            configurations.put(snapshot.membersIndex(), snapshot.members());
          }
          try (PreparedStatement p =
              c.prepareStatement(
                  "SELECT log_index, body FROM leader_log WHERE collection = '"
                      + io.skein.core.leader.LeaderMembers.COLLECTION.value()
                      + "' AND id = ? AND body IS NOT NULL AND log_index > ?")) {
            p.setString(1, io.skein.core.leader.LeaderMembers.DOCUMENT.value());
            p.setLong(2, snapshot.index());
            try (ResultSet r = p.executeQuery()) {
              while (r.next()) {
                try {
                  configurations.put(
                      r.getLong(1), io.skein.core.leader.LeaderMembers.parse(r.getString(2)));
                } catch (IllegalArgumentException e) {
                  throw new StorageException(
                      "corrupt_configuration",
                      "the configuration entry at log index "
                          + r.getLong(1)
                          + " cannot be read: "
                          + e.getMessage(),
                      e);
                }
              }
            }
          }
          return new io.skein.core.leader.LeaderRecovered(
              epoch == null ? 0 : Long.parseLong(epoch),
              vote == null || vote.isEmpty() ? null : NodeId.of(vote),
              lastIndex,
              starts,
              appliedIndex,
              recovered.hlcHighWater(),
              open,
              configurations,
              snapshot.index(),
              snapshot.epoch(),
              snapshot.receiving());
        });
  }

  // ---------------------------------------------------------------------------------------------
  // Leader-log compaction and snapshot install (issue 13).

  /** Pages written to the WAL between automatic checkpoints (SQLite's default). */
  static final int WAL_AUTOCHECKPOINT_PAGES = 1_000;

  /** The size the WAL is truncated back to after a checkpoint that passed it. */
  static final int WAL_BYTES_MAX = 64 << 20;

  /** The most log rows one transaction of a compaction deletes; the rest go in later turns. */
  static final int COMPACT_ROWS_MAX = 16_384;

  /**
   * The snapshot a leader log starts after, and a transfer being received.
   *
   * @param index the last compacted index (0: never compacted)
   * @param epoch its epoch
   * @param membersIndex the index of the configuration in force there (0: configured members)
   * @param members that configuration, or {@code null}
   * @param receiving a snapshot transfer under way, or {@code null}
   */
  record LeaderSnapshot(
      long index,
      long epoch,
      long membersIndex,
      io.skein.core.leader.@Nullable LeaderMembers members,
      io.skein.core.leader.LeaderRecovered.@Nullable Receiving receiving) {}

  private static LeaderSnapshot leaderSnapshot(Connection c) throws SQLException {
    String index = queryString(c, "SELECT value FROM meta WHERE key = 'leader_snapshot_index'");
    String epoch = queryString(c, "SELECT value FROM meta WHERE key = 'leader_snapshot_epoch'");
    String membersIndex =
        queryString(c, "SELECT value FROM meta WHERE key = 'leader_snapshot_config_index'");
    String members = queryString(c, "SELECT value FROM meta WHERE key = 'leader_snapshot_members'");
    String receiving =
        queryString(c, "SELECT value FROM meta WHERE key = 'leader_snapshot_receive'");
    try {
      return new LeaderSnapshot(
          index == null ? 0 : Long.parseLong(index),
          epoch == null ? 0 : Long.parseLong(epoch),
          membersIndex == null ? 0 : Long.parseLong(membersIndex),
          members == null || members.isEmpty()
              ? null
              : io.skein.core.leader.LeaderMembers.parse(members),
          receiving == null ? null : MetaCodec.parseLeaderReceiving(receiving));
    } catch (RuntimeException | SQLException e) {
      throw new StorageException(
          "corrupt_snapshot_meta",
          "the leader log's snapshot record cannot be read: " + e.getMessage(),
          e);
    }
  }

  /**
   * Rows of the leader log at or below this index are compacted, though not all deleted yet.
   * Written under writeLock, read by readers (the change feed's oldest token).
   */
  private volatile long leaderSnapshotIndex = -1;

  /**
   * The highest index whose row a compaction deleted (rows above it may remain up to the above).
   */
  private volatile long leaderCompactedThrough = -1;

  private void putLeaderSnapshot(
      long index,
      long epoch,
      long membersIndex,
      io.skein.core.leader.@Nullable LeaderMembers members)
      throws SQLException {
    putMeta("leader_snapshot_index", Long.toString(index));
    putMeta("leader_snapshot_epoch", Long.toString(epoch));
    putMeta("leader_snapshot_config_index", Long.toString(membersIndex));
    putMeta("leader_snapshot_members", members == null ? "" : members.toDocument());
  }

  /**
   * Leader mode: the log up to {@code index} is compacted (every entry of it is applied). Records
   * the snapshot's index, epoch and configuration, and deletes at most {@link #COMPACT_ROWS_MAX}
   * rows in the same transaction; {@link #compactLeaderLogSlice()} deletes the rest, a slice per
   * loop turn, so a large compaction never holds the replication loop for long.
   *
   * @throws StorageException if an entry up to {@code index} is not applied (a bug in the caller)
   */
  public void compactLeaderLog(
      long index,
      long epoch,
      long membersIndex,
      io.skein.core.leader.@Nullable LeaderMembers members) {
    writeLock.lock();
    try {
      ensureOpen();
      if (index > leaderApplied) {
        throw new StorageException(
            "compaction_refused",
            "refusing to compact the log up to "
                + index
                + ": entries are applied only up to "
                + leaderApplied);
      }
      if (index <= leaderSnapshotIndex) {
        return; // a snapshot install already moved the log's start past it
      }
      long through;
      try {
        putLeaderSnapshot(index, epoch, membersIndex, members);
        through = deleteCompactedSlice(index);
        writer.commit();
      } catch (SQLException e) {
        rollbackQuietly(e);
        throw new StorageException("write_failed", "log compaction rolled back: " + e, e);
      }
      leaderSnapshotIndex = index; // published once durable (the change feed reads it)
      leaderCompactedThrough = through;
      compactions.increment();
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * Deletes the next slice of compacted log rows, if any remain.
   *
   * @return whether rows remain after this slice
   */
  public boolean compactLeaderLogSlice() {
    if (leaderCompactedThrough >= leaderSnapshotIndex) {
      return false; // the common case, every loop turn: no lock
    }
    writeLock.lock();
    try {
      ensureOpen();
      if (leaderCompactedThrough >= leaderSnapshotIndex) {
        return false;
      }
      long through;
      try {
        through = deleteCompactedSlice(leaderSnapshotIndex);
        writer.commit();
      } catch (SQLException e) {
        rollbackQuietly(e);
        throw new StorageException("write_failed", "log compaction rolled back: " + e, e);
      }
      leaderCompactedThrough = through;
      return leaderCompactedThrough < leaderSnapshotIndex;
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * Deletes the next slice of rows up to {@code snapshotIndex}, inside the open transaction.
   *
   * @return the highest index the slice covers (the caller records it once committed)
   */
  private long deleteCompactedSlice(long snapshotIndex) throws SQLException {
    long from =
        leaderCompactedThrough >= 0
            ? leaderCompactedThrough
            : queryLong(writer, "SELECT coalesce(min(log_index), 1) FROM leader_log") - 1;
    long through = Math.min(snapshotIndex, from + COMPACT_ROWS_MAX);
    try (PreparedStatement delete =
        writer.prepareStatement("DELETE FROM leader_log WHERE log_index <= ?")) {
      delete.setLong(1, through);
      compactedRows.increment(delete.executeUpdate());
    }
    try (PreparedStatement delete =
        writer.prepareStatement("DELETE FROM leader_open WHERE log_index <= ?")) {
      delete.setLong(1, through);
      delete.executeUpdate();
    }
    return through;
  }

  /**
   * Leader mode: installs a snapshot chunk in one transaction: its documents by last-write-wins
   * (they are committed state, so this undoes nothing), and the transfer's progress. The last chunk
   * also makes the log start after the snapshot's index: the entries up to it go (with {@code
   * keepLog}), or the whole log (without: it conflicts with the primary's at that index, so what it
   * holds above it is moved to {@code _system_rollback} first); the applied index becomes at least
   * the snapshot's.
   */
  public void installLeaderSnapshot(
      io.skein.core.leader.LeaderReady.SnapshotInstall install, Hlc hlcHighWater) {
    writeLock.lock();
    try {
      ensureOpen();
      long base = leaderLsnBase < 0 ? allocatedLsn : leaderLsnBase;
      try {
        for (OplogEntry e : install.documents()) {
          bindDocument(e, base + install.index());
          upsertDoc.addBatch();
        }
        upsertDoc.executeBatch();
        long applied = Math.max(0, leaderApplied);
        if (install.done() && install.index() < leaderSnapshotIndex) {
          throw new SQLException(
              "a snapshot at index "
                  + install.index()
                  + " is behind the log's start after "
                  + leaderSnapshotIndex);
        }
        if (install.done()) {
          if (!install.keepLog()) {
            long conflicting = Math.max(install.index(), applied + 1);
            if (queryLong(writer, "SELECT coalesce(max(log_index), 0) FROM leader_log")
                >= conflicting) {
              rollBackFrom(conflicting, base);
            }
            try (Statement all = writer.createStatement()) {
              compactedRows.increment(all.executeUpdate("DELETE FROM leader_log"));
              all.executeUpdate("DELETE FROM leader_open");
            }
          } else {
            try (PreparedStatement delete =
                writer.prepareStatement("DELETE FROM leader_log WHERE log_index <= ?")) {
              delete.setLong(1, install.index());
              compactedRows.increment(delete.executeUpdate());
            }
            try (PreparedStatement delete =
                writer.prepareStatement("DELETE FROM leader_open WHERE log_index <= ?")) {
              delete.setLong(1, install.index());
              delete.executeUpdate();
            }
          }
          putLeaderSnapshot(
              install.index(), install.indexEpoch(), install.membersIndex(), install.members());
          applied = Math.max(applied, install.index());
          putMeta("leader_applied", Long.toString(applied));
          try (Statement forget = writer.createStatement()) {
            forget.executeUpdate("DELETE FROM meta WHERE key = 'leader_snapshot_receive'");
          }
        } else {
          putMeta(
              "leader_snapshot_receive",
              MetaCodec.formatLeaderReceiving(install.index(), install.lastKey()));
          if (leaderApplied < 0) {
            putMeta("leader_applied", "0");
          }
        }
        if (leaderLsnBase < 0) {
          putMeta("leader_lsn_base", Long.toString(base));
        }
        putMeta("hlc_high_water", Long.toString(hlcHighWater.pack()));
        writer.commit();
        commitCounter.increment();
        if (fullSync) {
          syncCounter.increment();
        }
        leaderLsnBase = base;
        if (install.done()) {
          leaderApplied = applied;
          leaderSnapshotIndex = Math.max(leaderSnapshotIndex, install.index());
          leaderCompactedThrough = Math.max(leaderCompactedThrough, install.index());
          lastLsn = Math.max(lastLsn, base + applied);
          allocatedLsn = Math.max(allocatedLsn, lastLsn);
          snapshotsInstalled.increment();
        } else if (leaderApplied < 0) {
          leaderApplied = 0;
        }
      } catch (SQLException e) {
        rollbackQuietly(e);
        throw new StorageException(
            "write_failed",
            "snapshot chunk of " + install.documents().size() + " rolled back: " + e,
            e);
      }
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * The first index of each epoch in the leader log, by binary search over the log's key (epochs
   * never decrease along the log): a few lookups per epoch, where a {@code GROUP BY} would read the
   * whole log at every start.
   */
  private static Map<Long, Long> epochStarts(Connection c, long lastIndex) throws SQLException {
    Map<Long, Long> starts = new HashMap<>();
    long first = queryLong(c, "SELECT coalesce(min(log_index), 0) FROM leader_log");
    if (first == 0) {
      return starts;
    }
    try (PreparedStatement at =
        c.prepareStatement(
            "SELECT epoch FROM leader_log WHERE log_index >= ? ORDER BY log_index LIMIT 1")) {
      long index = first;
      while (index <= lastIndex) {
        long epoch = epochAt(at, index);
        starts.put(index, epoch);
        // The first index past `index` whose epoch is higher: lo has `epoch`, hi does not.
        long lo = index;
        long hi = lastIndex + 1;
        while (hi - lo > 1) {
          long mid = lo + (hi - lo) / 2;
          if (epochAt(at, mid) <= epoch) {
            lo = mid;
          } else {
            hi = mid;
          }
        }
        index = hi;
      }
    }
    return starts;
  }

  private static long epochAt(PreparedStatement at, long index) throws SQLException {
    at.setLong(1, index);
    try (ResultSet r = at.executeQuery()) {
      return r.next() ? r.getLong(1) : Long.MAX_VALUE;
    }
  }

  /**
   * An epoch and the vote cast in it (leader mode's durable election state).
   *
   * @param epoch the epoch
   * @param votedFor the vote, or {@code null}
   */
  public record LeaderHardState(long epoch, @Nullable NodeId votedFor) {}

  /** A read that runs on a borrowed connection. */
  @FunctionalInterface
  interface ReadWork<T> {
    T run(Connection connection) throws SQLException;
  }

  <T> T read(ReadWork<T> work) {
    if (Thread.currentThread().isVirtual()) {
      return onReadThread(work);
    }
    if (LOOP_THREAD.get()) {
      return readOnLoopConnection(work);
    }
    return readHere(work);
  }

  /**
   * Marks the calling thread as a replication loop: its reads use a connection of their own, which
   * no client can hold. Call once, at the start of the loop's thread.
   */
  public static void markLoopThread() {
    LOOP_THREAD.set(true);
  }

  private <T> T readOnLoopConnection(ReadWork<T> work) {
    loopReadLock.lock();
    try {
      ensureOpen();
      return work.run(loopReader);
    } catch (SQLException e) {
      throw new StorageException("read_failed", "read from " + file + " failed: " + e, e);
    } finally {
      loopReadLock.unlock();
    }
  }

  /** Runs a read on a platform read thread and waits for it (a virtual thread parks, unpinned). */
  private <T> T onReadThread(ReadWork<T> work) {
    return onPlatform(() -> readHere(work));
  }

  /** Runs storage work on a platform read thread and waits for it. */
  private <T> T onPlatform(java.util.concurrent.Callable<T> work) {
    java.util.concurrent.Future<T> result;
    try {
      result = readExecutor.submit(work);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      if (closed || readExecutor.isShutdown()) {
        throw new StorageException("closed", "the store " + file + " is closed");
      }
      readsRefused.increment();
      throw new StorageException(
          "overloaded", READ_QUEUE_MAX + " reads are already waiting for a read thread");
    }
    try {
      return result.get();
    } catch (InterruptedException e) {
      result.cancel(true);
      Thread.currentThread().interrupt();
      throw new StorageException("interrupted", "interrupted while waiting for a read");
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new StorageException("read_failed", "read from " + file + " failed: " + e.getCause());
    }
  }

  private <T> T readHere(ReadWork<T> work) {
    ensureOpen();
    Connection c;
    try {
      c = readers.poll(READ_BORROW_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StorageException("interrupted", "interrupted while waiting for a read connection");
    }
    if (c == null) {
      throw new StorageException(
          "overloaded", "no read connection became free within " + READ_BORROW_TIMEOUT_MS + " ms");
    }
    try {
      ensureOpen();
      return work.run(c);
    } catch (SQLException e) {
      throw new StorageException("read_failed", "read from " + file + " failed: " + e, e);
    } finally {
      readers.add(c);
    }
  }

  /** Returns the first corruption found since the store opened, or {@code null} if none. */
  public @Nullable String corruption() {
    return corruption.first();
  }

  private void ensureOpen() {
    if (closed) {
      throw new StorageException("closed", "the store " + file + " is closed");
    }
  }

  private double fileBytes() {
    try {
      Path wal = file.resolveSibling(file.getFileName() + "-wal");
      return Files.size(file) + (Files.exists(wal) ? Files.size(wal) : 0);
    } catch (IOException e) {
      return Double.NaN;
    }
  }

  private static long queryLong(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet r = s.executeQuery(sql)) {
      return r.next() ? r.getLong(1) : 0;
    }
  }

  private static @Nullable String queryString(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet r = s.executeQuery(sql)) {
      return r.next() ? r.getString(1) : null;
    }
  }

  @Override
  public void close() {
    writeLock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      optimizeQuietly();
      closeQuietly(writer);
      // Take every read connection back before closing it, so that no read in flight has its
      // connection closed underneath; a read that outlives the wait is abandoned.
      for (int i = 0; i < allReaders.size(); i++) {
        try {
          if (readers.poll(READ_BORROW_TIMEOUT_MS, TimeUnit.MILLISECONDS) == null) {
            break;
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      for (Connection reader : allReaders) {
        closeQuietly(reader);
      }
      try {
        // The loops stop before the store closes; a read still running is abandoned after the
        // wait, like a pooled one.
        if (loopReadLock.tryLock(READ_BORROW_TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
          loopReadLock.unlock();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      closeQuietly(loopReader);
      readExecutor.shutdownNow();
    } finally {
      writeLock.unlock();
    }
  }

  private void optimizeQuietly() {
    try (Statement s = writer.createStatement()) {
      s.execute("PRAGMA optimize");
      writer.commit();
    } catch (SQLException e) {
      // Statistics are an optimisation; closing goes on without them.
    }
  }

  private static void closeQuietly(Connection c) {
    try {
      c.close();
    } catch (SQLException e) {
      // Closing is best effort: the data is already committed, and SQLite recovers the WAL.
    }
  }
}
