package io.skein.core.replica;

import io.skein.core.hlc.Hlc;

/**
 * What a core needs from durable storage to resume after a restart.
 *
 * @param lastLocalSequence the highest sequence this node gave an entry (0 if none)
 * @param hlcHighWater the highest timestamp the node persisted (issued or observed)
 */
public record RecoveredState(long lastLocalSequence, Hlc hlcHighWater) {
  /** The state of a node that never wrote anything. */
  public static final RecoveredState EMPTY = new RecoveredState(0, Hlc.ZERO);

  /** Validates the sequence. */
  public RecoveredState {
    if (lastLocalSequence < 0) {
      throw new IllegalArgumentException("lastLocalSequence must be >= 0");
    }
  }
}
