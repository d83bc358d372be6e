package io.skein.node;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.skein.Durability;
import io.skein.Skein;
import io.skein.SkeinConfig;
import io.skein.SkeinException;
import io.skein.core.model.NodeId;
import io.skein.internal.transport.Handshake;
import io.skein.internal.transport.PeerTransport;
import io.skein.node.http.HttpApi;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running node: an embedded {@link Skein} store served by the {@link HttpApi}.
 *
 * <p>Shutdown order (SIGTERM, or {@link #close()}): the API stops taking new requests and waits for
 * the ones in flight (bounded), then the store finishes every queued write and closes its database.
 * An acknowledged write is therefore always committed.
 */
public final class NodeServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeServer.class);
  private static final long DRAIN_TIMEOUT_MS = 10_000;

  private final NodeSettings settings;
  private final PrometheusMeterRegistry meters;
  private final Skein skein;
  private final HttpApi api;
  private final @Nullable PeerTransport transport;
  private final @Nullable Membership membership;
  private final @Nullable LanDiscovery lan;
  private final @Nullable Thread housekeeping;
  private volatile boolean closed;

  private NodeServer(NodeSettings settings) {
    this.settings = settings;
    this.meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new JvmMemoryMetrics().bindTo(meters);
    new JvmGcMetrics().bindTo(meters);
    new JvmThreadMetrics().bindTo(meters);
    new ClassLoaderMetrics().bindTo(meters);
    new ProcessorMetrics().bindTo(meters);
    new UptimeMetrics().bindTo(meters);
    NodeSettings.Discovery discovery = settings.discovery();
    boolean leaderMode = settings.mode() == NodeSettings.Mode.LEADER;
    boolean discovering = !leaderMode && discovery.enabled();
    boolean replicating = !settings.peers().isEmpty() || discovering;
    if (leaderMode && !settings.peers().isEmpty() && settings.durability() == Durability.BUFFERED) {
      log.warn(
          "--durability buffered in leader mode: votes, epochs and acknowledged log entries are"
              + " not fsynced, so a power loss on a majority can lose w=majority writes or allow"
              + " two votes in one epoch. Use fsync (the default) unless the data is disposable.");
    }
    Map<NodeId, URI> staticPeers = new LinkedHashMap<>();
    for (PeerAddress peer : settings.peers()) {
      staticPeers.put(peer.nodeId(), URI.create(peer.url(settings.scheme())));
    }
    this.membership =
        replicating
            ? new Membership(
                settings.nodeId(),
                settings.dataDir(),
                staticPeers,
                discovering,
                discovery.expiryMs(),
                java.time.InstantSource.system())
            : null;
    SkeinConfig.Builder config =
        SkeinConfig.builder(settings.dataDir(), settings.nodeId().value())
            .durability(settings.durability())
            .documentBytesMax(settings.documentBytesMax())
            .syncIntervalMs(settings.syncIntervalMs())
            .replicationTimeoutMs(settings.replicationTimeoutMs())
            .oplogRetentionMs(settings.oplogRetentionMs())
            .discovery(discovering)
            .meters(meters);
    if (leaderMode) {
      config.leaderMode(
          settings.electionIntervalMs(), settings.role() == NodeSettings.Role.PRIMARY);
    }
    if (membership != null) {
      config.peers(membership.initialPeers().keySet().stream().map(NodeId::value).toList());
    }
    this.skein = Skein.open(config.build());
    LanDiscovery lan = null;
    PeerTransport transport = null;
    HttpApi started = null;
    try {
      transport = membership != null ? transport(settings, skein, meters, membership) : null;
      started = HttpApi.start(settings, skein, meters, transport);
      this.api = started;
      String selfUrl =
          new PeerAddress(settings.nodeId(), settings.host(), api.port()).url(settings.scheme());
      if (transport != null && membership != null) {
        transport.advertise(selfUrl);
        transport.onConnected(membership::confirmed);
        membership.attach(transport, skein.replicator());
        transport.start();
        if (discovering) {
          byte[] secret = clusterSecret(settings).value().getBytes(StandardCharsets.UTF_8);
          lan =
              new LanDiscovery(
                  settings.nodeId(),
                  selfUrl,
                  settings.clusterId(),
                  secret,
                  discovery.port(),
                  discovery.targets(),
                  discovery.intervalMs(),
                  membership::onBeacon,
                  meters);
        }
      }
    } catch (RuntimeException e) {
      if (started != null) {
        started.drainAndStop(0);
      }
      if (transport != null) {
        transport.close();
      }
      skein.close();
      throw e;
    }
    this.lan = lan;
    this.transport = transport;
    if (transport != null && membership != null) {
      Gauge.builder(
              "skein.replication.refused.entries",
              skein,
              s -> s.replicator().status().refusedEntries())
          .description("Remote entries refused for an HLC beyond the max clock offset")
          .register(meters);
      PeerTransport peers = transport;
      Membership members = membership;
      this.housekeeping =
          Thread.ofPlatform()
              .daemon()
              .name("skein-membership")
              .start(() -> housekeeping(peers, members));
    } else {
      this.housekeeping = null;
    }
  }

  /** Every second: expires silent discovered peers and registers lag gauges for new ones. */
  private void housekeeping(PeerTransport peers, Membership members) {
    while (!closed) {
      Map<NodeId, Long> lastContact = new LinkedHashMap<>();
      for (PeerTransport.PeerView view : peers.peers()) {
        lastContact.put(view.nodeId(), view.lastContactMs());
      }
      members.expire(lastContact);
      for (NodeId peer : members.known().keySet()) {
        registerLagGauge(peer);
      }
      try {
        Thread.sleep(1_000);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private static NodeSettings.Secret clusterSecret(NodeSettings settings) {
    NodeSettings.Secret secret = settings.clusterSecret();
    return secret != null ? secret : NodeSettings.LOOPBACK_DEVELOPMENT_SECRET;
  }

  private static PeerTransport transport(
      NodeSettings settings, Skein skein, PrometheusMeterRegistry meters, Membership membership) {
    if (settings.clusterSecret() == null) {
      log.warn(
          "no cluster secret is set; this loopback-only cluster authenticates peers with a"
              + " well-known development secret. Set --cluster-secret for anything else.");
    }
    Handshake.Identity identity =
        new Handshake.Identity(
            settings.clusterId(),
            settings.nodeId(),
            clusterSecret(settings).value().getBytes(StandardCharsets.UTF_8));
    TlsSettings tls = settings.tls();
    PeerTransport transport =
        new PeerTransport(
            identity,
            settings.url(),
            membership.initialPeers(),
            skein.replicator(),
            PeerTransport.Options.defaults(settings.syncIntervalMs())
                .withSslContext(tls == null ? null : tls.clientContext()),
            meters);
    transport.admission(membership::admit);
    return transport;
  }

  private final java.util.Set<NodeId> lagGauges =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  private void registerLagGauge(NodeId peer) {
    if (!lagGauges.add(peer)) {
      return; // registered already (Micrometer warns on a second registration)
    }
    Gauge.builder(
            "skein.replication.lag.entries",
            skein,
            s -> s.replicator().status().lagEntries().getOrDefault(peer, 0L))
        .description("Entries held here that a peer has not confirmed")
        .tag("peer", peer.value())
        .register(meters);
  }

  /**
   * Opens the store and starts serving.
   *
   * @throws SkeinException if the store cannot be opened
   * @throws io.skein.node.http.HttpApi.BindException if the port cannot be bound
   */
  public static NodeServer start(NodeSettings settings) {
    return new NodeServer(settings);
  }

  /** Returns the port the API is bound to (useful with port 0). */
  public int port() {
    return api.port();
  }

  /** Returns the store. */
  public Skein skein() {
    return skein;
  }

  /** Runs a node until SIGTERM/SIGINT, then shuts it down; returns the exit status. */
  static int runUntilShutdown(NodeSettings settings) {
    NodeServer server;
    try {
      server = start(settings);
    } catch (SkeinException | HttpApi.BindException e) {
      log.error("cannot start node {}: {}", settings.nodeId(), e.getMessage());
      System.err.println("datastore-node: " + e.getMessage());
      return 1;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  log.info("shutdown requested; draining");
                  server.close();
                  stopped.countDown();
                  // A JVM ended by SIGTERM exits with 143 whatever main returns; after a clean
                  // drain the documented status is 0, so end the process here with it.
                  Runtime.getRuntime().halt(0);
                },
                "skein-shutdown"));
    log.atInfo()
        .addKeyValue("nodeId", settings.nodeId())
        .addKeyValue("url", settings.scheme() + "://" + settings.host() + ":" + server.port())
        .addKeyValue("mode", settings.mode())
        .addKeyValue("role", settings.role())
        .addKeyValue("dataDir", settings.dataDir().toAbsolutePath())
        .addKeyValue("durability", settings.durability())
        .addKeyValue("peers", settings.peers().size())
        .log("node started");
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }

  /** Stops serving, finishes in-flight requests and queued writes, and closes the store. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    api.drainAndStop(DRAIN_TIMEOUT_MS);
    if (housekeeping != null) {
      housekeeping.interrupt();
    }
    if (lan != null) {
      lan.close();
    }
    if (transport != null) {
      transport.close();
    }
    skein.close();
    meters.close();
    log.atInfo().addKeyValue("nodeId", settings.nodeId()).log("node stopped");
  }
}
