package io.skein.node.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cloudevents.CloudEvent;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.skein.InvalidRequestException;
import io.skein.core.config.Config;
import io.skein.core.config.ConfigChange;
import io.skein.core.config.Secret;
import io.skein.core.config.Setting;
import io.skein.core.config.Violation;
import io.skein.internal.events.EventBus;
import io.skein.internal.events.NodeEvents;
import io.skein.internal.json.Json;
import io.skein.internal.runtime.ReloadOrchestrator;
import io.skein.internal.runtime.Threads;
import io.skein.internal.storage.Backup;
import io.skein.internal.storage.BackupException;
import io.skein.node.config.ClusterLayer;
import io.skein.node.config.NodeSettings;
import io.skein.node.config.Settings;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.EndPoint;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API (DESIGN.md "Admin API"): {@code POST /admin/reload}, {@code POST
 * /admin/reload/reset}, {@code GET /admin/config}, {@code GET /admin/events}, {@code GET
 * /admin/backup}, {@code POST /admin/peers/{id}/forget}, and the cluster-wide settings ({@link
 * ClusterConfigRoutes}).
 *
 * <p>It is off unless {@code admin.token} is set: then every route answers {@code 403
 * admin_disabled}, naming the setting. With a token, a request without {@code Authorization: Bearer
 * <token>} gets {@code 401 unauthorized}. The token is compared in constant time, and it is read
 * from the running configuration on every request, so a reload rotates it.
 */
final class AdminRoutes {
  private static final Logger log = LoggerFactory.getLogger(AdminRoutes.class);

  /** The most event streams open at once; more get {@code 503 overloaded}. */
  static final int EVENT_STREAMS_MAX = 16;

  /** Events an event stream may fall behind by before it drops some (and says so). */
  static final int EVENT_QUEUE_MAX = 1_024;

  /** The longest a {@code POST /admin/reload} waits for its reload. */
  static final long RELOAD_WAIT_MS = 15 * 60_000;

  private static final long KEEPALIVE_MS = 5_000;

  /**
   * The idle timeout of a connection while its backup is taken: nothing is sent until the snapshot
   * is complete, which can take minutes for a large file, longer than {@code http.idle-timeout}.
   */
  static final long BACKUP_IDLE_TIMEOUT_MS = 60 * 60_000;

  private final NodeHandle node;
  private final HttpApi api;
  private final Semaphore streams = new Semaphore(EVENT_STREAMS_MAX);

  AdminRoutes(NodeHandle node, HttpApi api) {
    this.node = node;
    this.api = api;
  }

  void register(RoutesConfig routes) {
    routes.before("/admin/*", this::authorize);
    routes.post("/admin/reload", HttpApi.named("/admin/reload", this::reload));
    routes.post("/admin/reload/reset", HttpApi.named("/admin/reload/reset", this::reset));
    routes.get("/admin/config", HttpApi.named("/admin/config", this::config));
    routes.get("/admin/events", HttpApi.named("/admin/events", this::events));
    routes.get("/admin/backup", HttpApi.named("/admin/backup", this::backup));
    routes.post(
        "/admin/peers/{id}/forget", HttpApi.named("/admin/peers/{id}/forget", this::forget));
    new ClusterConfigRoutes(node).register(routes);
  }

  /**
   * {@code POST /admin/peers/{id}/forget}: a peer that left for good (taken out of {@code
   * cluster.peers}, or a discovered one that expired) stops holding tombstones back (D5).
   */
  private void forget(Context ctx) {
    io.skein.core.model.NodeId peer;
    try {
      peer = io.skein.core.model.NodeId.of(ctx.pathParam("id"));
    } catch (IllegalArgumentException e) {
      throw new ApiException(400, "invalid_node_id", String.valueOf(e.getMessage()));
    }
    NodeHandle.ForgetRefusal refused = node.forgetPeer(peer);
    if (refused != null) {
      int status = refused.code().equals("unknown_peer") ? 404 : 409;
      throw new ApiException(status, refused.code(), refused.message());
    }
    ObjectNode body = Json.MAPPER.createObjectNode();
    body.put("forgotten", peer.value());
    DocumentRoutes.json(ctx.status(200), body);
  }

  /**
   * Whether the request carries the admin token (compared in constant time); false if it is off.
   */
  static boolean presentsToken(Context ctx, io.skein.core.config.Config config) {
    Secret token = config.find(Settings.ADMIN_TOKEN);
    if (token == null) {
      return false;
    }
    String header = ctx.header("Authorization");
    String presented =
        header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)
            ? header.substring(7).strip()
            : "";
    return MessageDigest.isEqual(
        presented.getBytes(StandardCharsets.UTF_8), token.value().getBytes(StandardCharsets.UTF_8));
  }

  private void authorize(Context ctx) {
    Secret token = node.config().find(Settings.ADMIN_TOKEN);
    if (token == null) {
      throw new ApiException(
          403,
          "admin_disabled",
          "the admin API is off: set admin.token (--admin-token ${ENV_NAME}, or the"
              + " SKEIN_ADMIN_TOKEN variable) to turn it on");
    }
    String header = ctx.header("Authorization");
    String presented =
        header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)
            ? header.substring(7).strip()
            : "";
    boolean match =
        MessageDigest.isEqual(
            presented.getBytes(StandardCharsets.UTF_8),
            token.value().getBytes(StandardCharsets.UTF_8));
    if (!match) {
      ctx.header("WWW-Authenticate", "Bearer realm=\"skein-admin\"");
      throw new ApiException(
          401,
          "unauthorized",
          header == null
              ? "the admin API needs Authorization: Bearer <admin token>"
              : "the admin token is wrong");
    }
  }

  private void reload(Context ctx) throws InterruptedException {
    Set<String> sections = sections(ctx);
    ReloadOrchestrator.Result result;
    try {
      result = node.reloads().request("api", sections).get(RELOAD_WAIT_MS, TimeUnit.MILLISECONDS);
    } catch (ReloadOrchestrator.BackingOffException e) {
      backingOff(ctx, e);
      return;
    } catch (ReloadOrchestrator.QueueFullException e) {
      throw new io.skein.OverloadedException(String.valueOf(e.getMessage()));
    } catch (ReloadOrchestrator.ShuttingDownException e) {
      throw new io.skein.ClosedException("the node is shutting down");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof ReloadOrchestrator.BackingOffException backingOff) {
        backingOff(ctx, backingOff);
        return;
      }
      if (e.getCause() instanceof ReloadOrchestrator.ShuttingDownException) {
        throw new io.skein.ClosedException("the node is shutting down");
      }
      throw new ApiException(
          503,
          "reload_unavailable",
          "the reload did not run: " + String.valueOf(e.getCause()).split(":", 2)[0]);
    } catch (TimeoutException e) {
      throw new ApiException(
          504, "reload_timeout", "the reload did not finish within " + RELOAD_WAIT_MS + " ms");
    }
    DocumentRoutes.json(ctx.status(status(result)), resultJson(result));
  }

  private static int status(ReloadOrchestrator.Result result) {
    return switch (result.outcome()) {
      case COMPLETED, NO_CHANGE -> 200;
      case FAILED, ROLLED_BACK -> 422;
    };
  }

  /** The answer of {@code POST /admin/reload} (also used by the CLI's output). */
  static ObjectNode resultJson(ReloadOrchestrator.Result result) {
    ObjectNode body = Json.MAPPER.createObjectNode();
    if (result.outcome() == ReloadOrchestrator.Outcome.FAILED
        || result.outcome() == ReloadOrchestrator.Outcome.ROLLED_BACK) {
      body.putObject("error")
          .put(
              "code",
              result.outcome() == ReloadOrchestrator.Outcome.ROLLED_BACK
                  ? "reload_rolled_back"
                  : "reload_failed")
          .put("message", String.valueOf(result.error()));
    }
    body.put("reloadId", result.reloadId());
    body.put("outcome", result.outcome().wireName());
    if (result.failedModule() == null) {
      body.putNull("failedModule");
    } else {
      body.put("failedModule", result.failedModule());
    }
    ArrayNode changes = body.putArray("changes");
    for (ConfigChange change : result.changes()) {
      ObjectNode item = changes.addObject().put("fieldPath", change.fieldPath());
      item.set("oldValue", change.setting().json(change.oldValue()));
      item.set("newValue", change.setting().json(change.newValue()));
    }
    if (!result.violations().isEmpty()) {
      ArrayNode violations = body.putArray("violations");
      for (Violation violation : result.violations()) {
        violations
            .addObject()
            .put("path", violation.path())
            .put("origin", violation.origin())
            .put("message", violation.message());
      }
    }
    return body;
  }

  private static void backingOff(Context ctx, ReloadOrchestrator.BackingOffException e) {
    long seconds = Math.max(1, (e.retryAfter().toMillis() + 999) / 1000);
    ctx.header("Retry-After", Long.toString(seconds));
    ApiErrors.write(ctx, 503, "backing_off", String.valueOf(e.getMessage()));
  }

  private Set<String> sections(Context ctx) {
    String text = DocumentRoutes.body(ctx);
    if (text.isBlank()) {
      return Set.of();
    }
    JsonNode body = Json.parseObject(text, "the reload request");
    JsonNode list = body.get("sections");
    if (body.size() != (list == null ? 0 : 1)) {
      throw new InvalidRequestException(
          "invalid_reload", "the reload request takes only \"sections\": [\"replication\", ...]");
    }
    Set<String> sections = new LinkedHashSet<>();
    if (list == null) {
      return sections;
    }
    Set<String> known = node.config().catalog().sections();
    if (!list.isArray()) {
      throw new InvalidRequestException("invalid_sections", "\"sections\" must be an array");
    }
    for (JsonNode item : list) {
      if (!item.isTextual() || !known.contains(item.asText())) {
        throw new InvalidRequestException(
            "invalid_sections",
            "unknown section " + item + "; the sections are " + String.join(", ", known));
      }
      sections.add(item.asText());
    }
    return sections;
  }

  private void reset(Context ctx) {
    node.reloads().resetBreaker();
    DocumentRoutes.json(
        ctx, Json.MAPPER.createObjectNode().put("breaker", node.reloads().breakerState()));
  }

  private void config(Context ctx) {
    DocumentRoutes.json(ctx, configJson(node.config(), node.reloads(), node.clusterLayer()));
  }

  /**
   * Every setting with its value (secrets redacted), source, reload class, unit and default; a
   * cluster-wide setting says so, and one that has a cluster-wide value shows it with its status on
   * this node: {@code applied}, {@code overridden} (by a pin: {@code overriddenBy} names the layer)
   * or {@code rejected} (with the {@code reason}).
   */
  static ObjectNode configJson(Config config, ReloadOrchestrator reloads, ClusterLayer layer) {
    Map<String, JsonNode> clusterValues = layer.values();
    Map<String, ClusterLayer.Rejection> rejected = new java.util.HashMap<>();
    layer.rejected().forEach(r -> rejected.put(r.path(), r));
    ObjectNode body = Json.MAPPER.createObjectNode();
    ArrayNode settings = body.putArray("settings");
    for (Config.Entry entry : config.entries()) {
      Setting<?> setting = entry.setting();
      ObjectNode item = settings.addObject().put("path", setting.path());
      item.set("value", setting.json(entry.value()));
      item.put("source", entry.source()).put("reloadClass", setting.reloadClass().wireName());
      if (setting.unit() != null) {
        item.put("unit", setting.unit());
      }
      item.put("default", setting.secret() ? Secret.REDACTED : setting.defaultText());
      if (setting.clusterWide()) {
        item.put("clusterWide", true);
      }
      JsonNode clusterValue = clusterValues.get(setting.path());
      if (clusterValue != null) {
        ObjectNode cluster = item.putObject("cluster");
        cluster.set("value", ClusterLayer.shown(config.catalog(), setting.path(), clusterValue));
        ClusterLayer.Rejection rejection = rejected.get(setting.path());
        if (rejection != null) {
          cluster.put("status", "rejected").put("reason", rejection.reason());
        } else if (entry.source().equals(ClusterLayer.SOURCE)) {
          cluster.put("status", "applied");
        } else if (layer.taken().contains(setting.path())) {
          cluster.put("status", "overridden").put("overriddenBy", entry.source());
        } else {
          cluster.put("status", "pending");
        }
      }
    }
    body.set("clusterRejected", ClusterConfigRoutes.rejections(config.catalog(), layer));
    body.putObject("reload")
        .put("breaker", reloads.breakerState())
        .put("backoffSeconds", reloads.backoffRemaining().toMillis() / 1000.0);
    return body;
  }

  /**
   * {@code GET /admin/backup}: a consistent snapshot of this node's database, taken while writes go
   * on, streamed as a backup file (docs/operating/backup.md). One backup runs at a time; another is
   * answered {@code 409 backup_in_progress}. The snapshot's temporary file is deleted when the
   * answer ends, also when the client went away.
   */
  private void backup(Context ctx) {
    io.skein.core.model.NodeId nodeId = io.skein.core.model.NodeId.of(node.skein().nodeId());
    Path file = Backup.databaseFile(NodeSettings.dataDir(node.config()), nodeId);
    Backup.Lease lease;
    try {
      lease = Backup.begin(file);
    } catch (BackupException e) {
      throw new ApiException(409, e.code(), String.valueOf(e.getMessage()));
    }
    try (lease;
        Backup.Snapshot snapshot = snapshotWhileIdle(ctx, lease)) {
      stream(ctx, nodeId, snapshot);
    } catch (BackupException e) {
      throw new ApiException(500, e.code(), String.valueOf(e.getMessage()));
    }
  }

  /**
   * Takes the snapshot with the connection's idle timeout lifted to {@link
   * #BACKUP_IDLE_TIMEOUT_MS}, since nothing is sent meanwhile; the stream that follows runs under
   * the usual one, so a client that stops reading is cut off as any other.
   */
  private static Backup.Snapshot snapshotWhileIdle(Context ctx, Backup.Lease lease) {
    EndPoint endPoint = endPoint(ctx);
    if (endPoint == null) {
      return snapshotOnPlatformThread(lease);
    }
    long idleMs = endPoint.getIdleTimeout();
    endPoint.setIdleTimeout(Math.max(idleMs, BACKUP_IDLE_TIMEOUT_MS));
    try {
      return snapshotOnPlatformThread(lease);
    } finally {
      endPoint.setIdleTimeout(idleMs);
    }
  }

  /** Takes the snapshot on a platform thread: it runs JDBC, which would pin a virtual carrier. */
  private static Backup.Snapshot snapshotOnPlatformThread(Backup.Lease lease) {
    CompletableFuture<Backup.Snapshot> result = new CompletableFuture<>();
    Threads.platform(
        "skein-backup",
        true,
        () -> {
          try {
            result.complete(Backup.snapshot(lease, Instant.now()));
          } catch (RuntimeException | Error e) {
            result.completeExceptionally(e); // never leave the request waiting
            if (e instanceof Error error) {
              throw error;
            }
          }
        });
    // join(), not get(): an interrupted request must still wait for the snapshot, so that its
    // temporary file is deleted and the lease released only once nothing writes to it.
    try {
      return result.join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof RuntimeException failure) {
        throw failure;
      }
      if (e.getCause() instanceof Error error) {
        throw error;
      }
      throw e;
    }
  }

  private static void stream(Context ctx, io.skein.core.model.NodeId nodeId, Backup.Snapshot s) {
    String name =
        "node-"
            + nodeId.value()
            + "-"
            + s.manifest().createdAt().replaceAll("[-:]|\\.\\d+", "")
            + ".skeinbak";
    ctx.status(200);
    // Javalin gives every answer a charset; bytes have none.
    ctx.res().setCharacterEncoding(null);
    ctx.res().setContentType("application/octet-stream");
    ctx.res().setContentLengthLong(s.lengthBytes());
    ctx.res().setHeader("Content-Disposition", "attachment; filename=\"" + name + "\"");
    ctx.res().setHeader("Cache-Control", "no-store");
    try {
      OutputStream out = ctx.res().getOutputStream();
      s.writeTo(out);
      out.flush();
    } catch (IOException e) {
      // The client went away mid-stream: nothing can be answered any more, and the snapshot's
      // file is deleted as the caller closes it.
      log.debug("backup download of node {} ended early: {}", nodeId, e.toString());
    }
  }

  private static @Nullable EndPoint endPoint(Context ctx) {
    try {
      return ServletContextRequest.getServletContextRequest(ctx.req())
          .getConnectionMetaData()
          .getConnection()
          .getEndPoint();
    } catch (RuntimeException e) {
      return null;
    }
  }

  private void events(Context ctx) throws IOException, InterruptedException {
    if (!streams.tryAcquire()) {
      throw new io.skein.OverloadedException(
          EVENT_STREAMS_MAX + " event streams are open; retry later");
    }
    Secret token = node.config().find(Settings.ADMIN_TOKEN);
    try (EventBus.Subscriber subscriber = node.events().subscribe(EVENT_QUEUE_MAX)) {
      OutputStream out = Sse.open(ctx, "skein node events");
      pump(out, subscriber, token);
    } catch (IOException e) {
      // The client went away: that is how a stream normally ends.
    } finally {
      streams.release();
    }
  }

  private void pump(OutputStream out, EventBus.Subscriber subscriber, @Nullable Secret token)
      throws IOException, InterruptedException {
    // The stream lives only as long as the token it was opened with: a rotated or removed
    // admin.token ends it at the next event or keepalive.
    while (!api.isStopping() && Objects.equals(node.config().find(Settings.ADMIN_TOKEN), token)) {
      CloudEvent event = subscriber.poll(KEEPALIVE_MS);
      long dropped = subscriber.takeDropped();
      if (dropped > 0) {
        write(out, ": " + dropped + " events dropped: this stream fell behind\n\n");
      }
      if (event == null) {
        write(out, ": keepalive\n\n");
        continue;
      }
      write(
          out,
          "id: "
              + event.getId()
              + "\nevent: "
              + event.getType()
              + "\ndata: "
              + NodeEvents.toJson(event)
              + "\n\n");
    }
  }

  private static void write(OutputStream out, String text) throws IOException {
    Sse.write(out, text);
  }
}
