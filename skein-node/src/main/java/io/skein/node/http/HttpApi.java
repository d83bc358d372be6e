package io.skein.node.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpResponseException;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.skein.ClosedException;
import io.skein.NotPrimaryException;
import io.skein.SkeinException;
import io.skein.core.config.Config;
import io.skein.internal.json.Json;
import io.skein.internal.transport.PeerTransport;
import io.skein.node.config.NodeSettings;
import io.skein.node.config.Settings;
import io.skein.node.config.TlsSettings;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.AbstractConnector;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP/JSON API v1 of a node (docs/http-api.md), served by Javalin on Jetty 12 with virtual
 * threads. Every answer that is not a success carries the error shape of DESIGN.md.
 *
 * <p>Requests are counted in flight, so a shutdown can stop taking new ones, wait for those in
 * flight to finish, and only then stop the server and close the store.
 */
public final class HttpApi {
  private static final Logger log = LoggerFactory.getLogger(HttpApi.class);
  private static final String COUNTED = "skein.counted";
  private static final String ROUTE = "skein.route";

  private final Javalin app;
  private final NodeHandle node;
  private final ClientRateLimiter rateLimiter;
  private final io.micrometer.core.instrument.Counter rateLimited;
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile boolean stopping;
  private volatile @Nullable URI movedTo;
  private volatile CorsPolicy cors;
  private volatile HostPolicy hosts;
  private volatile @Nullable Server server;
  private volatile @Nullable HeaderDeadline headerDeadline;

  /** The port could not be bound; the message names host and port. */
  public static final class BindException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Creates the exception; the message names host and port. */
    public BindException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private HttpApi(NodeHandle node, Config initial) {
    this.node = node;
    this.cors = CorsPolicy.of(initial);
    this.hosts = HostPolicy.of(initial);
    this.rateLimiter = new ClientRateLimiter(limits(initial));
    this.rateLimited =
        io.micrometer.core.instrument.Counter.builder("skein.http.rate.limited")
            .description("Requests refused with 429 rate_limited (limits.rate-limit)")
            .register(node.meters());
    DocumentRoutes documents = new DocumentRoutes(node);
    ChangeRoutes changes = new ChangeRoutes(node, this);
    ClusterRoutes cluster = new ClusterRoutes(node, this);
    AdminRoutes admin = new AdminRoutes(node, this);
    MemberRoutes members = new MemberRoutes(node);
    RemotePeerRoutes remotePeers = new RemotePeerRoutes(node);
    SiteSyncRoutes siteSync = new SiteSyncRoutes(node);
    PeerTransport transport = node.transport();
    TlsSettings tls = NodeSettings.tls(initial);
    String host = initial.get(Settings.NODE_HOST);
    int port = initial.get(Settings.NODE_PORT);
    this.app =
        Javalin.create(
            config -> {
              config.startup.showJavalinBanner = false;
              config.startup.showOldJavalinVersionWarning = false;
              config.concurrency.useVirtualThreads = true;
              // The live limit (limits.max-request-bytes, dynamic) is checked in admit() and
              // body(); Jetty's is the largest value the setting accepts.
              config.http.maxRequestSize = REQUEST_BYTES_CEILING;
              config.http.defaultContentType = "application/json";
              config.jetty.modifyServer(
                  jetty -> {
                    jetty.setErrorHandler(new JsonErrorHandler());
                    this.server = jetty;
                  });
              if (tls != null) {
                config.jetty.addConnector(
                    (server, http) -> tlsConnector(server, http, tls, host, port));
              }
              config.requestLogger.http((ctx, ms) -> recordRequest(node, ctx, ms));
              // Host first: a request that does not name this node gets nothing else, not even
              // a rate-limit answer; then CORS, which answers preflights itself.
              config.routes.before(this::checkHost);
              config.routes.before(this::cors);
              config.routes.before(this::admit);
              config.routes.before(HttpApi::checkQueryString);
              config.routes.before(HttpApi::checkTransferCoding);
              config.routes.after(this::release);
              documents.register(config.routes);
              changes.register(config.routes);
              cluster.register(config.routes);
              admin.register(config.routes);
              members.register(config.routes);
              remotePeers.register(config.routes);
              siteSync.register(config.routes);
              registerErrors(config.routes);
              config.routes.wsBeforeUpgrade(PeerTransport.PATH, HttpApi::refuseBrowsers);
              config.routes.ws(PeerTransport.PATH, transport::endpoint);
              // No HTTP sessions are kept: nothing here uses them, and Jetty's default cache held
              // one (never expired) for every peer-endpoint upgrade, refused ones included, so a
              // stranger could fill the heap at thousands a second. A null cache keeps none.
              config.jetty.modifyServletContextHandler(
                  handler -> {
                    var sessions = handler.getSessionHandler();
                    var cache = new org.eclipse.jetty.session.NullSessionCache(sessions);
                    cache.setSessionDataStore(new org.eclipse.jetty.session.NullSessionDataStore());
                    sessions.setSessionCache(cache);
                    sessions.setMaxInactiveInterval(1);
                    // Javalin still asks for one on every upgrade; no cookie goes out for it.
                    sessions.setUsingCookies(false);
                  });
              // A stream's limit until it authenticates: a stranger must not make the node buffer
              // a 16 MiB frame. The transport raises it per stream after the handshake. Peers
              // send no text at all.
              config.jetty.modifyWebSocketServletFactory(
                  factory -> {
                    factory.setMaxBinaryMessageSize(transport.handshakeMessageBytesMax());
                    factory.setMaxTextMessageSize(transport.handshakeMessageBytesMax());
                  });
            });
  }

  /** The largest request body Jetty reads: the most {@code limits.max-request-bytes} allows. */
  static final long REQUEST_BYTES_CEILING = 64L << 20;

  /** The request attribute that carries the body limit in force when the request arrived. */
  static final String BODY_MAX = "skein.bodyMax";

  private static ClientRateLimiter.Limits limits(Config config) {
    return new ClientRateLimiter.Limits(
        config.get(Settings.RATE_LIMIT),
        Settings.rateLimitBurst(config),
        config.get(Settings.RATE_LIMIT_CLIENTS));
  }

  /**
   * Applies the dynamic settings of the API ({@code limits.*}, {@code http.*}): the rate limiter,
   * the CORS and Host policies, and the idle timeout of new connections. The rest ({@code
   * limits.max-request-bytes}, the change-stream caps, {@code http.header-timeout}, {@code
   * admin.token}) are read from the running configuration on every request or sweep.
   */
  public void configure(Config config) {
    rateLimiter.configure(limits(config));
    cors = CorsPolicy.of(config);
    hosts = HostPolicy.of(config);
    applyIdleTimeout(config);
  }

  private void applyIdleTimeout(Config config) {
    Server jetty = server;
    if (jetty == null) {
      return;
    }
    long idleMs = config.get(Settings.HTTP_IDLE_TIMEOUT).toMillis();
    for (Connector connector : jetty.getConnectors()) {
      if (connector instanceof AbstractConnector network) {
        network.setIdleTimeout(idleMs);
      }
    }
  }

  /** The only connector when TLS is on: HTTPS (and WSS for peers) on the node's one port (D11). */
  private static ServerConnector tlsConnector(
      Server server, HttpConfiguration http, TlsSettings tls, String host, int port) {
    SslContextFactory.Server ssl = new SslContextFactory.Server();
    ssl.setKeyStorePath(tls.keystore().toString());
    ssl.setKeyStorePassword(tls.keystorePassword().value());
    HttpConfiguration https = new HttpConfiguration(http);
    https.addCustomizer(new SecureRequestCustomizer());
    ServerConnector connector =
        new ServerConnector(
            server,
            new SslConnectionFactory(ssl, HttpVersion.HTTP_1_1.asString()),
            new HttpConnectionFactory(https));
    connector.setHost(host);
    connector.setPort(port);
    return connector;
  }

  /**
   * Starts serving on the configuration's host and port.
   *
   * @throws BindException if the port cannot be bound
   */
  public static HttpApi start(NodeHandle node, Config config) {
    HttpApi api = new HttpApi(node, config);
    String host = config.get(Settings.NODE_HOST);
    int port = config.get(Settings.NODE_PORT);
    try {
      api.app.start(host, port);
    } catch (RuntimeException e) {
      api.app.stop();
      throw new BindException("cannot listen on " + host + ":" + port + ": " + rootMessage(e), e);
    }
    api.applyIdleTimeout(config);
    Server jetty = api.server;
    if (jetty != null) {
      api.headerDeadline =
          HeaderDeadline.start(
              jetty, () -> node.config().get(Settings.HTTP_HEADER_TIMEOUT), node.meters());
    }
    return api;
  }

  /** Returns the bound port. */
  public int port() {
    return app.port();
  }

  /** Returns whether a shutdown has begun (long-lived streams end when it has). */
  boolean isStopping() {
    return stopping;
  }

  /**
   * Refuses new requests, waits up to {@code timeoutMs} for the ones in flight, then stops the
   * server.
   */
  public void drainAndStop(long timeoutMs) {
    stopping = true;
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    while (inFlight.get() > 0 && System.nanoTime() < deadline) {
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    if (inFlight.get() > 0) {
      log.warn(
          "{} requests still in flight after {} ms; stopping anyway", inFlight.get(), timeoutMs);
    }
    HeaderDeadline sweep = headerDeadline;
    if (sweep != null) {
      sweep.stop();
    }
    app.stop();
  }

  private void checkHost(Context ctx) {
    String problem = hosts.refusal(ctx.header("Host"));
    if (problem != null) {
      throw new ApiException(421, "misdirected_request", problem);
    }
  }

  private void cors(Context ctx) {
    CorsPolicy policy = cors;
    if (ctx.method() == HandlerType.OPTIONS) {
      policy.answerOptions(ctx);
      ctx.skipRemainingHandlers();
      return;
    }
    policy.decorate(ctx);
  }

  /**
   * A browser page may open a WebSocket to any host without asking (CORS does not apply), and it
   * always sends {@code Origin}; peers never do. The peer endpoint has no use for pages.
   */
  private static void refuseBrowsers(Context ctx) throws java.io.IOException {
    if (ctx.header("Origin") == null) {
      return;
    }
    ApiException refusal =
        new ApiException(
            403, "forbidden_origin", "the peer endpoint is for cluster members, not browser pages");
    // Javalin's upgrade path runs no result writer: write the answer here, then stop the upgrade.
    ObjectNode error = io.skein.internal.json.Json.MAPPER.createObjectNode();
    error.putObject("error").put("code", refusal.code).put("message", refusal.getMessage());
    ctx.res().setStatus(refusal.status);
    ctx.res().setContentType("application/json");
    ctx.res().getOutputStream().write(error.toString().getBytes(StandardCharsets.UTF_8));
    ctx.res().flushBuffer();
    throw refusal;
  }

  /**
   * The listener moved (D8): from now on this old listener answers every new request with {@code
   * 307 moved} to the same path at {@code baseUrl} (whose host is the request's when the new bind
   * is a wildcard), until it closes.
   */
  public void redirectTo(String baseUrl) {
    movedTo = URI.create(baseUrl);
  }

  private void admit(Context ctx) {
    URI moved = movedTo;
    if (moved != null) {
      throw new MovedException(moved);
    }
    if (stopping) {
      throw new ClosedException("the node is shutting down");
    }
    String path = ctx.path();
    // Health, metrics and admin requests that carry the right token are never rate limited: a
    // cluster-wide limit set too low by mistake must not lock the operator out of fixing it.
    // Admin requests without it still are (guessing the token costs the same as any request).
    boolean admin = path.startsWith("/admin/") && AdminRoutes.presentsToken(ctx, node.config());
    if (!path.equals("/health") && !path.equals("/metrics") && !admin) {
      java.time.Duration wait = rateLimiter.tryAcquire(ctx.ip());
      if (wait != null) {
        rateLimited.increment();
        throw new RateLimitedException(wait);
      }
    }
    long bodyBytesMax = node.config().get(Settings.MAX_REQUEST_BYTES);
    ctx.attribute(BODY_MAX, bodyBytesMax);
    long length = ctx.req().getContentLengthLong();
    if (length > bodyBytesMax) {
      throw new io.skein.TooLargeException(
          "body_too_large",
          "the request body is " + length + " bytes; the limit is " + bodyBytesMax);
    }
    ctx.attribute(COUNTED, Boolean.TRUE);
    inFlight.incrementAndGet();
  }

  /**
   * Refuses a query string that is not percent-encoded UTF-8 with {@code 400 bad_request}, as Jetty
   * refuses such a path. Javalin would drop a parameter with a bad escape ({@code ?w=%zz} wrote
   * with the default write concern) and read other bytes as U+FFFD.
   */
  private static void checkQueryString(Context ctx) {
    String problem = PercentEncoding.problem(ctx.queryString(), "the query string");
    if (problem != null) {
      throw new ApiException(400, "bad_request", problem);
    }
  }

  /**
   * Refuses a transfer coding other than {@code chunked} with {@code 501 not_implemented} (RFC 9112
   * §6.1), before the body is read: Jetty frames {@code Transfer-Encoding: gzip, chunked} by its
   * chunks and hands on the bytes still gzipped, as if they were the body. One that does not end in
   * {@code chunked} cannot be framed at all, and Jetty refuses it itself with {@code 400}, closing
   * the connection (RFC 9112 §6.3).
   */
  private static void checkTransferCoding(Context ctx) {
    java.util.Enumeration<String> headers = ctx.req().getHeaders("Transfer-Encoding");
    while (headers != null && headers.hasMoreElements()) {
      for (String coding : headers.nextElement().split(",", -1)) {
        String name = coding.strip();
        if (!name.isEmpty() && !name.equalsIgnoreCase("chunked")) {
          throw new ApiException(
              501,
              "not_implemented",
              "transfer coding '"
                  + DocumentRoutes.shortened(name.toLowerCase(java.util.Locale.ROOT))
                  + "' is not implemented: send the body with Transfer-Encoding: chunked alone, or"
                  + " with a Content-Length");
        }
      }
    }
  }

  private void release(Context ctx) {
    if (ctx.attribute(COUNTED) != null) {
      ctx.attribute(COUNTED, null);
      inFlight.decrementAndGet();
    }
  }

  /** A request reached a listener that moved away (D8). */
  private static final class MovedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final transient URI target;

    MovedException(URI target) {
      super("this node moved to " + target, null, false, false);
      this.target = target;
    }
  }

  private static void moved(Context ctx, URI target) {
    String host = target.getHost();
    if (host == null || io.skein.internal.transport.PeerAddress.isWildcard(host)) {
      // A wildcard bind names no place: the client reached this node by its Host, so keep it.
      String seen = ctx.host();
      host = seen == null ? "127.0.0.1" : HostPolicy.hostPart(seen);
    } else if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1); // bracketed again below
    }
    String base =
        target.getScheme()
            + "://"
            + (host.contains(":") ? "[" + host + "]" : host)
            + ":"
            + target.getPort();
    String query = ctx.queryString();
    String location = base + ctx.path() + (query == null || query.isEmpty() ? "" : "?" + query);
    ctx.header("Location", location);
    ObjectNode error = Json.MAPPER.createObjectNode();
    error
        .putObject("error")
        .put("code", "moved")
        .put("message", "this node now listens on " + base + "; repeat the request there")
        .put("url", base);
    ctx.status(307).contentType("application/json").result(error.toString());
  }

  private void registerErrors(io.javalin.config.RoutesConfig routes) {
    routes.exception(MovedException.class, (e, ctx) -> moved(ctx, e.target));
    routes.exception(SkeinException.class, (e, ctx) -> ApiErrors.write(ctx, e));
    routes.exception(
        NotPrimaryException.class, (e, ctx) -> ApiErrors.notPrimary(ctx, e, peerUrls()));
    routes.exception(
        RateLimitedException.class,
        (e, ctx) -> {
          ctx.header("Retry-After", Long.toString(e.retryAfterSeconds()));
          ApiErrors.write(ctx, 429, "rate_limited", String.valueOf(e.getMessage()));
        });
    routes.exception(
        ApiException.class,
        (e, ctx) -> {
          if (e.status == 429 || e.status == 503) {
            ctx.header("Retry-After", "1");
          }
          ApiErrors.write(ctx, e.status, e.code, String.valueOf(e.getMessage()));
        });
    routes.exception(
        HttpResponseException.class,
        (e, ctx) -> {
          if (e.getStatus() == 413) {
            ApiErrors.write(ctx, 413, "body_too_large", "the request body is over the limit");
          } else if (e.getStatus() == 404) {
            ApiErrors.write(ctx, 404, "not_found", "no route " + ctx.method() + " " + ctx.path());
          } else {
            ApiErrors.write(
                ctx,
                e.getStatus(),
                JsonErrorHandler.codeFor(e.getStatus()),
                String.valueOf(e.getMessage()));
          }
        });
    routes.exception(ClientGoneException.class, (e, ctx) -> clientGone(ctx, e));
    routes.exception(
        Exception.class,
        (e, ctx) -> {
          if (ClientGoneException.isClientGone(ctx, e)) {
            clientGone(ctx, e);
            return;
          }
          log.error("unexpected error serving {} {}", ctx.method(), ctx.path(), e);
          ApiErrors.write(
              ctx,
              500,
              "internal_error",
              "unexpected error (" + e.getClass().getSimpleName() + "); the node logged it");
        });
    routes.error(
        404,
        ctx -> {
          if (ctx.result() == null || ctx.result().isEmpty()) {
            ApiErrors.write(ctx, 404, "not_found", "no route " + ctx.method() + " " + ctx.path());
          }
        });
  }

  /**
   * A client that went away before its request was read: nobody can get an answer, so none is
   * written and nothing is logged above DEBUG. The request is counted with status {@value
   * ClientGoneException#STATUS} (nginx's "client closed request"), not as a server error.
   */
  private static void clientGone(Context ctx, Exception e) {
    log.debug("client went away during {} {}: {}", ctx.method(), ctx.path(), e.toString());
    ctx.status(ClientGoneException.STATUS).result("");
  }

  /**
   * Each peer's base URL by node id (leader mode: redirects to the primary): where the transport
   * dials it now, which follows a peer that moved its listener (D8), else the configured one.
   */
  private Map<String, String> peerUrls() {
    Map<String, String> urls = new HashMap<>();
    NodeSettings.peerUrls(node.config()).forEach((id, url) -> urls.put(id.value(), url.toString()));
    node.transport().peerUrls().forEach((id, url) -> urls.put(id.value(), url.toString()));
    return urls;
  }

  private static void recordRequest(NodeHandle node, Context ctx, Float ms) {
    PrometheusMeterRegistry meters = node.meters();
    String named = ctx.attribute(ROUTE);
    String route = named == null ? "unmatched" : named;
    Timer.builder("http.server.requests")
        .description("HTTP requests served")
        .tag("method", ctx.method().name())
        .tag("route", route)
        .tag("status", Integer.toString(ctx.statusCode()))
        .register(meters)
        .record((long) (ms * 1_000_000L), TimeUnit.NANOSECONDS);
  }

  /** Too many requests from one client ({@code limits.rate-limit}): {@code 429}. */
  static final class RateLimitedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final long retryAfterSeconds;

    RateLimitedException(java.time.Duration wait) {
      super(
          "too many requests from this client (limits.rate-limit); retry in "
              + Math.max(1, (wait.toMillis() + 999) / 1000)
              + " s");
      this.retryAfterSeconds = Math.max(1, (wait.toMillis() + 999) / 1000);
    }

    long retryAfterSeconds() {
      return retryAfterSeconds;
    }
  }

  /** Wraps a handler so that metrics label its requests with the route template. */
  static Handler named(String route, Handler handler) {
    return ctx -> {
      ctx.attribute(ROUTE, route);
      handler.handle(ctx);
    };
  }

  private static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getMessage() == null ? root.toString() : root.getMessage();
  }
}
