package io.skein.internal.engine;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.skein.ClosedException;
import io.skein.InvalidRequestException;
import io.skein.OutcomeUnknownException;
import io.skein.OverloadedException;
import io.skein.TooLargeException;
import io.skein.WriteFailedException;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.Operation;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.replica.Envelope;
import io.skein.core.replica.GatewayStatus;
import io.skein.core.replica.GatewayTerm;
import io.skein.core.replica.Input;
import io.skein.core.replica.Load;
import io.skein.core.replica.Mutation;
import io.skein.core.replica.Outcome;
import io.skein.core.replica.PeerMessage;
import io.skein.core.replica.Prune;
import io.skein.core.replica.Ready;
import io.skein.core.replica.ReplicaCore;
import io.skein.core.replica.Reply;
import io.skein.core.replica.SnapshotApply;
import io.skein.core.replica.SnapshotRead;
import io.skein.core.replica.WriteConcern;
import io.skein.internal.storage.Change;
import io.skein.internal.storage.SnapshotPage;
import io.skein.internal.storage.StorageException;
import io.skein.internal.storage.Store;
import io.skein.internal.storage.StoredDocument;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's event loop: the one thread that owns the {@link ReplicaCore} and runs its IO.
 *
 * <p>Design notes. Writers on any thread {@link #submit} into a bounded queue and get a future. The
 * loop takes everything queued at once (up to {@code drainMax}), steps each into the core, and
 * persists the resulting {@link Ready} in a single transaction before completing the futures, so
 * concurrent writers share one transaction and one fsync (group commit) without any timer: the
 * batch is whatever arrived while the previous commit was on disk. A full queue refuses at once
 * with {@link OverloadedException} (back-pressure); nothing blocks the caller.
 *
 * <p>Replication. Peer messages enter through {@link #receive} into a second bounded inbox; a full
 * inbox blocks the transport's reader for a while (back-pressure onto the peer's socket) and then
 * drops the message, which anti-entropy repairs. The core's outgoing messages go to the attached
 * {@link PeerLink} (none until the transport starts: they are dropped), and its storage reads
 * ({@link Load}) run here, between commits.
 *
 * <p>If the loop thread dies of a bug (a broken invariant), every waiting write fails, and the loop
 * refuses new ones with the cause: a node that cannot uphold its invariants stops writing.
 */
public final class EventLoop implements AutoCloseable, Replicator {
  private static final Logger log = LoggerFactory.getLogger(EventLoop.class);
  private static final long IDLE_TICK_MS = 100;
  private static final int PEER_INBOX_MAX = 1_024;
  private static final long PEER_INBOX_WAIT_MS = 1_000;
  private static final int PEER_INBOX_KIB_MAX = 64 * 1024;

  private record Command(
      List<Mutation> mutations,
      WriteConcern concern,
      boolean mustExist,
      CompletableFuture<WriteResult> result) {}

  private final ReplicaCore core;
  private final Store store;
  private final InstantSource clock;
  private final ChangeNotifier notifier;
  private final ArrayBlockingQueue<Command> queue;
  private final ArrayBlockingQueue<Inbound> peerInbox = new ArrayBlockingQueue<>(PEER_INBOX_MAX);

  /** Bytes (in KiB permits) of documents waiting in the peer inbox: bounds its memory. */
  private final Semaphore inboxBudget = new Semaphore(PEER_INBOX_KIB_MAX);

  private record Inbound(Input input, int permits) {}

  /** Entries from another site, and who waits for this node's vector once they are durable. */
  private record Ingest(Input.Ingest input, CompletableFuture<Map<NodeId, Long>> durable) {}

  private static final int INGESTS_MAX = 16;
  private final ArrayBlockingQueue<Ingest> ingests = new ArrayBlockingQueue<>(INGESTS_MAX);
  private final List<Ingest> ingesting = new ArrayList<>();

  private final Semaphore wakeups = new Semaphore(0);
  private final java.util.concurrent.ConcurrentLinkedQueue<Control> membershipInbox =
      new java.util.concurrent.ConcurrentLinkedQueue<>();

  /** A rare input (membership, reconfiguration), and who waits for the core to take it. */
  private record Control(Input input, @Nullable CompletableFuture<Void> taken) {}

  private final boolean replicating;
  private volatile PeerLink link = PeerLink.NONE;
  private volatile ReplicationStatus status;
  private final int drainMax;
  private final Thread thread;
  private final Map<Long, Command> waiting = new HashMap<>();
  private final Map<DocumentKey, Boolean> proposedLive = new HashMap<>();
  private long nextRequestId = 1;
  private volatile boolean closing;
  private volatile @Nullable Throwable failure;
  private final List<Consumer<GatewayStatus>> gatewayListeners = new CopyOnWriteArrayList<>();
  private volatile GatewayStatus gatewayStatus = GatewayStatus.NONE;
  private volatile Map<NodeId, Long> durable;
  private final Counter gatewayChanges;

  /**
   * Creates and starts the loop.
   *
   * @param queueCapacity the most writes that may wait to enter the loop
   * @param drainMax the most writes taken into one group commit
   */
  public EventLoop(
      ReplicaCore core,
      boolean replicating,
      Store store,
      InstantSource clock,
      ChangeNotifier notifier,
      int queueCapacity,
      int drainMax,
      MeterRegistry meters) {
    this.core = core;
    this.replicating = replicating;
    this.status = snapshot();
    this.durable = Map.copyOf(core.durableVector());
    this.store = store;
    this.clock = clock;
    this.notifier = notifier;
    this.queue = new ArrayBlockingQueue<>(queueCapacity);
    this.drainMax = drainMax;
    Gauge.builder("skein.write.queue.depth", queue, ArrayBlockingQueue::size)
        .description("Writes waiting to enter the event loop")
        .register(meters);
    Gauge.builder("skein.write.queue.capacity", queue, q -> queueCapacity)
        .description("Bound of the write queue")
        .register(meters);
    this.gatewayChanges =
        Counter.builder("skein.gateway.changes")
            .description("Changes of the gateway to remote peers this node saw (D1)")
            .register(meters);
    this.thread =
        io.skein.internal.runtime.Threads.platform("skein-loop-" + core.nodeId(), false, this::run);
  }

  /**
   * Submits a write.
   *
   * @param mustExist for a single delete: answer {@link WriteResult.NotFound} instead of writing a
   *     tombstone when the document does not exist
   * @return a future that completes when the write is durable, or fails with {@link
   *     WriteFailedException}, {@link OverloadedException}, {@link TooLargeException} or {@link
   *     InvalidRequestException}
   * @throws OverloadedException if the queue is full
   * @throws ClosedException if the loop is closing or has failed
   */
  public CompletableFuture<WriteResult> submit(
      List<Mutation> mutations, WriteConcern concern, boolean mustExist) {
    checkAccepting();
    Command command =
        new Command(List.copyOf(mutations), concern, mustExist, new CompletableFuture<>());
    if (!queue.offer(command)) {
      throw new OverloadedException(
          "the write queue is full (" + queue.remainingCapacity() + " free); retry later");
    }
    wakeups.release();
    return command.result();
  }

  @Override
  public boolean receive(PeerMessage message) {
    return enqueue(new Input.Received(message));
  }

  /**
   * Takes entries from another site (a cloud or remote peer, {@link Input.Ingest}). The future
   * completes, once they are persisted, with this node's durable version vector: the entries it
   * holds, those just taken included unless the group commit failed.
   *
   * @throws OverloadedException if too many batches wait already
   * @throws ClosedException if the loop is closing or has failed
   */
  public CompletableFuture<Map<NodeId, Long>> ingest(NodeId source, List<OplogEntry> entries) {
    checkAccepting();
    Ingest ingest =
        new Ingest(new Input.Ingest(source, List.copyOf(entries)), new CompletableFuture<>());
    if (!ingests.offer(ingest)) {
      throw new OverloadedException(
          "too many batches from other sites wait to be written (" + INGESTS_MAX + ")");
    }
    wakeups.release();
    return ingest.durable();
  }

  /** Returns this node's durable version vector, as of the loop's last group commit. */
  public Map<NodeId, Long> durableVector() {
    return durable;
  }

  @Override
  public boolean peerConnected(NodeId peer) {
    return enqueue(new Input.PeerConnected(peer));
  }

  private boolean enqueue(Input input) {
    if (closing || failure != null) {
      return false;
    }
    int permits = permits(input);
    try {
      if (!inboxBudget.tryAcquire(permits, PEER_INBOX_WAIT_MS, TimeUnit.MILLISECONDS)) {
        return false;
      }
      if (!peerInbox.offer(
          new Inbound(input, permits), PEER_INBOX_WAIT_MS, TimeUnit.MILLISECONDS)) {
        inboxBudget.release(permits);
        return false;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
    wakeups.release();
    return true;
  }

  /** A message's weight against the inbox budget: its documents' size in KiB, at least 1. */
  private static int permits(Input input) {
    if (!(input instanceof Input.Received received)) {
      return 1;
    }
    List<OplogEntry> entries =
        switch (received.message()) {
          case PeerMessage.Push push -> push.entries();
          case PeerMessage.SnapshotChunk chunk -> chunk.documents();
          default -> List.of();
        };
    long bytes = 0;
    for (OplogEntry entry : entries) {
      String document = entry.document();
      bytes += 64 + (document == null ? 0 : document.length());
    }
    return (int) Math.min(PEER_INBOX_KIB_MAX, Math.max(1, bytes >> 10));
  }

  @Override
  public boolean peerJoined(NodeId peer) {
    return enqueueMembership(new Input.PeerJoined(peer));
  }

  @Override
  public boolean peerLeft(NodeId peer) {
    return enqueueMembership(new Input.PeerLeft(peer));
  }

  @Override
  public boolean peerForgotten(NodeId peer) {
    return enqueueMembership(new Input.PeerForgotten(peer));
  }

  /**
   * Membership changes are rare (one per peer joining or leaving) and must never be dropped: a lost
   * join would make the core ignore the peer, a lost leave would keep counting it. They go through
   * their own unbounded queue.
   */
  private boolean enqueueMembership(Input input) {
    if (closing || failure != null) {
      return false;
    }
    membershipInbox.add(new Control(input, null));
    wakeups.release();
    return true;
  }

  /**
   * Changes the core's live timings ({@link Input.Reconfigure}); the future completes once the core
   * has taken them, or fails if it refused them or the loop stopped.
   */
  public CompletableFuture<Void> reconfigure(
      long syncIntervalMs, long replicationTimeoutMs, long retentionMs) {
    CompletableFuture<Void> taken = new CompletableFuture<>();
    if (closing || failure != null) {
      taken.completeExceptionally(new ClosedException("the write loop is not running"));
      return taken;
    }
    membershipInbox.add(
        new Control(
            new Input.Reconfigure(syncIntervalMs, replicationTimeoutMs, retentionMs), taken));
    wakeups.release();
    return taken;
  }

  @Override
  public void attach(PeerLink link) {
    this.link = link;
  }

  @Override
  public ReplicationStatus status() {
    return status;
  }

  private ReplicationStatus snapshot() {
    Map<NodeId, Long> lag = new HashMap<>();
    Map<NodeId, Long> own = new HashMap<>();
    for (NodeId peer : core.knownPeers()) {
      lag.put(peer, core.lagEntries(peer));
      own.put(peer, core.ownLagEntries(peer));
    }
    return new ReplicationStatus(core.durableVector(), lag, own, core.refusedEntries());
  }

  private void checkAccepting() {
    Throwable failed = failure;
    if (failed != null) {
      throw new ClosedException("the write loop stopped after an internal error: " + failed);
    }
    if (closing) {
      throw new ClosedException("the store is closing");
    }
  }

  private void run() {
    // Reads from here use a connection no client can hold.
    io.skein.internal.storage.SqliteStore.markLoopThread();
    List<Command> batch = new ArrayList<>();
    List<Inbound> inputs = new ArrayList<>();
    try {
      while (true) {
        wakeups.tryAcquire(IDLE_TICK_MS, TimeUnit.MILLISECONDS);
        wakeups.drainPermits();
        core.step(new Input.Tick(clock.millis()));
        Control change;
        while ((change = membershipInbox.poll()) != null) {
          stepControl(change);
        }
        peerInbox.drainTo(inputs);
        for (Inbound inbound : inputs) {
          inboxBudget.release(inbound.permits());
          core.step(inbound.input());
        }
        inputs.clear();
        ingests.drainTo(ingesting);
        for (Ingest ingest : ingesting) {
          core.step(ingest.input());
        }
        queue.drainTo(batch, drainMax);
        for (Command command : batch) {
          propose(command);
        }
        batch.clear();
        processReady();
        if (!ingesting.isEmpty()) {
          Map<NodeId, Long> durable = Map.copyOf(core.durableVector());
          for (Ingest ingest : ingesting) {
            ingest.durable().complete(durable);
          }
          ingesting.clear();
        }
        gatewayStatus = core.gatewayStatus();
        if (replicating || !core.knownPeers().isEmpty()) {
          status = snapshot();
        }
        if (closing && queue.isEmpty() && core.pendingWriteCount() == 0) {
          return;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      fail(new IllegalStateException("event loop interrupted", e), batch);
    } catch (RuntimeException | Error e) {
      log.error("event loop failed; this node stops accepting writes", e);
      fail(e, batch);
    }
  }

  private void propose(Command command) {
    if (command.mustExist() && !exists(command.mutations().get(0).key())) {
      command.result().complete(new WriteResult.NotFound());
      return;
    }
    long requestId = nextRequestId++;
    waiting.put(requestId, command);
    for (Mutation mutation : command.mutations()) {
      proposedLive.put(mutation.key(), mutation.operation() == Operation.PUT);
    }
    core.step(new Input.Propose(requestId, command.mutations(), command.concern()));
  }

  /** Whether a document exists, counting writes proposed but not yet persisted. */
  private boolean exists(DocumentKey key) {
    Boolean proposed = proposedLive.get(key);
    if (proposed != null) {
      return proposed;
    }
    Optional<StoredDocument> stored = store.get(key);
    return stored.isPresent() && !stored.get().isTombstone();
  }

  private void processReady() {
    while (core.hasReady()) {
      Ready ready = core.ready();
      List<OplogEntry> entries = ready.entriesToPersist();
      if (!entries.isEmpty()) {
        persist(entries, ready);
        durable = Map.copyOf(core.durableVector());
        if (replicating || !core.knownPeers().isEmpty()) {
          status = snapshot(); // before the replies: a client that got its 200 sees its entry
        }
      }
      for (Reply reply : ready.replies()) {
        complete(reply);
      }
      boolean termSaved = saveGatewayTerm(ready.gatewayTerm());
      PeerLink out = link;
      for (Envelope envelope : ready.messages()) {
        if (termSaved || !isGatewayMessage(envelope.message())) {
          out.send(envelope.to(), envelope.message());
        }
      }
      GatewayStatus gatewayChange = ready.gatewayChanged();
      if (gatewayChange != null) {
        gatewayChanged(gatewayChange);
      }
      for (Load load : ready.loads()) {
        List<OplogEntry> loaded = List.of();
        try {
          loaded = store.entries(load.origin(), load.fromSequence(), load.limit());
        } catch (StorageException e) {
          log.atWarn().setCause(e).log("reading entries for a peer failed; anti-entropy retries");
        }
        core.step(new Input.Loaded(load.peer(), loaded));
      }
      for (SnapshotApply apply : ready.snapshotApplies()) {
        applySnapshot(apply);
      }
      for (SnapshotRead read : ready.snapshotReads()) {
        try {
          SnapshotPage page = store.snapshotDocuments(read.vector(), read.afterKey(), read.limit());
          core.step(
              new Input.SnapshotLoaded(
                  read.peer(),
                  read.vector(),
                  read.afterKey(),
                  page.documents(),
                  page.lastKey(),
                  page.done()));
        } catch (StorageException e) {
          // Nothing stepped: the core resends the read after a sync interval.
          log.atWarn().setCause(e).log("reading a snapshot chunk failed; retrying later");
        }
      }
      for (Prune prune : ready.prunes()) {
        Map<NodeId, Long> horizon = Map.of();
        try {
          horizon = store.prune(prune.cutoffPhysicalMs(), prune.tombstoneStable());
        } catch (StorageException e) {
          log.atWarn().setCause(e).log("retention failed; retrying next round");
        }
        core.step(new Input.Pruned(horizon));
      }
    }
    proposedLive.clear();
  }

  /**
   * Persists the gateway election's term before the messages that depend on it leave (a vote sent
   * and then forgotten by a crash could elect two gateways in one epoch).
   *
   * @return whether the messages may leave: no term to save, or it is on disk
   */
  private boolean saveGatewayTerm(@Nullable GatewayTerm term) {
    if (term == null) {
      return true;
    }
    try {
      store.saveGatewayTerm(term);
      return true;
    } catch (StorageException e) {
      // The votes and requests of this round stay unsent (they would promise what the disk does
      // not hold); the election retries from the next round.
      log.atWarn()
          .setCause(e)
          .log("saving the gateway election term failed; its votes stay unsent");
      return false;
    }
  }

  private static boolean isGatewayMessage(PeerMessage message) {
    return message instanceof PeerMessage.GatewayVoteRequest
        || message instanceof PeerMessage.GatewayVote
        || message instanceof PeerMessage.GatewayBeacon;
  }

  private void gatewayChanged(GatewayStatus change) {
    NodeId gateway = change.gateway();
    // The core reports a change only when the gateway or this node's role differs from the last.
    log.atInfo()
        .addKeyValue("isGateway", change.isGateway())
        .addKeyValue("gateway", gateway)
        .addKeyValue("epoch", change.epoch())
        .log("gateway changed");
    gatewayChanges.increment();
    for (Consumer<GatewayStatus> listener : gatewayListeners) {
      try {
        listener.accept(change);
      } catch (RuntimeException e) {
        log.warn("a gateway listener failed; replication goes on", e);
      }
    }
  }

  /**
   * Dynamo mode: turns the gateway election (D1) on or off, or changes its timings; the future
   * completes once the core has taken the change.
   */
  public CompletableFuture<Void> configureGateway(
      boolean enabled, long electionIntervalMs, long heartbeatMs) {
    CompletableFuture<Void> taken = new CompletableFuture<>();
    if (closing || failure != null) {
      taken.completeExceptionally(new ClosedException("the write loop is not running"));
      return taken;
    }
    membershipInbox.add(
        new Control(new Input.ConfigureGateway(enabled, electionIntervalMs, heartbeatMs), taken));
    wakeups.release();
    return taken;
  }

  /**
   * Adds a listener for gateway changes (called on the loop thread; must return quickly and must
   * not write to this store).
   */
  public void onGatewayChanged(Consumer<GatewayStatus> listener) {
    gatewayListeners.add(listener);
  }

  /** Returns which node this node takes for the gateway, as of the loop's last step. */
  public GatewayStatus gatewayStatus() {
    return gatewayStatus;
  }

  private void applySnapshot(SnapshotApply apply) {
    boolean ok = false;
    try {
      List<Change> changes = store.applySnapshot(apply, core.lastHlc());
      ok = true;
      if (!changes.isEmpty()) {
        notifier.publish(changes.get(changes.size() - 1).lsn());
      }
      if (apply.done()) {
        log.atInfo()
            .addKeyValue("source", apply.source())
            .log("snapshot from a peer applied; incremental sync resumes");
      }
    } catch (StorageException e) {
      log.atWarn().setCause(e).log("applying a snapshot chunk failed; the transfer resumes");
    }
    core.step(new Input.SnapshotApplied(apply.source(), ok));
  }

  private void persist(List<OplogEntry> entries, Ready ready) {
    try {
      List<Change> changes = store.append(entries, ready.hlcHighWater());
      core.step(new Input.Persisted(lastLocalSequence(entries)));
      notifier.publish(changes.get(changes.size() - 1).lsn());
    } catch (StorageException e) {
      log.atWarn()
          .addKeyValue("entries", entries.size())
          .setCause(e)
          .log("group commit failed and rolled back");
      core.step(
          new Input.PersistFailed(firstLocalSequence(entries), String.valueOf(e.getMessage())));
    }
  }

  private long lastLocalSequence(List<OplogEntry> entries) {
    long last = core.persistedSequence();
    for (OplogEntry entry : entries) {
      if (entry.origin().equals(core.nodeId())) {
        last = Math.max(last, entry.sequence());
      }
    }
    return last;
  }

  private long firstLocalSequence(List<OplogEntry> entries) {
    for (OplogEntry entry : entries) {
      if (entry.origin().equals(core.nodeId())) {
        return entry.sequence();
      }
    }
    return core.lastSequence() + 1;
  }

  private void complete(Reply reply) {
    Command command = waiting.remove(reply.requestId());
    if (command == null) {
      throw new IllegalStateException("reply to unknown request " + reply.requestId());
    }
    CompletableFuture<WriteResult> result = command.result();
    switch (reply.outcome()) {
      case Outcome.Committed committed ->
          result.complete(new WriteResult.Committed(committed.entries()));
      case Outcome.Rejected rejected -> result.completeExceptionally(rejection(rejected));
      case Outcome.PersistFailed failed ->
          result.completeExceptionally(
              new WriteFailedException("the write was rolled back: " + failed.message()));
      case Outcome.TimedOut timedOut ->
          result.completeExceptionally(new OutcomeUnknownException(timedOut.message()));
      case Outcome.NotPrimary notPrimary ->
          result.completeExceptionally(new WriteFailedException(notPrimary.message()));
    }
  }

  static RuntimeException rejection(Outcome.Rejected rejected) {
    return switch (rejected.code()) {
      case "overloaded" -> new OverloadedException(rejected.message());
      case "batch_too_large" -> new TooLargeException(rejected.code(), rejected.message());
      default -> new InvalidRequestException(rejected.code(), rejected.message());
    };
  }

  private void fail(Throwable cause, List<Command> batch) {
    failure = cause;
    WriteFailedException failed = new WriteFailedException("the write loop stopped: " + cause);
    for (Command command : waiting.values()) {
      command.result().completeExceptionally(failed);
    }
    for (Command command : batch) {
      command.result().completeExceptionally(failed);
    }
    Command queued;
    while ((queued = queue.poll()) != null) {
      queued.result().completeExceptionally(failed);
    }
    waiting.clear();
    for (Ingest ingest : ingesting) {
      ingest.durable().completeExceptionally(failed);
    }
    Ingest pending;
    while ((pending = ingests.poll()) != null) {
      pending.durable().completeExceptionally(failed);
    }
  }

  private void stepControl(Control control) {
    CompletableFuture<Void> taken = control.taken();
    try {
      core.step(control.input());
    } catch (IllegalArgumentException e) {
      // A refused reconfiguration leaves the core as it was; the caller validated first.
      if (taken == null) {
        throw e;
      }
      taken.completeExceptionally(e);
      return;
    }
    if (taken != null) {
      taken.complete(null);
    }
  }

  /** Returns whether the loop is running and accepting writes. */
  public boolean isHealthy() {
    return failure == null && !closing && thread.isAlive();
  }

  /**
   * Stops accepting writes, finishes every write already queued, and stops the thread. The store
   * stays open: its owner closes it after this returns.
   */
  @Override
  public void close() {
    closing = true;
    try {
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    // A writer that passed the closing check just before it was set may still have queued.
    ClosedException closed = new ClosedException("the store closed before the write was taken");
    Command late;
    while ((late = queue.poll()) != null) {
      late.result().completeExceptionally(closed);
    }
    Ingest pending;
    while ((pending = ingests.poll()) != null) {
      pending.durable().completeExceptionally(new ClosedException("the write loop stopped"));
    }
    Control control;
    while ((control = membershipInbox.poll()) != null) {
      CompletableFuture<Void> taken = control.taken();
      if (taken != null) {
        taken.completeExceptionally(new ClosedException("the write loop stopped"));
      }
    }
    notifier.wakeAll();
  }
}
