package io.skein.core.replica;

import io.skein.core.model.NodeId;
import org.jspecify.annotations.Nullable;

/**
 * The durable state of the gateway election (D1), persisted before any message that depends on it
 * leaves: the highest epoch this node has seen and whom it voted for in it.
 *
 * @param epoch the epoch, {@code >= 0}
 * @param votedFor the candidate this node voted for in {@code epoch}, or {@code null}
 */
public record GatewayTerm(long epoch, @Nullable NodeId votedFor) {
  /** A node that never took part in an election. */
  public static final GatewayTerm NONE = new GatewayTerm(0, null);

  public GatewayTerm {
    if (epoch < 0) {
      throw new IllegalArgumentException("epoch must be >= 0, got " + epoch);
    }
  }
}
