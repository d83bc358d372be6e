package io.skein.node;

import io.skein.ClosedException;
import io.skein.core.config.Config;
import io.skein.core.config.ConfigChange;
import io.skein.internal.runtime.Component;
import io.skein.node.config.NodeSettings;
import io.skein.node.http.HttpApi;
import io.skein.node.http.NodeHandle;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The HTTP listener: the API v1, the admin API and the peer endpoint on the node's one port (D11).
 * Once bound, it tells the transport the URL this node serves on, which starts the dialling. Its
 * routes read the running configuration on every request, so {@code limits.max-request-bytes}, the
 * change-stream caps, {@code http.header-timeout} and {@code admin.token} apply from the moment a
 * reload swaps the snapshot; the rate limiter, the CORS and Host policies and the idle timeout of
 * new connections are rebuilt here. {@code node.host} and {@code node.port} are {@code static} for
 * now.
 *
 * <p>Stopping drains: new requests are refused, those in flight finish (bounded), then the server
 * stops. It stops before the transport and the store, so in-flight writes still replicate.
 */
final class HttpComponent implements Component {
  private static final long DRAIN_TIMEOUT_MS = 10_000;

  private final NodeHandle node;
  private final TransportComponent transport;
  private volatile @Nullable HttpApi api;

  HttpComponent(NodeHandle node, TransportComponent transport) {
    this.node = node;
    this.transport = transport;
  }

  @Override
  public String name() {
    return "http";
  }

  @Override
  public Set<String> sections() {
    return Set.of("limits", "admin", "http");
  }

  @Override
  public void start(Config config) {
    HttpApi started = HttpApi.start(node, config);
    this.api = started;
    transport.transport().advertise(NodeSettings.url(config, started.port()));
  }

  @Override
  public void reload(List<ConfigChange> changes, Config config) {
    api().configure(config);
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
