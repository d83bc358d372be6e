package io.skein.internal.storage;

import io.skein.core.model.DocumentKey;
import io.skein.core.oplog.Version;
import org.jspecify.annotations.Nullable;

/**
 * A document row as stored.
 *
 * @param key the document's address
 * @param version the version of the winning write
 * @param body compact JSON text, or {@code null} for a tombstone
 */
public record StoredDocument(DocumentKey key, Version version, @Nullable String body) {
  /** Returns whether the document is deleted. */
  public boolean isTombstone() {
    return body == null;
  }
}
