package io.skein.core.leader;

import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.replica.Mutation;
import io.skein.core.replica.WriteConcern;
import java.util.List;
import org.jspecify.annotations.Nullable;

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
   * @param openIndexes which of them do not end their write (the non-final entries of a batch)
   */
  record Loaded(
      NodeId peer, long fromIndex, List<OplogEntry> entries, java.util.Set<Long> openIndexes)
      implements LeaderInput {
    /** Copies the collections. */
    public Loaded {
      entries = List.copyOf(entries);
      openIndexes = java.util.Set.copyOf(openIndexes);
    }

    /** Entries that each end their write. */
    public Loaded(NodeId peer, long fromIndex, List<OplogEntry> entries) {
      this(peer, fromIndex, entries, java.util.Set.of());
    }
  }

  /**
   * The shell changed the timings at run time (a reloaded config). The core replaces its config
   * with {@link LeaderConfig#withTimings} and keeps all other state:
   *
   * <ul>
   *   <li>heartbeats, resends and a started-as-primary member's pre-vote retries compare against
   *       the new intervals from the next tick on;
   *   <li>a secondary stands for election once it has heard no primary for the new election
   *       timeout. If that timeout is shorter than the old one, a secondary that follows a primary
   *       counts it from the reconfiguration, not from the last heartbeat: the primary may still
   *       beat at the old, slower rate (a reload reaches members one by one), so it gets one full
   *       new timeout to be heard. The start-up grace of a member started as secondary becomes two
   *       new election intervals from its first tick, ending no earlier than now;
   *   <li>a primary steps down once no majority has answered within the new replication timeout (at
   *       the next tick, if that is already past);
   *   <li>writes already waiting keep the deadline they were given; writes proposed from now on
   *       wait the new replication timeout.
   * </ul>
   *
   * <p>Timings decide only liveness: how soon a dead primary is replaced and a cut-off one steps
   * down. Safety does not rest on them: one vote per epoch and the up-to-date check give at most
   * one primary per epoch, and a write is acknowledged with {@code w=majority} only once a majority
   * holds it, which every later primary must overlap. Members may run with different timings.
   *
   * @param electionIntervalMs the failure-detection window, in ms
   * @param heartbeatMs how often a primary sends heartbeats, in ms, at least 1 and less than the
   *     election interval
   * @param replicationTimeoutMs how long a new write waits for its concern, and how long a primary
   *     keeps the role without hearing a majority, in ms, at least 1
   */
  record Reconfigure(long electionIntervalMs, long heartbeatMs, long replicationTimeoutMs)
      implements LeaderInput {}

  /**
   * The shell was busy with this node's own storage work (persisting or applying a large append)
   * for {@code busyMs} since the last tick, so the node could not hear anyone. That time does not
   * count against the members it waits on: a secondary does not blame its primary for its own pause
   * (it moves its election timer on by that much), and a primary does not blame its followers (it
   * moves their last answers on). Stepped before the next {@link Tick}.
   *
   * <p>Only liveness reads these timers: safety (one primary per epoch, no lost majority-acked
   * write) never depends on them, so a pause can delay an election but not break one.
   *
   * @param busyMs how long the shell was busy, in ms, at least 0
   */
  record Busy(long busyMs) implements LeaderInput {}

  /**
   * A membership change (Raft's single-server change, thesis §4): add one member or remove one.
   * Only a primary takes it, and only one at a time: it is refused while an earlier configuration
   * is not committed, while a learner is still catching up, and before the primary's epoch marker
   * is committed. An added member joins as a learner (it receives the log, does not vote, does not
   * count for a majority) and is made a voter by the primary once it is within one append of the
   * log's end. A removal that would leave fewer live voters than the new majority is refused. The
   * reply is {@link io.skein.core.replica.Outcome.Committed} once the final configuration is
   * committed; a primary that removed itself steps down then.
   *
   * @param requestId the shell's id for the reply
   * @param member the member to add or remove
   * @param add whether to add it (else remove it; removing a learner cancels its addition)
   * @param url where the added member listens, carried in the configuration so every member can
   *     dial it, or {@code null}
   * @param timeoutMs how long to wait for the change before answering {@code TimedOut} (the change
   *     goes on: a learner is promoted whenever it catches up)
   */
  record ChangeMembers(
      long requestId,
      io.skein.core.model.NodeId member,
      boolean add,
      @org.jspecify.annotations.Nullable String url,
      long timeoutMs)
      implements LeaderInput {}

  /**
   * The shell applied the log up to {@code index} (the documents hold every entry up to it). The
   * core compacts only what is applied.
   *
   * @param index the last applied index
   */
  record Applied(long index) implements LeaderInput {}

  /**
   * The shell read a snapshot chunk ({@link LeaderReady#snapshotReads()}).
   *
   * @param peer the follower
   * @param index the snapshot's index
   * @param afterKey the key the chunk starts after
   * @param documents the documents' winning entries
   * @param lastKey the last key the chunk covers
   * @param done whether no document follows
   */
  record SnapshotLoaded(
      NodeId peer,
      long index,
      @Nullable DocumentKey afterKey,
      List<OplogEntry> documents,
      @Nullable DocumentKey lastKey,
      boolean done)
      implements LeaderInput {
    /** Copies the list. */
    public SnapshotLoaded {
      documents = List.copyOf(documents);
    }
  }

  /**
   * The shell installed the last ready's {@link LeaderReady#install()}, or failed to (then nothing
   * of it is durable, and the primary resends the chunk).
   *
   * @param ok whether it is durable
   */
  record SnapshotInstalled(boolean ok) implements LeaderInput {}
}
