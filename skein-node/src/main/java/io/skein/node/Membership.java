package io.skein.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.skein.core.model.NodeId;
import io.skein.internal.engine.Replicator;
import io.skein.internal.json.Json;
import io.skein.internal.transport.PeerTransport;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A dynamo node's known peers: the static ones (from {@code --peers} or the config file) and the
 * discovered ones (by LAN beacon, or admitted at the handshake), kept in {@code
 * DATA_DIR/peers-{id}.json} so they survive restarts.
 *
 * <p>A beacon is only a hint: a node heard of by beacon is dialled, and joins the membership
 * (counts for write concerns, is saved) only once its stream authenticates as the id the beacon
 * claimed; an unconfirmed candidate is forgotten after the expiry. At most {@link #CANDIDATES_MAX}
 * candidates are dialled at once, so forged beacons cost bounded work. A beacon never moves a
 * connected peer to another URL.
 *
 * <p>A discovered peer whose beacons and streams fall silent for the expiry leaves the active
 * membership: it is no longer dialled and no longer counts for write concerns, but it stays known,
 * so that no tombstone is collected before it acknowledged it (D5). It becomes active again with
 * its next beacon. Static peers never expire.
 *
 * <p>Thread-safe: beacons, handshakes and the expiry check arrive on different threads; changes are
 * serialized on this object.
 */
final class Membership {
  private static final Logger log = LoggerFactory.getLogger(Membership.class);

  /** Where a peer became known. */
  enum Source {
    STATIC,
    DISCOVERED,
    /**
     * Taken out of {@code cluster.peers} at run time and not forgotten yet: not dialled and not
     * counted for write concerns, but tombstone collection waits for it (D5), across restarts,
     * until {@link #forget} says it is gone for good.
     */
    REMOVED
  }

  /** Why a peer cannot be forgotten. */
  static final class ForgetRefused extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final String code;

    ForgetRefused(String code, String message) {
      super(message, null, false, false);
      this.code = code;
    }
  }

  /**
   * A known peer.
   *
   * @param url its base URL
   * @param source where it became known
   * @param lastSeenMs when a beacon last came from it (discovered peers)
   * @param active whether it is dialled and counts for write concerns
   */
  record Known(URI url, Source source, long lastSeenMs, boolean active) {}

  private final NodeId self;
  private final Path file;
  private volatile boolean discovery;
  private volatile long expiryMs;
  private final InstantSource clock;
  private final Map<NodeId, Known> peers = new ConcurrentSkipListMap<>();

  /** Nodes heard of by beacon and being dialled, not yet authenticated: id to when first heard. */
  private final Map<NodeId, Long> candidates = new ConcurrentSkipListMap<>();

  /** The most unconfirmed candidates dialled at once. */
  static final int CANDIDATES_MAX = 64;

  private @Nullable PeerTransport transport;
  private @Nullable Replicator replicator;

  Membership(
      NodeId self,
      Path dataDir,
      Map<NodeId, URI> staticPeers,
      boolean discovery,
      long expiryMs,
      InstantSource clock) {
    this.self = self;
    this.file = dataDir.resolve("peers-" + self.value() + ".json");
    this.discovery = discovery;
    this.expiryMs = expiryMs;
    this.clock = clock;
    long now = clock.millis();
    load(now, discovery);
    staticPeers.forEach((id, url) -> peers.put(id, new Known(url, Source.STATIC, now, true)));
  }

  /**
   * {@code cluster.peers} changed at run time (dynamo mode): a new peer is dialled at once and
   * counts for write concerns; a peer given a new URL is dialled there; a removed peer is no longer
   * dialled and no longer counts, but stays known, so that no tombstone is collected before it
   * acknowledged it (D5), until {@link #forget}.
   *
   * @return what changed, for the log and the reload's report
   */
  /**
   * Leader mode: any peer that proves the cluster secret at the handshake is admitted (and dialled
   * back at the address it announces), except one removed on purpose. A member whose log lags may
   * not know a primary, or the voters, that later configurations added, and must hear them to learn
   * those configurations (Raft, thesis section 4.1); votes and commits count by configuration, not
   * by who is connected.
   */
  void admitAuthenticated(boolean value) {
    this.admitAuthenticated = value;
  }

  private volatile boolean admitAuthenticated;

  synchronized List<String> setStatic(Map<NodeId, URI> next) {
    List<String> changes = new ArrayList<>();
    long now = clock.millis();
    PeerTransport t = transport;
    Replicator r = replicator;
    for (Map.Entry<NodeId, URI> entry : next.entrySet()) {
      NodeId id = entry.getKey();
      URI url = entry.getValue();
      if (id.equals(self)) {
        continue;
      }
      Known before = peers.get(id);
      if (before != null
          && before.source() == Source.STATIC
          && before.active()
          && before.url().equals(url)) {
        continue;
      }
      peers.put(id, new Known(url, Source.STATIC, now, true));
      if (before == null) {
        addedLive.add(id);
      }
      candidates.remove(id);
      pendingUrls.remove(id);
      if (t != null && r != null) {
        t.addPeer(id, url);
        r.peerJoined(id);
      }
      changes.add((before == null || !before.active() ? "added " : "moved ") + id + " at " + url);
    }
    for (Map.Entry<NodeId, Known> entry : Map.copyOf(peers).entrySet()) {
      Known known = entry.getValue();
      if (known.source() != Source.STATIC || next.containsKey(entry.getKey())) {
        continue;
      }
      if (addedLive.remove(entry.getKey())) {
        // Added by a reload and never connected (a rolled-back reload, or a typo fixed): it never
        // exchanged an entry, so there is nothing for D5 to wait for.
        peers.remove(entry.getKey());
        if (t != null && r != null) {
          t.remove(entry.getKey());
          r.peerLeft(entry.getKey());
          r.peerForgotten(entry.getKey());
        }
        changes.add("removed " + entry.getKey() + " (never connected: forgotten)");
        continue;
      }
      peers.put(entry.getKey(), new Known(known.url(), Source.REMOVED, now, false));
      if (t != null && r != null) {
        t.deactivate(entry.getKey());
        r.peerLeft(entry.getKey());
      }
      changes.add("removed " + entry.getKey() + " (known until forgotten)");
    }
    if (!changes.isEmpty()) {
      log.atInfo().addKeyValue("changes", changes).log("static peers changed");
      save();
    }
    return changes;
  }

  /**
   * Forgets a peer that is gone for good: it is no longer dialled or known, and tombstone
   * collection stops waiting for it (D5). Only a peer that is not active can be forgotten: take it
   * out of {@code cluster.peers} first (or let a discovered one expire).
   *
   * @throws ForgetRefused {@code unknown_peer} or {@code peer_active}
   */
  synchronized void forget(NodeId id) {
    Known known = peers.get(id);
    if (known == null) {
      throw new ForgetRefused("unknown_peer", "node " + id + " is not a known peer of this node");
    }
    if (known.active()) {
      throw new ForgetRefused(
          "peer_active",
          "node "
              + id
              + " is an active peer: take it out of cluster.peers (or wait until a discovered"
              + " peer expires) before forgetting it");
    }
    peers.remove(id);
    PeerTransport t = transport;
    Replicator r = replicator;
    if (t != null && r != null) {
      t.remove(id);
      r.peerForgotten(id);
    }
    log.atWarn()
        .addKeyValue("peer", id)
        .log(
            "peer forgotten: tombstones no longer wait for it; it must not come back with its data");
    save();
  }

  /**
   * Turns admission of discovered nodes on or off (discovery.enabled, dynamic). Peers discovered
   * before stay known either way.
   */
  void discovery(boolean enabled) {
    discovery = enabled;
  }

  /** Sets how long a discovered peer may be silent (discovery.expiry, dynamic). */
  void expiryMs(long ms) {
    expiryMs = ms;
  }

  /** The URLs of the peers to dial at start: every active one. */
  synchronized Map<NodeId, URI> initialPeers() {
    Map<NodeId, URI> urls = new ConcurrentSkipListMap<>();
    peers.forEach(
        (id, known) -> {
          if (known.active()) {
            urls.put(id, known.url());
          }
        });
    return urls;
  }

  /** Connects the membership to the transport and the replication loop. */
  synchronized void attach(PeerTransport transport, Replicator replicator) {
    this.transport = transport;
    this.replicator = replicator;
    peers.forEach(
        (id, known) -> {
          if (known.active() && known.source() == Source.DISCOVERED) {
            replicator.peerJoined(id);
          } else if (known.source() == Source.REMOVED) {
            // Known but inactive: tombstones wait for it (D5) until it is forgotten.
            replicator.peerJoined(id);
            replicator.peerLeft(id);
          }
        });
  }

  /** Returns a snapshot of the known peers. */
  Map<NodeId, Known> known() {
    return Map.copyOf(peers);
  }

  /**
   * A beacon of this cluster arrived from another node. A known peer's silence timer restarts; an
   * unknown node, or an inactive peer, is dialled, and joins once its stream authenticates.
   */
  synchronized void onBeacon(NodeId id, URI url) {
    if (id.equals(self)) {
      return;
    }
    long now = clock.millis();
    Known before = peers.get(id);
    PeerTransport t = transport;
    if (before != null) {
      if (before.source() == Source.STATIC || before.source() == Source.REMOVED) {
        return; // configured, or removed on purpose: beacons change neither
      }
      boolean connected = t != null && t.isConnected(id);
      URI dial = connected ? before.url() : url; // a beacon never moves a connected peer
      peers.put(id, new Known(dial, before.source(), now, before.active()));
      if (!before.active() && t != null) {
        t.addPeer(id, dial); // reactivated once it authenticates (confirmed)
      }
      return;
    }
    if (t == null || candidates.containsKey(id) || candidates.size() >= CANDIDATES_MAX) {
      return;
    }
    candidates.put(id, now);
    pendingUrls.put(id, url);
    t.addPeer(id, url);
  }

  private final Map<NodeId, URI> pendingUrls = new ConcurrentSkipListMap<>();

  /** Peers added to {@code cluster.peers} by a reload that have not connected yet. */
  private final java.util.Set<NodeId> addedLive = new java.util.HashSet<>();

  /** An outbound stream authenticated: a candidate or an inactive peer joins. */
  synchronized void confirmed(NodeId id) {
    addedLive.remove(id); // it connected: from now on it may hold entries D5 must wait for
    URI candidate = pendingUrls.remove(id);
    candidates.remove(id);
    Known before = peers.get(id);
    if (before != null && before.source() == Source.REMOVED) {
      return; // removed on purpose: only cluster.peers brings it back
    }
    if (candidate != null && before == null) {
      join(id, candidate, "beacon");
    } else if (before != null && !before.active()) {
      join(id, before.url(), "beacon");
    }
  }

  /**
   * An authenticated node that is not an active peer dialled in: with discovery on, it joins (it
   * proved it holds the cluster secret); otherwise it is refused.
   */
  synchronized boolean admit(NodeId id, @Nullable URI url) {
    if ((!discovery && !admitAuthenticated) || id.equals(self)) {
      return false;
    }
    Known before = peers.get(id);
    if (before != null && before.source() == Source.REMOVED) {
      return false; // removed on purpose: it comes back through cluster.peers only
    }
    URI dial = url != null ? url : before != null ? before.url() : null;
    if (dial == null) {
      return false;
    }
    candidates.remove(id);
    pendingUrls.remove(id);
    join(id, dial, "handshake");
    return true;
  }

  /**
   * A peer moved its listener (D8) and the transport dials it at {@code url} now: a discovered
   * peer's new address is saved, so that a restart dials it there too.
   */
  synchronized void moved(NodeId id, URI url) {
    Known before = peers.get(id);
    if (before == null || before.url().equals(url) || !before.active()) {
      return;
    }
    peers.put(id, new Known(url, before.source(), before.lastSeenMs(), before.active()));
    if (before.source() == Source.DISCOVERED) {
      save();
    }
  }

  private void join(NodeId id, URI url, String how) {
    Known before = peers.get(id);
    if (before != null && before.source() == Source.STATIC) {
      return;
    }
    peers.put(id, new Known(url, Source.DISCOVERED, clock.millis(), true));
    log.atInfo()
        .addKeyValue("peer", id)
        .addKeyValue("url", url)
        .addKeyValue("via", how)
        .log(before == null ? "peer joined" : "peer active again");
    PeerTransport t = transport;
    Replicator r = replicator;
    if (t != null && r != null) {
      t.addPeer(id, url);
      r.peerJoined(id);
    }
    save();
  }

  /**
   * Takes discovered peers silent for longer than the expiry out of the active membership.
   *
   * @param lastContact per peer, when a frame last arrived on its stream (epoch ms), or -1
   */
  synchronized void expire(Map<NodeId, Long> lastContact) {
    long now = clock.millis();
    for (Map.Entry<NodeId, Long> candidate : Map.copyOf(candidates).entrySet()) {
      if (now - candidate.getValue() > expiryMs) {
        candidates.remove(candidate.getKey());
        pendingUrls.remove(candidate.getKey());
        PeerTransport t = transport;
        if (t != null) {
          t.remove(candidate.getKey()); // never authenticated: forget it
        }
      }
    }
    for (Map.Entry<NodeId, Known> entry : peers.entrySet()) {
      Known known = entry.getValue();
      if (known.source() != Source.DISCOVERED || !known.active()) {
        continue;
      }
      long seen = Math.max(known.lastSeenMs(), lastContact.getOrDefault(entry.getKey(), -1L));
      if (now - seen <= expiryMs) {
        continue;
      }
      peers.put(entry.getKey(), new Known(known.url(), known.source(), seen, false));
      log.atInfo()
          .addKeyValue("peer", entry.getKey())
          .addKeyValue("silentMs", now - seen)
          .log("discovered peer expired; it stays known until it returns");
      PeerTransport t = transport;
      Replicator r = replicator;
      if (t != null && r != null) {
        t.deactivate(entry.getKey());
        r.peerLeft(entry.getKey());
      }
      save();
    }
  }

  /** Writes the discovered peers atomically: a temporary file, then a rename. */
  private void save() {
    ArrayNode array = Json.MAPPER.createArrayNode();
    peers.forEach(
        (id, known) -> {
          if (known.source() == Source.DISCOVERED || known.source() == Source.REMOVED) {
            var entry =
                array
                    .addObject()
                    .put("nodeId", id.value())
                    .put("url", known.url().toString())
                    .put("lastSeenMs", known.lastSeenMs());
            if (known.source() == Source.REMOVED) {
              entry.put("removed", true);
            }
          }
        });
    Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
    try {
      Files.deleteIfExists(temporary);
      io.skein.internal.storage.PrivateFiles.createFile(temporary);
      Files.writeString(temporary, array.toString(), StandardCharsets.UTF_8);
      Files.move(
          temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      log.atWarn().addKeyValue("file", file).log("cannot save the known peers: {}", e.toString());
    }
  }

  private void load(long now, boolean discovered) {
    if (!Files.exists(file)) {
      return;
    }
    try {
      JsonNode array = Json.parse(Files.readString(file, StandardCharsets.UTF_8));
      for (JsonNode peer : array) {
        NodeId id = NodeId.of(peer.path("nodeId").asText());
        URI url = new URI(peer.path("url").asText());
        if (id.equals(self)) {
          continue;
        }
        if (peer.path("removed").asBoolean(false)) {
          // Removed, not forgotten: tombstones still wait for it (D5), discovery or not.
          peers.put(id, new Known(url, Source.REMOVED, now, false));
        } else if (discovered) {
          // Dialled again at start; it expires like any discovered peer if it stays silent.
          peers.put(id, new Known(url, Source.DISCOVERED, now, true));
        }
      }
      log.atInfo().addKeyValue("peers", peers.size()).log("known peers loaded from {}", file);
    } catch (IOException | RuntimeException | java.net.URISyntaxException e) {
      // A cache, not data: the peers are found again by discovery. Say so, keep the file aside.
      log.atWarn()
          .addKeyValue("file", file)
          .log("the known-peers file is unreadable ({}); ignoring it", e.toString());
    }
  }
}
