package io.skein.core.replica;

import io.skein.core.hlc.Hlc;
import io.skein.core.model.NodeId;
import java.util.Map;

/**
 * What a core needs from durable storage to resume after a restart.
 *
 * @param lastLocalSequence the highest sequence this node gave an entry (0 if none)
 * @param hlcHighWater the highest timestamp the node persisted (issued or observed)
 * @param versionVector the highest stored sequence of every origin, this node's included
 */
public record RecoveredState(
    long lastLocalSequence, Hlc hlcHighWater, Map<NodeId, Long> versionVector) {
  /** The state of a node that never wrote anything. */
  public static final RecoveredState EMPTY = new RecoveredState(0, Hlc.ZERO, Map.of());

  /** Validates the sequence and copies the vector. */
  public RecoveredState {
    if (lastLocalSequence < 0) {
      throw new IllegalArgumentException("lastLocalSequence must be >= 0");
    }
    versionVector = Map.copyOf(versionVector);
  }

  /** Returns the state of a node without peers' entries. */
  public RecoveredState(long lastLocalSequence, Hlc hlcHighWater) {
    this(lastLocalSequence, hlcHighWater, Map.of());
  }
}
