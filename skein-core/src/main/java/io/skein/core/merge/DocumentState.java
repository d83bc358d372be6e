package io.skein.core.merge;

import io.skein.core.oplog.OplogEntry;
import io.skein.core.oplog.Version;
import org.jspecify.annotations.Nullable;

/**
 * What a replica holds for one document: the winning version and its body, or a tombstone.
 *
 * @param version the version of the winning write
 * @param document the document as compact JSON, or {@code null} for a tombstone
 */
public record DocumentState(Version version, @Nullable String document) {
  /** Returns whether this is a tombstone (the winning write was a delete). */
  public boolean isTombstone() {
    return document == null;
  }

  /** Returns the state an entry produces on its own. */
  public static DocumentState of(OplogEntry entry) {
    return new DocumentState(entry.version(), entry.document());
  }
}
