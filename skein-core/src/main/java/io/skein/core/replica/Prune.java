package io.skein.core.replica;

import io.skein.core.model.NodeId;
import java.util.Map;

/**
 * Retention work for the shell: drop every oplog entry older than {@code cutoffPhysicalMs} (a
 * prefix of each origin's log, since an origin's timestamps grow with its sequence), and collect
 * every tombstone older than the cutoff whose entry every known peer has acknowledged ({@code
 * sequence <= tombstoneStable[origin]}, D5). Report the new horizon with {@link Input.Pruned}.
 *
 * @param cutoffPhysicalMs entries with an earlier HLC physical time go
 * @param tombstoneStable per origin, the highest sequence every peer holds; empty when that is not
 *     known (then no tombstone is collected)
 */
public record Prune(long cutoffPhysicalMs, Map<NodeId, Long> tombstoneStable) {
  /** Copies the map. */
  public Prune {
    tombstoneStable = Map.copyOf(tombstoneStable);
  }
}
