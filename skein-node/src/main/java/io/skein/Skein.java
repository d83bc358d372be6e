package io.skein;

import io.skein.core.leader.LeaderConfig;
import io.skein.core.leader.LeaderCore;
import io.skein.core.model.CollectionName;
import io.skein.core.model.InvalidNameException;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.replica.Mutation;
import io.skein.core.replica.ReplicaConfig;
import io.skein.core.replica.ReplicaCore;
import io.skein.core.replica.WriteConcern;
import io.skein.internal.engine.ChangeNotifier;
import io.skein.internal.engine.EventLoop;
import io.skein.internal.engine.LeaderLoop;
import io.skein.internal.engine.WriteResult;
import io.skein.internal.storage.Change;
import io.skein.internal.storage.ChangePage;
import io.skein.internal.storage.SqliteStore;
import io.skein.internal.storage.Store;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * An open Skein store: the embedded entry point.
 *
 * <pre>{@code
 * try (Skein skein = Skein.open(SkeinConfig.builder(Path.of("data"), "1").build())) {
 *   DocumentCollection users = skein.collection("users");
 *   String version = users.put("ada", "{\"name\":\"Ada\"}");
 *   Optional<Document> ada = users.get("ada");
 * }
 * }</pre>
 *
 * <p>Thread-safe: any number of threads may read and write at once. Writes from all threads are
 * committed in groups (one transaction and one fsync per group). Every method throws a {@link
 * SkeinException} subclass on failure, never a checked exception.
 */
public final class Skein implements AutoCloseable {
  /**
   * How long a write waits for its commit before it reports {@code outcome_unknown}: a backstop;
   * the core answers a write whose concern is not met after the replication timeout.
   */
  static final long WRITE_TIMEOUT_MS = 30_000;

  /** Leader mode: the most entries in one append message. */
  static final int LEADER_APPEND_ENTRIES_MAX = 512;

  /** Leader mode: the most entries sent to a follower and not yet acknowledged. */
  static final int LEADER_INFLIGHT_ENTRIES_MAX = 4 * LEADER_APPEND_ENTRIES_MAX;

  private volatile SkeinConfig config;
  private final SqliteStore store;
  private final ChangeNotifier notifier;
  private final @Nullable EventLoop loop;
  private final @Nullable LeaderLoop leader;
  private final Set<ChangeSubscription> subscriptions = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  private Skein(SkeinConfig config) {
    this.config = config;
    this.store =
        SqliteStore.open(
            config.dataDir(),
            config.nodeId(),
            config.durability(),
            config.readConnections(),
            config.meters());
    ReplicaConfig replicaConfig =
        new ReplicaConfig(
            config.nodeId(),
            config.maxClockOffsetMs(),
            config.writeQueueMax(),
            config.batchOpsMax(),
            config.peers(),
            config.syncIntervalMs(),
            config.replicationTimeoutMs(),
            ReplicaConfig.PUSH_ENTRIES_MAX_DEFAULT,
            config.oplogRetentionMs(),
            ReplicaConfig.SNAPSHOT_DOCS_MAX_DEFAULT);
    this.notifier = new ChangeNotifier(store.lastLsn());
    SkeinConfig.Leader leaderSettings = config.leader();
    if (config.leaderMode() && leaderSettings != null) {
      if (store.holdsWritesOutsideLeaderLog()) {
        store.close();
        throw new SkeinException(
            "not_a_leader_log",
            "the data file in "
                + config.dataDir()
                + " holds writes made without a primary (by this node alone, or in dynamo mode);"
                + " leader mode with peers cannot take it over. Start this member on an empty"
                + " --data-dir, or keep running it alone or in dynamo mode.");
      }
      List<NodeId> members = new ArrayList<>(config.peers());
      if (!leaderSettings.joining()) {
        members.add(config.nodeId()); // a joiner is not a member until the primary adds it
      }
      LeaderCore core =
          LeaderCore.restore(
              new LeaderConfig(
                  config.nodeId(),
                  members,
                  leaderSettings.electionIntervalMs(),
                  leaderSettings.heartbeatMs(),
                  config.replicationTimeoutMs(),
                  LEADER_APPEND_ENTRIES_MAX,
                  LEADER_INFLIGHT_ENTRIES_MAX,
                  config.writeQueueMax(),
                  leaderSettings.startAsPrimary(),
                  leaderSettings.compactEntries(),
                  leaderSettings.compactBytes()),
              store.leaderRecovered());
      this.loop = null;
      this.leader = new LeaderLoop(core, store, config.clock(), notifier, config.meters());
    } else {
      ReplicaCore core = ReplicaCore.restore(replicaConfig, store.recoveredState());
      this.leader = null;
      this.loop =
          new EventLoop(
              core,
              config.replicating(),
              store,
              config.clock(),
              notifier,
              config.writeQueueMax(),
              config.groupCommitMax(),
              config.meters());
      // The gateway election (D1) runs on every multi-writer store: alone, a node is its own
      // gateway; with peers, the lowest id that reaches a majority is.
      this.loop.configureGateway(
          true, config.gateway().electionIntervalMs(), config.gateway().heartbeatMs());
    }
  }

  /**
   * Opens (or creates) the store in {@code config.dataDir()}.
   *
   * @throws io.skein.internal.storage.StorageException if the database file is corrupt, foreign, of
   *     an unknown schema version or of another node; the file is left untouched
   */
  public static Skein open(SkeinConfig config) {
    return new Skein(config);
  }

  /** Returns this node's id. */
  public String nodeId() {
    return config.nodeId().value();
  }

  /** Returns the configuration in force: the one it was opened with, and any live change since. */
  public SkeinConfig config() {
    return config;
  }

  /**
   * Sets the query limits: the time budget of one query (admission wait included), after which it
   * fails with {@code query_timeout}, and how many queries may run at once (others wait within the
   * budget, then fail with {@code overloaded}). Applies to the next query.
   *
   * @throws IllegalArgumentException if a value is not positive
   */
  public void queryLimits(long timeoutMs, int queriesMax) {
    store.queryLimits(timeoutMs, queriesMax);
  }

  /**
   * Changes the live settings without a restart: the replication timings reach the replication
   * state machine as an input, so they apply from its next step; the document limit applies to the
   * next write. Blocks until the write loop has taken the change, at most {@code timeoutMs}.
   *
   * <p>Writes already waiting for their write concern keep the deadline they were given. Calling
   * this again with the old values undoes it, even after a timeout: changes are taken in order.
   *
   * @throws IllegalArgumentException if a value is out of range (nothing changes)
   * @throws ClosedException if the store is closed
   * @throws OutcomeUnknownException if the loop did not take the change within {@code timeoutMs}
   *     (it may still take it)
   */
  public synchronized void reconfigure(SkeinConfig.Timings timings, long timeoutMs) {
    ensureOpen();
    SkeinConfig previous = config;
    SkeinConfig next = previous.withTimings(timings);
    CompletableFuture<Void> applied =
        leader != null
            ? leader.reconfigure(
                timings.electionIntervalMs(), timings.heartbeatMs(), timings.replicationTimeoutMs())
            : reconfigureLoop(Objects.requireNonNull(loop), next);
    // The change is queued: the loop takes changes in order, so whatever happens to this wait,
    // the loop ends up running the last values queued. config() says so from now on, and a later
    // call (a rollback) queues the old values behind these.
    config = next;
    try {
      applied.get(timeoutMs, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new OutcomeUnknownException("interrupted while the write loop took the change");
    } catch (TimeoutException e) {
      throw new OutcomeUnknownException(
          "the write loop did not take the change within " + timeoutMs + " ms");
    } catch (ExecutionException e) {
      config = previous; // refused: the core kept the values it had
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new WriteFailedException("the change failed: " + cause);
    }
  }

  /** Multi-writer mode: queues the replication timings and the gateway's, taken in that order. */
  private static CompletableFuture<Void> reconfigureLoop(EventLoop loop, SkeinConfig next) {
    CompletableFuture<Void> timings =
        loop.reconfigure(
            next.syncIntervalMs(), next.replicationTimeoutMs(), next.oplogRetentionMs());
    CompletableFuture<Void> gateway =
        loop.configureGateway(
            true, next.gateway().electionIntervalMs(), next.gateway().heartbeatMs());
    return CompletableFuture.allOf(timings, gateway);
  }

  /**
   * Returns a handle on a collection. Collections need no creation: one exists once it has a
   * document.
   *
   * @throws InvalidRequestException if the name is invalid or reserved ({@code _system_} prefix)
   */
  public DocumentCollection collection(String name) {
    return new DocumentCollection(this, userCollection(name));
  }

  /**
   * Leader mode: a page of the writes rolled back when this node rejoined as a secondary (DESIGN.md
   * D3). Each document, keyed {@code e{epoch}-i{index}}, holds the collection, id, operation,
   * version and body of a write no majority acknowledged. Read-only.
   *
   * @param after the last key of the previous page, or {@code null}
   * @param limit the page size, 1 to 1,000
   */
  public DocumentPage rolledBack(@Nullable String after, int limit) {
    return new DocumentCollection(this, SqliteStore.ROLLBACK).list(after, limit);
  }

  /** The replicated collection of cluster-wide settings, one document per setting path. */
  public static final String SYSTEM_CONFIG = "_system_config";

  /**
   * Returns the {@value #SYSTEM_CONFIG} collection: the cluster-wide settings a {@code
   * datastore-node} follows (ARCHITECTURE.md A62). It replicates like any collection; a node
   * changes it through {@code PUT /admin/cluster-config}, which checks each value first, so
   * applications should leave it alone.
   */
  public DocumentCollection systemConfig() {
    return new DocumentCollection(this, CollectionName.system(SYSTEM_CONFIG));
  }

  /**
   * Returns the replicated remote-peer list ({@value RemotePeers#COLLECTION}): the peers outside
   * this cluster that its gateway syncs with.
   */
  public RemotePeers remotePeers() {
    return new RemotePeers(this);
  }

  /** Starts an atomic batch of writes across collections. */
  public Batch batch() {
    return new Batch(this);
  }

  /**
   * Reads a page of the change feed.
   *
   * @param since a token from an earlier page or event, or {@code null} for the beginning
   * @param limit the most changes to scan, 1 to 10,000
   * @throws InvalidRequestException if the token is not one this node handed out
   */
  public ChangeFeedPage changes(@Nullable String since, int limit) {
    return changes(since, null, limit);
  }

  ChangeFeedPage changes(@Nullable String since, @Nullable CollectionName collection, int limit) {
    if (limit < 1 || limit > 10_000) {
      throw new InvalidRequestException("invalid_limit", "limit must be 1 to 10000, was " + limit);
    }
    ChangePage page = store.changes(parseToken(since), collection, limit);
    return new ChangeFeedPage(
        page.changes().stream().filter(Change::won).map(Skein::event).toList(),
        Long.toString(page.lastLsn()));
  }

  /**
   * Subscribes to every change after {@code since}, across all collections.
   *
   * @param since a token, {@code null} for the beginning, or {@code "now"} for new changes only
   * @throws InvalidRequestException if the token is invalid
   */
  public Subscription subscribe(@Nullable String since, ChangeListener listener) {
    return subscribe(since, null, listener);
  }

  Subscription subscribe(
      @Nullable String since, @Nullable CollectionName collection, ChangeListener listener) {
    ensureOpen();
    ChangeSubscription subscription =
        new ChangeSubscription(this, parseToken(since), collection, listener);
    subscriptions.add(subscription);
    subscription.start();
    return subscription;
  }

  /**
   * Parses a change-feed token.
   *
   * @throws InvalidRequestException if it is not a token this node could have handed out
   */
  public long parseToken(@Nullable String since) {
    if (since == null || since.isEmpty()) {
      return 0;
    }
    if (since.equals("now")) {
      return store.lastLsn();
    }
    long lsn;
    try {
      lsn = Long.parseLong(since);
    } catch (NumberFormatException e) {
      throw new InvalidRequestException(
          "invalid_since", "since '" + since + "' is not a change-feed token", e);
    }
    if (lsn > 0 && lsn < store.oldestLsn() - 1) {
      throw new InvalidRequestException(
          "since_expired",
          "since '"
              + since
              + "' is older than this node's oplog retention; read the documents again and"
              + " resume the feed from 'now'");
    }
    if (lsn < 0 || lsn > Math.max(store.lastLsn(), store.highestLsn())) {
      throw new InvalidRequestException(
          "invalid_since",
          "since '"
              + since
              + "' is not a token this node handed out (its feed ends at "
              + store.lastLsn()
              + ")");
    }
    return lsn;
  }

  /**
   * Waits until a change after {@code token} is committed, or {@code timeoutMs} passes. For feed
   * readers that poll.
   *
   * @throws InterruptedException if the thread is interrupted
   */
  public void awaitChangeAfter(long token, long timeoutMs) throws InterruptedException {
    notifier.awaitAfter(token, timeoutMs);
  }

  /**
   * Returns the replication face of the write loop. Internal: {@code datastore-node}'s peer
   * transport uses it; embedded applications have no use for it.
   */
  public io.skein.internal.engine.Replicator replicator() {
    return leader != null ? leader : Objects.requireNonNull(loop);
  }

  /**
   * Returns the leader-mode loop, or {@code null} when this store does not run leader mode.
   * Internal: {@code datastore-node} reads its status.
   */
  public @Nullable LeaderLoop leaderLoop() {
    return leader;
  }

  /**
   * Adds a listener for leadership changes (leader mode only; never called otherwise). It runs on
   * the replication thread: it must return quickly and must not call back into this store's write
   * methods.
   */
  public void onLeadershipChanged(Consumer<LeadershipChanged> listener) {
    if (leader != null) {
      leader.onLeadershipChanged(
          change ->
              listener.accept(
                  new LeadershipChanged(
                      change.isLeader(),
                      change.leader() == null ? null : change.leader().value(),
                      change.epoch())));
    } else {
      Objects.requireNonNull(loop)
          .onGatewayChanged(
              change -> {
                NodeId gateway = change.gateway();
                listener.accept(
                    LeadershipChanged.gateway(
                        change.isGateway(),
                        gateway == null ? null : gateway.value(),
                        change.epoch()));
              });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Site-to-site sync (internal: the gateway's cloud sync and the /v1/sync endpoint use these).

  /** Whether this store replicates multi-writer (dynamo), the mode site-to-site sync needs. */
  public boolean multiWriter() {
    return loop != null;
  }

  private EventLoop multiWriterLoop() {
    EventLoop l = loop;
    if (l == null) {
      throw new InvalidRequestException(
          "cloud_sync_unsupported",
          "site-to-site sync needs multi-writer replication (--mode dynamo); this node runs"
              + " leader mode");
    }
    return l;
  }

  /**
   * Internal: takes entries from another site (DESIGN.md "Remote peers and cloud"); the future
   * completes with this node's durable version vector once they are persisted.
   *
   * @throws InvalidRequestException in leader mode
   */
  public CompletableFuture<Map<NodeId, Long>> ingestFromSite(
      NodeId source, List<io.skein.core.oplog.OplogEntry> entries) {
    ensureOpen();
    return multiWriterLoop().ingest(source, entries);
  }

  /** Internal: this node's durable version vector (multi-writer mode). */
  public Map<NodeId, Long> durableVector() {
    ensureOpen();
    return multiWriterLoop().durableVector();
  }

  /** Internal: up to {@code limit} oplog entries of one origin from {@code fromSequence} on. */
  public List<io.skein.core.oplog.OplogEntry> oplogEntries(
      NodeId origin, long fromSequence, int limit) {
    ensureOpen();
    return store.entries(origin, fromSequence, limit);
  }

  /** Internal: this node and the peers it replicates with (not remote sites). */
  public java.util.Set<NodeId> clusterMembers() {
    java.util.Set<NodeId> members = new java.util.HashSet<>(config.peers());
    members.addAll(replicator().status().lagEntries().keySet());
    members.add(config.nodeId());
    return members;
  }

  /**
   * Returns which node this node takes for the gateway to remote and cloud peers (D1): in leader
   * mode the primary, in multi-writer mode the winner of the gateway election.
   */
  public GatewayView gateway() {
    if (leader != null) {
      LeaderLoop.Status status = leader.leaderStatus();
      NodeId primary = status.leader();
      return new GatewayView(
          status.role() == io.skein.core.leader.LeaderCore.Role.PRIMARY,
          primary == null ? null : primary.value(),
          status.epoch());
    }
    io.skein.core.replica.GatewayStatus status = Objects.requireNonNull(loop).gatewayStatus();
    NodeId gateway = status.gateway();
    return new GatewayView(
        status.isGateway(), gateway == null ? null : gateway.value(), status.epoch());
  }

  /**
   * Leader mode: confirms with a quorum round that this node is still the primary, and that every
   * write committed before the call is applied here, so a read that follows sees them ({@code
   * ?consistency=strong}). On a node without peers it does nothing: its state is the latest.
   *
   * @throws InvalidRequestException in dynamo mode with peers, where no node can promise this
   * @throws NotPrimaryException if this node is not the primary
   * @throws OutcomeUnknownException if no quorum confirmed it within the replication timeout
   */
  public void confirmPrimary() {
    ensureOpen();
    if (leader == null) {
      if (config.replicating() || !replicator().status().lagEntries().isEmpty()) {
        throw new InvalidRequestException(
            "invalid_consistency",
            "consistency=strong needs leader mode; in dynamo mode every node reads its own state");
      }
      return; // one node is its own majority: its state is the latest
    }
    try {
      leader.readIndex().get(config.replicationTimeoutMs(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new OutcomeUnknownException("interrupted while confirming the primary");
    } catch (TimeoutException e) {
      throw new OutcomeUnknownException(
          "no majority confirmed this primary within " + config.replicationTimeoutMs() + " ms");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof SkeinException skeinException) {
        throw skeinException;
      }
      throw new WriteFailedException("the strong read failed: " + e.getCause());
    }
  }

  /**
   * Returns the first corruption found in the data file since it opened (an entry that failed its
   * checksum), or {@code null}. A node that found one reports itself degraded; run {@code
   * datastore-node check} on the stopped node.
   */
  public @Nullable String corruption() {
    return store.corruption();
  }

  /** Returns whether the store is open and its write loop is running. */
  public boolean isHealthy() {
    if (closed) {
      return false;
    }
    return leader != null ? leader.isHealthy() : Objects.requireNonNull(loop).isHealthy();
  }

  /**
   * Closes the store: refuses new writes, finishes the writes already queued, stops the
   * subscriptions, and closes the database. Idempotent.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (leader != null) {
      leader.close();
    }
    if (loop != null) {
      loop.close();
    }
    for (ChangeSubscription subscription : subscriptions) {
      subscription.close();
    }
    store.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Package-private plumbing for DocumentCollection, Batch and the HTTP layer.

  Store store() {
    return store;
  }

  ChangeNotifier notifier() {
    return notifier;
  }

  void unsubscribe(ChangeSubscription subscription) {
    subscriptions.remove(subscription);
  }

  void ensureOpen() {
    if (closed) {
      throw new ClosedException("the store is closed");
    }
  }

  /** Writes and waits; returns the entries, or {@code null} if a must-exist delete found none. */
  @Nullable List<OplogEntry> write(
      List<Mutation> mutations, WriteConcern concern, boolean mustExist) {
    ensureOpen();
    CompletableFuture<WriteResult> future =
        leader != null
            ? leader.submit(mutations, concern, mustExist)
            : Objects.requireNonNull(loop).submit(mutations, concern, mustExist);
    // The core's deadline grows with the batch; the backstop stays well behind it.
    long backstopMs =
        Math.max(
            WRITE_TIMEOUT_MS,
            2 * LeaderCore.writeTimeoutMs(config.replicationTimeoutMs(), mutations.size()));
    WriteResult result;
    try {
      result = future.get(backstopMs, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new OutcomeUnknownException("interrupted while waiting for the write to commit");
    } catch (TimeoutException e) {
      throw new OutcomeUnknownException("the write was not confirmed within " + backstopMs + " ms");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof SkeinException skeinException) {
        throw skeinException;
      }
      throw new WriteFailedException("the write failed: " + e.getCause());
    }
    return switch (result) {
      case WriteResult.Committed committed -> committed.entries();
      case WriteResult.NotFound notFound -> null;
    };
  }

  static CollectionName userCollection(String name) {
    try {
      return CollectionName.user(name);
    } catch (InvalidNameException e) {
      throw new InvalidRequestException(e.code(), String.valueOf(e.getMessage()), e);
    }
  }

  static ChangeEvent event(Change change) {
    OplogEntry e = change.entry();
    return new ChangeEvent(
        Long.toString(change.lsn()),
        e.collection().value(),
        e.id().value(),
        e.operation().wireName(),
        e.version().toString(),
        e.document());
  }
}
