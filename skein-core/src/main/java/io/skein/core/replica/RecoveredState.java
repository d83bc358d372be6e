package io.skein.core.replica;

import io.skein.core.hlc.Hlc;
import io.skein.core.model.NodeId;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What a core needs from durable storage to resume after a restart.
 *
 * @param lastLocalSequence the highest sequence this node gave an entry (0 if none)
 * @param hlcHighWater the highest timestamp the node persisted (issued or observed)
 * @param versionVector the highest stored sequence of every origin, this node's included (with the
 *     horizon merged in)
 * @param horizon per origin, the highest sequence whose entry is no longer held one by one (pruned,
 *     or covered by a snapshot); peers that need such entries get a snapshot
 * @param receiving a snapshot transfer in progress, or {@code null}
 * @param gatewayTerm the gateway election's durable state (D1)
 */
public record RecoveredState(
    long lastLocalSequence,
    Hlc hlcHighWater,
    Map<NodeId, Long> versionVector,
    Map<NodeId, Long> horizon,
    @Nullable SnapshotProgress receiving,
    GatewayTerm gatewayTerm) {
  /** The state of a node that never wrote anything. */
  public static final RecoveredState EMPTY = new RecoveredState(0, Hlc.ZERO, Map.of());

  /** Returns the state of a node that never pruned nor received a snapshot. */
  public RecoveredState(long lastLocalSequence, Hlc hlcHighWater, Map<NodeId, Long> versionVector) {
    this(lastLocalSequence, hlcHighWater, versionVector, Map.of(), null);
  }

  /** A state without a gateway election behind it. */
  public RecoveredState(
      long lastLocalSequence,
      Hlc hlcHighWater,
      Map<NodeId, Long> versionVector,
      Map<NodeId, Long> horizon,
      @Nullable SnapshotProgress receiving) {
    this(lastLocalSequence, hlcHighWater, versionVector, horizon, receiving, GatewayTerm.NONE);
  }

  /** Validates the sequence and copies the vector. */
  public RecoveredState {
    if (lastLocalSequence < 0) {
      throw new IllegalArgumentException("lastLocalSequence must be >= 0");
    }
    versionVector = Map.copyOf(versionVector);
    horizon = Map.copyOf(horizon);
  }

  /** Returns the state of a node without peers' entries. */
  public RecoveredState(long lastLocalSequence, Hlc hlcHighWater) {
    this(lastLocalSequence, hlcHighWater, Map.of());
  }
}
