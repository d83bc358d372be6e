package io.skein;

import org.jspecify.annotations.Nullable;

/**
 * Leader mode: the primary this node knows changed (DESIGN.md D1).
 *
 * @param isLeader whether this node is now the primary
 * @param leaderId the primary's node id, or {@code null} while there is none (an election)
 * @param epoch the epoch the primary leads
 */
public record LeadershipChanged(boolean isLeader, @Nullable String leaderId, long epoch) {}
