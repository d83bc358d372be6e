package io.skein.node.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.skein.Skein;
import io.skein.internal.json.Json;
import io.skein.node.NodeSettings;
import io.skein.node.PeerAddress;
import java.util.Locale;

/** {@code /v1/cluster}, {@code /health} and {@code /metrics}. */
final class ClusterRoutes {
  private final NodeSettings settings;
  private final Skein skein;
  private final PrometheusMeterRegistry meters;
  private final HttpApi api;

  ClusterRoutes(NodeSettings settings, Skein skein, PrometheusMeterRegistry meters, HttpApi api) {
    this.settings = settings;
    this.skein = skein;
    this.meters = meters;
    this.api = api;
  }

  void register(RoutesConfig routes) {
    routes.get("/v1/cluster", HttpApi.named("/v1/cluster", this::cluster));
    routes.get("/health", HttpApi.named("/health", this::health));
    routes.get("/metrics", HttpApi.named("/metrics", this::metrics));
  }

  /**
   * Until replication lands, a node is a cluster of one: it is its own primary (leader mode) and
   * lists its configured peers as {@code not_connected}.
   */
  private void cluster(Context ctx) {
    ObjectNode body = Json.MAPPER.createObjectNode();
    body.put("nodeId", settings.nodeId().value());
    body.put("mode", settings.mode().name().toLowerCase(Locale.ROOT));
    boolean leaderMode = settings.mode() == NodeSettings.Mode.LEADER;
    body.put("role", leaderMode ? "primary" : "peer");
    body.put("epoch", 0);
    if (leaderMode) {
      body.putObject("leader")
          .put("nodeId", settings.nodeId().value())
          .put("url", new PeerAddress(settings.nodeId(), settings.host(), api.port()).url());
    } else {
      body.putNull("leader");
    }
    ArrayNode peers = body.putArray("peers");
    for (PeerAddress peer : settings.peers()) {
      ObjectNode node = peers.addObject();
      node.put("nodeId", peer.nodeId().value()).put("url", peer.url());
      node.put("state", "not_connected").putNull("lagEntries");
    }
    DocumentRoutes.json(ctx, body);
  }

  private void health(Context ctx) {
    boolean serving = skein.isHealthy() && !api.isStopping();
    ObjectNode body = Json.MAPPER.createObjectNode();
    body.put("status", serving ? "serving" : "unavailable");
    body.put("nodeId", settings.nodeId().value());
    ctx.status(serving ? 200 : 503);
    DocumentRoutes.json(ctx, body);
  }

  private void metrics(Context ctx) {
    ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(meters.scrape());
  }
}
