package io.skein.bench;

import java.util.List;

/**
 * A store under test, open on its own fresh directory: Skein ({@link SkeinTarget}) or plain SQLite
 * ({@link RawSqliteTarget}). Both take the same puts through {@link Writer}s.
 *
 * <p>Contract: {@link #newWriter} may be called from any thread; each writer is then used by one
 * thread only. Every put is durable per the target's durability when it returns.
 */
interface PutTarget extends AutoCloseable {
  /** Returns the short name used in tables ({@code skein}, {@code raw}, ...). */
  String name();

  /** Opens a writer for one writer thread; {@code index} distinguishes the writers' ids. */
  Writer newWriter(int index);

  /** Returns the commit counters so far, or {@link CommitStats#NONE} if the target has none. */
  CommitStats commitStats();

  /** Closes the store; writers must be closed first. */
  @Override
  void close();

  /** One document to put. */
  record Put(String id, String body) {}

  /** The puts of one writer thread. Not thread-safe. */
  interface Writer extends AutoCloseable {
    /** Puts one document in its own transaction. */
    void put(String id, String body);

    /** Puts every document in one transaction. */
    void putAll(List<Put> puts);

    /** Releases what the writer holds (its connection, if it has its own). */
    @Override
    default void close() {}
  }

  /**
   * Cumulative commit counters of a target.
   *
   * @param commits transactions committed
   * @param commitNanos time spent committing them, statements and fsync included, in ns
   * @param entries documents written by them
   */
  record CommitStats(long commits, long commitNanos, long entries) {
    /** The counters of a target that does not count. */
    static final CommitStats NONE = new CommitStats(0, 0, 0);

    /** Returns the counters since {@code earlier}. */
    CommitStats minus(CommitStats earlier) {
      return new CommitStats(
          commits - earlier.commits, commitNanos - earlier.commitNanos, entries - earlier.entries);
    }

    /** Returns the sum of both counters. */
    CommitStats plus(CommitStats other) {
      return new CommitStats(
          commits + other.commits, commitNanos + other.commitNanos, entries + other.entries);
    }
  }
}
