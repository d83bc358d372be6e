package io.skein.node;

import io.cloudevents.CloudEvent;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.skein.ClosedException;
import io.skein.Skein;
import io.skein.SkeinException;
import io.skein.core.config.Config;
import io.skein.core.config.Violation;
import io.skein.internal.events.EventBus;
import io.skein.internal.events.NodeEvents;
import io.skein.internal.runtime.Component;
import io.skein.internal.runtime.NodeRuntime;
import io.skein.internal.runtime.ReloadOrchestrator;
import io.skein.internal.runtime.Threads;
import io.skein.internal.transport.PeerTransport;
import io.skein.node.config.ConfigSources;
import io.skein.node.config.NodeSettings;
import io.skein.node.config.Settings;
import io.skein.node.config.SettingsException;
import io.skein.node.http.HttpApi;
import io.skein.node.http.NodeHandle;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running node: components with a lifecycle, owned in order by a {@link NodeRuntime}, and the
 * reload engine that changes their settings live.
 *
 * <p>The components, in start order (they stop in the reverse order):
 *
 * <table>
 *   <caption>Components</caption>
 *   <tr><th>#</th><th>Component</th><th>Sections</th><th>Reload</th></tr>
 *   <tr><td>1</td><td>{@link MetricsComponent metrics}</td><td>-</td><td>-</td></tr>
 *   <tr><td>2</td><td>{@link LoggingComponent log}</td><td>log</td>
 *       <td>level dynamic; format static</td></tr>
 *   <tr><td>3</td><td>{@link StoreComponent store}: node-{id}.db, the write loop, the replication
 *       core, the known peers</td><td>replication, limits</td>
 *       <td>timings and document limit dynamic (a core input); max-clock-offset static</td></tr>
 *   <tr><td>4</td><td>{@link TransportComponent transport}: peer streams, always present</td>
 *       <td>-</td><td>cluster.* and tls.* static</td></tr>
 *   <tr><td>5</td><td>{@link HttpComponent http}: API, admin API, peer endpoint</td>
 *       <td>limits, admin</td><td>limits and admin token dynamic; host and port static</td></tr>
 *   <tr><td>6</td><td>{@link DiscoveryComponent discovery}: LAN beacons, membership
 *       housekeeping</td><td>discovery</td>
 *       <td>enabled and expiry dynamic; port, targets, interval restart-component</td></tr>
 *   <tr><td>7</td><td>{@link ConfigWatchComponent config-watch}: the config and env files</td>
 *       <td>reload</td><td>dynamic</td></tr>
 *   <tr><td>8</td><td>{@link ClusterConfigComponent cluster-config}: follows the replicated
 *       {@code _system_config} collection and reloads with trigger {@code cluster}</td>
 *       <td>-</td><td>-</td></tr>
 * </table>
 *
 * <p>The HTTP listener stops before the transport and the store, so a shutdown (SIGTERM, or {@link
 * #close()}) first refuses new requests and waits for those in flight, which may still need to
 * replicate; then the store finishes every queued write and closes its database. An acknowledged
 * write is therefore always committed.
 *
 * <p>Thread-safe.
 */
public final class NodeServer implements AutoCloseable, NodeHandle {
  private static final Logger log = LoggerFactory.getLogger(NodeServer.class);

  /** The longest a start waits for the cluster-wide settings to be applied. */
  private static final long FIRST_CLUSTER_APPLY_MS = 30_000;

  private final ConfigSources sources;
  private final PrometheusMeterRegistry meters;
  private final EventBus events = new EventBus();
  private final StoreComponent store;
  private final TransportComponent transport;
  private final HttpComponent http;
  private final DiscoveryComponent discovery;
  private final ConfigWatchComponent watch;
  private final ClusterConfigComponent clusterConfig;

  /** Writes {@code remote.initial-peers} into the replicated list, or {@code null} if none. */
  private volatile @Nullable InitialRemotePeers initialRemotePeers;

  private final NodeRuntime runtime;
  private final ReloadOrchestrator reloads;
  private final io.skein.internal.site.SiteSyncServer siteSync;
  private volatile io.skein.internal.site.@Nullable CloudSync cloudSync;
  private volatile boolean closed;

  private NodeServer(
      ConfigSources sources,
      Config config,
      String startHash,
      UnaryOperator<PeerTransport.Options> transportTuning) {
    this.sources = sources;
    this.meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    this.store = new StoreComponent(meters);
    this.transport = new TransportComponent(store, meters, transportTuning);
    this.http = new HttpComponent(this, transport);
    this.discovery = new DiscoveryComponent(store, transport, meters);
    this.watch = new ConfigWatchComponent(files(sources), startHash, this::reloads);
    this.siteSync =
        new io.skein.internal.site.SiteSyncServer(
            siteVerifier(config, meters), meters, Clock.systemUTC());
    io.micrometer.core.instrument.Gauge.builder(
            "skein.config.cluster.rejected", sources.cluster(), l -> l.rejected().size())
        .description("Cluster-wide values this node left out (GET /admin/cluster-config says why)")
        .register(meters);
    this.clusterConfig =
        new ClusterConfigComponent(
            store,
            sources,
            this::reloads,
            events,
            new NodeEvents(() -> snapshotNodeId(), Clock.systemUTC()));
    List<Component> components =
        List.of(
            new MetricsComponent(meters),
            new LoggingComponent(),
            store,
            transport,
            http,
            discovery,
            watch,
            clusterConfig);
    this.runtime = new NodeRuntime(components, config);
    this.reloads =
        new ReloadOrchestrator(
            runtime,
            () -> sources.load().resolution(),
            NodeServer::policy,
            events,
            new NodeEvents(() -> snapshotNodeId(), Clock.systemUTC()),
            meters,
            Clock.systemUTC());
  }

  /** The token check of {@code POST /v1/sync}, or {@code null} without {@code oauth2.issuer}. */
  private static io.skein.internal.oauth2.@Nullable JwtVerifier siteVerifier(
      Config config, PrometheusMeterRegistry meters) {
    String issuer = config.find(Settings.OAUTH2_ISSUER);
    if (issuer == null) {
      return null;
    }
    return new io.skein.internal.oauth2.JwtVerifier(
        issuer,
        config.get(Settings.OAUTH2_AUDIENCE),
        config.get(Settings.OAUTH2_SCOPE),
        Clock.systemUTC(),
        java.time.Duration.ofSeconds(5),
        java.time.Duration.ofSeconds(10),
        meters);
  }

  /** The gateway's settings for a cloud sync round, from the configuration in force. */
  private io.skein.internal.site.CloudSync.Options cloudSyncOptions() {
    Config config = runtime.config();
    return new io.skein.internal.site.CloudSync.Options(
        config.get(Settings.SYNC_INTERVAL).toMillis(),
        config.get(Settings.REMOTE_SCHEME),
        cloudSslContext(config),
        java.time.Duration.ofSeconds(10),
        NodeSettings.clusterSecret(config).value());
  }

  private volatile javax.net.ssl.@Nullable SSLContext cloudSsl;
  private volatile boolean cloudSslBuilt;

  /**
   * The TLS client context for cloud peers: one trusting {@code tls.truststore} when it is set
   * (static, so built once), else {@code null}: the JDK's CAs, since a cloud node usually has a
   * public certificate.
   */
  private javax.net.ssl.@Nullable SSLContext cloudSslContext(Config config) {
    if (!cloudSslBuilt) {
      io.skein.node.config.TlsSettings tls = NodeSettings.tls(config);
      cloudSsl =
          tls != null && config.find(Settings.TLS_TRUSTSTORE) != null ? tls.clientContext() : null;
      cloudSslBuilt = true;
    }
    return cloudSsl;
  }

  private static List<Path> files(ConfigSources sources) {
    List<Path> files = new ArrayList<>();
    Path config = sources.configFile();
    if (config != null) {
      files.add(config);
    }
    Path env = sources.envFile();
    if (env != null) {
      files.add(env);
    }
    return files;
  }

  private static ReloadOrchestrator.Policy policy(Config config) {
    return ReloadOrchestrator.Policy.of(
        config.get(Settings.RELOAD_TIMEOUT),
        config.get(Settings.RELOAD_ENABLE_ROLLBACK),
        new HashSet<>(config.get(Settings.RELOAD_ENABLED_MODULES)),
        config.get(Settings.RELOAD_FAILURE_THRESHOLD),
        config.get(Settings.RELOAD_BACKOFF_BASE),
        config.get(Settings.RELOAD_BACKOFF_CAP),
        config.get(Settings.RELOAD_QUEUE_MAX));
  }

  /**
   * Resolves the settings, opens the store and starts serving.
   *
   * @throws SettingsException listing every invalid setting (nothing was touched)
   * @throws SkeinException if the store cannot be opened
   * @throws HttpApi.BindException if the port cannot be bound
   */
  public static NodeServer start(ConfigSources sources) {
    return start(sources, UnaryOperator.identity());
  }

  /**
   * Starts a node whose peer transport options are adjusted after they are derived from the
   * settings: for tests that need bounds no setting exposes (those on unauthenticated streams).
   */
  static NodeServer start(
      ConfigSources sources, UnaryOperator<PeerTransport.Options> transportTuning) {
    // Hashed before the load: if the files change in between, the watcher sees a difference.
    String startHash = ConfigWatchComponent.hash(files(sources));
    Config config = NodeSettings.resolve(sources);
    checkPortFree(config);
    NodeServer server = new NodeServer(sources, config, startHash, transportTuning);
    NodeEvents leadership = new NodeEvents(server::snapshotNodeId, Clock.systemUTC());
    // Every store the node opens (at start, and again after a node.id change) reports its
    // leadership changes as events.
    server.store.onOpen(
        skein ->
            skein.onLeadershipChanged(
                change ->
                    server.events.publish(
                        leadership.leadershipChanged(
                            change.isLeader(),
                            change.leaderId(),
                            change.epoch(),
                            change.isGateway(),
                            change.gatewayId()))));
    server.runtime.start();
    server.reloads.start();
    // The cluster-wide values stored in _system_config are in force before start returns.
    try {
      if (!server.clusterConfig.awaitFirstApply(FIRST_CLUSTER_APPLY_MS)) {
        log.warn(
            "the cluster-wide settings were not applied within {} ms; they will be",
            FIRST_CLUSTER_APPLY_MS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    server.cloudSync =
        new io.skein.internal.site.CloudSync(
            server.store::skein,
            server::cloudSyncOptions,
            sources::variable,
            server.meters,
            Clock.systemUTC());
    java.util.List<io.skein.RemotePeer> initial = config.get(Settings.REMOTE_INITIAL_PEERS);
    if (!initial.isEmpty()) {
      server.initialRemotePeers = new InitialRemotePeers(server.store::skein, initial);
    }
    return server;
  }

  /** Whether every {@code remote.initial-peers} entry is in the replicated list (tests). */
  boolean initialRemotePeersDone() {
    InitialRemotePeers initial = initialRemotePeers;
    return initial == null || initial.done();
  }

  /**
   * Fails before the store opens (and creates its file) when the port is taken: the listener binds
   * after the store, which it serves.
   */
  private static void checkPortFree(Config config) {
    int port = config.get(Settings.NODE_PORT);
    if (port == 0) {
      return;
    }
    String host = config.get(Settings.NODE_HOST);
    try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
      probe.setReuseAddress(true);
      probe.bind(new java.net.InetSocketAddress(host, port));
    } catch (java.io.IOException e) {
      throw new HttpApi.BindException(
          "cannot listen on " + host + ":" + port + ": " + e.getMessage(), e);
    }
  }

  @Override
  public @Nullable ForgetRefusal forgetPeer(io.skein.core.model.NodeId peer) {
    if (NodeSettings.leaderMode(config())) {
      return new ForgetRefusal(
          "not_dynamo", "leader mode has no forgotten peers: its members are its configuration");
    }
    try {
      store.membership().forget(peer);
      return null;
    } catch (Membership.ForgetRefused e) {
      return new ForgetRefusal(e.code, String.valueOf(e.getMessage()));
    }
  }

  /** The node id of the configuration running now (it changes with a D9 reload). */
  private String snapshotNodeId() {
    return config().get(Settings.NODE_ID);
  }

  /** Returns the HTTP listener running now (for tests). */
  io.skein.node.http.HttpApi httpApi() {
    return http.api();
  }

  @Override
  public int port() {
    return http.api().port();
  }

  @Override
  public io.skein.internal.site.SiteSyncServer siteSync() {
    return siteSync;
  }

  @Override
  public List<io.skein.internal.site.CloudSync.PeerState> cloudPeers() {
    io.skein.internal.site.CloudSync sync = cloudSync;
    return sync == null ? List.of() : sync.peers();
  }

  @Override
  public Skein skein() {
    return store.skein();
  }

  @Override
  public Config config() {
    return runtime.config();
  }

  @Override
  public PeerTransport transport() {
    return transport.transport();
  }

  @Override
  public PrometheusMeterRegistry meters() {
    return meters;
  }

  @Override
  public io.skein.node.config.ClusterLayer clusterLayer() {
    return sources.cluster();
  }

  @Override
  public ReloadOrchestrator reloads() {
    return reloads;
  }

  @Override
  public EventBus events() {
    return events;
  }

  /**
   * Adds an observer of the node's events: the reload events of seed 002 and leadership changes, as
   * CloudEvents. It runs on the thread that publishes the event: it must return quickly, and an
   * exception it throws is logged and ignored.
   *
   * @return what removes it
   */
  public AutoCloseable onEvent(Consumer<CloudEvent> observer) {
    return events.observe(observer);
  }

  /**
   * Reloads the configuration now and waits for the result (the seed's {@code RequestReload}).
   *
   * @param sections the sections to reload, none for all
   * @throws ReloadOrchestrator.BackingOffException if the circuit breaker is open
   */
  public ReloadOrchestrator.Result reload(String... sections) {
    try {
      return reloads.request("api", Set.of(sections)).get(15, TimeUnit.MINUTES);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ClosedException("interrupted while waiting for the reload");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new IllegalStateException(e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException("the reload did not finish within 15 minutes", e);
    }
  }

  /**
   * Sets runtime overrides, the highest source (D6), and reloads.
   *
   * @param values raw values by dotted path; a {@code null} value removes an override
   * @throws SettingsException if a path is unknown (nothing changes)
   */
  public ReloadOrchestrator.Result override(Map<String, ? extends @Nullable Object> values) {
    synchronized (sources) {
      Map<String, Object> before = sources.overrides();
      List<Violation> problems = sources.override(values);
      if (!problems.isEmpty()) {
        throw new SettingsException("invalid override: " + problems);
      }
      ReloadOrchestrator.Result result = null;
      try {
        result = reloads.request("override", Set.of()).get(15, TimeUnit.MINUTES);
        return result;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new ClosedException("interrupted while waiting for the reload");
      } catch (ExecutionException | TimeoutException e) {
        Throwable cause = e.getCause();
        if (cause instanceof RuntimeException runtime) {
          throw runtime;
        }
        throw new IllegalStateException("the override's reload did not complete: " + e, e);
      } finally {
        boolean applied =
            result != null
                && (result.outcome() == ReloadOrchestrator.Outcome.COMPLETED
                    || result.outcome() == ReloadOrchestrator.Outcome.NO_CHANGE);
        if (!applied) {
          // Not in force: it must not linger and fail every later reload, or sneak in later.
          sources.replaceOverrides(before);
        }
      }
    }
  }

  /** Returns the discovery component (tests: its schedules survive reloads). */
  DiscoveryComponent discoveryComponent() {
    return discovery;
  }

  /** Returns the config watcher (tests). */
  ConfigWatchComponent configWatch() {
    return watch;
  }

  /**
   * Runs a node until SIGTERM/SIGINT, then shuts it down; returns the exit status. SIGHUP reloads
   * (the caller installed the handler with {@link Signals#install()} first).
   */
  static int runUntilShutdown(ConfigSources sources, java.io.PrintWriter err) {
    NodeServer server;
    try {
      server = start(sources);
    } catch (SkeinException | HttpApi.BindException e) {
      log.error("cannot start node: {}", e.getMessage());
      err.println("datastore-node: " + e.getMessage());
      err.flush();
      return 1;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            Threads.shutdownHook(
                "skein-shutdown",
                () -> {
                  log.info("shutdown requested; draining");
                  server.close();
                  stopped.countDown();
                  // A JVM ended by SIGTERM exits with 143 whatever main returns; after a clean
                  // drain the documented status is 0, so end the process here with it.
                  Runtime.getRuntime().halt(0);
                }));
    Signals.onHangup(() -> server.reloadOnSignal());
    Config config = server.config();
    log.atInfo()
        .addKeyValue("nodeId", config.get(Settings.NODE_ID))
        .addKeyValue("url", NodeSettings.url(config, server.port()))
        .addKeyValue("mode", config.get(Settings.CLUSTER_MODE))
        .addKeyValue("role", startRole(config))
        .addKeyValue("dataDir", NodeSettings.dataDir(config).toAbsolutePath())
        .addKeyValue("durability", config.get(Settings.NODE_DURABILITY))
        .addKeyValue("peers", config.get(Settings.CLUSTER_PEERS).size())
        .addKeyValue("configFile", sources.configFile() == null ? "none" : sources.configFile())
        .log("node started");
    try {
      stopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }

  /**
   * The role a node starts in, for its start-up log line: {@code --role} in leader mode, and {@code
   * peer} in dynamo mode, where every node is a peer and {@code --role} means nothing.
   */
  static String startRole(Config config) {
    return NodeSettings.leaderMode(config) ? config.get(Settings.CLUSTER_ROLE) : "peer";
  }

  private void reloadOnSignal() {
    try {
      reloads.request("signal", Set.of());
    } catch (RuntimeException e) {
      log.warn("SIGHUP: no reload: {}", e.getMessage());
    }
  }

  /** Stops serving, finishes in-flight requests and queued writes, and closes the store. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    InitialRemotePeers initial = initialRemotePeers;
    if (initial != null) {
      initial.close();
    }
    io.skein.internal.site.CloudSync sync = cloudSync;
    if (sync != null) {
      sync.close();
    }
    reloads.close();
    runtime.close();
    log.atInfo().addKeyValue("nodeId", runtime.config().get(Settings.NODE_ID)).log("node stopped");
  }
}
