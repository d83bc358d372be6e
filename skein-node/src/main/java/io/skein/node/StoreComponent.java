package io.skein.node;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.skein.ClosedException;
import io.skein.Durability;
import io.skein.Skein;
import io.skein.SkeinConfig;
import io.skein.core.config.Config;
import io.skein.core.config.ConfigChange;
import io.skein.core.model.NodeId;
import io.skein.internal.runtime.Component;
import io.skein.node.config.NodeSettings;
import io.skein.node.config.Settings;
import java.time.InstantSource;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store: {@code node-{id}.db}, its write loop and replication state machine, and the known
 * peers ({@code peers-{id}.json}). It applies the {@code replication} section and {@code
 * limits.max-document-bytes} live: the timings reach the core as a {@code Reconfigure} input.
 */
final class StoreComponent implements Component {
  private static final Logger log = LoggerFactory.getLogger(StoreComponent.class);

  private final MeterRegistry meters;
  private volatile @Nullable Skein skein;
  private volatile @Nullable Membership membership;

  StoreComponent(MeterRegistry meters) {
    this.meters = meters;
  }

  @Override
  public String name() {
    return "store";
  }

  /** The meters the open store registered, removed when it closes for a reopen (D9). */
  private volatile Set<Meter.Id> storeMeters = Set.of();

  @Override
  public Set<String> sections() {
    return Set.of("replication", "limits", "node");
  }

  @Override
  public void start(Config config) {
    open(config, false);
  }

  /**
   * Opens {@code node-{id}.db} and the known peers for a configuration.
   *
   * @param renamed whether this is a leader-mode member reopened under a new id: the new id is not
   *     a member until the primary adds it, so it opens as {@code --role joining} does
   */
  private void open(Config config, boolean renamed) {
    boolean leaderMode = NodeSettings.leaderMode(config);
    List<?> peers = config.get(Settings.CLUSTER_PEERS);
    if (leaderMode && !peers.isEmpty() && NodeSettings.durability(config) == Durability.BUFFERED) {
      log.warn(
          "--durability buffered in leader mode: votes, epochs and acknowledged log entries are"
              + " not fsynced, so a power loss on a majority can lose w=majority writes or allow"
              + " two votes in one epoch. Use fsync (the default) unless the data is disposable.");
    }
    Membership members =
        new Membership(
            NodeSettings.nodeId(config),
            NodeSettings.dataDir(config),
            NodeSettings.peerUrls(config),
            !leaderMode && config.get(Settings.DISCOVERY_ENABLED),
            config.get(Settings.DISCOVERY_EXPIRY).toMillis(),
            InstantSource.system());
    if (leaderMode) {
      members.admitAuthenticated(true);
    }
    SkeinConfig.Builder builder =
        SkeinConfig.builder(NodeSettings.dataDir(config), config.get(Settings.NODE_ID))
            .durability(NodeSettings.durability(config))
            .documentBytesMax(Math.toIntExact(config.get(Settings.MAX_DOCUMENT_BYTES)))
            .maxClockOffsetMs(config.get(Settings.MAX_CLOCK_OFFSET).toMillis())
            .syncIntervalMs(config.get(Settings.SYNC_INTERVAL).toMillis())
            .replicationTimeoutMs(config.get(Settings.REPLICATION_TIMEOUT).toMillis())
            .oplogRetentionMs(config.get(Settings.OPLOG_RETENTION).toMillis())
            .discovery(!leaderMode && config.get(Settings.DISCOVERY_ENABLED))
            .peers(members.initialPeers().keySet().stream().map(NodeId::value).toList())
            .meters(meters)
            .leaderCompaction(
                config.get(Settings.COMPACTION_ENTRIES), config.get(Settings.COMPACTION_BYTES));
    if (leaderMode && (renamed || config.get(Settings.CLUSTER_ROLE).equals("joining"))) {
      builder.joiningLeaderMode(
          config.get(Settings.ELECTION_INTERVAL).toMillis(), Settings.heartbeat(config).toMillis());
    } else if (!leaderMode) {
      // Dynamo mode's gateway election (D1) runs on the same timings as leader mode's.
      builder.gatewayElection(
          config.get(Settings.ELECTION_INTERVAL).toMillis(), Settings.heartbeat(config).toMillis());
    } else {
      builder.leaderMode(
          config.get(Settings.ELECTION_INTERVAL).toMillis(),
          Settings.heartbeat(config).toMillis(),
          config.get(Settings.CLUSTER_ROLE).equals("primary"));
    }
    Set<Meter.Id> before = meterIds();
    Skein opened = Skein.open(builder.build());
    Set<Meter.Id> owned = meterIds();
    owned.removeAll(before);
    this.storeMeters = owned;
    opened.queryLimits(
        config.get(Settings.QUERY_TIMEOUT).toMillis(), Settings.maxConcurrentQueries(config));
    this.skein = opened;
    this.membership = members;
    for (java.util.function.Consumer<Skein> listener : openListeners) {
      listener.accept(opened);
    }
  }

  private final List<java.util.function.Consumer<Skein>> openListeners =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  /** Adds a listener called with every store this component opens (at start, and after D9). */
  void onOpen(java.util.function.Consumer<Skein> listener) {
    openListeners.add(listener);
  }

  private Set<Meter.Id> meterIds() {
    Set<Meter.Id> ids = new java.util.HashSet<>();
    meters.getMeters().forEach(m -> ids.add(m.getId()));
    return ids;
  }

  /** The most a node.id change waits for the active peers to hold this node's entries. */
  private static final long LEAVE_DRAIN_MS = 3_000;

  /**
   * Before the store closes for a new id, gives the active peers a bounded moment to take every
   * entry written on this node that they lack (a sync runs every interval): what is still missing
   * then stays in the old file only, and is said so.
   */
  private static void drainToPeers(Skein old, Membership members) {
    java.util.Set<NodeId> active = new java.util.TreeSet<>();
    members
        .known()
        .forEach(
            (id, known) -> {
              if (known.active()) {
                active.add(id);
              }
            });
    long until =
        System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(LEAVE_DRAIN_MS);
    java.util.Map<NodeId, Long> behind = java.util.Map.of();
    while (true) {
      java.util.Map<NodeId, Long> lag = old.replicator().status().ownLagEntries();
      behind = new java.util.TreeMap<>();
      for (NodeId peer : active) {
        long missing = lag.getOrDefault(peer, 0L);
        if (missing > 0) {
          behind.put(peer, missing);
        }
      }
      if (behind.isEmpty() || System.nanoTime() - until > 0) {
        break;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    if (!behind.isEmpty()) {
      log.atWarn()
          .addKeyValue("missingByPeer", behind)
          .log(
              "node id changing before every active peer holds this node's entries; the missing"
                  + " ones stay in the old file (rename the node back to send them)");
    }
  }

  /**
   * A {@code node.id} change (D9) is a leave and a rejoin: the write loop drains and replication
   * stops as the store closes ({@code node-{old}.db} is left as it is), then {@code node-{new}.db}
   * is opened or created, its clock restored from that file, with its own known peers. The
   * transport component then re-identifies the peer streams. In leader mode with peers the old id
   * must have left the members first ({@code datastore-node members remove}), or the change is
   * refused; the new id opens as a joiner, not a member until the primary adds it.
   */
  private void reopen(Config config) {
    Skein running = skein;
    if (running != null && running.nodeId().equals(config.get(Settings.NODE_ID))) {
      return; // already this id: a rollback of a change that was refused before it began
    }
    NodeId next = NodeSettings.nodeId(config);
    boolean leaderWithPeers =
        NodeSettings.leaderMode(config) && !config.get(Settings.CLUSTER_PEERS).isEmpty();
    io.skein.internal.engine.LeaderLoop loop = running == null ? null : running.leaderLoop();
    if (leaderWithPeers
        && running != null
        && loop != null
        && (loop.members().contains(NodeId.of(running.nodeId()))
            || loop.leaderStatus().membersIndex() > loop.leaderStatus().commitIndex())) {
      // Its removal must be committed, not only in its log: a new primary could truncate an
      // uncommitted one, and the old id would stay a voter that no longer exists.
      throw new IllegalStateException(
          "node.id cannot change while "
              + running.nodeId()
              + " is a member of the leader-mode cluster: first remove it (datastore-node members"
              + " remove --id "
              + running.nodeId()
              + ", on any member), then reload, then add the new id (datastore-node members add"
              + " --id "
              + next
              + " --member-url <this node's URL>)");
    }
    for (NodeId peer : NodeSettings.peerUrls(config).keySet()) {
      if (peer.equals(next)) {
        throw new IllegalArgumentException(
            "node.id " + next + " is also in cluster.peers: two nodes cannot share an id");
      }
    }
    Skein old = skein;
    Membership oldMembers = membership;
    if (old != null && oldMembers != null) {
      drainToPeers(old, oldMembers);
    }
    this.skein = null;
    this.membership = null;
    if (old != null) {
      String before = old.nodeId();
      old.close(); // drains the write loop, stops replication, closes node-{old}.db
      storeMeters.forEach(meters::remove);
      storeMeters = Set.of();
      log.atInfo()
          .addKeyValue("from", before)
          .addKeyValue("to", next)
          .log("node id changing: the old data file is closed and left as it is");
    }
    if (config.get(Settings.CLUSTER_PEERS).isEmpty() && !config.get(Settings.DISCOVERY_ENABLED)) {
      log.atWarn()
          .addKeyValue("nodeId", next)
          .log(
              "node id changed on a node without peers: node-{}.db is what it serves from now on,"
                  + " and nothing will fill it; the earlier data stays in its own file",
              next);
    }
    open(config, leaderWithPeers);
  }

  /** Returns the live settings of a configuration. */
  static SkeinConfig.Timings timings(Config config) {
    return new SkeinConfig.Timings(
        config.get(Settings.SYNC_INTERVAL).toMillis(),
        config.get(Settings.REPLICATION_TIMEOUT).toMillis(),
        config.get(Settings.OPLOG_RETENTION).toMillis(),
        Math.toIntExact(config.get(Settings.MAX_DOCUMENT_BYTES)),
        config.get(Settings.ELECTION_INTERVAL).toMillis(),
        Settings.heartbeat(config).toMillis());
  }

  @Override
  public void reload(List<ConfigChange> changes, Config config) {
    if (changes.stream().anyMatch(c -> c.setting() == Settings.NODE_ID)) {
      reopen(config);
    }
    // Always sent, never compared with what the store reports: after a timed-out change the
    // store's view and the snapshot may differ, and a rollback must still put the old values back.
    skein().reconfigure(timings(config), config.get(Settings.RELOAD_TIMEOUT).toMillis());
    skein()
        .queryLimits(
            config.get(Settings.QUERY_TIMEOUT).toMillis(), Settings.maxConcurrentQueries(config));
  }

  /** Returns the open store. */
  Skein skein() {
    Skein open = skein;
    if (open == null) {
      throw new ClosedException("the store is not open");
    }
    return open;
  }

  /** Returns the known peers. */
  Membership membership() {
    Membership members = membership;
    if (members == null) {
      throw new ClosedException("the store is not open");
    }
    return members;
  }

  @Override
  public void stop() {
    Skein open = skein;
    if (open != null) {
      open.close();
    }
  }
}
