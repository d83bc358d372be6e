package io.skein.internal.engine;

import io.skein.core.oplog.OplogEntry;
import java.util.List;

/** How a write submitted to the {@link EventLoop} ended, when it did not fail. */
public sealed interface WriteResult {
  /**
   * The write is durable and met its concern.
   *
   * @param entries its entries, one per mutation
   */
  record Committed(List<OplogEntry> entries) implements WriteResult {
    /** Copies the list. */
    public Committed {
      entries = List.copyOf(entries);
    }
  }

  /** A delete that required the document to exist found none: nothing was written. */
  record NotFound() implements WriteResult {}
}
