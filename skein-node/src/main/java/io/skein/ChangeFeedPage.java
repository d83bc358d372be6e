package io.skein;

import java.util.List;

/**
 * A page of the change feed.
 *
 * @param changes the changes in the order this node applied them
 * @param last the token to pass as {@code since} for the next page (it may be past the last change
 *     listed, when the page skipped entries that changed nothing)
 */
public record ChangeFeedPage(List<ChangeEvent> changes, String last) {
  /** Copies the list. */
  public ChangeFeedPage {
    changes = List.copyOf(changes);
  }
}
