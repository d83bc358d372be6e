package io.skein.node;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.skein.core.config.Config;
import io.skein.core.config.ConfigChange;
import io.skein.core.model.NodeId;
import io.skein.internal.runtime.Component;
import io.skein.internal.runtime.Threads;
import io.skein.internal.transport.PeerTransport;
import io.skein.node.config.NodeSettings;
import io.skein.node.config.Settings;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Membership housekeeping and LAN discovery (dynamo mode). Every second a scheduled task expires
 * silent discovered peers and registers a lag gauge for new ones. With {@code discovery.enabled},
 * beacons go out every {@code discovery.interval} and authenticated nodes that answer are admitted.
 *
 * <p>Reload: {@code discovery.enabled} turns beaconing and admission on or off live; {@code
 * discovery.port}, {@code discovery.targets} and {@code discovery.interval} restart the beacon
 * socket in place ({@code restart-component}); {@code discovery.expiry} applies to the next check.
 * Every reload builds a new housekeeping scheduler and shuts the old one down, so no schedule dies
 * with a reload (the Spring {@code @RefreshScope} bug); {@link #housekeepingRuns()} lets a test see
 * that it keeps running.
 */
final class DiscoveryComponent implements Component {
  private static final Logger log = LoggerFactory.getLogger(DiscoveryComponent.class);
  private static final long HOUSEKEEPING_MS = 1_000;

  private final StoreComponent store;
  private final TransportComponent transport;
  private final MeterRegistry meters;
  private final Set<NodeId> lagGauges = ConcurrentHashMap.newKeySet();
  private final AtomicLong housekeepingRuns = new AtomicLong();
  private @Nullable ScheduledExecutorService housekeeping;
  private @Nullable LanDiscovery lan;
  private int boundPort = -1;

  DiscoveryComponent(StoreComponent store, TransportComponent transport, MeterRegistry meters) {
    this.store = store;
    this.transport = transport;
    this.meters = meters;
  }

  @Override
  public String name() {
    return "discovery";
  }

  @Override
  public Set<String> sections() {
    return Set.of("discovery");
  }

  @Override
  public synchronized void start(Config config) {
    housekeeping = schedule();
    applyBeacons(config);
  }

  @Override
  public synchronized void reload(List<ConfigChange> changes, Config config) {
    Membership members = store.membership();
    boolean enabled = enabled(config);
    members.discovery(enabled);
    members.expiryMs(config.get(Settings.DISCOVERY_EXPIRY).toMillis());
    ScheduledExecutorService old = housekeeping;
    housekeeping = schedule();
    if (old != null) {
      old.shutdownNow();
    }
    boolean restartBeacons = false;
    for (ConfigChange change : changes) {
      restartBeacons |= !change.setting().equals(Settings.DISCOVERY_EXPIRY);
    }
    if (restartBeacons) {
      closeBeacons();
      applyBeacons(config);
    }
  }

  private static boolean enabled(Config config) {
    return !NodeSettings.leaderMode(config) && config.get(Settings.DISCOVERY_ENABLED);
  }

  private void applyBeacons(Config config) {
    if (!enabled(config)) {
      return;
    }
    PeerTransport peers = transport.transport();
    Membership members = store.membership();
    members.discovery(true);
    byte[] secret = NodeSettings.clusterSecret(config).value().getBytes(StandardCharsets.UTF_8);
    lan =
        new LanDiscovery(
            NodeSettings.nodeId(config),
            peers.selfUrl(),
            config.get(Settings.CLUSTER_ID),
            secret,
            config.get(Settings.DISCOVERY_PORT),
            NodeSettings.discoveryTargets(config),
            config.get(Settings.DISCOVERY_INTERVAL).toMillis(),
            members::onBeacon,
            meters);
    boundPort = config.get(Settings.DISCOVERY_PORT);
    log.info("LAN discovery on UDP port {}", boundPort);
  }

  private void closeBeacons() {
    LanDiscovery running = lan;
    if (running != null) {
      running.close();
      lan = null;
      log.info("LAN discovery on UDP port {} stopped", boundPort);
    }
  }

  private ScheduledExecutorService schedule() {
    ScheduledExecutorService scheduler = Threads.scheduler("skein-membership");
    scheduler.scheduleWithFixedDelay(
        this::housekeeping, HOUSEKEEPING_MS, HOUSEKEEPING_MS, TimeUnit.MILLISECONDS);
    return scheduler;
  }

  /** Expires silent discovered peers and registers lag gauges for new ones. */
  private void housekeeping() {
    try {
      Map<NodeId, Long> lastContact = new LinkedHashMap<>();
      for (PeerTransport.PeerView view : transport.transport().peers()) {
        lastContact.put(view.nodeId(), view.lastContactMs());
      }
      Membership members = store.membership();
      members.expire(lastContact);
      for (NodeId peer : members.known().keySet()) {
        registerLagGauge(peer);
      }
      housekeepingRuns.incrementAndGet();
    } catch (RuntimeException e) {
      log.warn("membership housekeeping failed; it runs again in {} ms", HOUSEKEEPING_MS, e);
    }
  }

  private void registerLagGauge(NodeId peer) {
    if (!lagGauges.add(peer)) {
      return; // registered already (Micrometer warns on a second registration)
    }
    Gauge.builder(
            "skein.replication.lag.entries",
            store,
            s -> s.skein().replicator().status().lagEntries().getOrDefault(peer, 0L))
        .description("Entries held here that a peer has not confirmed")
        .tag("peer", peer.value())
        .register(meters);
  }

  /** Returns how many times the housekeeping task has run (tests: schedules survive reloads). */
  long housekeepingRuns() {
    return housekeepingRuns.get();
  }

  /** Returns whether beacons are going out. */
  synchronized boolean beaconing() {
    return lan != null;
  }

  @Override
  public synchronized void stop() {
    ScheduledExecutorService scheduler = housekeeping;
    if (scheduler != null) {
      scheduler.shutdownNow();
    }
    closeBeacons();
  }
}
