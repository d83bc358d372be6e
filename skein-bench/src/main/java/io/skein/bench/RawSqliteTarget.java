package io.skein.bench;

import io.skein.Durability;
import io.skein.internal.storage.Schema;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Locale;
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
 * by all writers behind a lock (the default, and the faster, see docs/benchmarks.md), or one
 * connection per writer thread that waits on SQLite's own lock through {@code busy_timeout}.
 * Neither groups commits: that is the difference Skein's group commit is measured against.
 */
final class RawSqliteTarget implements PutTarget {
  /** How a raw connection waits for the SQLite write lock held by another connection, in ms. */
  static final int BUSY_TIMEOUT_MS = 30_000;

  private static final String INSERT =
      "INSERT OR REPLACE INTO docs (collection, id, body, hlc, origin, origin_key, lsn)"
          + " VALUES (?, ?, ?, ?, ?, ?, ?)";
  private static final String ORIGIN = "raw";

  /** How concurrent writers reach the database. */
  enum Sharing {
    /** One connection for all writers, taken in turn under a (non-fair) lock. */
    SHARED_CONNECTION,
    /** A connection per writer; SQLite serializes them with its busy handler. */
    CONNECTION_PER_WRITER
  }

  private final Path file;
  private final Durability durability;
  private final Sharing sharing;
  private final AtomicLong lastLsn = new AtomicLong();
  private final ReentrantLock sharedLock = new ReentrantLock();
  private final Connection shared;
  private final PreparedStatement sharedInsert;

  private RawSqliteTarget(Path file, Durability durability, Sharing sharing) throws SQLException {
    this.file = file;
    this.durability = durability;
    this.sharing = sharing;
    this.shared = connect(file, durability);
    try {
      try (Statement s = shared.createStatement()) {
        for (String ddl : Schema.CREATE) {
          s.execute(ddl);
        }
      }
      shared.commit();
      this.sharedInsert = shared.prepareStatement(INSERT);
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
  static RawSqliteTarget open(Path dataDir, Durability durability, Sharing sharing) {
    try {
      return new RawSqliteTarget(dataDir.resolve("raw.db"), durability, sharing);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create the raw SQLite baseline: " + e, e);
    }
  }

  @Override
  public String name() {
    return sharing == Sharing.SHARED_CONNECTION ? "raw" : "raw-per-conn";
  }

  @Override
  public Writer newWriter(int index) {
    if (sharing == Sharing.SHARED_CONNECTION) {
      return new RawWriter(shared, sharedInsert, sharedLock, false);
    }
    try {
      Connection own = connect(file, durability);
      return new RawWriter(own, own.prepareStatement(INSERT), new ReentrantLock(), true);
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
      sharedInsert.close();
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

  /** A writer on a connection; {@code lock} is shared when the connection is. */
  private final class RawWriter implements Writer {
    private final Connection connection;
    private final PreparedStatement insert;
    private final ReentrantLock lock;
    private final boolean ownsConnection;

    RawWriter(
        Connection connection,
        PreparedStatement insert,
        ReentrantLock lock,
        boolean ownsConnection) {
      this.connection = connection;
      this.insert = insert;
      this.lock = lock;
      this.ownsConnection = ownsConnection;
    }

    @Override
    public void put(String id, String body) {
      lock.lock();
      try {
        bind(id, body);
        insert.executeUpdate();
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
        for (Put put : puts) {
          bind(put.id(), put.body());
          insert.addBatch();
        }
        insert.executeBatch();
        connection.commit();
      } catch (SQLException e) {
        throw rolledBack(e);
      } finally {
        lock.unlock();
      }
    }

    private void bind(String id, String body) throws SQLException {
      insert.setString(1, Documents.COLLECTION);
      insert.setString(2, id);
      insert.setString(3, body);
      insert.setLong(4, System.currentTimeMillis() << 16);
      insert.setString(5, ORIGIN);
      insert.setString(6, ORIGIN);
      insert.setLong(7, lastLsn.incrementAndGet());
    }

    private IllegalStateException rolledBack(SQLException cause) {
      try {
        insert.clearBatch();
        connection.rollback();
      } catch (SQLException e) {
        cause.addSuppressed(e);
      }
      return new IllegalStateException(
          "raw insert failed (" + sharing.name().toLowerCase(Locale.ROOT) + "): " + cause, cause);
    }

    @Override
    public void close() {
      if (!ownsConnection) {
        return;
      }
      try {
        insert.close();
        connection.close();
      } catch (SQLException e) {
        throw new IllegalStateException("cannot close a raw SQLite connection: " + e, e);
      }
    }
  }
}
