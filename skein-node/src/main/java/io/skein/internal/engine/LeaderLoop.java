package io.skein.internal.engine;

import io.skein.ClosedException;
import io.skein.OutcomeUnknownException;
import io.skein.OverloadedException;
import io.skein.WriteFailedException;
import io.skein.core.leader.LeaderCore;
import io.skein.core.leader.LeaderInput;
import io.skein.core.leader.LeaderMessage;
import io.skein.core.leader.LeaderReady;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.replica.Mutation;
import io.skein.core.replica.Outcome;
import io.skein.core.replica.Reply;
import io.skein.core.replica.WriteConcern;
import io.skein.internal.storage.Change;
import io.skein.internal.storage.SqliteStore;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
 * <p>Not yet wired into {@code datastore-node}: the peer transport and the HTTP answers for leader
 * mode come next. A storage failure stops the loop: a member that cannot keep its log must not vote
 * or acknowledge.
 */
public final class LeaderLoop implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LeaderLoop.class);
  private static final long TICK_MS = 10;
  private static final int INBOX_MAX = 4_096;

  /** Where outgoing leader messages go. Must not block. */
  @FunctionalInterface
  public interface Link {
    /** Sends or drops. */
    void send(NodeId to, LeaderMessage message);
  }

  /**
   * A snapshot of the loop's view, for status pages.
   *
   * @param role the role
   * @param epoch the epoch
   * @param leader the primary, or {@code null}
   * @param commitIndex the commit index
   * @param lastIndex the last log index
   * @param matchIndexes per follower, the matched index (primary only)
   */
  public record Status(
      LeaderCore.Role role,
      long epoch,
      @Nullable NodeId leader,
      long commitIndex,
      long lastIndex,
      Map<NodeId, Long> matchIndexes) {}

  private sealed interface Event {}

  private record Write(
      List<Mutation> mutations, WriteConcern concern, CompletableFuture<List<OplogEntry>> result)
      implements Event {}

  private record Read(CompletableFuture<Long> result) implements Event {}

  private record Message(LeaderMessage message) implements Event {}

  private final LeaderCore core;
  private final SqliteStore store;
  private final InstantSource clock;
  private final ChangeNotifier notifier;
  private final ArrayBlockingQueue<Event> inbox = new ArrayBlockingQueue<>(INBOX_MAX);
  private final Semaphore wakeups = new Semaphore(0);
  private final Map<Long, CompletableFuture<List<OplogEntry>>> writes = new HashMap<>();
  private final Map<Long, CompletableFuture<Long>> reads = new HashMap<>();
  private final List<Consumer<LeaderReady.LeadershipChanged>> listeners =
      new CopyOnWriteArrayList<>();
  private final Thread thread;
  private volatile Link link = (to, message) -> {};
  private volatile Status status;
  private volatile boolean closing;
  private volatile @Nullable Throwable failure;
  private long nextRequestId = 1;

  /** Creates and starts the loop. */
  public LeaderLoop(
      LeaderCore core, SqliteStore store, InstantSource clock, ChangeNotifier notifier) {
    this.core = core;
    this.store = store;
    this.clock = clock;
    this.notifier = notifier;
    this.status = snapshot();
    this.thread =
        Thread.ofPlatform().name("skein-leader-" + core.config().nodeId()).start(this::run);
  }

  /** Attaches the transport. */
  public void attach(Link link) {
    this.link = link;
  }

  /** Adds a listener for leadership changes (called on the loop thread; must not block). */
  public void onLeadershipChanged(Consumer<LeaderReady.LeadershipChanged> listener) {
    listeners.add(listener);
  }

  /** Returns the latest status. */
  public Status status() {
    return status;
  }

  /**
   * Submits a write; the future completes with its entries once its concern is met, or fails with
   * {@link WriteFailedException} (not primary), {@link OutcomeUnknownException} or {@link
   * OverloadedException}.
   */
  public CompletableFuture<List<OplogEntry>> submit(
      List<Mutation> mutations, WriteConcern concern) {
    CompletableFuture<List<OplogEntry>> result = new CompletableFuture<>();
    offer(new Write(List.copyOf(mutations), concern, result));
    return result;
  }

  /** Confirms leadership for a strong read; completes with the index the read must see. */
  public CompletableFuture<Long> readIndex() {
    CompletableFuture<Long> result = new CompletableFuture<>();
    offer(new Read(result));
    return result;
  }

  /** Hands a message from a member to the loop; false if dropped (inbox full or closing). */
  public boolean receive(LeaderMessage message) {
    if (closing || failure != null || !inbox.offer(new Message(message))) {
      return false;
    }
    wakeups.release();
    return true;
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
  }

  private void run() {
    List<Event> events = new ArrayList<>();
    try {
      while (!closing) {
        wakeups.tryAcquire(TICK_MS, TimeUnit.MILLISECONDS);
        wakeups.drainPermits();
        core.step(new LeaderInput.Tick(clock.millis()));
        inbox.drainTo(events);
        for (Event event : events) {
          switch (event) {
            case Write write -> {
              long id = nextRequestId++;
              writes.put(id, write.result());
              core.step(new LeaderInput.Propose(id, write.mutations(), write.concern()));
            }
            case Read read -> {
              long id = nextRequestId++;
              reads.put(id, read.result());
              core.step(new LeaderInput.ReadIndex(id));
            }
            case Message message -> core.step(new LeaderInput.Received(message.message()));
          }
        }
        events.clear();
        processReady();
        status = snapshot();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failure = e;
    } catch (RuntimeException | Error e) {
      log.error("leader loop failed; this node stops taking part", e);
      failure = e;
    } finally {
      WriteFailedException stopped = new WriteFailedException("the leader loop stopped");
      writes.values().forEach(f -> f.completeExceptionally(stopped));
      reads.values().forEach(f -> f.completeExceptionally(stopped));
      for (Event event : inbox) {
        switch (event) {
          case Write write -> write.result().completeExceptionally(stopped);
          case Read read -> read.result().completeExceptionally(stopped);
          case Message message -> {}
        }
      }
    }
  }

  private void processReady() {
    while (core.hasReady()) {
      LeaderReady ready = core.ready();
      LeaderReady.HardState hard = ready.hardState();
      if (hard != null || ready.truncateFrom() != 0 || !ready.entriesToAppend().isEmpty()) {
        store.appendLeaderLog(
            hard == null ? null : new SqliteStore.LeaderHardState(hard.epoch(), hard.votedFor()),
            ready.truncateFrom(),
            ready.entriesToAppend(),
            ready.hlcHighWater());
        core.step(new LeaderInput.Persisted(core.lastIndex()));
      }
      List<Change> applied = store.applyLeaderLog(ready.commitIndex());
      if (!applied.isEmpty()) {
        notifier.publish(applied.get(applied.size() - 1).lsn());
      }
      for (Reply reply : ready.replies()) {
        complete(reply);
      }
      for (LeaderReady.ReadReply read : ready.readReplies()) {
        CompletableFuture<Long> future = reads.remove(read.requestId());
        if (future != null) {
          if (read.readIndex() < 0) {
            future.completeExceptionally(
                new WriteFailedException("not the primary; the primary is " + read.leader()));
          } else {
            future.complete(read.readIndex());
          }
        }
      }
      Link out = link;
      for (LeaderReady.Outgoing message : ready.messages()) {
        out.send(message.to(), message.message());
      }
      for (LeaderReady.LogRead read : ready.loads()) {
        core.step(
            new LeaderInput.Loaded(
                read.peer(),
                read.fromIndex(),
                store.leaderEntries(read.fromIndex(), read.limit())));
      }
      LeaderReady.LeadershipChanged change = ready.leadership();
      if (change != null) {
        log.atInfo()
            .addKeyValue("isLeader", change.isLeader())
            .addKeyValue("leader", change.leader())
            .addKeyValue("epoch", change.epoch())
            .log("leadership changed");
        for (Consumer<LeaderReady.LeadershipChanged> listener : listeners) {
          listener.accept(change);
        }
      }
    }
  }

  private void complete(Reply reply) {
    CompletableFuture<List<OplogEntry>> future = writes.remove(reply.requestId());
    if (future == null) {
      return;
    }
    switch (reply.outcome()) {
      case Outcome.Committed committed -> future.complete(committed.entries());
      case Outcome.NotPrimary notPrimary ->
          future.completeExceptionally(
              new WriteFailedException(
                  notPrimary.message() + "; the primary is " + notPrimary.leader()));
      case Outcome.TimedOut timedOut ->
          future.completeExceptionally(new OutcomeUnknownException(timedOut.message()));
      case Outcome.Rejected rejected ->
          future.completeExceptionally(new WriteFailedException(rejected.message()));
      case Outcome.PersistFailed failed ->
          future.completeExceptionally(new WriteFailedException(failed.message()));
    }
  }

  private Status snapshot() {
    return new Status(
        core.role(),
        core.epoch(),
        core.leader(),
        core.commitIndex(),
        core.lastIndex(),
        core.matchIndexes());
  }

  /** Stops the loop (pending writes fail); the store stays open. */
  @Override
  public void close() {
    closing = true;
    wakeups.release();
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
