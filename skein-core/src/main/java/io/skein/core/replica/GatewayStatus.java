package io.skein.core.replica;

import io.skein.core.model.NodeId;
import org.jspecify.annotations.Nullable;

/**
 * Which node this node takes for the gateway to remote peers (D1).
 *
 * @param epoch the election epoch this node is in
 * @param gateway the gateway of that epoch as this node knows it, or {@code null} while there is
 *     none it has heard from within an election interval
 * @param isGateway whether this node is the gateway: it won the epoch's election and still hears a
 *     majority following it
 */
public record GatewayStatus(long epoch, @Nullable NodeId gateway, boolean isGateway) {
  /** No election has run (a node that has not heard a majority yet, or election disabled). */
  public static final GatewayStatus NONE = new GatewayStatus(0, null, false);
}
