package io.skein.core.replica;

import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Everything that can happen to a {@link ReplicaCore}, fed in through {@link ReplicaCore#step}.
 * Time is an input too ({@link Tick}), so the core never reads a clock.
 */
public sealed interface Input {
  /**
   * Time passed. The shell sends one before each batch of other inputs.
   *
   * @param nowMs physical time in ms since the epoch; it may go backwards (the HLC copes)
   */
  record Tick(long nowMs) implements Input {}

  /**
   * A client asks for a write. The mutations form one atomic unit: they become consecutive entries
   * that the shell persists in the same transaction.
   *
   * @param requestId the shell's id for the reply, unique among pending requests
   * @param mutations one or more mutations
   * @param concern the write concern
   */
  record Propose(long requestId, List<Mutation> mutations, WriteConcern concern) implements Input {
    /** Copies the list. */
    public Propose {
      mutations = List.copyOf(mutations);
    }
  }

  /**
   * The shell made every entry of the last {@link Ready} durable. With local entries in it, {@code
   * lastSequence} is the highest local sequence among them (a cross-check); otherwise it is the
   * core's {@link ReplicaCore#persistedSequence()}.
   *
   * @param lastSequence the highest local sequence now on disk
   */
  record Persisted(long lastSequence) implements Input {}

  /**
   * The shell failed to persist the entries from {@code firstSequence} on. None of them is on disk
   * (the transaction rolled back as a whole), so their requests fail.
   *
   * @param firstSequence the lowest local sequence that was not persisted
   * @param reason what went wrong, for the client
   */
  record PersistFailed(long firstSequence, String reason) implements Input {}

  /**
   * A message arrived from a peer. The transport authenticated the sender.
   *
   * @param message the message
   */
  record Received(PeerMessage message) implements Input {}

  /**
   * The shell did a {@link Load} and hands back what storage had.
   *
   * @param peer the peer the entries are for
   * @param entries the entries read, in sequence order, possibly fewer than asked or none
   */
  record Loaded(NodeId peer, List<OplogEntry> entries) implements Input {
    /** Copies the list. */
    public Loaded {
      entries = List.copyOf(entries);
    }
  }

  /**
   * The transport (re)connected to a peer. The core asks it at once for what it lacks, instead of
   * waiting for the next anti-entropy round.
   *
   * @param peer the peer
   */
  record PeerConnected(NodeId peer) implements Input {}

  /**
   * The shell did a {@link SnapshotRead}.
   *
   * @param peer the peer the chunk is for
   * @param vector the snapshot's version vector, as in the read
   * @param afterKey the key the read started after, as in the read
   * @param documents the winning entries found within the vector
   * @param lastKey the last key scanned (documents outside the vector included), or {@code
   *     afterKey} if none
   * @param done whether the scan reached the end of the documents
   */
  record SnapshotLoaded(
      NodeId peer,
      Map<NodeId, Long> vector,
      @Nullable DocumentKey afterKey,
      List<OplogEntry> documents,
      @Nullable DocumentKey lastKey,
      boolean done)
      implements Input {
    /** Copies the collections. */
    public SnapshotLoaded {
      vector = Map.copyOf(vector);
      documents = List.copyOf(documents);
    }
  }

  /**
   * The shell applied (or failed to apply) the last {@link SnapshotApply}.
   *
   * @param source the peer that sent the chunk
   * @param ok whether the transaction committed
   */
  record SnapshotApplied(NodeId source, boolean ok) implements Input {}

  /**
   * The shell did a {@link Prune}.
   *
   * @param horizon per origin, the highest sequence no longer held one by one
   */
  record Pruned(Map<NodeId, Long> horizon) implements Input {
    /** Copies the map. */
    public Pruned {
      horizon = Map.copyOf(horizon);
    }
  }

  /**
   * A peer joined (discovered, or it authenticated to this node), or an inactive one came back. It
   * counts for write concerns from now on.
   *
   * @param peer the peer
   */
  record PeerJoined(NodeId peer) implements Input {}

  /**
   * A peer left the active membership (a discovered node whose beacons stopped). It no longer
   * counts for write concerns, but stays known: tombstones wait for its acknowledgement (D5).
   *
   * @param peer the peer
   */
  record PeerLeft(NodeId peer) implements Input {}

  /**
   * An operator forgot a peer that left for good: it is no longer known, so tombstone collection
   * (D5) stops waiting for it to acknowledge. Ignored for an active peer (it must leave first).
   *
   * @param peer the peer
   */
  record PeerForgotten(NodeId peer) implements Input {}

  /**
   * The shell changed the timings at run time (a reloaded config). The core replaces its config
   * with {@link ReplicaConfig#withTimings} and keeps all other state; nothing is rescheduled, so
   * each timer follows the new value from the next time it is checked:
   *
   * <ul>
   *   <li>anti-entropy runs once {@code syncIntervalMs} has passed since the last round, counted
   *       from the next {@link Tick}; the rate limit on extra sync requests, snapshot resends and
   *       the silence after which a snapshot's source counts as gone follow it too;
   *   <li>writes already waiting keep the deadline they were given; writes proposed from now on
   *       wait {@code replicationTimeoutMs};
   *   <li>a changed {@code retentionMs} takes effect at the next prune round, which comes a tenth
   *       of the new window (at least 1 s) after the last one; 0 stops pruning (a round already
   *       handed out still completes), and a change from 0 to a window starts a round at the next
   *       tick.
   * </ul>
   *
   * <p>Timings decide only how soon things happen: convergence, gap-free apply and the tombstone
   * rule (D5) hold whatever they are, and peers may run with different timings.
   *
   * @param syncIntervalMs how often anti-entropy runs, in ms, at least 1
   * @param replicationTimeoutMs how long a new write waits for its concern, in ms, at least 1
   * @param retentionMs how long oplog entries are kept, in ms; 0 keeps them for ever
   */
  record Reconfigure(long syncIntervalMs, long replicationTimeoutMs, long retentionMs)
      implements Input {}

  /**
   * Turns the gateway election (D1) on or off and sets its timings. Off by default: an embedded
   * store without remote peers needs no gateway.
   *
   * @param enabled whether this node takes part in the election
   * @param electionIntervalMs how long a silent gateway or peer is presumed alive
   * @param heartbeatMs how often this node beacons; less than the election interval
   */
  record ConfigureGateway(boolean enabled, long electionIntervalMs, long heartbeatMs)
      implements Input {}

  /**
   * Entries from another site (a cloud or remote peer the gateway syncs with, DESIGN.md D1), not
   * from a member of this cluster. They are taken by the rules of a push: per origin in sequence
   * order, a duplicate skipped, an origin stopped at a gap, a corrupt entry or one whose clock is
   * too far ahead. Nothing is acknowledged: the shell reads {@link ReplicaCore#durableVector()}
   * once they are persisted, and the members of this cluster fetch them from this node by
   * anti-entropy like any entry it holds.
   *
   * @param source the remote node they came from (for logs; it need not be a member)
   * @param entries the entries, in sequence order per origin
   */
  record Ingest(NodeId source, List<OplogEntry> entries) implements Input {}
}
