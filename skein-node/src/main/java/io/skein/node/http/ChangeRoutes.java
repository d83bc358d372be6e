package io.skein.node.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.skein.ChangeEvent;
import io.skein.ChangeFeedPage;
import io.skein.OverloadedException;
import io.skein.Skein;
import io.skein.internal.json.Json;
import io.skein.node.config.Settings;
import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * {@code GET /v1/changes}: the change feed, as one JSON page or as a Server-Sent Events stream
 * ({@code Accept: text/event-stream}). Both resume from any token they handed out ({@code since},
 * or the {@code Last-Event-ID} header for SSE). A stream reads the committed oplog from its
 * position, so it buffers nothing; the number of open streams is bounded, per node and per client
 * address.
 */
final class ChangeRoutes {
  private static final int PAGE_LIMIT_DEFAULT = 1_000;

  /**
   * How long a stream may be silent before a keepalive comment; a client that went away is only
   * noticed when a write fails, so this also bounds how long a dead stream holds its slot.
   */
  private static final long KEEPALIVE_MS = 5_000;

  private static final long WAIT_MS = 1_000;

  private final NodeHandle node;
  private final HttpApi api;

  /** Open streams, and per client address; bounded by {@code limits.change-streams*}. */
  private final AtomicInteger streams = new AtomicInteger();

  private final ConcurrentHashMap<String, Integer> streamsByClient = new ConcurrentHashMap<>();

  ChangeRoutes(NodeHandle node, HttpApi api) {
    this.node = node;
    this.api = api;
  }

  void register(RoutesConfig routes) {
    routes.get("/v1/changes", HttpApi.named("/v1/changes", this::changes));
  }

  /**
   * Whether a change is to a system collection ({@code _system_epochs}, {@code _system_members},
   * {@code _system_config}, ...): the feed is the clients' view, and clients can neither read nor
   * write those collections through the API. The page's {@code last} still moves past them.
   */
  private static boolean isSystem(ChangeEvent change) {
    return change.collection().startsWith(io.skein.core.model.CollectionName.SYSTEM_PREFIX);
  }

  private void changes(Context ctx) throws IOException, InterruptedException {
    String accept = ctx.header("Accept");
    if (accept != null && accept.contains("text/event-stream")) {
      stream(ctx);
      return;
    }
    int limit = DocumentRoutes.intParam(ctx, "limit", PAGE_LIMIT_DEFAULT);
    Skein skein = node.skein();
    ChangeFeedPage page = skein.changes(ctx.queryParam("since"), limit);
    boolean includeDocs = includeDocs(ctx);
    ArrayNode changes = Json.MAPPER.createArrayNode();
    for (ChangeEvent change : page.changes()) {
      if (!isSystem(change)) {
        changes.add(toJson(change, includeDocs));
      }
    }
    ObjectNode body = Json.MAPPER.createObjectNode();
    body.set("changes", changes);
    body.put("last", page.last());
    DocumentRoutes.json(ctx, body);
  }

  private void stream(Context ctx) throws IOException, InterruptedException {
    String since = ctx.header("Last-Event-ID");
    if (since == null) {
      since = ctx.queryParam("since");
    }
    boolean includeDocs = includeDocs(ctx);
    Skein skein = node.skein();
    String position = Long.toString(skein.parseToken(since));
    String client = ctx.ip();
    acquireStream(client);
    try {
      OutputStream out = Sse.open(ctx, "skein change feed from " + position);
      pump(skein, out, position, includeDocs);
    } catch (IOException e) {
      // The client went away: that is how a stream normally ends.
    } finally {
      releaseStream(client);
    }
  }

  /**
   * Takes a stream slot: at most {@code limits.change-streams} on the node ({@code 503 overloaded})
   * and {@code limits.change-streams-per-client} per client address ({@code 429 too_many_streams}),
   * so that one client cannot hold every slot.
   */
  private void acquireStream(String client) {
    int streamsMax = node.config().get(Settings.CHANGE_STREAMS);
    int perClientMax = node.config().get(Settings.CHANGE_STREAMS_PER_CLIENT);
    if (streams.incrementAndGet() > streamsMax) {
      streams.decrementAndGet();
      throw new OverloadedException(streamsMax + " change streams are open; retry later");
    }
    boolean[] admitted = {false};
    streamsByClient.compute(
        client,
        (address, open) -> {
          int count = open == null ? 0 : open;
          if (count >= perClientMax) {
            return open;
          }
          admitted[0] = true;
          return count + 1;
        });
    if (!admitted[0]) {
      streams.decrementAndGet();
      throw new ApiException(
          429,
          "too_many_streams",
          "this client has "
              + perClientMax
              + " change streams open (limits.change-streams-per-client); close one or retry"
              + " later");
    }
  }

  private void releaseStream(String client) {
    streamsByClient.computeIfPresent(client, (address, open) -> open <= 1 ? null : open - 1);
    streams.decrementAndGet();
  }

  private void pump(Skein skein, OutputStream out, String start, boolean includeDocs)
      throws IOException, InterruptedException {
    String position = start;
    long lastWriteMs = System.currentTimeMillis();
    while (!api.isStopping() && skein.isHealthy()) {
      ChangeFeedPage page = skein.changes(position, PAGE_LIMIT_DEFAULT);
      for (ChangeEvent change : page.changes()) {
        if (!isSystem(change)) {
          write(out, event(change, includeDocs));
        }
      }
      if (!page.changes().isEmpty()) {
        lastWriteMs = System.currentTimeMillis();
      }
      boolean advanced = !page.last().equals(position);
      position = page.last();
      if (!advanced) {
        skein.awaitChangeAfter(Long.parseLong(position), WAIT_MS);
        if (System.currentTimeMillis() - lastWriteMs >= KEEPALIVE_MS) {
          write(out, ": keepalive\n\n");
          lastWriteMs = System.currentTimeMillis();
        }
      }
    }
  }

  /** {@code include_docs=true|false}, default false, the same for JSON pages and streams. */
  private static boolean includeDocs(Context ctx) {
    String value = ctx.queryParam("include_docs");
    if (value == null || value.equals("false")) {
      return false;
    }
    if (value.equals("true")) {
      return true;
    }
    throw new io.skein.InvalidRequestException(
        "invalid_include_docs", "include_docs '" + value + "' is invalid: expected true or false");
  }

  private static String event(ChangeEvent change, boolean includeDocs) {
    return "id: "
        + change.token()
        + "\nevent: change\ndata: "
        + toJson(change, includeDocs)
        + "\n\n";
  }

  private static void write(OutputStream out, String text) throws IOException {
    Sse.write(out, text);
  }

  private static ObjectNode toJson(ChangeEvent change, boolean includeDocs) {
    ObjectNode node = Json.MAPPER.createObjectNode();
    node.put("seq", change.token())
        .put("collection", change.collection())
        .put("id", change.id())
        .put("op", change.operation())
        .put("version", change.version());
    @Nullable String json = change.json();
    if (includeDocs && json != null) {
      node.putRawValue("doc", new RawValue(json));
    }
    return node;
  }
}
