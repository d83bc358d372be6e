package io.skein.internal.engine;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.skein.ClosedException;
import io.skein.NotPrimaryException;
import io.skein.OutcomeUnknownException;
import io.skein.OverloadedException;
import io.skein.WriteFailedException;
import io.skein.core.leader.LeaderCore;
import io.skein.core.leader.LeaderInput;
import io.skein.core.leader.LeaderMembers;
import io.skein.core.leader.LeaderMessage;
import io.skein.core.leader.LeaderReady;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.Operation;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.replica.Mutation;
import io.skein.core.replica.Outcome;
import io.skein.core.replica.PeerMessage;
import io.skein.core.replica.Reply;
import io.skein.core.replica.WriteConcern;
import io.skein.internal.storage.Change;
import io.skein.internal.storage.SnapshotPage;
import io.skein.internal.storage.SqliteStore;
import io.skein.internal.storage.StorageException;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
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
 * The leader-mode event loop (issue 4): the one thread that owns a {@link LeaderCore} and runs its
 * {@link LeaderReady} against SQLite in the contract's order: persist (epoch and vote, truncation
 * into {@code _system_rollback}, append), apply up to the commit index, answer, send, read.
 *
 * <p>It is also the {@link Replicator} the peer transport feeds: leader-mode messages in, a {@link
 * PeerLink} out. A storage failure stops the loop: a member that cannot keep its log must not vote
 * or acknowledge.
 *
 * <p>Why one class of this size (about 1,030 lines, just over the project's 1,000-line guide): it
 * is the one shell of {@link LeaderCore}, and every step of a ready (persist, install a snapshot
 * chunk, apply, answer, send, read log entries and snapshot chunks, compact) touches the same
 * loop-owned state: the applied index, the unapplied entries' cache, the pending client futures and
 * the busy time the core is told about. The parts with state of their own are nested and small
 * ({@code Unapplied}, {@code LeadershipLog}); the storage work is {@code SqliteStore}'s.
 */
public final class LeaderLoop implements AutoCloseable, Replicator {
  private static final Logger log = LoggerFactory.getLogger(LeaderLoop.class);
  private static final long TICK_MS = 10;

  /**
   * The most committed entries applied to the documents in one transaction. A large batch commits
   * in one step; applying it whole would stop the loop (and the primary's heartbeats) for as long
   * as the transaction takes, hundreds of ms for 10,000 entries, enough to cost an election. In
   * slices, the loop ticks between them.
   */
  static final int APPLY_ENTRIES_MAX = 256;

  /** The most unapplied entries the loop keeps for the apply (beyond, it reads the log). */
  static final int KNOWN_MAX = 65_536;

  /** The most document bytes (two per character) those entries may hold: 64 MiB. */
  static final long KNOWN_BYTES_MAX = 64L << 20;

  private static final int INBOX_MAX = 4_096;

  /**
   * A snapshot of the loop's view, for status pages.
   *
   * @param role the role
   * @param epoch the epoch
   * @param leader the primary, or {@code null}
   * @param commitIndex the commit index
   * @param lastIndex the last log index
   * @param matchIndexes per follower, the matched index (primary only)
   * @param appliedIndex the last index applied to the documents
   * @param members the configuration in force (the last in the log, committed or not)
   * @param membersIndex the log index of that configuration (0: the configured members)
   * @param changingMembers whether a membership change is under way (the configuration is not
   *     committed, or a learner is catching up)
   */
  public record Status(
      LeaderCore.Role role,
      long epoch,
      @Nullable NodeId leader,
      long commitIndex,
      long lastIndex,
      Map<NodeId, Long> matchIndexes,
      long appliedIndex,
      LeaderMembers members,
      long membersIndex,
      boolean changingMembers) {}

  private sealed interface Event {}

  private record Write(
      List<Mutation> mutations,
      WriteConcern concern,
      boolean mustExist,
      CompletableFuture<WriteResult> result)
      implements Event {}

  private record Read(CompletableFuture<Long> result) implements Event {}

  private record Message(LeaderMessage message) implements Event {}

  private record MembersChange(LeaderInput.ChangeMembers input, CompletableFuture<Outcome> result)
      implements Event {}

  /** A reconfiguration, and who waits for the core to take it. Rare: its own unbounded queue. */
  private record Control(LeaderInput.Reconfigure input, CompletableFuture<Void> taken) {}

  private final java.util.concurrent.ConcurrentLinkedQueue<Control> controls =
      new java.util.concurrent.ConcurrentLinkedQueue<>();

  private final LeaderCore core;
  private final SqliteStore store;
  private final InstantSource clock;
  private final ChangeNotifier notifier;
  private final ArrayBlockingQueue<Event> inbox = new ArrayBlockingQueue<>(INBOX_MAX);
  private final Semaphore wakeups = new Semaphore(0);
  private final Map<Long, CompletableFuture<WriteResult>> writes = new HashMap<>();
  private final Unapplied unapplied = new Unapplied();
  private final Map<Long, CompletableFuture<Long>> reads = new HashMap<>();
  private final Map<Long, CompletableFuture<Outcome>> changes = new HashMap<>();
  private final List<Consumer<LeaderMembers>> membersListeners = new CopyOnWriteArrayList<>();

  /** The configuration in force. */
  private volatile LeaderMembers members;

  /** The members to keep talking to ({@link LeaderCore#reachableMembers()}), for listeners. */
  private volatile LeaderMembers reachable;

  private final List<Consumer<LeaderReady.LeadershipChanged>> listeners =
      new CopyOnWriteArrayList<>();
  private final Thread thread;
  private volatile PeerLink link = PeerLink.NONE;
  private volatile Status status;
  private volatile boolean closing;
  private volatile boolean stopped;
  private volatile @Nullable Throwable failure;
  private long nextRequestId = 1;
  private long appliedIndex;

  /** Time this loop spent in storage since the last tick, handed to the core as Busy. */
  private long busyNanos;

  /**
   * When the loop entered its current storage call (0 when it is not in one), for the keepalive: a
   * whole batch applies in one transaction, which can take longer than an election interval.
   */
  private volatile long storageSinceNanos;

  /**
   * The last message that tells each peer this node is alive: a primary's last heartbeat to each
   * follower, a secondary's last successful answer to its primary. Resent by the keepalive while
   * the loop is stuck in storage, so peers do not take a long transaction for a death. A resent
   * heartbeat or answer is an ordinary duplicate to its receiver (match indexes and rounds only
   * grow there).
   */
  private final Map<NodeId, LeaderMessage> keepalive =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** The heartbeat interval in force, for the keepalive's schedule. */
  private volatile long heartbeatMs;

  /** The most a keepalive stands in for a stuck loop: a disk that hangs must cost the role. */
  static final long KEEPALIVE_MAX_MS = 30_000;

  private final java.util.concurrent.ScheduledExecutorService keepaliveTimer;
  private final Counter keepalives;

  /** Committed writes whose entries are not applied yet: answered once they are, in order. */
  private final java.util.ArrayDeque<Reply> appliedLater = new java.util.ArrayDeque<>();

  private long lastEpochSeen;
  private long noPrimarySinceMs = -1;
  private final Counter elections;
  private final Counter noPrimaryMs;
  private final Counter leadershipChanges;
  private final LeadershipLog leadershipLog = new LeadershipLog();

  /** Creates and starts the loop. */
  public LeaderLoop(
      LeaderCore core,
      SqliteStore store,
      InstantSource clock,
      ChangeNotifier notifier,
      MeterRegistry meters) {
    this.core = core;
    this.store = store;
    this.clock = clock;
    this.notifier = notifier;
    // The core resumed from the store's applied index (its commit index until it hears more).
    this.appliedIndex = core.commitIndex();
    this.lastEpochSeen = core.epoch();
    for (long from = appliedIndex + 1; ; ) {
      List<OplogEntry> page = store.leaderEntries(from, 4_096);
      if (page.isEmpty()) {
        break;
      }
      page.forEach(unapplied::appended);
      from = page.get(page.size() - 1).index() + 1;
    }
    this.elections =
        Counter.builder("skein.leader.elections")
            .description("Epochs this node entered (each one is an election somewhere)")
            .register(meters);
    this.noPrimaryMs =
        Counter.builder("skein.leader.no.primary.ms")
            .description("Milliseconds this node knew of no primary")
            .register(meters);
    this.leadershipChanges =
        Counter.builder("skein.leader.leadership.changes")
            .description(
                "Changes of this node's role, or of the primary or epoch it follows (a refused"
                    + " pre-vote that returns to the same primary is not one)")
            .register(meters);
    Gauge.builder("skein.leader.epoch", this, l -> l.status.epoch())
        .description("The epoch this node is in")
        .register(meters);
    Gauge.builder(
            "skein.leader.is.primary",
            this,
            l -> l.status.role() == LeaderCore.Role.PRIMARY ? 1 : 0)
        .description("1 while this node is the primary")
        .register(meters);
    Gauge.builder("skein.leader.commit.index", this, l -> l.status.commitIndex())
        .description("The highest log index known committed")
        .register(meters);
    this.members = core.members();
    this.reachable = core.reachableMembers();
    this.status = snapshot();
    this.heartbeatMs = core.config().heartbeatMs();
    this.keepalives =
        Counter.builder("skein.leader.keepalives")
            .description("Liveness messages resent while the loop was busy in storage")
            .register(meters);
    this.keepaliveTimer =
        io.skein.internal.runtime.Threads.scheduler("skein-keepalive-" + core.config().nodeId());
    keepaliveTimer.scheduleWithFixedDelay(this::keepAlive, 10, 10, TimeUnit.MILLISECONDS);
    this.thread =
        io.skein.internal.runtime.Threads.platform(
            "skein-leader-" + core.config().nodeId(), false, this::run);
  }

  /** Attaches the transport. */
  @Override
  public void attach(PeerLink link) {
    this.link = link;
  }

  /** Adds a listener for leadership changes (called on the loop thread; must not block). */
  public void onLeadershipChanged(Consumer<LeaderReady.LeadershipChanged> listener) {
    listeners.add(listener);
  }

  /**
   * Submits a write; the future completes with its entries once its concern is met, or fails with
   * {@link WriteFailedException} (not primary), {@link OutcomeUnknownException} or {@link
   * OverloadedException}.
   */
  public CompletableFuture<WriteResult> submit(
      List<Mutation> mutations, WriteConcern concern, boolean mustExist) {
    CompletableFuture<WriteResult> result = new CompletableFuture<>();
    offer(new Write(List.copyOf(mutations), concern, mustExist, result));
    return result;
  }

  /** Confirms leadership for a strong read; completes with the index the read must see. */
  public CompletableFuture<Long> readIndex() {
    CompletableFuture<Long> result = new CompletableFuture<>();
    offer(new Read(result));
    return result;
  }

  @Override
  public boolean leaderMode() {
    return true;
  }

  /** A dynamo-mode message: never expected here (the transport refuses it first). */
  @Override
  public boolean receive(PeerMessage message) {
    return false;
  }

  @Override
  public boolean receiveLeader(LeaderMessage message) {
    return receive(message);
  }

  /** The primary's heartbeats reach a reconnected peer within one heartbeat; nothing to do. */
  @Override
  public boolean peerConnected(NodeId peer) {
    return true;
  }

  /** Leader-mode membership is the configured members (discovery is dynamo-only). */
  @Override
  public boolean peerJoined(NodeId peer) {
    return true;
  }

  @Override
  public boolean peerLeft(NodeId peer) {
    return true;
  }

  /** On the primary, per follower, the log entries it does not hold yet. */
  @Override
  public ReplicationStatus status() {
    Status now = status;
    Map<NodeId, Long> lag = new HashMap<>();
    if (now.role() == LeaderCore.Role.PRIMARY) {
      now.matchIndexes().forEach((peer, match) -> lag.put(peer, now.lastIndex() - match));
    }
    return new ReplicationStatus(Map.of(), lag, 0);
  }

  /** Returns the loop's view: role, epoch, primary, indexes. */
  public Status leaderStatus() {
    return status;
  }

  /** Whether the loop runs (it stops for good on a storage failure). */
  public boolean isHealthy() {
    return !closing && failure == null && thread.isAlive();
  }

  /** Hands a message from a member to the loop; false if dropped (inbox full or closing). */
  public boolean receive(LeaderMessage message) {
    if (closing || failure != null || !inbox.offer(new Message(message))) {
      return false;
    }
    wakeups.release();
    return true;
  }

  /**
   * Changes the core's live timings ({@link LeaderInput.Reconfigure}); the future completes once
   * the core has taken them, or fails if it refused them or the loop stopped.
   */
  public CompletableFuture<Void> reconfigure(
      long electionIntervalMs, long heartbeatMs, long replicationTimeoutMs) {
    CompletableFuture<Void> taken = new CompletableFuture<>();
    if (closing || failure != null || stopped) {
      taken.completeExceptionally(new ClosedException("the leader loop is not running"));
      return taken;
    }
    controls.add(
        new Control(
            new LeaderInput.Reconfigure(electionIntervalMs, heartbeatMs, replicationTimeoutMs),
            taken));
    wakeups.release();
    if (stopped) {
      failControls();
    }
    return taken;
  }

  private void stepControls() {
    Control control;
    while ((control = controls.poll()) != null) {
      try {
        core.step(control.input());
        heartbeatMs = core.config().heartbeatMs();
        control.taken().complete(null);
      } catch (IllegalArgumentException e) {
        control.taken().completeExceptionally(e); // refused: the core is unchanged
      }
    }
  }

  private void failControls() {
    Control control;
    while ((control = controls.poll()) != null) {
      control.taken().completeExceptionally(new ClosedException("the leader loop stopped"));
    }
  }

  private void offer(Event event) {
    Throwable failed = failure;
    if (failed != null || closing) {
      throw new ClosedException("the leader loop is not running");
    }
    if (!inbox.offer(event)) {
      throw new OverloadedException("the leader loop's inbox is full; retry later");
    }
    wakeups.release();
    if (stopped) {
      failQueued(); // the loop ended between the check and the offer: nobody else will answer
    }
  }

  private void run() {
    // Reads from here use a connection no client can hold.
    io.skein.internal.storage.SqliteStore.markLoopThread();
    List<Event> events = new ArrayList<>();
    try {
      while (!closing) {
        wakeups.tryAcquire(TICK_MS, TimeUnit.MILLISECONDS);
        wakeups.drainPermits();
        if (link != PeerLink.NONE) {
          // This loop's own storage time is no one else's silence (LeaderInput.Busy).
          long busyMs = TimeUnit.NANOSECONDS.toMillis(busyNanos);
          busyNanos = 0;
          if (busyMs > 0) {
            core.step(new LeaderInput.Busy(busyMs));
          }
          // Time starts with the transport, which attaches when it starts dialling: election
          // timeouts (and a secondary's start-up grace) count from when the peers can be reached,
          // not from when the store opened or the listener began to start.
          core.step(new LeaderInput.Tick(clock.millis()));
        }
        stepControls();
        inbox.drainTo(events);
        for (Event event : events) {
          switch (event) {
            case Write write -> propose(write);
            case Read read -> {
              long id = nextRequestId++;
              reads.put(id, read.result());
              core.step(new LeaderInput.ReadIndex(id));
            }
            case Message message -> core.step(new LeaderInput.Received(message.message()));
            case MembersChange change -> {
              long id = nextRequestId++;
              changes.put(id, change.result());
              LeaderInput.ChangeMembers in = change.input();
              core.step(
                  new LeaderInput.ChangeMembers(
                      id, in.member(), in.add(), in.url(), in.timeoutMs()));
            }
          }
        }
        events.clear();
        processReady();
        applyCommitted();
        if (store.compactLeaderLogSlice()) {
          wakeups.release(); // more compacted rows to delete: a slice a turn
        }
        status = snapshot();
        timeWithoutPrimary();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failure = e;
    } catch (RuntimeException | Error e) {
      log.error("leader loop failed; this node stops taking part", e);
      failure = e;
    } finally {
      stopped = true;
      // A proposed write may be in a follower's log and commit under the next primary: its
      // outcome is unknown. What never reached the core was not written.
      // Committed writes waiting to be applied are committed: a restart applies them from the log.
      Reply committed;
      while ((committed = appliedLater.poll()) != null) {
        complete(committed);
      }
      OutcomeUnknownException unknown =
          new OutcomeUnknownException(
              "the leader loop stopped; the write may still commit under the next primary");
      writes.values().forEach(f -> f.completeExceptionally(unknown));
      reads.values().forEach(f -> f.completeExceptionally(new ClosedException("closing")));
      changes
          .values()
          .forEach(
              f ->
                  f.complete(
                      new Outcome.TimedOut(
                          "the leader loop stopped; the membership change's outcome is unknown")));
      failQueued();
      failControls();
    }
  }

  /** Fails every event still in the inbox: none of them reached the core. */
  private void failQueued() {
    ClosedException closed = new ClosedException("the leader loop stopped; nothing was written");
    Event event;
    while ((event = inbox.poll()) != null) {
      switch (event) {
        case Write write -> write.result().completeExceptionally(closed);
        case Read read -> read.result().completeExceptionally(closed);
        case MembersChange change -> change.result().completeExceptionally(closed);
        case Message message -> {}
      }
    }
  }

  private void propose(Write write) {
    if (write.mustExist() && core.role() == LeaderCore.Role.PRIMARY) {
      DocumentKey key = write.mutations().get(0).key();
      Boolean live = unapplied.live(key);
      boolean exists;
      try {
        exists = live != null ? live : store.get(key).map(d -> !d.isTombstone()).orElse(false);
      } catch (StorageException e) {
        write.result().completeExceptionally(e); // the read pool is exhausted: retry later
        return;
      }
      if (!exists) {
        write.result().complete(new WriteResult.NotFound());
        return;
      }
    }
    long id = nextRequestId++;
    writes.put(id, write.result());
    long before = core.lastIndex();
    core.step(new LeaderInput.Propose(id, write.mutations(), write.concern()));
    if (core.lastIndex() == before + write.mutations().size()) {
      // Appended: the next must-exist delete in this same turn must see these writes.
      long index = before;
      for (Mutation mutation : write.mutations()) {
        unapplied.proposed(++index, mutation.key(), mutation.operation() == Operation.PUT);
      }
    }
  }

  /**
   * The keys written by log entries not yet applied, with whether the newest such entry leaves the
   * document live: a must-exist delete on the primary sees writes that are in the log but not yet
   * committed (a {@code w=1} put, or entries a new primary inherited).
   */
  private static final class Unapplied {
    private record KeyOp(DocumentKey key, boolean live) {}

    private final TreeMap<Long, KeyOp> byIndex = new TreeMap<>();
    private final Map<DocumentKey, Long> newest = new HashMap<>();

    /**
     * The entries appended and not yet applied, so that the apply upserts them without reading the
     * log back. Bounded: past {@link #KNOWN_MAX} the apply reads the rest from the log.
     */
    final TreeMap<Long, OplogEntry> entries = new TreeMap<>();

    /** What {@link #entries} holds, estimated as in the store's log reads. */
    private long knownBytes;

    private void forget(Map<Long, OplogEntry> gone) {
      for (OplogEntry e : gone.values()) {
        knownBytes -= bytes(e);
      }
      gone.clear();
    }

    private static long bytes(OplogEntry e) {
      String document = e.document();
      return 128 + (document == null ? 0 : 2L * document.length());
    }

    @Nullable Boolean live(DocumentKey key) {
      Long index = newest.get(key);
      return index == null ? null : Objects.requireNonNull(byIndex.get(index)).live();
    }

    void appended(OplogEntry entry) {
      proposed(entry.index(), entry.key(), entry.operation() == Operation.PUT);
      long bytes = bytes(entry);
      if (entries.size() < KNOWN_MAX && knownBytes + bytes <= KNOWN_BYTES_MAX) {
        entries.put(entry.index(), entry);
        knownBytes += bytes;
      }
    }

    void proposed(long index, DocumentKey key, boolean live) {
      byIndex.put(index, new KeyOp(key, live));
      newest.merge(key, index, Math::max);
    }

    void applied(long upToIndex) {
      Map<Long, KeyOp> done = byIndex.headMap(upToIndex, true);
      for (Map.Entry<Long, KeyOp> e : done.entrySet()) {
        newest.remove(e.getValue().key(), e.getKey());
      }
      done.clear();
      forget(entries.headMap(upToIndex, true));
    }

    void truncated(long fromIndex) {
      byIndex.tailMap(fromIndex, true).clear();
      forget(entries.tailMap(fromIndex, true));
      newest.clear();
      byIndex.forEach((index, op) -> newest.put(op.key(), index));
    }
  }

  private void timeWithoutPrimary() {
    long now = clock.millis();
    if (status.leader() == null) {
      if (noPrimarySinceMs >= 0) {
        noPrimaryMs.increment(Math.max(0, now - noPrimarySinceMs));
      }
      noPrimarySinceMs = now;
    } else {
      noPrimarySinceMs = -1;
    }
  }

  private void processReady() {
    while (core.hasReady()) {
      LeaderReady ready = core.ready();
      if (ready.leadership() != null) {
        keepalive.clear(); // a new role: the old liveness messages no longer hold
      }
      LeaderReady.HardState hard = ready.hardState();
      PeerLink out = link;
      // A primary may send its appends before its own disk write (Raft thesis 10.2.1): it counts
      // itself for a commit only once persisted. Not when the epoch or vote changed, or the log
      // was truncated, in this ready: those must be durable before anything depending on them
      // leaves (today only a primary's readies carry appends, and it never truncates).
      boolean appendsFirst = hard == null && ready.truncateFrom() == 0;
      if (appendsFirst) {
        for (LeaderReady.Outgoing message : ready.messages()) {
          if (message.message() instanceof LeaderMessage.Append) {
            out.sendLeader(message.to(), message.message());
          }
        }
      }
      if (hard != null || ready.truncateFrom() != 0 || !ready.entriesToAppend().isEmpty()) {
        if (ready.truncateFrom() != 0) {
          unapplied.truncated(ready.truncateFrom());
        }
        ready.entriesToAppend().forEach(unapplied::appended);
        long persistStart = System.nanoTime();
        storageSinceNanos = persistStart;
        // What is committed rides in the same transaction as the append: one commit (and one
        // fsync) per turn under load, where a separate apply would be a second.
        long commitIndex = core.commitIndex();
        long applyTo = commitIndex > appliedIndex ? sliceEnd(commitIndex) : 0;
        List<Change> applied;
        try {
          applied =
              store.appendLeaderLog(
                  hard == null
                      ? null
                      : new SqliteStore.LeaderHardState(hard.epoch(), hard.votedFor()),
                  ready.truncateFrom(),
                  ready.entriesToAppend(),
                  ready.openToAppend(),
                  ready.hlcHighWater(),
                  applyTo,
                  unapplied.entries);
        } finally {
          storageSinceNanos = 0;
        }
        busyNanos += System.nanoTime() - persistStart;
        applied(applied);
        core.step(new LeaderInput.Persisted(core.lastIndex()));
      }
      LeaderReady.SnapshotInstall install = ready.install();
      if (install != null) {
        install(install, ready);
      }
      if (hard != null && hard.epoch() > lastEpochSeen) {
        elections.increment();
        lastEpochSeen = hard.epoch();
      }
      // Only this loop applies, so most readies (heartbeats, replies) need no storage round. A
      // write is answered once its entries are applied, so that its client reads it back.
      applyCommitted();
      for (Reply reply : ready.replies()) {
        CompletableFuture<Outcome> change = changes.remove(reply.requestId());
        if (change != null) {
          change.complete(reply.outcome());
          continue;
        }
        if (reply.outcome() instanceof Outcome.Committed committed
            && lastIndex(committed) > appliedIndex) {
          appliedLater.add(reply);
        } else {
          complete(reply);
        }
      }
      for (LeaderReady.ReadReply read : ready.readReplies()) {
        CompletableFuture<Long> future = reads.remove(read.requestId());
        if (future != null) {
          if (read.readIndex() < 0) {
            future.completeExceptionally(notPrimary(read.leader()));
          } else {
            future.complete(read.readIndex());
          }
        }
      }
      for (LeaderReady.Outgoing message : ready.messages()) {
        if (!(appendsFirst && message.message() instanceof LeaderMessage.Append)) {
          out.sendLeader(message.to(), message.message());
        }
        rememberForKeepalive(message);
      }
      for (LeaderReady.LogRead read : ready.loads()) {
        List<OplogEntry> entries;
        java.util.Set<Long> open;
        try {
          entries =
              store.leaderEntries(read.fromIndex(), read.limit(), LeaderCore.APPEND_BYTES_MAX);
          open =
              entries.isEmpty()
                  ? java.util.Set.of()
                  : store.leaderOpenIndexes(
                      read.fromIndex(), entries.get(entries.size() - 1).index());
        } catch (StorageException e) {
          // The read pool is exhausted (reads hold every connection): the core asks again.
          log.atWarn()
              .addKeyValue("peer", read.peer())
              .log("log read for a follower failed: {}", e.getMessage());
          entries = List.of();
          open = java.util.Set.of();
        }
        core.step(new LeaderInput.Loaded(read.peer(), read.fromIndex(), entries, open));
      }
      for (LeaderReady.SnapshotRead read : ready.snapshotReads()) {
        SnapshotPage page;
        try {
          page = store.leaderSnapshotDocuments(read.afterKey(), read.limit());
        } catch (StorageException e) {
          // The read pool is exhausted: the core sends the chunk again once it is overdue.
          log.atWarn()
              .addKeyValue("peer", read.peer())
              .log("snapshot read for a follower failed: {}", e.getMessage());
          continue;
        }
        core.step(
            new LeaderInput.SnapshotLoaded(
                read.peer(),
                read.index(),
                read.afterKey(),
                page.documents(),
                page.lastKey(),
                page.done()));
      }
      LeaderReady.Compaction compaction = ready.compaction();
      if (compaction != null) {
        long start = System.nanoTime();
        store.compactLeaderLog(
            compaction.index(),
            compaction.epoch(),
            compaction.membersIndex(),
            compaction.members());
        busyNanos += System.nanoTime() - start;
        log.atDebug()
            .addKeyValue("index", compaction.index())
            .addKeyValue("epoch", compaction.epoch())
            .log("log compacted");
      }
      LeaderMembers members = ready.members();
      if (members != null) {
        this.members = members;
        log.atInfo()
            .addKeyValue("voters", members.voters())
            .addKeyValue("learners", members.learners())
            .addKeyValue("index", core.membersIndex())
            .log("members in force");
      }
      LeaderMembers nowReachable = core.reachableMembers();
      if (!nowReachable.equals(reachable)) {
        this.reachable = nowReachable;
        for (Consumer<LeaderMembers> listener : membersListeners) {
          try {
            listener.accept(nowReachable);
          } catch (RuntimeException e) {
            log.warn("a members listener failed; replication goes on", e);
          }
        }
      }
      LeaderReady.LeadershipChanged change = ready.leadership();
      if (change != null) {
        boolean real = leadershipLog.isRealChange(change);
        (real ? log.atInfo() : log.atDebug())
            .addKeyValue("isLeader", change.isLeader())
            .addKeyValue("leader", change.leader())
            .addKeyValue("epoch", change.epoch())
            .log(real ? "leadership changed" : "leadership view changed");
        if (real) {
          leadershipChanges.increment();
        }
        for (Consumer<LeaderReady.LeadershipChanged> listener : listeners) {
          try {
            listener.accept(change);
          } catch (RuntimeException e) {
            log.warn("a leadership listener failed; replication goes on", e);
          }
        }
      }
    }
  }

  /**
   * Applies committed entries to the documents, at most {@link #APPLY_ENTRIES_MAX} per call, and
   * answers the writes whose entries are now applied. If more remain, the loop comes straight back
   * (after a tick, so heartbeats and elections go on between slices).
   */
  private void applyCommitted() {
    long commitIndex = core.commitIndex();
    if (commitIndex > appliedIndex) {
      long start = System.nanoTime();
      storageSinceNanos = start;
      List<Change> applied;
      try {
        applied = store.applyLeaderLog(sliceEnd(commitIndex), unapplied.entries);
      } finally {
        storageSinceNanos = 0;
      }
      busyNanos += System.nanoTime() - start;
      applied(applied);
      if (core.commitIndex() > appliedIndex) {
        wakeups.release();
      }
    }
    while (!appliedLater.isEmpty()
        && lastIndex((Outcome.Committed) appliedLater.peek().outcome()) <= appliedIndex) {
      complete(appliedLater.poll());
    }
  }

  /** Moves the applied index past what a storage call applied and publishes it to the feed. */
  private void applied(List<Change> applied) {
    if (!applied.isEmpty()) {
      appliedIndex = applied.get(applied.size() - 1).entry().index();
      unapplied.applied(appliedIndex);
      notifier.publish(applied.get(applied.size() - 1).lsn());
      core.step(new LeaderInput.Applied(appliedIndex));
    }
  }

  /**
   * Installs a snapshot chunk from the primary (after this ready's append, as {@link LeaderReady}
   * orders it) and tells the core. A failed install is not fatal: nothing of it is durable, and the
   * primary sends the chunk again.
   */
  private void install(LeaderReady.SnapshotInstall install, LeaderReady ready) {
    long start = System.nanoTime();
    storageSinceNanos = start;
    boolean ok;
    try {
      store.installLeaderSnapshot(install, ready.hlcHighWater());
      ok = true;
    } catch (StorageException e) {
      log.atWarn()
          .addKeyValue("source", install.source())
          .addKeyValue("index", install.index())
          .log("snapshot chunk not installed: {}", e.getMessage());
      ok = false;
    } finally {
      storageSinceNanos = 0;
    }
    busyNanos += System.nanoTime() - start;
    core.step(new LeaderInput.SnapshotInstalled(ok));
    if (ok && install.done()) {
      if (!install.keepLog()) {
        unapplied.truncated(install.index() + 1);
      }
      if (install.index() > appliedIndex) {
        appliedIndex = install.index();
        unapplied.applied(appliedIndex);
      }
      log.atInfo()
          .addKeyValue("source", install.source())
          .addKeyValue("index", install.index())
          .addKeyValue("keptLog", install.keepLog())
          .log("snapshot installed");
    }
  }

  /**
   * Where the next apply stops: {@link #APPLY_ENTRIES_MAX} entries on, moved forward to the end of
   * the batch it would cut (readers never see part of a batch; the commit index is always a batch
   * end, so this stops there at the latest).
   */
  private long sliceEnd(long commitIndex) {
    long end = Math.min(commitIndex, appliedIndex + APPLY_ENTRIES_MAX);
    if (end < commitIndex) {
      java.util.Set<Long> open = store.leaderOpenIndexes(end, commitIndex);
      while (open.contains(end) && end < commitIndex) {
        end++;
      }
    }
    return end;
  }

  private void rememberForKeepalive(LeaderReady.Outgoing outgoing) {
    LeaderMessage message = outgoing.message();
    boolean heartbeat = message instanceof LeaderMessage.Append a && a.entries().isEmpty();
    boolean answer = message instanceof LeaderMessage.AppendReply r && r.success();
    if (heartbeat || answer) {
      keepalive.put(outgoing.to(), message);
    }
  }

  /**
   * Resends the last liveness messages while the loop has been in one storage call for more than a
   * heartbeat interval (and less than {@link #KEEPALIVE_MAX_MS}). Runs on the keepalive thread; the
   * transport is thread-safe.
   */
  private void keepAlive() {
    long since = storageSinceNanos;
    if (since == 0) {
      return;
    }
    long busyMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since);
    if (busyMs < heartbeatMs || busyMs > KEEPALIVE_MAX_MS) {
      return;
    }
    long now = System.nanoTime();
    if (TimeUnit.NANOSECONDS.toMillis(now - lastKeepaliveNanos) < heartbeatMs) {
      return; // once per heartbeat interval, not every 10 ms
    }
    lastKeepaliveNanos = now;
    PeerLink out = link;
    keepalive.forEach(
        (peer, message) -> {
          out.sendLeader(peer, message);
          keepalives.increment();
        });
  }

  /** When the keepalive last sent (keepalive thread only). */
  private long lastKeepaliveNanos;

  private static long lastIndex(Outcome.Committed committed) {
    List<OplogEntry> entries = committed.entries();
    return entries.isEmpty() ? 0 : entries.get(entries.size() - 1).index();
  }

  private void complete(Reply reply) {
    CompletableFuture<WriteResult> future = writes.remove(reply.requestId());
    if (future == null) {
      return;
    }
    switch (reply.outcome()) {
      case Outcome.Committed committed ->
          future.complete(new WriteResult.Committed(committed.entries()));
      case Outcome.NotPrimary notPrimary ->
          future.completeExceptionally(notPrimary(notPrimary.leader()));
      case Outcome.TimedOut timedOut ->
          future.completeExceptionally(new OutcomeUnknownException(timedOut.message()));
      case Outcome.Rejected rejected -> future.completeExceptionally(EventLoop.rejection(rejected));
      case Outcome.PersistFailed failed ->
          future.completeExceptionally(new WriteFailedException(failed.message()));
    }
  }

  private static NotPrimaryException notPrimary(@Nullable NodeId leader) {
    return leader == null
        ? new NotPrimaryException(
            null, "there is no primary right now (an election is under way); retry shortly")
        : new NotPrimaryException(
            leader.value(), "this node is not the primary; the primary is node " + leader);
  }

  private Status snapshot() {
    return new Status(
        core.role(),
        core.epoch(),
        core.leader(),
        core.commitIndex(),
        core.lastIndex(),
        core.matchIndexes(),
        appliedIndex,
        core.members(),
        core.membersIndex(),
        core.changingMembers());
  }

  /**
   * Asks the core for a membership change ({@link LeaderInput.ChangeMembers}). The future completes
   * with the core's outcome: {@code Committed} once the final configuration is committed, {@code
   * NotPrimary}, {@code Rejected} (named refusals), or {@code TimedOut} (the change goes on).
   *
   * @throws ClosedException if the loop is not running
   * @throws OverloadedException if its inbox is full
   */
  public CompletableFuture<Outcome> changeMembers(
      NodeId member, boolean add, @Nullable String url, long timeoutMs) {
    CompletableFuture<Outcome> result = new CompletableFuture<>();
    offer(new MembersChange(new LeaderInput.ChangeMembers(0, member, add, url, timeoutMs), result));
    return result;
  }

  /**
   * Calls {@code listener} with the members to keep talking to ({@link
   * LeaderCore#reachableMembers()}) now and, on the loop's thread, each time they change: the
   * transport dials them. Calls may overlap or arrive out of order; a listener that acts on {@link
   * #reachableMembers()} rather than its argument ends on the latest.
   */
  public void onMembers(Consumer<LeaderMembers> listener) {
    membersListeners.add(listener);
    listener.accept(reachable);
  }

  /** Returns the members to keep talking to. */
  public LeaderMembers reachableMembers() {
    return reachable;
  }

  /** Returns the configuration in force. */
  public LeaderMembers members() {
    return members;
  }

  /** Stops the loop (pending writes fail); the store stays open. */
  @Override
  public void close() {
    closing = true;
    keepaliveTimer.shutdownNow();
    wakeups.release();
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
