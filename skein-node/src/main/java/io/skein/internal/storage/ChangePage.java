package io.skein.internal.storage;

import java.util.List;

/**
 * A page of the change feed.
 *
 * @param changes the changes, in local apply order
 * @param lastLsn the position to resume from: the last lsn this page covered (it may be past the
 *     last change listed, when entries that changed nothing were skipped)
 */
public record ChangePage(List<Change> changes, long lastLsn) {
  /** Copies the list. */
  public ChangePage {
    changes = List.copyOf(changes);
  }
}
