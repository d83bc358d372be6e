/**
 * Leader-follower replication (D1-D3) as a pure state machine: epochs, pre-vote, an election that
 * prefers the lowest node id among the nodes a majority can reach, an ordered log with {@code
 * (epoch, index)}, write concerns and fencing. See docs/internals/leader-mode.md.
 */
@NullMarked
package io.skein.core.leader;

import org.jspecify.annotations.NullMarked;
