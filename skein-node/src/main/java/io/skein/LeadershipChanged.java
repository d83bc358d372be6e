package io.skein;

import org.jspecify.annotations.Nullable;

/**
 * The primary or the gateway this node knows changed (DESIGN.md D1).
 *
 * <p>In leader mode the primary is also the gateway to remote and cloud peers, so both halves move
 * together. In multi-writer (dynamo) mode there is no primary ({@code isLeader} is false and {@code
 * leaderId} null); the event reports the gateway election.
 *
 * @param isLeader leader mode: whether this node is now the primary
 * @param leaderId leader mode: the primary's node id, or {@code null} while there is none
 * @param epoch the epoch of the primary (leader mode) or of the gateway election (dynamo mode)
 * @param isGateway whether this node is now the gateway to remote and cloud peers
 * @param gatewayId the gateway's node id, or {@code null} while this node knows of none
 */
public record LeadershipChanged(
    boolean isLeader,
    @Nullable String leaderId,
    long epoch,
    boolean isGateway,
    @Nullable String gatewayId) {

  /** Leader mode: the primary is the gateway. */
  public LeadershipChanged(boolean isLeader, @Nullable String leaderId, long epoch) {
    this(isLeader, leaderId, epoch, isLeader, leaderId);
  }

  /** Dynamo mode: a change of gateway. */
  public static LeadershipChanged gateway(
      boolean isGateway, @Nullable String gatewayId, long epoch) {
    return new LeadershipChanged(false, null, epoch, isGateway, gatewayId);
  }
}
