package io.skein.node.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.skein.Document;
import io.skein.DocumentPage;
import io.skein.InvalidRequestException;
import io.skein.Skein;
import io.skein.core.config.Config;
import io.skein.core.model.NodeId;
import io.skein.internal.engine.LeaderLoop;
import io.skein.internal.engine.ReplicationStatus;
import io.skein.internal.json.Json;
import io.skein.internal.transport.PeerTransport;
import io.skein.node.config.NodeSettings;
import io.skein.node.config.Settings;
import java.net.URI;
import java.time.Instant;
import java.util.Locale;
import java.util.Map;

/** {@code /v1/cluster}, {@code /health} and {@code /metrics}. */
final class ClusterRoutes {
  private final NodeHandle node;
  private final HttpApi api;

  ClusterRoutes(NodeHandle node, HttpApi api) {
    this.node = node;
    this.api = api;
  }

  void register(RoutesConfig routes) {
    routes.get("/v1/cluster", HttpApi.named("/v1/cluster", this::cluster));
    routes.get("/v1/cluster/rollback", HttpApi.named("/v1/cluster/rollback", this::rollback));
    routes.get("/health", HttpApi.named("/health", this::health));
    routes.get("/metrics", HttpApi.named("/metrics", this::metrics));
  }

  /**
   * The node's view of its cluster. In dynamo mode every peer is listed with its stream state, how
   * many entries it has not confirmed ({@code lagEntries}) and when it was last heard from. In
   * leader mode it adds the role, the epoch and the primary; on the primary each peer also shows
   * its matched log index, and {@code lagEntries} counts the log entries it does not hold yet.
   */
  private void cluster(Context ctx) {
    Config config = node.config();
    Skein skein = node.skein();
    NodeId self = NodeSettings.nodeId(config);
    ObjectNode body = Json.MAPPER.createObjectNode();
    body.put("nodeId", self.value());
    body.put("mode", config.get(Settings.CLUSTER_MODE));
    LeaderLoop leaderLoop = skein.leaderLoop();
    LeaderLoop.Status leaderStatus = leaderLoop == null ? null : leaderLoop.leaderStatus();
    String selfUrl = NodeSettings.url(config, node.port());
    if (leaderStatus != null) {
      body.put("role", leaderStatus.role().name().toLowerCase(Locale.ROOT).replace('_', '-'));
      body.put("epoch", leaderStatus.epoch());
      NodeId leader = leaderStatus.leader();
      if (leader == null) {
        body.putNull("leader");
      } else {
        body.putObject("leader")
            .put("nodeId", leader.value())
            .put("url", memberUrl(config, leader, selfUrl));
      }
      body.put("commitIndex", leaderStatus.commitIndex());
      body.put("lastIndex", leaderStatus.lastIndex());
      body.put("appliedIndex", leaderStatus.appliedIndex());
      body.set("configuration", MemberRoutes.configuration(leaderStatus, self));
      // Leader mode's gateway to remote peers is the primary (DESIGN.md D1): a majority elected
      // it, so at most one exists per epoch.
      if (leader == null) {
        body.putNull("gateway");
      } else {
        body.putObject("gateway").put("nodeId", leader.value());
      }
      body.put("isGateway", leaderStatus.role() == io.skein.core.leader.LeaderCore.Role.PRIMARY);
    } else if (NodeSettings.leaderMode(config)) {
      // One node without peers: it orders its own writes.
      body.put("role", "primary");
      body.put("epoch", 0);
      body.putObject("leader").put("nodeId", self.value()).put("url", selfUrl);
      body.putObject("gateway").put("nodeId", self.value());
      body.put("isGateway", true);
    } else {
      body.put("role", "peer");
      body.put("epoch", 0);
      body.putNull("leader");
      // Dynamo mode's gateway is elected (DESIGN.md D1): the lowest id that won a majority.
      io.skein.GatewayView gateway = skein.gateway();
      String gatewayId = gateway.gatewayId();
      if (gatewayId == null) {
        body.putNull("gateway");
      } else {
        body.putObject("gateway").put("nodeId", gatewayId);
      }
      body.put("isGateway", gateway.isGateway());
      body.put("gatewayEpoch", gateway.epoch());
    }
    // The gateway's sync sessions with cloud peers (none on any other node).
    ArrayNode cloud = body.putArray("cloudPeers");
    for (io.skein.internal.site.CloudSync.PeerState state : node.cloudPeers()) {
      ObjectNode entry =
          cloud
              .addObject()
              .put("nodeId", state.nodeId())
              .put("address", state.address())
              .put("state", state.state())
              .put("entriesSent", state.entriesSent())
              .put("entriesReceived", state.entriesReceived());
      Instant last = state.lastSync();
      if (last == null) {
        entry.putNull("lastSync");
      } else {
        entry.put("lastSync", last.toString());
      }
      if (state.lastError() != null) {
        entry.put("lastError", state.lastError());
      }
      if (!state.behindHorizon().isEmpty()) {
        ArrayNode behind = entry.putArray("behindHorizon");
        state.behindHorizon().forEach(behind::add);
      }
    }
    // On a node that serves as a cloud peer: the gateways that synced with it lately.
    if (node.siteSync().enabled()) {
      ArrayNode clients = body.putArray("siteClients");
      for (io.skein.internal.site.SiteSyncServer.Client client : node.siteSync().clients()) {
        clients
            .addObject()
            .put("nodeId", client.nodeId())
            .put("clientId", client.clientId())
            .put("lastSync", client.lastSync().toString());
      }
    }
    ArrayNode peers = body.putArray("peers");
    {
      ReplicationStatus status = skein.replicator().status();
      for (PeerTransport.PeerView peer : node.transport().peers()) {
        ObjectNode node = peers.addObject();
        node.put("nodeId", peer.nodeId().value())
            .put("url", baseUrl(peer.url()))
            .put("state", peer.state().wireName());
        Long lag = status.lagEntries().get(peer.nodeId());
        if (lag == null) {
          node.putNull("lagEntries");
        } else {
          node.put("lagEntries", lag);
        }
        if (peer.lastContactMs() < 0) {
          node.putNull("lastContact");
        } else {
          node.put("lastContact", Instant.ofEpochMilli(peer.lastContactMs()).toString());
        }
        node.put("inboundStreams", peer.inboundStreams());
        if (leaderStatus != null) {
          Long match = leaderStatus.matchIndexes().get(peer.nodeId());
          if (match == null) {
            node.putNull("matchIndex");
          } else {
            node.put("matchIndex", match);
          }
        }
        if (peer.lastError() != null) {
          node.put("lastError", peer.lastError());
        }
      }
      if (leaderStatus != null) {
        DocumentRoutes.json(ctx, body);
        return;
      }
      ObjectNode vector = body.putObject("versionVector");
      status.durable().entrySet().stream()
          .sorted(Map.Entry.comparingByKey())
          .forEach(e -> vector.put(e.getKey().value(), e.getValue()));
    }
    DocumentRoutes.json(ctx, body);
  }

  private static String memberUrl(Config config, NodeId member, String selfUrl) {
    if (member.equals(NodeSettings.nodeId(config))) {
      return selfUrl;
    }
    java.net.URI url = NodeSettings.peerUrls(config).get(member);
    return url == null ? "" : url.toString();
  }

  /** Leader mode: the writes rolled back into {@code _system_rollback} (D3), a page at a time. */
  private void rollback(Context ctx) {
    String limitText = ctx.queryParam("limit");
    int limit;
    try {
      limit = limitText == null ? 100 : Integer.parseInt(limitText);
    } catch (NumberFormatException e) {
      throw new InvalidRequestException(
          "invalid_limit", "limit must be an integer, was '" + limitText + "'", e);
    }
    DocumentPage page = node.skein().rolledBack(ctx.queryParam("after"), limit);
    ObjectNode body = Json.MAPPER.createObjectNode();
    ArrayNode docs = body.putArray("docs");
    for (Document document : page.documents()) {
      docs.addObject()
          .put("id", document.id())
          .put("version", document.version())
          .set("doc", Json.parse(document.json()));
    }
    body.put("next", page.next());
    DocumentRoutes.json(ctx, body);
  }

  private static String baseUrl(URI stream) {
    String scheme = "wss".equals(stream.getScheme()) ? "https" : "http";
    return scheme + "://" + stream.getRawAuthority();
  }

  /**
   * {@code 200 serving}; {@code 503 unavailable} while the node stops or its write loop failed;
   * {@code 503 degraded} once corruption was found in its data file (with the place, so that an
   * operator knows to stop it and run {@code datastore-node check}).
   */
  private void health(Context ctx) {
    Skein skein = node.skein();
    String corruption = skein.corruption();
    boolean serving = !api.isStopping() && skein.isHealthy();
    ObjectNode body = Json.MAPPER.createObjectNode();
    String status = !serving ? "unavailable" : corruption != null ? "degraded" : "serving";
    body.put("status", status);
    body.put("nodeId", node.config().get(Settings.NODE_ID));
    if (corruption != null) {
      body.put("reason", "data file corruption: " + corruption);
    }
    ctx.status(status.equals("serving") ? 200 : 503);
    DocumentRoutes.json(ctx, body);
  }

  private void metrics(Context ctx) {
    ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(node.meters().scrape());
  }
}
