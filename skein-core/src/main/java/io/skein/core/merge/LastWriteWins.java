package io.skein.core.merge;

import io.skein.core.oplog.OplogEntry;
import org.jspecify.annotations.Nullable;

/**
 * The merge rule (D4): of two writes to one document, the one with the greater {@link
 * io.skein.core.oplog.Version} (HLC, then origin node id) wins, and deletes are writes that leave a
 * tombstone. The rule is a join on a total order, so it is commutative, associative and idempotent:
 * replicas that apply the same entries in any order, any number of times, hold the same state.
 */
public final class LastWriteWins {
  private LastWriteWins() {}

  /**
   * Returns the state after applying {@code entry} to {@code current}.
   *
   * @param current the document's state, or {@code null} if the replica never saw it
   * @param entry the entry to apply, for the same document
   */
  public static DocumentState merge(@Nullable DocumentState current, OplogEntry entry) {
    if (current == null || entry.version().supersedes(current.version())) {
      return DocumentState.of(entry);
    }
    return current;
  }

  /** Returns whether applying {@code entry} changes {@code current}. */
  public static boolean wins(@Nullable DocumentState current, OplogEntry entry) {
    return current == null || entry.version().supersedes(current.version());
  }
}
