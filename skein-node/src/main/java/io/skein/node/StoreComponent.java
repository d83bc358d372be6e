package io.skein.node;

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

  @Override
  public Set<String> sections() {
    return Set.of("replication", "limits");
  }

  @Override
  public void start(Config config) {
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
            .meters(meters);
    if (leaderMode) {
      builder.leaderMode(
          config.get(Settings.ELECTION_INTERVAL).toMillis(),
          Settings.heartbeat(config).toMillis(),
          config.get(Settings.CLUSTER_ROLE).equals("primary"));
    }
    Skein opened = Skein.open(builder.build());
    opened.queryLimits(
        config.get(Settings.QUERY_TIMEOUT).toMillis(), Settings.maxConcurrentQueries(config));
    this.skein = opened;
    this.membership = members;
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
