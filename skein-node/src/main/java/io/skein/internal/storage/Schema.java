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
 * unique on {@code (origin, seq)} among replicated rows. Rows with {@code snapshot = 1} record
 * documents that arrived in a snapshot (D5): they feed the change feed but are not entries this
 * node can replicate one by one. {@code docs.seq} is the winning entry's sequence, so a tombstone
 * can be collected once every peer acknowledged it. {@code meta} holds the node id, the HLC
 * high-water mark, the horizon (what retention pruned or a snapshot covered), an open snapshot
 * transfer and the lsn floor. The file carries {@link #APPLICATION_ID} so that a foreign SQLite
 * file is refused.
 *
 * <p>Leader mode keeps its log in {@code leader_log}, keyed by log index and with no secondary
 * index but a partial one that holds only configuration entries (a handful): an append is one
 * B-tree insert, and every read of the log is a range of its primary key. A leader-mode entry's lsn
 * is not stored: it is {@code log_index + leader_lsn_base} (meta), fixed at the file's first leader
 * append (or at the upgrade to version 4). An index that is truncated and written again gets its
 * old lsn back, which is safe because only applied entries are ever published, and an applied entry
 * is never truncated.
 *
 * <p>Version history: 1, the first; 2 adds {@code oplog.snapshot}, {@code docs.seq} and the
 * retention indexes ({@link #MIGRATE_FROM_1} upgrades a version-1 file in one transaction); 3 adds
 * {@code leader_open}; 4 moves the leader log out of {@code oplog} into {@code leader_log} and
 * drops the two oplog indexes no query used ({@code oplog_key}, {@code oplog_log_index}); the
 * upgrade runs in {@code SqliteStore.migrate}, in one transaction.
 */
public final class Schema {
  private Schema() {}

  /** {@code PRAGMA application_id} of a Skein file: "SKN1" in ASCII. */
  public static final int APPLICATION_ID = 0x534B4E31;

  /** {@code PRAGMA user_version}: the schema version this code reads and writes. */
  public static final int VERSION = 4;

  /**
   * Leader mode: the log indexes whose entries do not end their write (every entry of a batch but
   * its last), so that commits and truncations keep batches whole after a restart (version 3).
   */
  static final String LEADER_OPEN_TABLE =
      "CREATE TABLE leader_open (log_index INTEGER PRIMARY KEY) WITHOUT ROWID";

  /** Upgrades a version-2 file to version 3 (run in one transaction). */
  public static final List<String> MIGRATE_FROM_2 =
      List.of(LEADER_OPEN_TABLE, "PRAGMA user_version = 3");

  /**
   * Leader mode's log (version 4): one row per index, an append-only table keyed by the index. The
   * columns are the oplog's but {@code lsn} (derived) and {@code snapshot}; {@code won} is 1 unless
   * the apply lost last-write-wins (written then, rarely).
   */
  static final String LEADER_LOG_TABLE =
      """
      CREATE TABLE leader_log (
        log_index INTEGER PRIMARY KEY,
        origin TEXT NOT NULL,
        seq INTEGER NOT NULL,
        hlc INTEGER NOT NULL,
        op INTEGER NOT NULL,
        collection TEXT NOT NULL,
        id TEXT NOT NULL,
        body TEXT,
        epoch INTEGER NOT NULL,
        checksum INTEGER NOT NULL,
        won INTEGER NOT NULL DEFAULT 1
      )""";

  /**
   * The configuration entries of the leader log, found at start without a scan. Partial: a row of
   * another collection costs the insert one comparison, no B-tree write.
   */
  static final String LEADER_LOG_CONFIG_INDEX =
      "CREATE INDEX leader_log_config ON leader_log (log_index)"
          + " WHERE collection = '_system_members'";

  /** The part of the version-3 to 4 upgrade that needs no figures from the file. */
  static final List<String> MIGRATE_FROM_3_FIRST =
      List.of(LEADER_LOG_TABLE, LEADER_LOG_CONFIG_INDEX);

  /** What ends the version-3 to 4 upgrade, after the leader rows moved. */
  static final List<String> MIGRATE_FROM_3_LAST =
      List.of(
          "DROP INDEX IF EXISTS oplog_log_index",
          "DROP INDEX IF EXISTS oplog_key",
          "PRAGMA user_version = 4");

  private static final String OPLOG_ORIGIN_SEQ_INDEX =
      "CREATE UNIQUE INDEX oplog_origin_seq ON oplog (origin, seq) WHERE snapshot = 0";
  private static final String OPLOG_HLC_INDEX = "CREATE INDEX oplog_hlc ON oplog (hlc)";

  /** The version-2 oplog table, under a name (the migration builds it beside the old one). */
  private static String oplogTable(String name) {
    return "CREATE TABLE "
        + name
        + """
         (
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
          snapshot INTEGER NOT NULL DEFAULT 0
        )""";
  }

  /** Statements that create an empty database of the current version. */
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
            seq INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (collection, id)
          ) WITHOUT ROWID""",
          "CREATE INDEX docs_tombstones ON docs (hlc) WHERE body IS NULL",
          oplogTable("oplog"),
          OPLOG_ORIGIN_SEQ_INDEX,
          OPLOG_HLC_INDEX,
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
          ) WITHOUT ROWID""",
          LEADER_OPEN_TABLE,
          LEADER_LOG_TABLE,
          LEADER_LOG_CONFIG_INDEX);

  /** Upgrades a version-1 file to version 2 (run in one transaction). */
  public static final List<String> MIGRATE_FROM_1 =
      List.of(
          "ALTER TABLE docs ADD COLUMN seq INTEGER NOT NULL DEFAULT 0",
          "UPDATE docs SET seq = coalesce((SELECT o.seq FROM oplog o WHERE o.lsn = docs.lsn), 0)",
          "CREATE INDEX docs_tombstones ON docs (hlc) WHERE body IS NULL",
          oplogTable("oplog_v2"),
          """
          INSERT INTO oplog_v2 (lsn, origin, seq, hlc, op, collection, id, body, epoch,
                                log_index, checksum, won, snapshot)
          SELECT lsn, origin, seq, hlc, op, collection, id, body, epoch, log_index, checksum,
                 won, 0
          FROM oplog""",
          "DROP TABLE oplog",
          "ALTER TABLE oplog_v2 RENAME TO oplog",
          OPLOG_ORIGIN_SEQ_INDEX,
          OPLOG_HLC_INDEX,
          "PRAGMA user_version = 2");

  /** {@code oplog.op} for a put. */
  public static final int OP_PUT = 1;

  /** {@code oplog.op} for a delete. */
  public static final int OP_DELETE = 2;
}
