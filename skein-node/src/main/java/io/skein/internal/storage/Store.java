package io.skein.internal.storage;

import io.skein.core.hlc.Hlc;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.query.IndexSpec;
import io.skein.core.query.Query;
import io.skein.core.replica.GatewayTerm;
import io.skein.core.replica.RecoveredState;
import io.skein.core.replica.SnapshotApply;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The storage port of a node: its oplog and documents, durable.
 *
 * <p>Contract. {@link #append} is called by one thread at a time (the node's event loop); every
 * read method may be called from any thread at the same time as an append, and sees only committed
 * state. Methods throw {@link StorageException} for IO failures; they never return partial results
 * of a failed transaction.
 */
public interface Store extends AutoCloseable {
  /** Returns what the replica core needs to resume: last local sequence and HLC high-water. */
  RecoveredState recoveredState();

  /**
   * Persists the gateway election's durable state (D1) in its own committed transaction: the vote
   * must be on disk before the message that carries it leaves.
   *
   * @throws StorageException if it could not be written (nothing changed)
   */
  void saveGatewayTerm(GatewayTerm term);

  /**
   * Appends entries to the oplog and applies them to the documents by last-write-wins, with the HLC
   * high-water mark, in one transaction: all of it is durable (per the durability setting) or none
   * of it is.
   *
   * @param entries new entries; the caller guarantees no {@code (origin, sequence)} is stored yet
   * @param hlcHighWater the clock's last timestamp
   * @return the changes as applied, with their lsn and whether each won
   * @throws StorageException if the transaction failed and rolled back
   */
  List<Change> append(List<OplogEntry> entries, Hlc hlcHighWater);

  /** Returns a document, tombstones included, or empty if this node never saw it. */
  Optional<StoredDocument> get(DocumentKey key);

  /**
   * Returns live documents of a collection in id order, after {@code afterId} (exclusive).
   *
   * @param limit the page size, at least 1
   */
  List<StoredDocument> list(CollectionName collection, @Nullable DocumentId afterId, int limit);

  /** Runs a query over the live documents of a collection. */
  List<StoredDocument> query(CollectionName collection, Query query);

  /**
   * Returns the changes applied after {@code afterLsn}, in apply order.
   *
   * @param limit the most entries to scan, at least 1
   */
  ChangePage changes(long afterLsn, @Nullable CollectionName collection, int limit);

  /** Returns the lsn of the last committed change (0 if none). */
  long lastLsn();

  /**
   * Returns the entries of one origin from {@code fromSequence} on, in sequence order (for
   * replication).
   */
  List<OplogEntry> entries(NodeId origin, long fromSequence, int limit);

  /** Returns the highest stored sequence of every origin. */
  Map<NodeId, Long> versionVector();

  /** Declares an index (idempotent): an SQLite expression index over the fields. */
  void createIndex(CollectionName collection, IndexSpec spec);

  /** Returns the indexes declared on a collection. */
  List<IndexSpec> indexes(CollectionName collection);

  /**
   * Retention (D5), in one transaction: removes the oldest oplog entries with an HLC before the
   * cutoff (a bounded number per call) and the tombstones before it that every peer acknowledged
   * ({@code seq <= tombstoneStable[origin]}).
   *
   * @return the new horizon: per origin, the highest sequence no longer held one by one
   */
  Map<NodeId, Long> prune(long cutoffPhysicalMs, Map<NodeId, Long> tombstoneStable);

  /**
   * Reads documents for a snapshot: up to {@code limit} in key order after {@code afterKey}, of
   * which those whose winning entry is within {@code vector} are returned as that entry.
   */
  SnapshotPage snapshotDocuments(
      Map<NodeId, Long> vector, @Nullable DocumentKey afterKey, int limit);

  /**
   * Applies a snapshot chunk in one transaction: each document by last-write-wins (those that win
   * get a change-feed row), and the transfer's progress, or on the last chunk the new horizon.
   *
   * @return the changes that won
   */
  List<Change> applySnapshot(SnapshotApply apply, Hlc hlcHighWater);

  /** Returns the lsn of the oldest change still held (0 if none): older tokens are expired. */
  long oldestLsn();

  /** Closes the store; in-flight reads finish first. Idempotent. */
  @Override
  void close();
}
