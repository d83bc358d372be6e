package io.skein.node.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.skein.Batch;
import io.skein.Document;
import io.skein.DocumentCollection;
import io.skein.DocumentPage;
import io.skein.InvalidRequestException;
import io.skein.SkeinException;
import io.skein.core.replica.WriteConcern;
import io.skein.internal.json.Json;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/** Documents, listing, queries, indexes and batches. */
final class DocumentRoutes {
  private static final String DOC = "/v1/collections/{collection}/docs/{id}";
  private static final int LIST_LIMIT_DEFAULT = 100;

  private final NodeHandle node;

  /** Creates the routes; each request reads the node's current store and configuration. */
  DocumentRoutes(NodeHandle node) {
    this.node = node;
  }

  void register(RoutesConfig routes) {
    routes.put(DOC, HttpApi.named(DOC, this::put));
    routes.get(DOC, HttpApi.named(DOC, this::get));
    routes.head(DOC, HttpApi.named(DOC, this::head));
    routes.delete(DOC, HttpApi.named(DOC, this::delete));
    routes.get(
        "/v1/collections/{collection}/docs",
        HttpApi.named("/v1/collections/{collection}/docs", this::list));
    routes.post(
        "/v1/collections/{collection}/query",
        HttpApi.named("/v1/collections/{collection}/query", this::query));
    routes.post(
        "/v1/collections/{collection}/indexes",
        HttpApi.named("/v1/collections/{collection}/indexes", this::createIndex));
    routes.get(
        "/v1/collections/{collection}/indexes",
        HttpApi.named("/v1/collections/{collection}/indexes", this::listIndexes));
    routes.post("/v1/batch", HttpApi.named("/v1/batch", this::batch));
  }

  private DocumentCollection collection(Context ctx) {
    return node.skein().collection(ctx.pathParam("collection"));
  }

  private void put(Context ctx) {
    DocumentCollection collection = collection(ctx);
    WriteConcern concern = writeConcern(ctx);
    JsonNode document = Json.parseObject(body(ctx), "the document");
    String id = ctx.pathParam("id");
    String version = collection.put(id, document, concern);
    ctx.header("ETag", quote(version));
    json(ctx, Json.MAPPER.createObjectNode().put("id", id).put("version", version));
  }

  /**
   * Applies {@code ?consistency=}: {@code local} (the default) reads this node's state; {@code
   * strong} first confirms, with a quorum round, that this node is the primary and holds every
   * committed write (leader mode; a secondary redirects like a write).
   */
  private void consistency(Context ctx) {
    String consistency = ctx.queryParam("consistency");
    if (consistency == null || consistency.equals("local")) {
      return;
    }
    if (!consistency.equals("strong")) {
      throw new InvalidRequestException(
          "invalid_consistency",
          "consistency must be 'local' or 'strong', was '" + consistency + "'");
    }
    node.skein().confirmPrimary();
  }

  private void get(Context ctx) {
    consistency(ctx);
    Optional<Document> document = collection(ctx).get(ctx.pathParam("id"));
    if (document.isEmpty()) {
      notFound(ctx);
      return;
    }
    ctx.header("ETag", quote(document.get().version()));
    ctx.contentType("application/json").result(document.get().json());
  }

  private void head(Context ctx) {
    consistency(ctx);
    Optional<Document> document = collection(ctx).get(ctx.pathParam("id"));
    if (document.isEmpty()) {
      ctx.status(404);
      return;
    }
    ctx.header("ETag", quote(document.get().version()));
    ctx.status(200);
  }

  private void delete(Context ctx) {
    DocumentCollection collection = collection(ctx);
    WriteConcern concern = writeConcern(ctx);
    String id = ctx.pathParam("id");
    Optional<String> version = collection.delete(id, concern);
    if (version.isEmpty()) {
      notFound(ctx);
      return;
    }
    ctx.header("ETag", quote(version.get()));
    json(ctx, Json.MAPPER.createObjectNode().put("id", id).put("version", version.get()));
  }

  private void list(Context ctx) {
    int limit = intParam(ctx, "limit", LIST_LIMIT_DEFAULT);
    consistency(ctx);
    DocumentPage page = collection(ctx).list(ctx.queryParam("after"), limit);
    ObjectNode body = Json.MAPPER.createObjectNode();
    body.set("docs", documents(page.documents()));
    body.put("next", page.next());
    json(ctx, body);
  }

  private void query(Context ctx) {
    DocumentCollection collection = collection(ctx);
    JsonNode body = Json.parseObject(body(ctx), "the query");
    consistency(ctx);
    ObjectNode answer = Json.MAPPER.createObjectNode();
    answer.set("docs", documents(collection.query(body)));
    json(ctx, answer);
  }

  private void createIndex(Context ctx) {
    DocumentCollection collection = collection(ctx);
    JsonNode body = Json.parseObject(body(ctx), "the index definition");
    collection.createIndex(body);
    json(ctx, Json.MAPPER.createObjectNode().set("fields", body.get("fields")));
  }

  private void listIndexes(Context ctx) {
    ArrayNode indexes = Json.MAPPER.createArrayNode();
    for (List<String> fields : collection(ctx).indexes()) {
      ArrayNode array = indexes.addObject().putArray("fields");
      fields.forEach(array::add);
    }
    json(ctx, Json.MAPPER.createObjectNode().set("indexes", indexes));
  }

  private void batch(Context ctx) {
    WriteConcern concern = writeConcern(ctx);
    JsonNode body = Json.parseObject(body(ctx), "the batch");
    Batch batch = node.skein().batch();
    JsonNode ops = addOperations(batch, body);
    List<String> versions = batch.commit(concern);
    ArrayNode results = Json.MAPPER.createArrayNode();
    for (int i = 0; i < versions.size(); i++) {
      results.addObject().put("id", ops.get(i).get("id").asText()).put("version", versions.get(i));
    }
    json(ctx, Json.MAPPER.createObjectNode().set("results", results));
  }

  /**
   * Checks a batch body and adds its operations to {@code batch}, which validates each; nothing is
   * written until the batch commits.
   *
   * @return the {@code ops} array
   * @throws SkeinException naming the first problem, its message prefixed with {@code ops[i]: }
   */
  static JsonNode addOperations(Batch batch, JsonNode body) {
    requireOnlyKeys(body, Set.of("ops"), "the batch");
    JsonNode ops = body.get("ops");
    if (ops == null || !ops.isArray() || ops.isEmpty()) {
      throw new InvalidRequestException(
          "invalid_batch", "the batch needs \"ops\": a non-empty array of operations");
    }
    for (int i = 0; i < ops.size(); i++) {
      addOperation(batch, ops.get(i), i);
    }
    return ops;
  }

  private static void addOperation(Batch batch, JsonNode op, int index) {
    String where = "ops[" + index + "]";
    try {
      if (!op.isObject()) {
        throw new InvalidRequestException("invalid_batch", "must be an object");
      }
      requireOnlyKeys(op, Set.of("op", "collection", "id", "doc"), "the operation");
      String kind = requiredText(op, "op");
      String collection = requiredText(op, "collection");
      String id = requiredText(op, "id");
      JsonNode doc = op.get("doc");
      switch (kind) {
        case "put" -> {
          if (doc == null) {
            throw new InvalidRequestException("invalid_batch", "a put needs \"doc\"");
          }
          batch.put(collection, id, doc);
        }
        case "delete" -> {
          if (doc != null) {
            throw new InvalidRequestException("invalid_batch", "a delete takes no \"doc\"");
          }
          batch.delete(collection, id);
        }
        default ->
            throw new InvalidRequestException(
                "invalid_batch", "op '" + kind + "' is unknown: expected put or delete");
      }
    } catch (SkeinException e) {
      throw prefixed(e, where);
    }
  }

  /**
   * Refuses a request body that is not declared {@code application/json} with {@code 415
   * unsupported_media_type}. A browser sends {@code text/plain}, form types or no type at all
   * cross-origin without asking the server first (a CORS "simple" request); requiring JSON makes it
   * ask, so CORS decides. A charset parameter may say UTF-8, the only encoding read (RFC 8259
   * §8.1). A request without a body needs no type.
   */
  static void requireJson(Context ctx) {
    boolean noBody =
        ctx.req().getContentLengthLong() == 0
            || (ctx.req().getContentLengthLong() < 0 && ctx.header("Transfer-Encoding") == null);
    if (noBody) {
      return;
    }
    String problem = mediaTypeProblem(ctx.header("Content-Type"));
    if (problem != null) {
      throw new ApiException(415, "unsupported_media_type", problem);
    }
    String coding = unsupportedContentCoding(ctx.req().getHeaders("Content-Encoding"));
    if (coding != null) {
      // RFC 9110 §12.5.3: the answer says which content codings are accepted.
      ctx.header("Accept-Encoding", "identity");
      throw new ApiException(
          415,
          "unsupported_media_type",
          "a request body with Content-Encoding '"
              + coding
              + "' is not accepted: send it uncompressed, without Content-Encoding");
    }
  }

  /**
   * Returns the first content coding other than {@code identity} in the {@code Content-Encoding}
   * headers, or {@code null}. No coding is decoded: a compressed body read as it is would be
   * refused as not UTF-8 at best, and a body declared compressed but sent plain would be stored.
   */
  static @Nullable String unsupportedContentCoding(
      java.util.@Nullable Enumeration<String> headers) {
    while (headers != null && headers.hasMoreElements()) {
      for (String coding : headers.nextElement().split(",", -1)) {
        String name = coding.strip().toLowerCase(java.util.Locale.ROOT);
        if (!name.isEmpty() && !name.equals("identity")) {
          return shortened(name);
        }
      }
    }
    return null;
  }

  /** Shortens a client's text quoted in a message. */
  static String shortened(String text) {
    return text.length() > 40 ? text.substring(0, 40) + "..." : text;
  }

  /** Returns why a {@code Content-Type} is not JSON in UTF-8, or {@code null} if it is. */
  static @Nullable String mediaTypeProblem(@Nullable String header) {
    if (header == null || header.isBlank()) {
      return "a request body needs Content-Type: application/json";
    }
    String[] parts = header.split(";", -1);
    String type = parts[0].strip().toLowerCase(java.util.Locale.ROOT);
    if (!type.equals("application/json")) {
      return "the body is declared '"
          + (type.length() > 80 ? type.substring(0, 80) + "..." : type)
          + "': it must be application/json";
    }
    for (int i = 1; i < parts.length; i++) {
      String[] parameter = parts[i].split("=", 2);
      String name = parameter[0].strip().toLowerCase(java.util.Locale.ROOT);
      String value = parameter.length < 2 ? "" : parameter[1].strip().replace("\"", "");
      if (name.equals("charset")
          && !value.equalsIgnoreCase("utf-8")
          && !value.equalsIgnoreCase("utf8")) {
        return "bodies are UTF-8 (RFC 8259); charset '"
            + (value.length() > 40 ? value.substring(0, 40) + "..." : value)
            + "' is not read";
      }
    }
    return null;
  }

  /** Reads the body as strict UTF-8 JSON text, declared {@code application/json}. */
  static String body(Context ctx) {
    requireJson(ctx);
    return Json.decodeUtf8(bodyBytes(ctx));
  }

  /** Reads the body's bytes, at most the live request limit. */
  static byte[] bodyBytes(Context ctx) {
    // Read at most the live limit plus one byte: a chunked body has no Content-Length for
    // admit() to refuse, and reading it whole first would let anyone fill the heap.
    Long limit = ctx.attribute(HttpApi.BODY_MAX);
    long max = limit == null ? HttpApi.REQUEST_BYTES_CEILING : limit;
    byte[] bytes;
    try {
      bytes = ctx.req().getInputStream().readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max + 1));
    } catch (java.io.IOException e) {
      if (ClientGoneException.isClientGone(ctx, e)) {
        throw new ClientGoneException(e);
      }
      // The connection is still up, so the framing was wrong: Jetty reports a malformed chunk
      // size or a body cut short the same way, as an early end of the stream.
      throw new InvalidRequestException(
          "invalid_body",
          "the request body is malformed: its chunked encoding is invalid, or it ended before its"
              + " Content-Length",
          e);
    }
    if (bytes.length > max) {
      throw new io.skein.TooLargeException(
          "body_too_large", "the request body is over the limit of " + max + " bytes");
    }
    return bytes;
  }

  private static SkeinException prefixed(SkeinException e, String where) {
    String message = where + ": " + e.getMessage();
    if (e instanceof io.skein.TooLargeException) {
      return new io.skein.TooLargeException(e.code(), message);
    }
    return new InvalidRequestException(e.code(), message, e);
  }

  private static String requiredText(JsonNode op, String field) {
    JsonNode value = op.get(field);
    if (value == null || !value.isTextual()) {
      throw new InvalidRequestException("invalid_batch", "\"" + field + "\" must be a string");
    }
    return value.asText();
  }

  private static void requireOnlyKeys(JsonNode object, Set<String> allowed, String what) {
    for (Iterator<String> names = object.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!allowed.contains(name)) {
        throw new InvalidRequestException(
            "invalid_request", what + " has an unknown field '" + name + "'");
      }
    }
  }

  private WriteConcern writeConcern(Context ctx) {
    String w = ctx.queryParam("w");
    if (w == null) {
      // The default follows the mode: majority in leader mode (D2), 1 in dynamo mode.
      return io.skein.node.config.NodeSettings.leaderMode(node.config())
          ? WriteConcern.MAJORITY
          : WriteConcern.ONE;
    }
    try {
      return WriteConcern.parse(w);
    } catch (IllegalArgumentException e) {
      throw new InvalidRequestException("invalid_write_concern", String.valueOf(e.getMessage()), e);
    }
  }

  static int intParam(Context ctx, String name, int defaultValue) {
    String text = ctx.queryParam(name);
    if (text == null) {
      return defaultValue;
    }
    try {
      return Integer.parseInt(text);
    } catch (NumberFormatException e) {
      throw new InvalidRequestException(
          "invalid_" + name, name + " '" + text + "' is not an integer", e);
    }
  }

  private static ArrayNode documents(List<Document> documents) {
    ArrayNode array = Json.MAPPER.createArrayNode();
    for (Document document : documents) {
      ObjectNode entry = array.addObject();
      entry.put("id", document.id()).put("version", document.version());
      // Stored text is already compact JSON: embed it as is rather than parse and re-serialise.
      entry.putRawValue("doc", new RawValue(document.json()));
    }
    return array;
  }

  private static void notFound(Context ctx) {
    ApiErrors.write(
        ctx,
        404,
        "not_found",
        "no document '"
            + ctx.pathParam("id")
            + "' in collection '"
            + ctx.pathParam("collection")
            + "'");
  }

  static void json(Context ctx, JsonNode body) {
    ctx.contentType("application/json").result(body.toString());
  }

  static String quote(@Nullable String version) {
    return "\"" + version + "\"";
  }
}
