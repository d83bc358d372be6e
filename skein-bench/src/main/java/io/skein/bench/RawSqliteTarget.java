package io.skein.bench;

import io.skein.Durability;
import io.skein.internal.storage.Schema;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.sqlite.SQLiteConfig;

/**
 * The baseline: what a plain application would do with sqlite-jdbc to store the same documents.
 *
 * <p>Design notes. The file gets Skein's schema ({@link Schema#CREATE}) and the same pragmas as
 * Skein's writer ({@code journal_mode=WAL}; {@code synchronous=FULL} for {@link Durability#FSYNC},
 * {@code NORMAL} for {@link Durability#BUFFERED}), but a put is only one {@code INSERT OR REPLACE}
 * into {@code docs}: no oplog row, no metadata, no JSON parsing, no event loop. Every put is its
 * own transaction and commit; a batch is one transaction of inserts sent with {@code executeBatch}.
 *
 * <p>Concurrent writers use the target in one of two ways ({@link Sharing}): one connection shared
 * by all writers behind a lock, or one connection per writer thread that waits on SQLite's own lock
 * through {@code busy_timeout}. Which is faster depends on the workload (docs/benchmarks.md), so
 * the runs measure both. Neither groups commits: that is what Skein's group commit is measured
 * against.
 *
 * <p>{@link Shape#SKEIN_WRITE_SET} is not a baseline but a decomposition: each transaction writes
 * what Skein's storage writes (the docs upsert with its last-write-wins condition, an oplog row per
 * document, and two meta upserts) with the same SQL, but without Skein's JSON handling, core and
 * event loop. Comparing it with the plain shape and with Skein splits Skein's cost between the
 * extra storage writes and the engine.
 */
final class RawSqliteTarget implements PutTarget {
  /** How a raw connection waits for the SQLite write lock held by another connection, in ms. */
  static final int BUSY_TIMEOUT_MS = 30_000;

  private static final String INSERT =
      "INSERT OR REPLACE INTO docs (collection, id, body, hlc, origin, origin_key, lsn)"
          + " VALUES (?, ?, ?, ?, ?, ?, ?)";
  private static final String UPSERT_DOC =
      """
      INSERT INTO docs (collection, id, body, hlc, origin, origin_key, lsn)
      VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (collection, id) DO UPDATE SET
        body = excluded.body, hlc = excluded.hlc, origin = excluded.origin,
        origin_key = excluded.origin_key, lsn = excluded.lsn
      WHERE excluded.hlc > docs.hlc
        OR (excluded.hlc = docs.hlc AND excluded.origin_key > docs.origin_key)""";
  private static final String INSERT_OPLOG =
      """
      INSERT INTO oplog (lsn, origin, seq, hlc, op, collection, id, body, epoch, log_index,
                         checksum, won)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 1)""";
  private static final String UPSERT_META =
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value ="
          + " excluded.value";
  private static final String ORIGIN = "raw";

  /** How concurrent writers reach the database. */
  enum Sharing {
    /** One connection for all writers, taken in turn under a (non-fair) lock. */
    SHARED_CONNECTION,
    /** A connection per writer; SQLite serializes them with its busy handler. */
    CONNECTION_PER_WRITER
  }

  /** What one put writes. */
  enum Shape {
    /** One {@code INSERT OR REPLACE} into {@code docs}: the baseline. */
    DOCS_ONLY,
    /** Skein's storage write set, with Skein's SQL: docs, oplog and meta. */
    SKEIN_WRITE_SET
  }

  private final Path file;
  private final Durability durability;
  private final Sharing sharing;
  private final Shape shape;
  private final AtomicLong lastLsn = new AtomicLong();
  private final ReentrantLock sharedLock = new ReentrantLock();
  private final Connection shared;
  private final Statements sharedStatements;

  private RawSqliteTarget(Path file, Durability durability, Sharing sharing, Shape shape)
      throws SQLException {
    this.file = file;
    this.durability = durability;
    this.sharing = sharing;
    this.shape = shape;
    this.shared = connect(file, durability);
    try {
      try (Statement s = shared.createStatement()) {
        for (String ddl : Schema.CREATE) {
          s.execute(ddl);
        }
      }
      shared.commit();
      this.sharedStatements = new Statements(shared);
    } catch (SQLException e) {
      shared.close();
      throw e;
    }
  }

  /**
   * Creates {@code dataDir/raw.db} with Skein's schema.
   *
   * @throws IllegalStateException if SQLite cannot create it
   */
  static RawSqliteTarget open(Path dataDir, Durability durability, Sharing sharing, Shape shape) {
    try {
      return new RawSqliteTarget(dataDir.resolve("raw.db"), durability, sharing, shape);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create the raw SQLite baseline: " + e, e);
    }
  }

  @Override
  public String name() {
    if (shape == Shape.SKEIN_WRITE_SET) {
      return sharing == Sharing.SHARED_CONNECTION ? "raw-oplog" : "raw-oplog-per-conn";
    }
    return sharing == Sharing.SHARED_CONNECTION ? "raw" : "raw-per-conn";
  }

  @Override
  public Writer newWriter(int index) {
    if (sharing == Sharing.SHARED_CONNECTION) {
      return new RawWriter(shared, sharedStatements, sharedLock, false);
    }
    try {
      Connection own = connect(file, durability);
      return new RawWriter(own, new Statements(own), new ReentrantLock(), true);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot open a raw SQLite connection: " + e, e);
    }
  }

  @Override
  public CommitStats commitStats() {
    return CommitStats.NONE;
  }

  @Override
  public void close() {
    try {
      sharedStatements.close();
      shared.close();
    } catch (SQLException e) {
      throw new IllegalStateException("cannot close the raw SQLite baseline: " + e, e);
    }
  }

  /** Opens a connection as a plain application would, with Skein's pragmas. */
  private static Connection connect(Path file, Durability durability) throws SQLException {
    SQLiteConfig config = new SQLiteConfig();
    config.setJournalMode(SQLiteConfig.JournalMode.WAL);
    config.setSynchronous(
        durability == Durability.FSYNC
            ? SQLiteConfig.SynchronousMode.FULL
            : SQLiteConfig.SynchronousMode.NORMAL);
    config.setBusyTimeout(BUSY_TIMEOUT_MS);
    // Deferred, because sqlite-jdbc begins the next transaction as soon as one commits: an
    // IMMEDIATE begin would hold the write lock while the connection sits idle.
    config.setTransactionMode(SQLiteConfig.TransactionMode.DEFERRED);
    Connection c = config.createConnection("jdbc:sqlite:" + file);
    c.setAutoCommit(false);
    return c;
  }

  /** The prepared statements of one connection. */
  private static final class Statements implements AutoCloseable {
    final PreparedStatement insert;
    final PreparedStatement upsertDoc;
    final PreparedStatement insertOplog;
    final PreparedStatement upsertMeta;

    Statements(Connection c) throws SQLException {
      this.insert = c.prepareStatement(INSERT);
      this.upsertDoc = c.prepareStatement(UPSERT_DOC);
      this.insertOplog = c.prepareStatement(INSERT_OPLOG);
      this.upsertMeta = c.prepareStatement(UPSERT_META);
    }

    void clearBatches() throws SQLException {
      insert.clearBatch();
      upsertDoc.clearBatch();
      insertOplog.clearBatch();
    }

    @Override
    public void close() throws SQLException {
      insert.close();
      upsertDoc.close();
      insertOplog.close();
      upsertMeta.close();
    }
  }

  /** A writer on a connection; {@code lock} is shared when the connection is. */
  private final class RawWriter implements Writer {
    private final Connection connection;
    private final Statements statements;
    private final ReentrantLock lock;
    private final boolean ownsConnection;

    RawWriter(
        Connection connection, Statements statements, ReentrantLock lock, boolean ownsConnection) {
      this.connection = connection;
      this.statements = statements;
      this.lock = lock;
      this.ownsConnection = ownsConnection;
    }

    @Override
    public void put(String id, String body) {
      lock.lock();
      try {
        if (shape == Shape.DOCS_ONLY) {
          bindInsert(id, body);
          statements.insert.executeUpdate();
        } else {
          long lsn = bindWriteSet(id, body);
          statements.upsertDoc.executeUpdate();
          statements.insertOplog.executeUpdate();
          putMeta(lsn);
        }
        connection.commit();
      } catch (SQLException e) {
        throw rolledBack(e);
      } finally {
        lock.unlock();
      }
    }

    @Override
    public void putAll(List<Put> puts) {
      lock.lock();
      try {
        if (shape == Shape.DOCS_ONLY) {
          for (Put put : puts) {
            bindInsert(put.id(), put.body());
            statements.insert.addBatch();
          }
          statements.insert.executeBatch();
        } else {
          putAllWriteSet(puts);
        }
        connection.commit();
      } catch (SQLException e) {
        throw rolledBack(e);
      } finally {
        lock.unlock();
      }
    }

    /** Skein's order: every docs upsert, then every oplog row, then the meta rows. */
    private void putAllWriteSet(List<Put> puts) throws SQLException {
      long lsn = 0;
      for (Put put : puts) {
        lsn = bindWriteSet(put.id(), put.body());
        statements.upsertDoc.addBatch();
        statements.insertOplog.addBatch();
      }
      statements.upsertDoc.executeBatch();
      statements.insertOplog.executeBatch();
      putMeta(lsn);
    }

    private void bindInsert(String id, String body) throws SQLException {
      PreparedStatement insert = statements.insert;
      insert.setString(1, Documents.COLLECTION);
      insert.setString(2, id);
      insert.setString(3, body);
      insert.setLong(4, System.currentTimeMillis() << 16);
      insert.setString(5, ORIGIN);
      insert.setString(6, ORIGIN);
      insert.setLong(7, lastLsn.incrementAndGet());
    }

    /** Binds the docs upsert and the oplog insert of one put; returns its lsn. */
    private long bindWriteSet(String id, String body) throws SQLException {
      long lsn = lastLsn.incrementAndGet();
      long hlc = System.currentTimeMillis() << 16;
      PreparedStatement doc = statements.upsertDoc;
      doc.setString(1, Documents.COLLECTION);
      doc.setString(2, id);
      doc.setString(3, body);
      doc.setLong(4, hlc);
      doc.setString(5, ORIGIN);
      doc.setString(6, ORIGIN);
      doc.setLong(7, lsn);
      PreparedStatement oplog = statements.insertOplog;
      oplog.setLong(1, lsn);
      oplog.setString(2, ORIGIN);
      oplog.setLong(3, lsn);
      oplog.setLong(4, hlc);
      oplog.setInt(5, Schema.OP_PUT);
      oplog.setString(6, Documents.COLLECTION);
      oplog.setString(7, id);
      oplog.setString(8, body);
      return lsn;
    }

    private void putMeta(long lsn) throws SQLException {
      PreparedStatement meta = statements.upsertMeta;
      meta.setString(1, "hlc_high_water");
      meta.setString(2, Long.toString(System.currentTimeMillis() << 16));
      meta.executeUpdate();
      meta.setString(1, "local_sequence");
      meta.setString(2, Long.toString(lsn));
      meta.executeUpdate();
    }

    private IllegalStateException rolledBack(SQLException cause) {
      try {
        statements.clearBatches();
        connection.rollback();
      } catch (SQLException e) {
        cause.addSuppressed(e);
      }
      return new IllegalStateException("raw insert failed (" + name() + "): " + cause, cause);
    }

    @Override
    public void close() {
      if (!ownsConnection) {
        return;
      }
      try {
        statements.close();
        connection.close();
      } catch (SQLException e) {
        throw new IllegalStateException("cannot close a raw SQLite connection: " + e, e);
      }
    }
  }
}
