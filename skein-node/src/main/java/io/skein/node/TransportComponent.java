package io.skein.node;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.skein.ClosedException;
import io.skein.core.config.Config;
import io.skein.core.config.ConfigChange;
import io.skein.core.config.Secret;
import io.skein.core.leader.LeaderMembers;
import io.skein.core.model.NodeId;
import io.skein.internal.engine.LeaderLoop;
import io.skein.internal.runtime.Component;
import io.skein.internal.transport.Handshake;
import io.skein.internal.transport.PeerTransport;
import io.skein.node.config.NodeSettings;
import io.skein.node.config.Settings;
import io.skein.node.config.TlsSettings;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The peer transport (D10, D11). It exists on every node, with or without peers: a node without
 * peers refuses every stream at the handshake ({@code unknown_peer}), and peers can join it later
 * (discovery). It dials once the HTTP listener has announced the URL this node serves on. It owns
 * {@code cluster.peers} (dynamic in dynamo mode, see {@link #reload}); the other {@code cluster.*}
 * settings and {@code tls.*} are {@code static}.
 */
final class TransportComponent implements Component {
  private static final Logger log = LoggerFactory.getLogger(TransportComponent.class);

  private final StoreComponent store;
  private final MeterRegistry meters;
  private final UnaryOperator<PeerTransport.Options> tuning;
  private volatile @Nullable PeerTransport transport;

  /**
   * Creates the component.
   *
   * @param tuning adjusts the transport's options derived from the settings (tests set small bounds
   *     on strangers; the node passes them through)
   */
  TransportComponent(
      StoreComponent store, MeterRegistry meters, UnaryOperator<PeerTransport.Options> tuning) {
    this.store = store;
    this.meters = meters;
    this.tuning = tuning;
  }

  @Override
  public String name() {
    return "transport";
  }

  @Override
  public Set<String> sections() {
    return Set.of("cluster", "node");
  }

  @Override
  public void start(Config config) {
    if (config.find(Settings.CLUSTER_SECRET) == null
        && !config.get(Settings.CLUSTER_PEERS).isEmpty()) {
      log.warn(
          "no cluster secret is set; this loopback-only cluster authenticates peers with a"
              + " well-known development secret. Set --cluster-secret for anything else.");
    }
    Handshake.Identity identity = identity(config);
    TlsSettings tls = NodeSettings.tls(config);
    Membership membership = store.membership();
    PeerTransport peers =
        new PeerTransport(
            identity,
            NodeSettings.url(config, config.get(Settings.NODE_PORT)),
            membership.initialPeers(),
            () -> store.skein().replicator(),
            tuning.apply(
                PeerTransport.Options.defaults(
                        config.get(Settings.SYNC_INTERVAL).toMillis(),
                        PeerTransport.Options.reconnectCapMs(
                            NodeSettings.leaderMode(config),
                            config.get(Settings.ELECTION_INTERVAL).toMillis()))
                    .withSslContext(tls == null ? null : tls.clientContext())),
            meters);
    wire(peers, membership);
    membership.attach(peers, store.skein().replicator());
    peers.start();
    LeaderLoop loop = store.skein().leaderLoop();
    if (loop != null) {
      loop.onMembers(changed -> followMembers(peers, membership, loop));
    }
    Gauge.builder(
            "skein.replication.refused.entries",
            store,
            s -> s.skein().replicator().status().refusedEntries())
        .description("Remote entries refused for an HLC beyond the max clock offset")
        .register(meters);
    this.transport = peers;
  }

  private static Handshake.Identity identity(Config config) {
    Secret secret = NodeSettings.clusterSecret(config);
    return new Handshake.Identity(
        config.get(Settings.CLUSTER_ID),
        NodeSettings.nodeId(config),
        secret.value().getBytes(StandardCharsets.UTF_8));
  }

  /** Points the transport's membership callbacks at the known peers of the open store. */
  private static void wire(PeerTransport peers, Membership membership) {
    peers.admission(membership::admit);
    peers.onConnected(membership::confirmed);
    peers.onPeerMoved(membership::moved);
  }

  /**
   * Leader mode: dials the members of the last committed configuration and of any later one (voters
   * and learners; {@code LeaderCore.reachableMembers}) and stops dialling the others, which the
   * handshake then refuses. A member that an uncommitted change removes is still talked to, so that
   * the change can commit. A member this node already dials keeps its address (a port move is
   * followed by the transport, D8); a new one is dialled at the address its configuration entry
   * carries. Acts on the loop's latest configuration, not on the one it was called with, so calls
   * that overlap end on the latest.
   */
  private static void followMembers(PeerTransport peers, Membership membership, LeaderLoop loop) {
    LeaderMembers members = loop.reachableMembers();
    Map<NodeId, URI> known = peers.peerUrls();
    Map<NodeId, URI> next = new LinkedHashMap<>();
    for (NodeId id : members.othersThan(peers.selfId())) {
      URI url = known.get(id);
      String announced = members.urls().get(id);
      if (url == null && announced != null) {
        url = URI.create(announced);
      }
      if (url == null) {
        log.atWarn()
            .addKeyValue("member", id)
            .log("a member has no known address; add it to cluster.peers on this node");
        continue;
      }
      next.put(id, url);
    }
    List<String> changes = membership.setStatic(next);
    if (!changes.isEmpty()) {
      log.atInfo()
          .addKeyValue("voters", members.voters())
          .addKeyValue("learners", members.learners())
          .log("peers follow the members: {}", changes);
    }
  }

  /** Returns the transport. */
  PeerTransport transport() {
    PeerTransport peers = transport;
    if (peers == null) {
      throw new ClosedException("the peer transport is not running");
    }
    return peers;
  }

  /**
   * Applies a {@code cluster.peers} change (the other {@code cluster.*} settings are static). In
   * dynamo mode a new peer is dialled at once, a removed one is no longer dialled and stays known
   * for D5 until forgotten. In leader mode the members change only through a membership change,
   * which this node does not offer yet: the change is refused, and the reload rolled back.
   */
  @Override
  public void reload(List<ConfigChange> changes, Config config) {
    if (changes.stream().anyMatch(c -> c.setting() == Settings.NODE_ID)
        && !transport().selfId().equals(NodeSettings.nodeId(config))) {
      // The store component reopened the store under the new id (D9): follow it.
      PeerTransport peers = transport();
      Membership membership = store.membership();
      wire(peers, membership);
      peers.reidentify(identity(config));
      membership.attach(peers, store.skein().replicator());
      LeaderLoop loop = store.skein().leaderLoop();
      if (loop != null) {
        loop.onMembers(changed -> followMembers(peers, membership, loop));
      }
    }
    boolean peersChanged = changes.stream().anyMatch(c -> c.setting() == Settings.CLUSTER_PEERS);
    if (!peersChanged) {
      return;
    }
    if (NodeSettings.leaderMode(config)) {
      if (transport().peerUrls().keySet().equals(NodeSettings.peerUrls(config).keySet())) {
        return; // the members this node runs with: a rollback of the refused change
      }
      throw new IllegalStateException(
          "cluster.peers cannot change on a running leader-mode member: members join and leave"
              + " one at a time through a membership change on the primary (`datastore-node"
              + " members add|remove`, or POST /admin/members and DELETE /admin/members/{id});"
              + " a new node starts with --role joining");
    }
    store.membership().setStatic(NodeSettings.peerUrls(config));
  }

  @Override
  public void stop() {
    PeerTransport peers = transport;
    if (peers != null) {
      peers.close();
    }
  }
}
