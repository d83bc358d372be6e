package io.skein;

import org.jspecify.annotations.Nullable;

/**
 * Which node this node takes for the gateway to remote and cloud peers (DESIGN.md D1). In leader
 * mode the gateway is the primary; in multi-writer mode it is the lowest node id that won a
 * majority's votes in the gateway election. At most one node is gateway per epoch.
 *
 * @param isGateway whether this node is the gateway now
 * @param gatewayId the gateway's node id, or {@code null} while this node knows of none (an
 *     election, or a node cut off from a majority)
 * @param epoch the election epoch (leader mode: the primary's epoch)
 */
public record GatewayView(boolean isGateway, @Nullable String gatewayId, long epoch) {}
