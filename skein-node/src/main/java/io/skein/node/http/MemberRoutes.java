package io.skein.node.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.skein.InvalidRequestException;
import io.skein.NotPrimaryException;
import io.skein.core.leader.LeaderMembers;
import io.skein.core.model.NodeId;
import io.skein.core.replica.Outcome;
import io.skein.internal.engine.LeaderLoop;
import io.skein.internal.json.Json;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Leader-mode membership changes (issue 10 item 3; Raft's single-server change): {@code POST
 * /admin/members} adds a member, {@code DELETE /admin/members/{id}} removes one. Both sit behind
 * the admin token ({@link AdminRoutes} authorizes every {@code /admin/*} route).
 *
 * <p>Only the primary changes the members; a secondary answers {@code 307 not_primary} with the
 * primary's address, so a client that follows redirects reaches it (a 307 keeps the method and the
 * body). An addition answers once the new member caught up as a learner and its promotion to voter
 * is committed; one that takes longer than {@link #ADD_WAIT_MS} answers {@code 202} with the change
 * still under way (the learner is promoted whenever it catches up; removing it cancels).
 *
 * <p>Answers: {@code 200} with the configuration; {@code 202} with {@code "status":"in_progress"}
 * and the configuration; {@code 400 invalid_request|invalid_node_id|invalid_url|url_required};
 * {@code 404 not_member}; {@code 409
 * not_leader_mode|change_in_progress|already_member|would_lose_quorum|too_many_members|
 * change_cancelled}.
 */
final class MemberRoutes {
  /** How long an addition waits for its learner to catch up before answering 202. */
  static final long ADD_WAIT_MS = 60_000;

  /** How long a removal waits for its configuration to commit. */
  static final long REMOVE_WAIT_MS = 15_000;

  private final NodeHandle node;

  MemberRoutes(NodeHandle node) {
    this.node = node;
  }

  void register(RoutesConfig routes) {
    routes.post("/admin/members", HttpApi.named("/admin/members", this::add));
    routes.delete("/admin/members/{id}", HttpApi.named("/admin/members/{id}", this::remove));
  }

  private void add(Context ctx) throws InterruptedException {
    JsonNode body = Json.parseObject(DocumentRoutes.body(ctx), "the member");
    for (java.util.Iterator<String> names = body.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!Set.of("id", "url").contains(name)) {
        throw new InvalidRequestException(
            "invalid_request", "unknown field '" + name + "'; a member has id and url");
      }
    }
    JsonNode idNode = body.get("id");
    if (idNode == null || !idNode.isTextual()) {
      throw new InvalidRequestException(
          "invalid_request", "'id' must be the new member's node id, a string");
    }
    NodeId id = nodeId(idNode.asText());
    JsonNode urlNode = body.get("url");
    String url = null;
    if (urlNode != null && !urlNode.isNull()) {
      if (!urlNode.isTextual()) {
        throw new ApiException(400, "invalid_url", "'url' must be a string such as http://h:9000");
      }
      url = memberUrl(urlNode.asText());
    }
    LeaderLoop loop = loop();
    if (url == null
        && !node.transport().peerUrls().containsKey(id)
        && !loop.members().urls().containsKey(id)) {
      throw new ApiException(
          400,
          "url_required",
          "this node does not know where "
              + id
              + " listens: give its 'url' (http://host:port), so that every member can dial it");
    }
    answer(ctx, loop, loop.changeMembers(id, true, url, ADD_WAIT_MS), ADD_WAIT_MS);
  }

  private void remove(Context ctx) throws InterruptedException {
    NodeId id = nodeId(ctx.pathParam("id"));
    LeaderLoop loop = loop();
    answer(ctx, loop, loop.changeMembers(id, false, null, REMOVE_WAIT_MS), REMOVE_WAIT_MS);
  }

  private LeaderLoop loop() {
    LeaderLoop loop = node.skein().leaderLoop();
    if (loop == null) {
      throw new ApiException(
          409,
          "not_leader_mode",
          "members change this way only in leader mode with peers; in dynamo mode change"
              + " cluster.peers (and POST /admin/peers/{id}/forget)");
    }
    return loop;
  }

  private static NodeId nodeId(String value) {
    try {
      return NodeId.of(value);
    } catch (IllegalArgumentException e) {
      throw new ApiException(400, "invalid_node_id", String.valueOf(e.getMessage()));
    }
  }

  /** Checks a member's address: {@code http(s)://host:port}, nothing else. */
  static String memberUrl(String text) {
    URI uri;
    try {
      uri = new URI(text);
    } catch (URISyntaxException e) {
      throw new ApiException(400, "invalid_url", "'url' is not a URL: " + e.getMessage());
    }
    boolean bare =
        (uri.getPath() == null || uri.getPath().isEmpty() || uri.getPath().equals("/"))
            && uri.getQuery() == null
            && uri.getFragment() == null
            && uri.getUserInfo() == null;
    if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
        || uri.getHost() == null
        || uri.getPort() < 1
        || !bare) {
      throw new ApiException(
          400,
          "invalid_url",
          "'url' must be http://host:port or https://host:port, with no path: " + text);
    }
    String url = uri.getScheme() + "://" + uri.getRawAuthority();
    try {
      // The configuration entry's own check (an IPv6 zone, for one, is not carried).
      new LeaderMembers(List.of(), List.of(), Map.of(NodeId.of("check"), url));
    } catch (IllegalArgumentException e) {
      throw new ApiException(400, "invalid_url", "'url' cannot be carried to the members: " + text);
    }
    return url;
  }

  private void answer(
      Context ctx,
      LeaderLoop loop,
      java.util.concurrent.CompletableFuture<Outcome> change,
      long waitMs)
      throws InterruptedException {
    Outcome outcome;
    try {
      outcome = change.get(waitMs + 5_000, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e);
    } catch (TimeoutException e) {
      outcome = new Outcome.TimedOut("no answer from the leader loop; the change may go on");
    }
    switch (outcome) {
      case Outcome.Committed committed -> {
        // The loop publishes its status after it answers: wait a moment for the committed view.
        for (int i = 0;
            i < 100 && loop.leaderStatus().membersIndex() > loop.leaderStatus().commitIndex();
            i++) {
          Thread.sleep(10);
        }
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.set("configuration", configuration(loop.leaderStatus(), self()));
        DocumentRoutes.json(ctx.status(200), body);
      }
      case Outcome.NotPrimary notPrimary -> {
        NodeId leader = notPrimary.leader();
        throw new NotPrimaryException(
            leader == null ? null : leader.value(),
            leader == null
                ? "there is no primary right now (an election is under way); retry shortly"
                : "only the primary changes the members; the primary is node " + leader);
      }
      case Outcome.Rejected rejected ->
          throw new ApiException(
              rejected.code().equals("not_member") ? 404 : 409,
              rejected.code(),
              rejected.message());
      case Outcome.TimedOut timedOut -> {
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.put("status", "in_progress");
        body.put("message", timedOut.message());
        body.set("configuration", configuration(loop.leaderStatus(), self()));
        DocumentRoutes.json(ctx.status(202), body);
      }
      case Outcome.PersistFailed failed ->
          throw new ApiException(500, "write_failed", failed.message());
    }
  }

  /**
   * The configuration in force, for answers and {@code /v1/cluster}: voters, learners, the log
   * index of its entry (0: the configured members), whether it is committed, whether a change is
   * under way, and whether {@code self} is a member (a voter or a learner; not while it joins or
   * once it was removed).
   */
  static ObjectNode configuration(LeaderLoop.Status status, NodeId self) {
    LeaderMembers members = status.members();
    ObjectNode body = Json.MAPPER.createObjectNode();
    ArrayNode voters = body.putArray("voters");
    members.voters().forEach(id -> voters.add(id.value()));
    ArrayNode learners = body.putArray("learners");
    members.learners().forEach(id -> learners.add(id.value()));
    body.put("index", status.membersIndex());
    body.put("committed", status.membersIndex() <= status.commitIndex());
    body.put("changeInProgress", status.changingMembers());
    body.put("member", members.contains(self));
    return body;
  }

  private NodeId self() {
    return io.skein.node.config.NodeSettings.nodeId(node.config());
  }
}
