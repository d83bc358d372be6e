package io.skein.core.replica;

import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A snapshot chunk the shell must apply, in one transaction: each document by last-write-wins, and
 * the transfer's progress ({@code source, vector, lastKey}); when {@code done}, instead of the
 * progress, the vector joins the node's horizon (entries it covers need not be held one by one).
 * Report with {@link Input.SnapshotApplied}.
 *
 * @param source the sending peer
 * @param vector the snapshot's version vector
 * @param documents the winning entries of the chunk's documents
 * @param lastKey the last key the chunk covers, or {@code null} if it covers none
 * @param done whether this is the last chunk
 */
public record SnapshotApply(
    NodeId source,
    Map<NodeId, Long> vector,
    List<OplogEntry> documents,
    @Nullable DocumentKey lastKey,
    boolean done) {
  /** Copies the collections. */
  public SnapshotApply {
    vector = Map.copyOf(vector);
    documents = List.copyOf(documents);
  }
}
