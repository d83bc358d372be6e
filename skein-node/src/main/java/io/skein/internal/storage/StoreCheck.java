package io.skein.internal.storage;

import io.skein.core.hlc.Hlc;
import io.skein.core.oplog.OplogEntry;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * Verifies a data file offline ({@code datastore-node check}): SQLite's full integrity check, every
 * oplog entry's checksum, and every document against the oplog entry that produced it (the row
 * whose lsn the document records). A document whose entry retention already removed cannot be
 * verified and is counted as such, not as a problem. Opens the file read-only and never writes.
 */
public final class StoreCheck {
  /** The most problems a report lists one by one (all are counted). */
  static final int PROBLEMS_LISTED_MAX = 100;

  private StoreCheck() {}

  /**
   * What a check found.
   *
   * @param file the file checked
   * @param entries oplog entries read
   * @param badChecksums entries whose checksum does not match
   * @param documents document rows read (tombstones included)
   * @param documentsVerified documents compared with their entry
   * @param documentsUnverifiable documents whose entry retention removed
   * @param problems every problem found, as many as {@link #PROBLEMS_LISTED_MAX}
   * @param problemCount how many problems in all
   */
  public record Report(
      Path file,
      long entries,
      long badChecksums,
      long documents,
      long documentsVerified,
      long documentsUnverifiable,
      List<String> problems,
      long problemCount) {
    /** Returns whether the file is sound. */
    public boolean ok() {
      return problemCount == 0;
    }

    /** Returns the report as text, one fact a line. */
    public String text() {
      StringBuilder text = new StringBuilder();
      text.append(file)
          .append(": ")
          .append(ok() ? "OK" : problemCount + " problem(s)")
          .append('\n');
      text.append("  oplog entries: ").append(entries);
      text.append(", failing their checksum: ").append(badChecksums).append('\n');
      text.append("  documents: ").append(documents);
      text.append(", verified against their entry: ").append(documentsVerified);
      text.append(", entry removed by retention: ").append(documentsUnverifiable).append('\n');
      for (String problem : problems) {
        text.append("  - ").append(problem).append('\n');
      }
      if (problemCount > problems.size()) {
        text.append("  ... and ").append(problemCount - problems.size()).append(" more\n");
      }
      return text.toString();
    }
  }

  /**
   * Checks one data file.
   *
   * @throws SQLException if the file cannot be opened or read as SQLite at all
   */
  public static Report check(Path file) throws SQLException {
    if (!Files.isRegularFile(file)) {
      throw new SQLException(file + " is not a regular file");
    }
    SQLiteConfig config = new SQLiteConfig();
    config.setReadOnly(true);
    List<String> problems = new ArrayList<>();
    long[] problemCount = {0};
    try (Connection c = config.createConnection("jdbc:sqlite:" + file)) {
      integrity(c, problems, problemCount);
      long[] entries = checksums(c, problems, problemCount);
      long[] documents = documents(c, problems, problemCount);
      return new Report(
          file,
          entries[0],
          entries[1],
          documents[0],
          documents[1],
          documents[2],
          List.copyOf(problems),
          problemCount[0]);
    }
  }

  private static void problem(List<String> problems, long[] count, String problem) {
    count[0]++;
    if (problems.size() < PROBLEMS_LISTED_MAX) {
      problems.add(problem);
    }
  }

  private static void integrity(Connection c, List<String> problems, long[] count)
      throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet r = s.executeQuery("PRAGMA integrity_check(" + PROBLEMS_LISTED_MAX + ")")) {
      while (r.next()) {
        String line = r.getString(1);
        if (!"ok".equals(line)) {
          problem(problems, count, "SQLite integrity: " + line);
        }
      }
    }
  }

  /** Returns {entries, entries failing their checksum}. */
  private static long[] checksums(Connection c, List<String> problems, long[] count)
      throws SQLException {
    long entries = 0;
    long bad = 0;
    List<String> logs = new ArrayList<>();
    logs.add("SELECT " + SqliteStore.OPLOG_COLUMNS + " FROM oplog ORDER BY lsn");
    long base = leaderBase(c);
    if (base >= 0) {
      logs.add("SELECT " + SqliteStore.leaderColumns(base) + " FROM leader_log ORDER BY log_index");
    }
    for (String log : logs) {
      try (Statement s = c.createStatement();
          ResultSet r = s.executeQuery(log)) {
        long[] counted = entries(r, problems, count);
        entries += counted[0];
        bad += counted[1];
      }
    }
    return new long[] {entries, bad};
  }

  /** The leader log's lsn base, or -1 if the file has no leader log (or predates version 4). */
  private static long leaderBase(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet t =
            s.executeQuery(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table'"
                    + " AND name = 'leader_log')")) {
      if (!t.next() || t.getLong(1) == 0) {
        return -1;
      }
    }
    try (Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT value FROM meta WHERE key = 'leader_lsn_base'")) {
      return r.next() ? Long.parseLong(r.getString(1)) : 0;
    }
  }

  /** Returns {entries, entries failing their checksum} of one log's rows. */
  private static long[] entries(ResultSet r, List<String> problems, long[] count)
      throws SQLException {
    long entries = 0;
    long bad = 0;
    while (r.next()) {
      entries++;
      OplogEntry entry = readable(r, problems, count);
      if (entry != null && !entry.isIntact()) {
        bad++;
        problem(
            problems,
            count,
            "oplog entry lsn "
                + r.getLong(1)
                + " ("
                + entry.collection()
                + "/"
                + entry.id()
                + ") fails its checksum");
      }
    }
    return new long[] {entries, bad};
  }

  private static @org.jspecify.annotations.Nullable OplogEntry readable(
      ResultSet r, List<String> problems, long[] count) throws SQLException {
    try {
      return SqliteStore.entryOf(r);
    } catch (RuntimeException e) {
      problem(problems, count, "oplog entry lsn " + r.getLong(1) + " is unreadable: " + e);
      return null;
    }
  }

  /** Returns {documents, verified, unverifiable}. */
  private static long[] documents(Connection c, List<String> problems, long[] count)
      throws SQLException {
    long documents = 0;
    long verified = 0;
    long unverifiable = 0;
    long base = leaderBase(c);
    try (Statement s = c.createStatement();
        ResultSet d = s.executeQuery("SELECT collection, id, body, hlc, origin, lsn FROM docs");
        PreparedStatement entryAt =
            c.prepareStatement(
                "SELECT "
                    + SqliteStore.OPLOG_COLUMNS
                    + " FROM oplog WHERE lsn = ?"
                    + (base < 0
                        ? ""
                        : " UNION ALL SELECT "
                            + SqliteStore.leaderColumns(base)
                            + " FROM leader_log WHERE log_index = ? - "
                            + base))) {
      while (d.next()) {
        documents++;
        String key = d.getString(1) + "/" + d.getString(2);
        if (SqliteStore.ROLLBACK.value().equals(d.getString(1))) {
          // A rolled-back write keeps the lsn of a log entry that was truncated: not checkable.
          unverifiable++;
          continue;
        }
        entryAt.setLong(1, d.getLong(6));
        if (base >= 0) {
          entryAt.setLong(2, d.getLong(6));
        }
        try (ResultSet r = entryAt.executeQuery()) {
          if (!r.next()) {
            unverifiable++;
            continue;
          }
          OplogEntry entry = readable(r, problems, count);
          if (entry == null) {
            continue;
          }
          verified++;
          String mismatch = mismatch(d, entry);
          if (mismatch != null) {
            problem(problems, count, "document " + key + " differs from its entry: " + mismatch);
          }
        }
      }
    }
    return new long[] {documents, verified, unverifiable};
  }

  private static @org.jspecify.annotations.Nullable String mismatch(ResultSet d, OplogEntry entry)
      throws SQLException {
    if (!entry.collection().value().equals(d.getString(1))
        || !entry.id().value().equals(d.getString(2))) {
      return "the entry is for " + entry.collection() + "/" + entry.id();
    }
    if (!Objects.equals(entry.document(), d.getString(3))) {
      return "its body is not the entry's";
    }
    if (!entry.hlc().equals(Hlc.unpack(d.getLong(4)))
        || !entry.origin().value().equals(d.getString(5))) {
      return "its version is not the entry's";
    }
    return null;
  }
}
