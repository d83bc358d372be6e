package io.skein.internal.storage;

import io.skein.core.model.DocumentKey;
import io.skein.core.oplog.OplogEntry;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A page of documents read for a snapshot.
 *
 * @param documents the winning entries within the snapshot's vector
 * @param lastKey the last key scanned, or the read's start if none
 * @param done whether the scan reached the last document
 */
public record SnapshotPage(
    List<OplogEntry> documents, @Nullable DocumentKey lastKey, boolean done) {
  /** Copies the list. */
  public SnapshotPage {
    documents = List.copyOf(documents);
  }
}
