package io.skein.core.replica;

import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A read the shell must do for a snapshot transfer: the documents (tombstones included) after
 * {@code afterKey} in key order, scanning at most {@code limit} of them, keeping only those whose
 * winning entry lies within {@code vector} (newer ones reach the peer by incremental sync). The
 * result goes back with {@link Input.SnapshotLoaded}.
 *
 * @param peer the peer the snapshot is for
 * @param vector the snapshot's version vector
 * @param afterKey the last key already sent, or {@code null} for the start
 * @param limit the most documents to scan
 */
public record SnapshotRead(
    NodeId peer, Map<NodeId, Long> vector, @Nullable DocumentKey afterKey, int limit) {
  /** Copies the vector. */
  public SnapshotRead {
    vector = Map.copyOf(vector);
  }
}
