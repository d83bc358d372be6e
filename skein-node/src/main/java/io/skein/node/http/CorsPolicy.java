package io.skein.node.http;

import io.javalin.http.Context;
import io.skein.core.config.Config;
import io.skein.node.config.Settings;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * Cross-origin resource sharing (the Fetch standard's CORS protocol), off unless {@code
 * http.cors-allowed-origins} lists origins. Immutable; {@link HttpApi} swaps a new one in when a
 * reload changes the {@code http} settings.
 *
 * <p>Design notes. CORS only decides what a browser lets a page <em>read</em>; it never stops a
 * "simple" request from running. What stops a page from writing is that every body must be {@code
 * application/json} (not a CORS-safelisted type, so a browser asks first with a preflight) and that
 * the {@code Host} header must name this node ({@link HostPolicy}, against DNS rebinding).
 * Credentials (cookies, HTTP authentication) are never allowed: the data API uses none, and the
 * admin API's bearer token is a header that must be listed in {@code http.cors-allowed-headers}.
 *
 * @param origins allowed origins, lower case, as {@code scheme://host[:port]}; {@code *} allows any
 * @param headers allowed request headers, lower case
 * @param maxAge how long a browser may cache a preflight answer
 */
record CorsPolicy(Set<String> origins, Set<String> headers, Duration maxAge) {
  /** The methods the API serves. */
  static final String METHODS = "GET, HEAD, PUT, POST, DELETE";

  private static final Set<String> METHOD_NAMES = Set.of("GET", "HEAD", "PUT", "POST", "DELETE");

  /** The answer headers a page may read besides the CORS-safelisted ones. */
  static final String EXPOSED = "ETag, Location, Retry-After";

  /** Reads the policy from the {@code http} settings. */
  static CorsPolicy of(Config config) {
    return new CorsPolicy(
        lowerCase(config.get(Settings.CORS_ALLOWED_ORIGINS)),
        lowerCase(config.get(Settings.CORS_ALLOWED_HEADERS)),
        config.get(Settings.CORS_MAX_AGE));
  }

  private static Set<String> lowerCase(List<String> values) {
    return values.stream()
        .map(value -> value.toLowerCase(Locale.ROOT))
        .collect(Collectors.toUnmodifiableSet());
  }

  /** Returns whether an {@code Origin} header names an allowed origin. */
  boolean allows(@Nullable String origin) {
    if (origin == null || origins.isEmpty()) {
      return false;
    }
    return origins.contains("*") || origins.contains(origin.toLowerCase(Locale.ROOT));
  }

  /**
   * Adds the CORS headers to the answer of an actual (not preflight) request from an allowed
   * origin; any other request gets none, so a browser keeps the answer from the page.
   */
  void decorate(Context ctx) {
    if (origins.isEmpty()) {
      return;
    }
    // The answer depends on Origin whenever CORS is on: caches must keep one per origin.
    ctx.header("Vary", "Origin");
    String origin = ctx.header("Origin");
    if (origin == null || !allows(origin)) {
      return;
    }
    ctx.header("Access-Control-Allow-Origin", origins.contains("*") ? "*" : origin);
    ctx.header("Access-Control-Expose-Headers", EXPOSED);
  }

  /**
   * Answers an {@code OPTIONS} request. A preflight (it has {@code Origin} and {@code
   * Access-Control-Request-Method}) from an allowed origin, for a method the API serves and only
   * allowed headers, gets {@code 204} with the CORS headers; any other preflight gets {@code 403
   * cors_refused} without them, naming what is not allowed. A plain {@code OPTIONS} gets {@code
   * 204} with {@code Allow}.
   */
  void answerOptions(Context ctx) {
    String origin = ctx.header("Origin");
    String method = ctx.header("Access-Control-Request-Method");
    if (origin == null || method == null) {
      ctx.header("Allow", METHODS + ", OPTIONS").status(204);
      return;
    }
    String problem = refusal(origin, method, ctx.header("Access-Control-Request-Headers"));
    if (problem != null) {
      throw new ApiException(403, "cors_refused", problem);
    }
    ctx.header("Access-Control-Allow-Origin", origins.contains("*") ? "*" : origin);
    ctx.header("Access-Control-Allow-Methods", METHODS);
    String requested = ctx.header("Access-Control-Request-Headers");
    if (requested != null && !requested.isBlank()) {
      ctx.header("Access-Control-Allow-Headers", requested);
    }
    ctx.header("Access-Control-Max-Age", Long.toString(maxAge.toSeconds()));
    ctx.header("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
    ctx.status(204);
  }

  private @Nullable String refusal(
      String origin, String method, @Nullable String requestedHeaders) {
    if (origins.isEmpty()) {
      return "cross-origin requests are off: list the origins that may use this node in"
          + " http.cors-allowed-origins";
    }
    if (!allows(origin)) {
      return "origin '" + abbreviate(origin) + "' is not in http.cors-allowed-origins";
    }
    if (!METHOD_NAMES.contains(method.strip())) {
      return "method '" + abbreviate(method) + "' is not one of " + METHODS;
    }
    if (requestedHeaders != null) {
      for (String header : requestedHeaders.split(",", -1)) {
        String name = header.strip().toLowerCase(Locale.ROOT);
        if (!name.isEmpty() && !headers.contains(name)) {
          return "header '" + abbreviate(name) + "' is not in http.cors-allowed-headers";
        }
      }
    }
    return null;
  }

  private static String abbreviate(String text) {
    return text.length() > 80 ? text.substring(0, 80) + "..." : text;
  }
}
