package io.skein.core.replica;

import io.skein.core.model.NodeId;

/**
 * A read the shell must do for the core: the entries of {@code origin} from {@code fromSequence}
 * on, at most {@code limit} of them, handed back with {@link Input.Loaded} for {@code peer}.
 *
 * @param peer the peer the entries are for
 * @param origin whose entries
 * @param fromSequence the first sequence wanted
 * @param limit the most entries
 */
public record Load(NodeId peer, NodeId origin, long fromSequence, int limit) {}
