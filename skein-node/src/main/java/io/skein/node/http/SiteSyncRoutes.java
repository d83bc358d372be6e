package io.skein.node.http;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.skein.internal.site.SiteSyncServer;

/**
 * {@code POST /v1/sync}: a gateway of another site syncs with this node (docs/operating/cloud.md).
 * The body and the answer are protobuf ({@code SiteSyncRequest}, {@code SiteSyncResponse} in
 * peer.proto); a refusal is the usual JSON error. Bearer JWT only: no admin token, no cluster
 * secret.
 */
final class SiteSyncRoutes {
  /** The endpoint's path. */
  static final String PATH = "/v1/sync";

  private final NodeHandle node;

  SiteSyncRoutes(NodeHandle node) {
    this.node = node;
  }

  void register(RoutesConfig routes) {
    routes.post(PATH, HttpApi.named(PATH, this::sync));
  }

  private void sync(Context ctx) {
    SiteSyncServer server = node.siteSync();
    // The body is read only once the token is accepted.
    SiteSyncServer.Outcome outcome =
        server.handle(
            node.skein(),
            ctx.header("Authorization"),
            () -> DocumentRoutes.bodyBytes(ctx),
            ctx.ip());
    switch (outcome) {
      case SiteSyncServer.Answer answer -> {
        ctx.contentType("application/x-protobuf");
        ctx.result(answer.body());
      }
      case SiteSyncServer.Refused refused -> {
        SiteSyncServer.Refusal r = refused.refusal();
        if (r.status() == 401) {
          ctx.header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
        } else if (r.status() == 403) {
          ctx.header("WWW-Authenticate", "Bearer error=\"insufficient_scope\"");
        }
        throw new ApiException(r.status(), r.code(), r.message());
      }
    }
  }
}
