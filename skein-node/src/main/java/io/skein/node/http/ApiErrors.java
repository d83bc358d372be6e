package io.skein.node.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.skein.ClosedException;
import io.skein.InvalidRequestException;
import io.skein.NotPrimaryException;
import io.skein.OutcomeUnknownException;
import io.skein.OverloadedException;
import io.skein.SkeinException;
import io.skein.TooLargeException;
import io.skein.internal.json.Json;
import io.skein.internal.storage.StorageException;
import java.util.Map;

/**
 * Turns failures into the error shape of DESIGN.md: {@code {"error":{"code":…,"message":…}}} with
 * the matching status.
 */
final class ApiErrors {
  private ApiErrors() {}

  /** Returns the HTTP status for an exception. */
  static int status(SkeinException e) {
    return switch (e) {
      case InvalidRequestException invalid -> 400;
      case TooLargeException tooLarge -> 413;
      case OverloadedException overloaded -> 503;
      case ClosedException closed -> 503;
      case NotPrimaryException notPrimary -> 503;
      case OutcomeUnknownException unknown -> 504;
      case StorageException storage
          when storage.code().equals("overloaded") || storage.code().equals("closed") ->
          503;
      case StorageException storage when storage.code().equals("query_timeout") -> 408;
      default -> 500;
    };
  }

  /** Writes an exception as an error answer. */
  static void write(Context ctx, SkeinException e) {
    int status = status(e);
    if (status == 503) {
      ctx.header("Retry-After", "1");
    }
    write(ctx, status, e.code(), e.getMessage() == null ? e.code() : e.getMessage());
  }

  /**
   * Leader mode (DESIGN.md API): {@code 307 not_primary} with a {@code Location} on the primary
   * when this node knows it, else {@code 503 no_primary} with {@code Retry-After}.
   */
  static void notPrimary(Context ctx, NotPrimaryException e, Map<String, String> urls) {
    String leader = e.leaderId();
    String base = leader == null ? null : urls.get(leader);
    if (base == null) {
      ctx.header("Retry-After", "1");
      write(
          ctx,
          503,
          "no_primary",
          leader == null
              ? String.valueOf(e.getMessage())
              : "the primary is node " + leader + ", whose address this node does not know");
      return;
    }
    String query = ctx.queryString();
    ctx.header(
        "Location", base + ctx.path() + (query == null || query.isEmpty() ? "" : "?" + query));
    ObjectNode error = Json.MAPPER.createObjectNode();
    error
        .putObject("error")
        .put("code", "not_primary")
        .put("message", String.valueOf(e.getMessage()))
        .put("leader", leader)
        .put("leaderUrl", base);
    ctx.status(307).contentType("application/json").result(error.toString());
  }

  /** Writes an error answer. */
  static void write(Context ctx, int status, String code, String message) {
    ObjectNode error = Json.MAPPER.createObjectNode();
    error.putObject("error").put("code", code).put("message", message);
    ctx.status(status).contentType("application/json").result(error.toString());
  }
}
