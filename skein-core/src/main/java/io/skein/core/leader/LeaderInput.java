package io.skein.core.leader;

import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.replica.Mutation;
import io.skein.core.replica.WriteConcern;
import java.util.List;

/** Everything that can happen to a {@link LeaderCore}. */
public sealed interface LeaderInput {
  /**
   * Time passed.
   *
   * @param nowMs physical time in ms
   */
  record Tick(long nowMs) implements LeaderInput {}

  /**
   * A client write; only a primary accepts it.
   *
   * @param requestId the shell's id for the reply
   * @param mutations one or more mutations, atomic
   * @param concern the write concern
   */
  record Propose(long requestId, List<Mutation> mutations, WriteConcern concern)
      implements LeaderInput {
    /** Copies the list. */
    public Propose {
      mutations = List.copyOf(mutations);
    }
  }

  /**
   * A strong read: answered once this node has confirmed, with a round of heartbeats to a majority,
   * that it is still primary.
   *
   * @param requestId the shell's id for the reply
   */
  record ReadIndex(long requestId) implements LeaderInput {}

  /**
   * The shell made the last {@link LeaderReady}'s log changes durable.
   *
   * @param lastIndex the last index now in the durable log
   */
  record Persisted(long lastIndex) implements LeaderInput {}

  /**
   * A message arrived from an authenticated member.
   *
   * @param message the message
   */
  record Received(LeaderMessage message) implements LeaderInput {}

  /**
   * The shell read log entries for a follower ({@link LeaderReady#loads()}).
   *
   * @param peer the follower
   * @param fromIndex the first index asked for
   * @param entries the entries read, consecutive from {@code fromIndex}
   */
  record Loaded(NodeId peer, long fromIndex, List<OplogEntry> entries) implements LeaderInput {
    /** Copies the list. */
    public Loaded {
      entries = List.copyOf(entries);
    }
  }
}
