package io.skein.core.replica;

import io.skein.core.hlc.ClockObservation;
import io.skein.core.hlc.Hlc;
import io.skein.core.hlc.HybridClock;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The deterministic heart of a node: it turns {@link Input}s into {@link Ready} work for its shell,
 * in the manner of etcd raft's {@code RawNode}, and runs multi-writer replication (D4).
 *
 * <p>Design notes. The core owns the node's HLC, its dense local sequence and its version vector
 * (the highest sequence held of each origin). A {@link Input.Propose} becomes consecutive entries
 * at once; the entries leave in the next {@link #ready()}, and the reply waits until the shell
 * reports them persisted and, for {@code w=majority|all}, until enough peers acknowledged them.
 * Proposals that arrive between two {@code ready()} calls leave in the same {@code Ready}, so the
 * shell commits them in one transaction (group commit).
 *
 * <p>Replication. New local entries are pushed to every peer once persisted. Received entries are
 * applied only in sequence order per origin: a duplicate is ignored and an entry after a gap is
 * dropped and the gap asked for, so the vector always describes exactly what is held. Every {@code
 * syncIntervalMs} each peer is sent this node's durable vector, and a peer answers by pushing
 * whatever it holds beyond it (anti-entropy), which heals any lost push. That answer is a stream:
 * at most {@link #STREAM_BATCHES_MAX} batches per origin are unacknowledged, and each ack opens the
 * window again, so catch-up runs at the speed of the peer's disk. A remote HLC more than the max
 * offset ahead is refused with the rest of its origin's batch (D4).
 *
 * <p>Timings are inputs too: {@link Input.Reconfigure} swaps the config's sync interval,
 * replication timeout and retention at run time. Nothing is rescheduled when they change; every
 * timer compares against the current config when it is next checked, and a pending write keeps the
 * deadline it was given. Timings only decide how soon the protocol acts, never what it decides.
 *
 * <p>Invariants, checked on every transition: {@code persistedSequence <= lastSequence}; local
 * sequences have no gaps (a failed persist rolls {@code lastSequence} back); replies come only
 * after persistence; at most {@code pendingRequestsMax} proposals wait.
 *
 * <p>Not thread-safe: one owner (the node's event loop, or the simulator) drives it.
 */
public final class ReplicaCore {
  /** The most catch-up batches in flight to one peer, per origin. */
  static final int STREAM_BATCHES_MAX = 4;

  /** The current config; {@link Input.Reconfigure} replaces it. */
  private ReplicaConfig config;

  private final HybridClock clock;
  private long nowMs;
  private long lastSequence;
  private long persistedSequence;
  private long lastSyncMs = Long.MIN_VALUE / 2;
  private long refusedEntries;

  /** Highest sequence per origin accepted (handed out or waiting to be). */
  private final Map<NodeId, Long> accepted = new HashMap<>();

  /** Highest sequence per origin durable here. */
  private final Map<NodeId, Long> durable = new HashMap<>();

  /** What the last {@link #ready()} handed out, durable once {@code Persisted} arrives. */
  private Map<NodeId, Long> handedOut = Map.of();

  private final List<OplogEntry> handedOutLocal = new ArrayList<>();
  private final ArrayList<OplogEntry> entriesToPersist = new ArrayList<>();
  private final LinkedHashMap<Long, PendingWrite> pendingWrites = new LinkedHashMap<>();
  private final ArrayList<Reply> replies = new ArrayList<>();
  private final ArrayList<Envelope> messages = new ArrayList<>();
  private final ArrayList<Load> loads = new ArrayList<>();
  private final Map<NodeId, PeerProgress> peers = new LinkedHashMap<>();
  private final Set<NodeId> acksOwed = new LinkedHashSet<>();
  private final ArrayList<SnapshotApply> snapshotApplies = new ArrayList<>();
  private final ArrayList<SnapshotRead> snapshotReads = new ArrayList<>();
  private final ArrayList<Prune> prunes = new ArrayList<>();

  /** Per origin, the highest sequence no longer held one by one (pruned or snapshot-covered). */
  private final Map<NodeId, Long> horizon = new HashMap<>();

  /** The snapshot being received, as far as it is applied (or being applied); or null. */
  private @Nullable SnapshotProgress receiving;

  private boolean snapshotApplyPending;
  private boolean applyingLastChunk;
  private @Nullable SnapshotProgress receivingBeforeApply;
  private long lastPruneMs;
  private boolean pruneInFlight;

  /** Who is the gateway to remote peers (D1); off until {@link Input.ConfigureGateway}. */
  private final GatewayElection gateway;

  private record PendingWrite(
      long requestId,
      long lastSequence,
      List<OplogEntry> entries,
      int acksRequired,
      long deadlineMs,
      long timeoutMs) {}

  private ReplicaCore(ReplicaConfig config, RecoveredState recovered) {
    this.config = config;
    this.clock = new HybridClock(() -> nowMs, config.maxClockOffsetMs(), recovered.hlcHighWater());
    this.lastSequence = recovered.lastLocalSequence();
    this.persistedSequence = recovered.lastLocalSequence();
    durable.putAll(recovered.versionVector());
    durable.merge(config.nodeId(), recovered.lastLocalSequence(), Math::max);
    horizon.putAll(recovered.horizon());
    horizon.forEach((origin, seq) -> durable.merge(origin, seq, Math::max));
    accepted.putAll(durable);
    receiving = recovered.receiving();
    gateway = new GatewayElection(config.nodeId(), recovered.gatewayTerm());
    lastPruneMs = Long.MIN_VALUE / 2;
    for (NodeId peer : config.peers()) {
      peers.put(peer, new PeerProgress());
    }
  }

  /** Creates a core that resumes from what the shell recovered from storage. */
  public static ReplicaCore restore(ReplicaConfig config, RecoveredState recovered) {
    return new ReplicaCore(config, recovered);
  }

  /**
   * Feeds one input. Never blocks and never throws for an operating error.
   *
   * @throws IllegalArgumentException if an {@link Input.Reconfigure} carries timings the config
   *     refuses (the shell validates settings first, so this is a programmer error); the core is
   *     left unchanged
   * @throws IllegalStateException if the shell breaks the contract (for example, reports persisted
   *     a sequence it was never handed)
   */
  public void step(Input input) {
    switch (input) {
      case Input.Tick tick -> tick(tick.nowMs());
      case Input.Propose propose -> propose(propose);
      case Input.Persisted persisted -> persisted(persisted.lastSequence());
      case Input.PersistFailed failed -> persistFailed(failed.firstSequence(), failed.reason());
      case Input.Received received -> receive(received.message());
      case Input.Loaded loaded -> loaded(loaded.peer(), loaded.entries());
      case Input.PeerConnected connected -> {
        PeerProgress progress = peers.get(connected.peer());
        if (progress != null) {
          sendSyncRequest(connected.peer(), progress);
        }
      }
      case Input.SnapshotLoaded loaded -> snapshotLoaded(loaded);
      case Input.SnapshotApplied applied -> snapshotApplied(applied);
      case Input.PeerJoined joined -> {
        if (!joined.peer().equals(config.nodeId())) {
          peers.computeIfAbsent(joined.peer(), peer -> new PeerProgress()).active = true;
        }
      }
      case Input.PeerLeft left -> {
        PeerProgress progress = peers.get(left.peer());
        if (progress != null) {
          progress.active = false;
        }
      }
      case Input.PeerForgotten forgotten -> {
        PeerProgress progress = peers.get(forgotten.peer());
        if (progress != null && !progress.active) {
          peers.remove(forgotten.peer());
          gateway.forget(forgotten.peer());
        }
      }
      case Input.Pruned pruned -> {
        pruneInFlight = false;
        pruned.horizon().forEach((origin, seq) -> horizon.merge(origin, seq, Math::max));
      }
      case Input.Reconfigure reconfigure -> reconfigure(reconfigure);
      case Input.Ingest ingest -> ingest(ingest.entries());
      case Input.ConfigureGateway configure ->
          gateway.configure(
              configure.enabled(), configure.electionIntervalMs(), configure.heartbeatMs());
    }
  }

  /** Returns whether {@link #ready()} has work. */
  public boolean hasReady() {
    return !entriesToPersist.isEmpty()
        || !replies.isEmpty()
        || !messages.isEmpty()
        || !loads.isEmpty()
        || !snapshotApplies.isEmpty()
        || !snapshotReads.isEmpty()
        || !prunes.isEmpty()
        || gateway.hasWork();
  }

  /** Hands out the accumulated work and clears it. See {@link Ready} for the order contract. */
  public Ready ready() {
    Ready ready =
        new Ready(
            entriesToPersist,
            clock.last(),
            replies,
            messages,
            loads,
            snapshotApplies,
            snapshotReads,
            prunes,
            gateway.takeTermToPersist(),
            gateway.takeChange());
    if (!entriesToPersist.isEmpty()) {
      handedOut = Map.copyOf(accepted);
      for (OplogEntry entry : entriesToPersist) {
        if (entry.origin().equals(config.nodeId())) {
          handedOutLocal.add(entry);
        }
      }
    }
    entriesToPersist.clear();
    replies.clear();
    messages.clear();
    loads.clear();
    snapshotApplies.clear();
    snapshotReads.clear();
    prunes.clear();
    return ready;
  }

  /** Returns the current config: the one it was restored with, or the last reconfigured. */
  public ReplicaConfig config() {
    return config;
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

  /** Returns how many proposals wait for persistence or their write concern. */
  public int pendingWriteCount() {
    return pendingWrites.size();
  }

  /** Returns the durable version vector: the highest sequence held of each origin. */
  public Map<NodeId, Long> durableVector() {
    return Map.copyOf(durable);
  }

  /** Returns which node this node takes for the gateway to remote peers (D1). */
  public GatewayStatus gatewayStatus() {
    return gateway.status(nowMs);
  }

  /**
   * The members that vote in the gateway election: every known peer, active or not. A majority of
   * the configured members, not of those discovery currently sees, so two nodes with different
   * views of who is up still count against the same total and their majorities intersect (D1).
   */
  private List<NodeId> electionMembers() {
    return List.copyOf(peers.keySet());
  }

  /** Returns the members: this node and its active peers. */
  public int members() {
    int members = 1;
    for (PeerProgress progress : peers.values()) {
      if (progress.active) {
        members++;
      }
    }
    return members;
  }

  /** Returns every known peer, active or not, in the order they became known. */
  public List<NodeId> knownPeers() {
    return List.copyOf(peers.keySet());
  }

  /** Returns whether a known peer is active. */
  public boolean isActive(NodeId peer) {
    PeerProgress progress = peers.get(peer);
    return progress != null && progress.active;
  }

  /** Returns the horizon: per origin, the highest sequence no longer held one by one. */
  public Map<NodeId, Long> horizon() {
    return Map.copyOf(horizon);
  }

  /** Returns the snapshot being received, or {@code null}. */
  public @Nullable SnapshotProgress receivingSnapshot() {
    return receiving;
  }

  /** Returns whether a snapshot is being sent to a peer. */
  public boolean sendingSnapshotTo(NodeId peer) {
    PeerProgress progress = peers.get(peer);
    return progress != null && progress.snapshot != null;
  }

  /** Returns how many remote entries were refused for an HLC beyond the max offset. */
  public long refusedEntries() {
    return refusedEntries;
  }

  /**
   * Returns how many entries written on this node a peer does not hold yet (as far as this node
   * knows): what would be lost to it if this node's file went away now.
   *
   * @throws IllegalArgumentException if the peer is not known
   */
  public long ownLagEntries(NodeId peer) {
    PeerProgress progress = peers.get(peer);
    if (progress == null) {
      throw new IllegalArgumentException(peer + " is not a peer");
    }
    NodeId self = config.nodeId();
    return Math.max(0, durable.getOrDefault(self, 0L) - progress.durable(self));
  }

  /**
   * Returns how many entries a peer lacks of what this node holds, by the last vector the peer sent
   * (replication lag, in entries).
   */
  public long lagEntries(NodeId peer) {
    PeerProgress progress = peers.get(peer);
    if (progress == null) {
      throw new IllegalArgumentException(peer + " is not a peer");
    }
    long lag = 0;
    for (Map.Entry<NodeId, Long> entry : durable.entrySet()) {
      lag += Math.max(0, entry.getValue() - progress.durable(entry.getKey()));
    }
    return lag;
  }

  // ---------------------------------------------------------------------------------------------
  // Local writes.

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
    accepted.put(config.nodeId(), lastSequence);
    entriesToPersist.addAll(entries);
    int acksRequired = propose.concern().requiredAcks(members());
    pendingWrites.put(
        propose.requestId(),
        new PendingWrite(
            propose.requestId(),
            lastSequence,
            entries,
            acksRequired,
            nowMs + config.replicationTimeoutMs(),
            config.replicationTimeoutMs()));
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
    handedOut.forEach((origin, seq) -> durable.merge(origin, seq, Math::max));
    durable.merge(config.nodeId(), sequence, Math::max);
    pushNewLocalEntries();
    for (NodeId peer : acksOwed) {
      messages.add(new Envelope(peer, new PeerMessage.Ack(config.nodeId(), durable)));
    }
    acksOwed.clear();
    releaseWrites();
  }

  private void pushNewLocalEntries() {
    if (handedOutLocal.isEmpty()) {
      return;
    }
    long first = handedOutLocal.get(0).sequence();
    long last = handedOutLocal.get(handedOutLocal.size() - 1).sequence();
    for (Map.Entry<NodeId, PeerProgress> entry : peers.entrySet()) {
      NodeId peer = entry.getKey();
      PeerProgress progress = entry.getValue();
      if (!progress.active || progress.sent(config.nodeId()) < first - 1) {
        // The peer is behind (or its position unknown): a live push would only open a gap. The
        // catch-up stream brings it these entries in order.
        continue;
      }
      progress.markSent(config.nodeId(), last);
      for (int from = 0; from < handedOutLocal.size(); from += config.pushEntriesMax()) {
        int to = Math.min(handedOutLocal.size(), from + config.pushEntriesMax());
        List<OplogEntry> chunk = handedOutLocal.subList(from, to);
        messages.add(new Envelope(peer, new PeerMessage.Push(config.nodeId(), chunk)));
      }
    }
    handedOutLocal.clear();
  }

  /** Replies to every pending write that is durable here and acknowledged by enough members. */
  private void releaseWrites() {
    for (Iterator<PendingWrite> it = pendingWrites.values().iterator(); it.hasNext(); ) {
      PendingWrite write = it.next();
      if (write.lastSequence() > persistedSequence) {
        continue;
      }
      if (acks(write.lastSequence()) >= write.acksRequired()) {
        it.remove();
        replies.add(new Reply(write.requestId(), new Outcome.Committed(write.entries())));
      }
    }
  }

  private int acks(long sequence) {
    int acks = 1;
    for (PeerProgress progress : peers.values()) {
      if (progress.durable(config.nodeId()) >= sequence) {
        acks++;
      }
    }
    return acks;
  }

  private void persistFailed(long firstSequence, String reason) {
    if (firstSequence <= persistedSequence || firstSequence > lastSequence + 1) {
      throw new IllegalStateException(
          "failed sequence "
              + firstSequence
              + " is outside ("
              + persistedSequence
              + ", "
              + (lastSequence + 1)
              + "]");
    }
    for (Iterator<PendingWrite> it = pendingWrites.values().iterator(); it.hasNext(); ) {
      PendingWrite write = it.next();
      if (write.lastSequence() >= firstSequence) {
        it.remove();
        replies.add(new Reply(write.requestId(), new Outcome.PersistFailed(reason)));
      }
    }
    entriesToPersist.removeIf(
        entry -> entry.origin().equals(config.nodeId()) && entry.sequence() >= firstSequence);
    handedOutLocal.clear();
    // Sequence numbers must stay dense, so the failed ones are handed out again. Remote entries
    // of the failed transaction are forgotten; anti-entropy fetches them again.
    lastSequence = firstSequence - 1;
    accepted.clear();
    accepted.putAll(durable);
    accepted.put(config.nodeId(), lastSequence);
    entriesToPersist.removeIf(entry -> !entry.origin().equals(config.nodeId()));
    handedOut = Map.of();
    acksOwed.clear();
  }

  // ---------------------------------------------------------------------------------------------
  // Time: anti-entropy and write deadlines.

  private void tick(long tickMs) {
    nowMs = tickMs;
    gateway.tick(nowMs, electionMembers(), messages);
    if (!peers.isEmpty() && nowMs - lastSyncMs >= config.syncIntervalMs()) {
      lastSyncMs = nowMs;
      for (Map.Entry<NodeId, PeerProgress> peer : peers.entrySet()) {
        if (peer.getValue().active) {
          sendSyncRequest(peer.getKey(), peer.getValue());
          resendStaleSnapshot(peer.getKey(), peer.getValue());
        }
      }
      dropMootTransfer();
      SnapshotProgress open = receiving;
      if (open != null && !snapshotApplyPending && peers.containsKey(open.source())) {
        // Keeps the sender going (or tells a restarted one where to resume).
        messages.add(
            new Envelope(
                open.source(),
                new PeerMessage.SnapshotAck(
                    config.nodeId(), open.vector(), open.lastKey(), false)));
      }
    }
    if (config.retentionMs() > 0
        && !pruneInFlight
        && nowMs - lastPruneMs >= config.pruneIntervalMs()) {
      lastPruneMs = nowMs;
      pruneInFlight = true;
      prunes.add(new Prune(nowMs - config.retentionMs(), tombstoneStable()));
    }
    expireWrites();
  }

  /**
   * Adopts new timings (see {@link Input.Reconfigure} for the contract). The config validates them
   * before anything changes, so a refused value leaves the core as it was.
   */
  private void reconfigure(Input.Reconfigure reconfigure) {
    ReplicaConfig next =
        config.withTimings(
            reconfigure.syncIntervalMs(),
            reconfigure.replicationTimeoutMs(),
            reconfigure.retentionMs());
    if (config.retentionMs() == 0 && next.retentionMs() > 0) {
      // While retention was off no round was scheduled, and lastPruneMs may be recent (retention
      // was on before) while the new window's interval is long: without this the first round
      // could wait up to a tenth of the new window. Retention switched on starts at once.
      lastPruneMs = Long.MIN_VALUE / 2;
    }
    // Pending writes keep their deadlines: a client was promised an answer within the timeout in
    // force when it wrote. lastSyncMs and lastPruneMs stay too, so the next round comes one new
    // interval after the last one (or at once, if that is already past).
    config = next;
  }

  /**
   * Per origin, the highest sequence every peer holds, if it is safe to collect tombstones up to
   * it: only when every peer has told its vector and this node holds everything each peer said it
   * holds. Then no entry older than a collected tombstone can still arrive from a known peer: each
   * peer's own older entries are already here, and its newer ones carry a later HLC, since it had
   * observed the tombstone. Empty otherwise (D5).
   */
  private Map<NodeId, Long> tombstoneStable() {
    Map<NodeId, Long> stable = new HashMap<>(durable);
    for (PeerProgress progress : peers.values()) {
      if (!progress.heard) {
        return Map.of();
      }
      for (Map.Entry<NodeId, Long> theirs : progress.durable().entrySet()) {
        if (theirs.getValue() > durable.getOrDefault(theirs.getKey(), 0L)) {
          return Map.of();
        }
      }
      stable.replaceAll((origin, seq) -> Math.min(seq, progress.durable(origin)));
    }
    return stable;
  }

  private void sendSyncRequest(NodeId peer, PeerProgress progress) {
    progress.lastSyncSentMs = nowMs;
    messages.add(new Envelope(peer, new PeerMessage.SyncRequest(config.nodeId(), durable)));
  }

  private void expireWrites() {
    for (Iterator<PendingWrite> it = pendingWrites.values().iterator(); it.hasNext(); ) {
      PendingWrite write = it.next();
      if (write.lastSequence() <= persistedSequence && nowMs >= write.deadlineMs()) {
        it.remove();
        replies.add(
            new Reply(
                write.requestId(),
                new Outcome.TimedOut(
                    "durable on this node, but only "
                        + acks(write.lastSequence())
                        + " of the "
                        + write.acksRequired()
                        + " required members confirmed it within "
                        + write.timeoutMs()
                        + " ms")));
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Messages from peers.

  private void receive(PeerMessage message) {
    PeerProgress progress = peers.get(message.from());
    if (progress == null) {
      return; // Not a member: the transport should have refused it; ignore.
    }
    progress.lastHeardMs = nowMs;
    gateway.heard(message.from(), nowMs);
    switch (message) {
      case PeerMessage.Push push -> receivePush(push, progress);
      case PeerMessage.Ack ack -> {
        progress.observe(ack.durable());
        releaseWrites();
        streamTo(ack.from(), progress);
      }
      case PeerMessage.SyncRequest request -> receiveSyncRequest(request, progress);
      case PeerMessage.SnapshotChunk chunk -> receiveSnapshotChunk(chunk);
      case PeerMessage.SnapshotAck ack -> receiveSnapshotAck(ack, progress);
      case PeerMessage.GatewayVoteRequest request ->
          gateway.receive(request, nowMs, electionMembers(), messages);
      case PeerMessage.GatewayVote vote ->
          gateway.receive(vote, nowMs, electionMembers(), messages);
      case PeerMessage.GatewayBeacon beacon ->
          gateway.receive(beacon, nowMs, electionMembers(), messages);
    }
  }

  private void ingest(List<OplogEntry> entries) {
    takeInOrder(entries);
  }

  private void receivePush(PeerMessage.Push push, PeerProgress progress) {
    Taken taken = takeInOrder(push.entries());
    if (taken.acceptedAny()) {
      acksOwed.add(push.from());
    }
    if (taken.gap() && nowMs - progress.lastSyncSentMs >= config.syncIntervalMs() / 4) {
      sendSyncRequest(push.from(), progress);
    }
  }

  private record Taken(boolean acceptedAny, boolean gap) {}

  /**
   * Takes entries by the push rules: per origin in sequence order, duplicates skipped, an origin
   * stopped at a gap, a corrupt entry or a clock too far ahead.
   */
  private Taken takeInOrder(List<OplogEntry> entries) {
    Set<NodeId> stopped = new LinkedHashSet<>();
    boolean acceptedAny = false;
    boolean gap = false;
    for (OplogEntry entry : entries) {
      NodeId origin = entry.origin();
      if (stopped.contains(origin) || !entry.isIntact()) {
        stopped.add(origin);
        continue;
      }
      long have = accepted.getOrDefault(origin, 0L);
      if (entry.sequence() <= have) {
        continue; // duplicate: already held or on its way to disk
      }
      if (entry.sequence() > have + 1) {
        gap = true;
        stopped.add(origin);
        continue;
      }
      if (clock.observe(entry.hlc()) instanceof ClockObservation.TooFarAhead) {
        refusedEntries++;
        stopped.add(origin);
        continue;
      }
      accept(entry);
      acceptedAny = true;
    }
    return new Taken(acceptedAny, gap);
  }

  private void accept(OplogEntry entry) {
    accepted.put(entry.origin(), entry.sequence());
    entriesToPersist.add(entry);
    if (entry.origin().equals(config.nodeId()) && entry.sequence() > lastSequence) {
      // Our own entries coming back from a peer: this node lost its tail (buffered durability).
      lastSequence = entry.sequence();
    }
  }

  private void receiveSyncRequest(PeerMessage.SyncRequest request, PeerProgress progress) {
    progress.observe(request.durable());
    releaseWrites();
    // The peer says what it holds: anything sent beyond that was lost, so the stream restarts
    // from there.
    progress.resetSent();
    streamTo(request.from(), progress);
    boolean peerHasMore = false;
    for (Map.Entry<NodeId, Long> theirs : request.durable().entrySet()) {
      if (theirs.getValue() > durable.getOrDefault(theirs.getKey(), 0L)) {
        peerHasMore = true;
      }
    }
    // Ask back at once when the peer holds more, but not more than a few times per interval, so
    // two nodes that each lack something do not ping-pong.
    if (peerHasMore && nowMs - progress.lastSyncSentMs >= config.syncIntervalMs() / 4) {
      sendSyncRequest(request.from(), progress);
    }
  }

  /**
   * Catch-up stream: for every origin the peer lacks, reads the next batches after what was already
   * sent, keeping at most {@link #STREAM_BATCHES_MAX} batches unacknowledged. Each ack from the
   * peer opens the window again, so a node that rejoins far behind is fed at the rate it can
   * persist, not one batch per anti-entropy round.
   */
  private void streamTo(NodeId peer, PeerProgress progress) {
    boolean behindHorizon = false;
    for (Map.Entry<NodeId, Long> pruned : horizon.entrySet()) {
      if (progress.durable(pruned.getKey()) < pruned.getValue()) {
        behindHorizon = true;
      }
    }
    if (behindHorizon && progress.snapshot == null) {
      PeerProgress.SnapshotSend snapshot = new PeerProgress.SnapshotSend(durable, null, nowMs);
      progress.snapshot = snapshot;
      requestSnapshotRead(peer, snapshot);
    }
    long window = (long) STREAM_BATCHES_MAX * config.pushEntriesMax();
    for (Map.Entry<NodeId, Long> mine : durable.entrySet()) {
      NodeId origin = mine.getKey();
      long confirmed = progress.durable(origin);
      if (confirmed < horizon.getOrDefault(origin, 0L)) {
        continue; // entries the peer needs are gone here: the snapshot covers them
      }
      long head = progress.sent(origin);
      while (head < mine.getValue() && head - confirmed < window) {
        loads.add(new Load(peer, origin, head + 1, config.pushEntriesMax()));
        head = Math.min(mine.getValue(), head + config.pushEntriesMax());
        progress.markSent(origin, head);
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Snapshots (D5): for a peer behind this node's horizon.

  private void requestSnapshotRead(NodeId peer, PeerProgress.SnapshotSend snapshot) {
    snapshot.cursor.sent(nowMs);
    snapshotReads.add(
        new SnapshotRead(
            peer, snapshot.vector, snapshot.cursor.ackedKey(), config.snapshotDocsMax()));
  }

  private void resendStaleSnapshot(NodeId peer, PeerProgress progress) {
    PeerProgress.SnapshotSend snapshot = progress.snapshot;
    if (snapshot != null && snapshot.cursor.stale(nowMs, config.syncIntervalMs())) {
      requestSnapshotRead(peer, snapshot);
    }
  }

  private void snapshotLoaded(Input.SnapshotLoaded loaded) {
    PeerProgress progress = peers.get(loaded.peer());
    if (progress == null) {
      return;
    }
    PeerProgress.SnapshotSend snapshot = progress.snapshot;
    if (snapshot == null || !snapshot.vector.equals(loaded.vector())) {
      return; // the transfer ended or restarted meanwhile
    }
    messages.add(
        new Envelope(
            loaded.peer(),
            new PeerMessage.SnapshotChunk(
                config.nodeId(),
                loaded.vector(),
                loaded.afterKey(),
                loaded.documents(),
                loaded.lastKey(),
                loaded.done())));
  }

  private void receiveSnapshotAck(PeerMessage.SnapshotAck ack, PeerProgress progress) {
    PeerProgress.SnapshotSend snapshot = progress.snapshot;
    if (ack.done()) {
      progress.observe(ack.vector());
      if (snapshot != null && snapshot.vector.equals(ack.vector())) {
        progress.snapshot = null;
      }
      releaseWrites();
      streamTo(ack.from(), progress);
      return;
    }
    if (covers(progress.durable(), ack.vector())) {
      // The peer already holds everything this transfer carries (a stale or duplicate ack).
      if (snapshot != null && snapshot.vector.equals(ack.vector())) {
        progress.snapshot = null;
      }
      return;
    }
    if (snapshot == null || !snapshot.vector.equals(ack.vector())) {
      // The peer is part-way through a transfer this node forgot (it restarted) or replaced:
      // resume the peer's. Its vector is as valid as a new one, and nothing is sent twice.
      snapshot = new PeerProgress.SnapshotSend(ack.vector(), ack.lastKey(), nowMs);
      progress.snapshot = snapshot;
      requestSnapshotRead(ack.from(), snapshot);
      return;
    }
    if (snapshot.cursor.confirmed(ack.lastKey(), nowMs)
        || !snapshot.cursor.inFlight()
        || snapshot.cursor.stale(nowMs, config.syncIntervalMs())) {
      requestSnapshotRead(ack.from(), snapshot);
    }
  }

  private void receiveSnapshotChunk(PeerMessage.SnapshotChunk chunk) {
    if (snapshotApplyPending) {
      return; // one chunk at a time; the sender resends
    }
    if (covers(durable, chunk.vector())) {
      // Everything this snapshot carries is here already (a late copy of a finished transfer, or
      // incremental sync got there first): the transfer is moot.
      dropMootTransfer();
      snapshotAck(chunk.from(), chunk.vector(), chunk.lastKey(), true);
      return;
    }
    dropMootTransfer();
    SnapshotProgress open = receiving;
    if (open != null
        && !open.source().equals(chunk.from())
        && chunk.afterKey() == null
        && sourceGone(open.source())) {
      receiving = null; // the open transfer's source left or fell silent: take this one
      open = null;
    }
    boolean sameTransfer =
        open != null && open.source().equals(chunk.from()) && open.vector().equals(chunk.vector());
    if (!sameTransfer) {
      boolean fresh =
          chunk.afterKey() == null && (open == null || open.source().equals(chunk.from()));
      if (!fresh) {
        if (open == null) {
          // A chunk from the middle of a transfer this node has no record of: start it over.
          snapshotAck(chunk.from(), chunk.vector(), null, false);
        } else if (open.source().equals(chunk.from())) {
          snapshotAck(chunk.from(), open.vector(), open.lastKey(), false);
        }
        return; // (a transfer from another source is open: this one waits)
      }
    } else if (open != null && !java.util.Objects.equals(chunk.afterKey(), open.lastKey())) {
      snapshotAck(chunk.from(), open.vector(), open.lastKey(), false);
      return;
    }
    for (OplogEntry document : chunk.documents()) {
      if (!document.isIntact()
          || clock.observe(document.hlc()) instanceof ClockObservation.TooFarAhead) {
        refusedEntries++;
        return; // not applied, not acknowledged: the sender resends after an interval
      }
    }
    receivingBeforeApply = open;
    receiving = new SnapshotProgress(chunk.from(), chunk.vector(), chunk.lastKey());
    snapshotApplyPending = true;
    applyingLastChunk = chunk.done();
    snapshotApplies.add(
        new SnapshotApply(
            chunk.from(), chunk.vector(), chunk.documents(), chunk.lastKey(), chunk.done()));
  }

  /**
   * Forgets an open incoming transfer whose vector this node already covers: left open, it would
   * block every other source's snapshot (a transfer from another source waits for the open one).
   * Found by the simulator with membership churn (seed 610 of the retention scenario).
   */
  private void dropMootTransfer() {
    SnapshotProgress open = receiving;
    if (open != null && !snapshotApplyPending && covers(durable, open.vector())) {
      receiving = null;
    }
  }

  /** Whether {@code vector} holds at least every sequence of {@code needed}. */
  private static boolean covers(Map<NodeId, Long> vector, Map<NodeId, Long> needed) {
    for (Map.Entry<NodeId, Long> entry : needed.entrySet()) {
      if (vector.getOrDefault(entry.getKey(), 0L) < entry.getValue()) {
        return false;
      }
    }
    return true;
  }

  /** Whether a snapshot source is no longer a live member (left, or silent for 3 intervals). */
  private boolean sourceGone(NodeId source) {
    PeerProgress progress = peers.get(source);
    return progress == null
        || !progress.active
        || nowMs - progress.lastHeardMs >= 3 * config.syncIntervalMs();
  }

  private void snapshotAck(
      NodeId to, Map<NodeId, Long> vector, @Nullable DocumentKey lastKey, boolean done) {
    messages.add(
        new Envelope(to, new PeerMessage.SnapshotAck(config.nodeId(), vector, lastKey, done)));
  }

  private void snapshotApplied(Input.SnapshotApplied applied) {
    if (!snapshotApplyPending) {
      throw new IllegalStateException("snapshot applied without a pending apply");
    }
    snapshotApplyPending = false;
    SnapshotProgress applying = receiving;
    if (applying == null) {
      throw new IllegalStateException("snapshot applied without a transfer");
    }
    if (!applied.ok()) {
      receiving = receivingBeforeApply;
      return;
    }
    if (!applyingLastChunk) {
      snapshotAck(applying.source(), applying.vector(), applying.lastKey(), false);
      return;
    }
    // The whole snapshot is durable: this node now holds the effect of every entry within its
    // vector, though not those entries one by one (they join the horizon).
    receiving = null;
    for (Map.Entry<NodeId, Long> covered : applying.vector().entrySet()) {
      durable.merge(covered.getKey(), covered.getValue(), Math::max);
      accepted.merge(covered.getKey(), covered.getValue(), Math::max);
      horizon.merge(covered.getKey(), covered.getValue(), Math::max);
    }
    long ownCovered = applying.vector().getOrDefault(config.nodeId(), 0L);
    if (ownCovered > lastSequence) {
      // This node's own entries came back in a snapshot: it had lost its tail.
      lastSequence = ownCovered;
      persistedSequence = ownCovered;
    }
    snapshotAck(applying.source(), applying.vector(), applying.lastKey(), true);
  }

  private void loaded(NodeId peer, List<OplogEntry> entries) {
    if (!entries.isEmpty() && peers.containsKey(peer)) {
      messages.add(new Envelope(peer, new PeerMessage.Push(config.nodeId(), entries)));
    }
  }
}
