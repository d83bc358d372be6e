package io.skein.node.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.skein.InvalidRequestException;
import io.skein.RemotePeer;
import io.skein.RemotePeers;
import io.skein.internal.crypto.SealedSecrets;
import io.skein.internal.json.Json;
import io.skein.node.config.NodeSettings;
import java.util.Optional;

/**
 * The replicated remote-peer list (DESIGN.md "Admin API", "Remote peers and cloud"): {@code GET
 * /admin/peers}, {@code PUT /admin/peers/{nodeId}}, {@code POST /admin/peers/{nodeId}/enable},
 * {@code POST /admin/peers/{nodeId}/disable}, {@code DELETE /admin/peers/{nodeId}}. Behind the
 * admin token like every {@code /admin} route; a leader-mode secondary answers {@code 307
 * not_primary} for a change, as for a document write.
 *
 * <p>A PUT is checked before anything is written ({@link RemotePeer}): {@code 400
 * invalid_remote_peer} names the field. A sealed client secret must open with this node's cluster
 * secret (a value sealed for another cluster would fail on every node). Answers show a sealed
 * secret as {@code [SEALED]}; a {@code ${ENV_NAME}} reference as itself.
 */
final class RemotePeerRoutes {
  private final NodeHandle node;

  RemotePeerRoutes(NodeHandle node) {
    this.node = node;
  }

  void register(RoutesConfig routes) {
    routes.get("/admin/peers", HttpApi.named("/admin/peers", this::list));
    routes.put("/admin/peers/{nodeId}", HttpApi.named("/admin/peers/{nodeId}", this::put));
    routes.post(
        "/admin/peers/{nodeId}/enable",
        HttpApi.named("/admin/peers/{nodeId}/enable", ctx -> enable(ctx, true)));
    routes.post(
        "/admin/peers/{nodeId}/disable",
        HttpApi.named("/admin/peers/{nodeId}/disable", ctx -> enable(ctx, false)));
    routes.delete("/admin/peers/{nodeId}", HttpApi.named("/admin/peers/{nodeId}", this::remove));
  }

  private RemotePeers peers() {
    return node.skein().remotePeers();
  }

  private void list(Context ctx) {
    ObjectNode body = Json.MAPPER.createObjectNode();
    ArrayNode list = body.putArray("peers");
    for (RemotePeer peer : peers().listPeers()) {
      list.add(peer.toShown());
    }
    DocumentRoutes.json(ctx, body);
  }

  private void put(Context ctx) {
    String id = ctx.pathParam("nodeId");
    JsonNode body = Json.parseObject(DocumentRoutes.body(ctx), "the remote peer");
    RemotePeer peer = RemotePeer.fromDocument(id, body);
    RemotePeer.OAuth2 oauth2 = peer.oauth2();
    String secret = oauth2 == null ? null : oauth2.clientSecret();
    if (secret != null && SealedSecrets.isSealed(secret)) {
      try {
        SealedSecrets.fromClusterSecret(NodeSettings.clusterSecret(node.config()).value())
            .open(secret);
      } catch (IllegalArgumentException e) {
        throw new InvalidRequestException(
            "invalid_remote_peer", "oauth2.clientSecret: " + e.getMessage());
      }
    }
    peers().put(peer);
    DocumentRoutes.json(ctx, answer(peer));
  }

  private void enable(Context ctx, boolean enabled) {
    String id = ctx.pathParam("nodeId");
    Optional<RemotePeer> peer = enabled ? peers().enablePeer(id) : peers().disablePeer(id);
    DocumentRoutes.json(ctx, answer(peer.orElseThrow(() -> unknown(id))));
  }

  private void remove(Context ctx) {
    String id = ctx.pathParam("nodeId");
    if (!peers().removePeer(id)) {
      throw unknown(id);
    }
    ObjectNode body = Json.MAPPER.createObjectNode();
    body.put("removed", id);
    DocumentRoutes.json(ctx, body);
  }

  private static ObjectNode answer(RemotePeer peer) {
    ObjectNode body = Json.MAPPER.createObjectNode();
    body.set("peer", peer.toShown());
    return body;
  }

  private static ApiException unknown(String id) {
    return new ApiException(
        404,
        "unknown_remote_peer",
        "no remote peer '" + (id.length() > 64 ? id.substring(0, 64) + "…" : id) + "'");
  }
}
