package io.skein.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.skein.core.model.InvalidNameException;
import io.skein.core.model.NodeId;
import io.skein.internal.json.Json;
import io.skein.node.config.SettingsException;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.function.BiConsumer;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * UDP LAN discovery: every interval the node sends a beacon, {@code
 * {"v":1,"cluster":HASH,"node":ID,"url":URL}}, to its targets (by default the broadcast address),
 * and it hears its peers' beacons on the same port. {@code HASH} is an HMAC of the cluster id under
 * the cluster secret, so a beacon of another cluster (or one without the secret) is ignored, and
 * the beacon reveals neither. A beacon only says where to dial: the peer is trusted after the
 * handshake, never because of a beacon.
 *
 * <p>Thread-safe; two threads (sender and receiver) run until {@link #close()}.
 */
final class LanDiscovery implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LanDiscovery.class);
  private static final int BEACON_BYTES_MAX = 1024;

  private final NodeId self;
  private final String url;
  private final String clusterHash;
  private final List<InetSocketAddress> targets;
  private final long intervalMs;
  private final BiConsumer<NodeId, URI> onBeacon;
  private final DatagramSocket socket;
  private final MeterRegistry meters;
  private final byte[] beacon;
  private volatile boolean closed;
  private final Thread sender;
  private final Thread receiver;

  /**
   * Binds the port on every interface and starts beaconing.
   *
   * @param onBeacon called with each valid beacon of this cluster from another node
   * @throws SettingsException if the port cannot be bound
   */
  LanDiscovery(
      NodeId self,
      String url,
      String clusterId,
      byte[] secret,
      int port,
      List<InetSocketAddress> targets,
      long intervalMs,
      BiConsumer<NodeId, URI> onBeacon,
      MeterRegistry meters) {
    this.self = self;
    this.url = url;
    this.clusterHash = clusterHash(clusterId, secret);
    this.targets = List.copyOf(targets);
    this.intervalMs = intervalMs;
    this.onBeacon = onBeacon;
    this.meters = meters;
    ObjectNode body = Json.MAPPER.createObjectNode();
    body.put("v", 1).put("cluster", clusterHash).put("node", self.value()).put("url", url);
    this.beacon = body.toString().getBytes(StandardCharsets.UTF_8);
    try {
      this.socket = new DatagramSocket(null);
      socket.setReuseAddress(true);
      socket.setBroadcast(true);
      socket.bind(new InetSocketAddress(port));
    } catch (SocketException e) {
      throw new SettingsException(
          "discovery.port " + port + ": cannot bind it: " + e.getMessage(), e);
    }
    this.receiver =
        io.skein.internal.runtime.Threads.platform("skein-discovery-in", true, this::receive);
    this.sender =
        io.skein.internal.runtime.Threads.platform("skein-discovery-out", true, this::send);
  }

  /** The beacon's cluster field: HMAC-SHA256(secret, "skein-discovery|" + id), 16 bytes, hex. */
  static String clusterHash(String clusterId, byte[] secret) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      byte[] digest =
          mac.doFinal(("skein-discovery|" + clusterId).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 16);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is required by every Java platform", e);
    }
  }

  private void send() {
    while (!closed) {
      for (InetSocketAddress target : targets) {
        try {
          socket.send(new DatagramPacket(beacon, beacon.length, target));
        } catch (IOException e) {
          if (!closed) {
            log.atDebug().addKeyValue("target", target).log("beacon not sent: {}", e.getMessage());
          }
        }
      }
      try {
        Thread.sleep(intervalMs);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private void receive() {
    byte[] buffer = new byte[BEACON_BYTES_MAX];
    while (!closed) {
      DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
      try {
        socket.receive(packet);
      } catch (IOException e) {
        if (!closed) {
          log.atWarn().log("discovery socket failed: {}", e.getMessage());
        }
        return;
      }
      count(handle(new String(packet.getData(), 0, packet.getLength(), StandardCharsets.UTF_8)));
    }
  }

  /** Handles one beacon; returns the outcome for the metric. */
  String handle(String text) {
    JsonNode beaconBody;
    try {
      beaconBody = Json.parse(text);
    } catch (RuntimeException e) {
      return "malformed";
    }
    if (!beaconBody.isObject() || beaconBody.path("v").asInt(0) != 1) {
      return "malformed";
    }
    String cluster = beaconBody.path("cluster").asText("");
    if (!MessageDigest.isEqual(
        cluster.getBytes(StandardCharsets.UTF_8), clusterHash.getBytes(StandardCharsets.UTF_8))) {
      return "foreign_cluster";
    }
    NodeId node;
    URI peerUrl;
    try {
      node = NodeId.of(beaconBody.path("node").asText(""));
      peerUrl = new URI(beaconBody.path("url").asText(""));
    } catch (InvalidNameException | URISyntaxException e) {
      return "malformed";
    }
    String scheme = String.valueOf(peerUrl.getScheme()).toLowerCase(Locale.ROOT);
    if (!(scheme.equals("http") || scheme.equals("https")) || peerUrl.getRawAuthority() == null) {
      return "malformed";
    }
    if (node.equals(self)) {
      return peerUrl.toString().equals(url) ? "self" : "duplicate_node_id";
    }
    onBeacon.accept(node, peerUrl);
    return "accepted";
  }

  private void count(String outcome) {
    if (outcome.equals("duplicate_node_id")) {
      log.atWarn()
          .addKeyValue("nodeId", self)
          .log("a beacon from another URL claims this node's id: two live nodes share an id");
    }
    Counter.builder("skein.discovery.beacons")
        .description("Discovery beacons received, by outcome")
        .tag("outcome", outcome)
        .register(meters)
        .increment();
  }

  @Override
  public void close() {
    closed = true;
    socket.close();
    sender.interrupt();
    try {
      sender.join(2_000);
      receiver.join(2_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
