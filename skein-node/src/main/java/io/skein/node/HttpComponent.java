package io.skein.node;

import io.micrometer.core.instrument.Counter;
import io.skein.ClosedException;
import io.skein.core.config.Config;
import io.skein.core.config.ConfigChange;
import io.skein.internal.runtime.Component;
import io.skein.internal.transport.PeerTransport;
import io.skein.node.config.NodeSettings;
import io.skein.node.config.Settings;
import io.skein.node.http.HttpApi;
import io.skein.node.http.NodeHandle;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP listener: the API v1, the admin API and the peer endpoint on the node's one port (D11).
 * Once bound, it tells the transport the URL this node serves on, which starts the dialling. Its
 * routes read the running configuration on every request, so {@code limits.max-request-bytes}, the
 * change-stream caps, {@code http.header-timeout} and {@code admin.token} apply from the moment a
 * reload swaps the snapshot; the rate limiter, the CORS and Host policies and the idle timeout of
 * new connections are rebuilt here. A {@code node.host} or {@code node.port} change moves the
 * listener (D8, {@link #move}).
 *
 * <p>Stopping drains: new requests are refused, those in flight finish (bounded), then the server
 * stops. It stops before the transport and the store, so in-flight writes still replicate.
 */
final class HttpComponent implements Component {
  private static final long DRAIN_TIMEOUT_MS = 10_000;

  /**
   * How long a move waits for the requests in flight on the old listener: less than the default
   * {@code reload.reload-timeout} (10 s), so that a move with slow requests still completes. Long
   * polls and change streams end at once when the drain starts (they reconnect to the new port).
   */
  private static final long MOVE_DRAIN_TIMEOUT_MS = 5_000;

  /**
   * How long a move keeps the old listener open (redirecting) for the peers to hear the new
   * address: a reconnect and a handshake each, normally milliseconds.
   */
  private static final long MOVE_ANNOUNCE_TIMEOUT_MS = 3_000;

  /**
   * How long the old listener keeps redirecting after every peer heard the new address: a redirect
   * a peer sent just before it heard (to the old address) still finds a listener that redirects
   * again, instead of a closed port. Seen in CI: a client followed such a redirect a few ms after
   * the old port closed.
   */
  static final long MOVE_LINGER_MS = 500;

  private static final Logger log = LoggerFactory.getLogger(HttpComponent.class);

  private final NodeHandle node;
  private final TransportComponent transport;
  private volatile @Nullable HttpApi api;

  private final Counter moves;

  HttpComponent(NodeHandle node, TransportComponent transport) {
    this.node = node;
    this.transport = transport;
    this.moves =
        Counter.builder("skein.http.listener.moves")
            .description("Times the listener moved to a new address at run time (D8)")
            .register(node.meters());
  }

  @Override
  public String name() {
    return "http";
  }

  @Override
  public Set<String> sections() {
    return Set.of("limits", "admin", "http", "node");
  }

  @Override
  public void start(Config config) {
    HttpApi started = HttpApi.start(node, config);
    this.api = started;
    this.listening = config;
    transport.transport().advertise(NodeSettings.url(config, started.port()));
  }

  /** The configuration the running listener was bound with (its node.host and node.port). */
  private volatile @Nullable Config listening;

  @Override
  public void reload(List<ConfigChange> changes, Config config) throws InterruptedException {
    Config bound = listening;
    boolean relocate =
        bound == null
            || !bound.get(Settings.NODE_HOST).equals(config.get(Settings.NODE_HOST))
            || !bound.get(Settings.NODE_PORT).equals(config.get(Settings.NODE_PORT));
    // Compared with what the listener runs, not with the change list: the rollback of a move
    // whose bind failed finds the old listener already where it should be, and leaves it.
    if (relocate && bound != null) {
      move(config, bound);
    }
    api().configure(config);
  }

  /**
   * Moves the listener (D8): binds the new address first, so that there is no moment without a
   * listener and a failed bind (port in use, no permission) fails the reload with the old listener
   * untouched; then advertises the new URL, which reconnects the outbound peer streams so that
   * their handshakes announce it (the peers follow, and their redirects point at it); then drains
   * the old listener: requests in flight there finish, new ones go to the new address.
   */
  private void move(Config config, Config bound) throws InterruptedException {
    HttpApi old = api();
    int oldPort = old.port();
    long started = System.nanoTime();
    HttpApi moved;
    try {
      moved = HttpApi.start(node, config);
    } catch (HttpApi.BindException e) {
      if (config.get(Settings.NODE_PORT) != oldPort) {
        throw e; // the old listener is untouched
      }
      // The same port on another address (127.0.0.1 to 0.0.0.0, say): the two binds overlap and
      // cannot coexist, so this one move closes the old listener first, then binds; a failure
      // puts the old one back. Requests that arrive in between are refused.
      old.drainAndStop(MOVE_DRAIN_TIMEOUT_MS);
      try {
        moved = HttpApi.start(node, config);
      } catch (HttpApi.BindException again) {
        this.api = HttpApi.start(node, bound);
        throw again;
      }
      this.api = moved;
      this.listening = config;
      transport.transport().advertise(NodeSettings.url(config, moved.port()));
      moves.increment();
      log.atInfo()
          .addKeyValue("from", bound.get(Settings.NODE_HOST) + ":" + oldPort)
          .addKeyValue("to", NodeSettings.url(config, moved.port()))
          .log("listener moved to another address on the same port, closing the old one first");
      return;
    }
    this.api = moved;
    this.listening = config;
    String url = NodeSettings.url(config, moved.port());
    old.redirectTo(url);
    PeerTransport peers = transport.transport();
    peers.advertise(url);
    // The old listener stays open, redirecting, until every peer has heard the new address (its
    // redirects to this node point there from then on), or the wait runs out.
    long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(MOVE_ANNOUNCE_TIMEOUT_MS);
    while (!peers.peersKnow(url) && System.nanoTime() < until) {
      Thread.sleep(10);
    }
    if (!peers.peersKnow(url)) {
      log.atWarn()
          .addKeyValue("url", url)
          .log("not every peer heard the new address in time; they learn it when they reconnect");
    }
    Thread.sleep(MOVE_LINGER_MS);
    old.drainAndStop(MOVE_DRAIN_TIMEOUT_MS);
    moves.increment();
    log.atInfo()
        .addKeyValue("from", oldPort)
        .addKeyValue("to", url)
        .addKeyValue("ms", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started))
        .log("listener moved");
  }

  /** Returns the listener. */
  HttpApi api() {
    HttpApi listener = api;
    if (listener == null) {
      throw new ClosedException("the HTTP listener is not running");
    }
    return listener;
  }

  @Override
  public void stop() {
    HttpApi listener = api;
    if (listener != null) {
      listener.drainAndStop(DRAIN_TIMEOUT_MS);
    }
  }
}
