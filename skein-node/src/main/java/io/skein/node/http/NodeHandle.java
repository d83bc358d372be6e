package io.skein.node.http;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.skein.Skein;
import io.skein.core.config.Config;
import io.skein.internal.events.EventBus;
import io.skein.internal.runtime.ReloadOrchestrator;
import io.skein.internal.transport.PeerTransport;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What the HTTP routes read on every request: the node's current store, configuration, transport
 * and reload engine. Routes never hold these from construction, so a component can replace what it
 * owns (a reopened store, a new configuration snapshot) without rebuilding the routes.
 *
 * <p>Implementations are thread-safe and never block.
 */
public interface NodeHandle {
  /**
   * Returns the store.
   *
   * @throws io.skein.ClosedException if the node is not serving
   */
  Skein skein();

  /** Returns the configuration the node runs now. */
  Config config();

  /** Returns the peer transport (it exists even without peers). */
  PeerTransport transport();

  /** Returns the metrics registry. */
  PrometheusMeterRegistry meters();

  /** Returns the port the API is bound to (the real one with port 0). */
  int port();

  /** Returns the cluster-wide layer of the settings ({@code _system_config}). */
  io.skein.node.config.ClusterLayer clusterLayer();

  /** Returns the reload engine. */
  ReloadOrchestrator reloads();

  /** Returns the event bus ({@code GET /admin/events}). */
  EventBus events();

  /**
   * Why a peer was not forgotten.
   *
   * @param code the error code ({@code unknown_peer}, {@code peer_active}, {@code not_dynamo})
   * @param message what was wrong
   */
  record ForgetRefusal(String code, String message) {}

  /**
   * Forgets a peer that is gone for good (dynamo mode, D5): tombstone collection stops waiting for
   * it.
   *
   * @return {@code null} if it was forgotten, else why not
   */
  @Nullable ForgetRefusal forgetPeer(io.skein.core.model.NodeId peer);

  /** Returns the receiving end of site-to-site sync ({@code POST /v1/sync}). */
  io.skein.internal.site.SiteSyncServer siteSync();

  /** Returns the cloud peers this node syncs with as gateway (none unless it is the gateway). */
  List<io.skein.internal.site.CloudSync.PeerState> cloudPeers();
}
