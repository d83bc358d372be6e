package io.skein.core.replica;

import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * How far a snapshot transfer from a peer has got, as the receiver keeps it (durably, so a transfer
 * resumes after a cut connection or a restart).
 *
 * @param source the peer sending the snapshot
 * @param vector the source's durable version vector when the snapshot began: once every chunk is
 *     applied, the receiver holds the effect of every entry within it
 * @param lastKey the last document key applied, or {@code null} before the first chunk
 */
public record SnapshotProgress(
    NodeId source, Map<NodeId, Long> vector, @Nullable DocumentKey lastKey) {
  /** Copies the vector. */
  public SnapshotProgress {
    vector = Map.copyOf(vector);
  }
}
