package io.skein.core.replica;

import io.skein.core.hlc.Hlc;
import io.skein.core.hlc.HybridClock;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The deterministic heart of a node: it turns {@link Input}s into {@link Ready} work for its shell,
 * in the manner of etcd raft's {@code RawNode}.
 *
 * <p>Design notes. The core owns the node's HLC and its dense local sequence. A {@link
 * Input.Propose} becomes consecutive entries at once (stamped with the clock at the last {@link
 * Input.Tick}); the entries leave in the next {@link #ready()}, and the proposal's reply waits
 * until the shell reports them persisted. Because every proposal that arrives between two {@code
 * ready()} calls leaves in the same {@code Ready}, the shell commits them in one transaction: group
 * commit falls out of the loop. Invariants, checked on every transition:
 *
 * <ul>
 *   <li>{@code persistedSequence <= lastSequence}, and local sequences have no gaps: a failed
 *       persist rolls {@code lastSequence} back so the numbers are reused;
 *   <li>replies to a proposal come only after all its entries are persisted;
 *   <li>at most {@code pendingRequestsMax} proposals wait at once (the rest are rejected).
 * </ul>
 *
 * <p>Not thread-safe: one owner (the node's event loop, or the simulator) drives it.
 */
public final class ReplicaCore {
  private final ReplicaConfig config;
  private final HybridClock clock;
  private long nowMs;
  private long lastSequence;
  private long persistedSequence;
  private final ArrayList<OplogEntry> entriesToPersist = new ArrayList<>();
  private final ArrayDeque<PendingWrite> pendingWrites = new ArrayDeque<>();
  private final ArrayList<Reply> replies = new ArrayList<>();

  private record PendingWrite(long requestId, long lastSequence, List<OplogEntry> entries) {}

  private ReplicaCore(ReplicaConfig config, RecoveredState recovered) {
    this.config = config;
    this.clock = new HybridClock(() -> nowMs, config.maxClockOffsetMs(), recovered.hlcHighWater());
    this.lastSequence = recovered.lastLocalSequence();
    this.persistedSequence = recovered.lastLocalSequence();
  }

  /** Creates a core that resumes from what the shell recovered from storage. */
  public static ReplicaCore restore(ReplicaConfig config, RecoveredState recovered) {
    return new ReplicaCore(config, recovered);
  }

  /** Feeds one input. Never blocks and never throws for an operating error. */
  public void step(Input input) {
    switch (input) {
      case Input.Tick tick -> nowMs = tick.nowMs();
      case Input.Propose propose -> propose(propose);
      case Input.Persisted persisted -> persisted(persisted.lastSequence());
      case Input.PersistFailed failed -> persistFailed(failed.firstSequence(), failed.reason());
    }
  }

  /** Returns whether {@link #ready()} has work. */
  public boolean hasReady() {
    return !entriesToPersist.isEmpty() || !replies.isEmpty();
  }

  /** Hands out the accumulated work and clears it. See {@link Ready} for the order contract. */
  public Ready ready() {
    Ready ready = new Ready(entriesToPersist, clock.last(), replies);
    entriesToPersist.clear();
    replies.clear();
    return ready;
  }

  /** Returns this node's id. */
  public NodeId nodeId() {
    return config.nodeId();
  }

  /** Returns the highest local sequence handed out. */
  public long lastSequence() {
    return lastSequence;
  }

  /** Returns the highest local sequence the shell reported durable. */
  public long persistedSequence() {
    return persistedSequence;
  }

  /** Returns the clock's last timestamp. */
  public Hlc lastHlc() {
    return clock.last();
  }

  /** Returns how many proposals wait for persistence. */
  public int pendingWriteCount() {
    return pendingWrites.size();
  }

  private void propose(Input.Propose propose) {
    List<Mutation> mutations = propose.mutations();
    if (mutations.isEmpty()) {
      reject(propose, "invalid_request", "a write needs at least one operation");
      return;
    }
    if (mutations.size() > config.batchOpsMax()) {
      reject(
          propose,
          "batch_too_large",
          "a batch holds at most " + config.batchOpsMax() + " operations, got " + mutations.size());
      return;
    }
    if (pendingWrites.size() >= config.pendingRequestsMax()) {
      reject(
          propose,
          "overloaded",
          config.pendingRequestsMax() + " writes are already waiting; retry later");
      return;
    }
    List<OplogEntry> entries = new ArrayList<>(mutations.size());
    for (Mutation mutation : mutations) {
      lastSequence++;
      entries.add(
          OplogEntry.create(
              config.nodeId(),
              lastSequence,
              clock.now(),
              mutation.operation(),
              mutation.collection(),
              mutation.id(),
              mutation.document()));
    }
    entriesToPersist.addAll(entries);
    pendingWrites.addLast(new PendingWrite(propose.requestId(), lastSequence, entries));
  }

  private void reject(Input.Propose propose, String code, String message) {
    replies.add(new Reply(propose.requestId(), new Outcome.Rejected(code, message)));
  }

  private void persisted(long sequence) {
    if (sequence > lastSequence || sequence < persistedSequence) {
      throw new IllegalStateException(
          "persisted sequence "
              + sequence
              + " is outside ["
              + persistedSequence
              + ", "
              + lastSequence
              + "]");
    }
    persistedSequence = sequence;
    while (!pendingWrites.isEmpty() && pendingWrites.peekFirst().lastSequence() <= sequence) {
      PendingWrite write = pendingWrites.removeFirst();
      replies.add(new Reply(write.requestId(), new Outcome.Committed(write.entries())));
    }
  }

  private void persistFailed(long firstSequence, String reason) {
    if (firstSequence <= persistedSequence || firstSequence > lastSequence) {
      throw new IllegalStateException(
          "failed sequence "
              + firstSequence
              + " is outside ("
              + persistedSequence
              + ", "
              + lastSequence
              + "]");
    }
    while (!pendingWrites.isEmpty() && pendingWrites.peekLast().lastSequence() >= firstSequence) {
      PendingWrite write = pendingWrites.removeLast();
      replies.add(new Reply(write.requestId(), new Outcome.PersistFailed(reason)));
    }
    entriesToPersist.removeIf(entry -> entry.sequence() >= firstSequence);
    // Sequence numbers must stay dense, so the failed ones are handed out again.
    lastSequence = firstSequence - 1;
    if (!pendingWrites.isEmpty() && pendingWrites.peekLast().lastSequence() > lastSequence) {
      throw new IllegalStateException("a pending write straddles the failed sequence");
    }
  }
}
