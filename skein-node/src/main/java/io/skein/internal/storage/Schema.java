package io.skein.internal.storage;

import java.util.List;

/**
 * The SQLite schema of a node's database file, {@code DATA_DIR/node-{id}.db}.
 *
 * <p>Design notes. {@code docs} holds one row per document: the body of the winning write, or a
 * tombstone ({@code body IS NULL}), and its version as {@code (hlc, origin)} with {@code
 * origin_key} the node id's sort key ({@link io.skein.core.model.NodeId#sortKey()}), so that the
 * last-write-wins comparison can run inside SQLite. {@code oplog} holds every entry this node
 * persisted, keyed by the local sequence {@code lsn} (apply order, the change-feed token) and
 * unique on {@code (origin, seq)}. {@code meta} holds the schema version and the HLC high-water
 * mark. The file carries {@link #APPLICATION_ID} so that a foreign SQLite file is refused.
 */
public final class Schema {
  private Schema() {}

  /** {@code PRAGMA application_id} of a Skein file: "SKN1" in ASCII. */
  public static final int APPLICATION_ID = 0x534B4E31;

  /** {@code PRAGMA user_version}: the schema version this code reads and writes. */
  public static final int VERSION = 1;

  /** Statements that create an empty version-1 database. */
  public static final List<String> CREATE =
      List.of(
          """
          CREATE TABLE docs (
            collection TEXT NOT NULL,
            id TEXT NOT NULL,
            body TEXT,
            hlc INTEGER NOT NULL,
            origin TEXT NOT NULL,
            origin_key TEXT NOT NULL,
            lsn INTEGER NOT NULL,
            PRIMARY KEY (collection, id)
          ) WITHOUT ROWID""",
          """
          CREATE TABLE oplog (
            lsn INTEGER PRIMARY KEY,
            origin TEXT NOT NULL,
            seq INTEGER NOT NULL,
            hlc INTEGER NOT NULL,
            op INTEGER NOT NULL,
            collection TEXT NOT NULL,
            id TEXT NOT NULL,
            body TEXT,
            epoch INTEGER NOT NULL,
            log_index INTEGER NOT NULL,
            checksum INTEGER NOT NULL,
            won INTEGER NOT NULL,
            UNIQUE (origin, seq)
          )""",
          "CREATE INDEX oplog_key ON oplog (collection, id)",
          """
          CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
          ) WITHOUT ROWID""",
          """
          CREATE TABLE indexes (
            collection TEXT NOT NULL,
            name TEXT NOT NULL,
            fields TEXT NOT NULL,
            PRIMARY KEY (collection, name)
          ) WITHOUT ROWID""");

  /** {@code oplog.op} for a put. */
  public static final int OP_PUT = 1;

  /** {@code oplog.op} for a delete. */
  public static final int OP_DELETE = 2;
}
