package io.skein.core.merge;

import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * The reference implementation of a replica's document state: a map from key to {@link
 * DocumentState}, merged by {@link LastWriteWins}. It defines the semantics that the SQLite store
 * must match, and it is what the simulator's replicas hold.
 *
 * <p>Not thread-safe.
 */
public final class InMemoryReplica {
  private final TreeMap<DocumentKey, DocumentState> documents = new TreeMap<>();
  private final Map<NodeId, Long> highestSequence = new HashMap<>();

  /**
   * Applies an entry, idempotently.
   *
   * @return whether the entry won and changed the document
   * @throws IllegalArgumentException if the entry's checksum does not match its fields
   */
  public boolean apply(OplogEntry entry) {
    if (!entry.isIntact()) {
      throw new IllegalArgumentException(
          "entry " + entry.origin() + "/" + entry.sequence() + " fails its checksum");
    }
    highestSequence.merge(entry.origin(), entry.sequence(), Math::max);
    DocumentState current = documents.get(entry.key());
    if (!LastWriteWins.wins(current, entry)) {
      return false;
    }
    documents.put(entry.key(), DocumentState.of(entry));
    return true;
  }

  /** Returns the state of one document, tombstones included, or {@code null} if never seen. */
  public @Nullable DocumentState get(DocumentKey key) {
    return documents.get(key);
  }

  /** Returns every document, tombstones included, in key order. */
  public SortedMap<DocumentKey, DocumentState> documents() {
    return Collections.unmodifiableSortedMap(documents);
  }

  /** Returns the highest sequence applied from each origin. */
  public Map<NodeId, Long> highestSequences() {
    return Collections.unmodifiableMap(highestSequence);
  }
}
