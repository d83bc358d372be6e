package io.skein.node.http;

import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HttpResponseException;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.skein.ClosedException;
import io.skein.NotPrimaryException;
import io.skein.Skein;
import io.skein.SkeinException;
import io.skein.core.replica.WriteConcern;
import io.skein.internal.transport.FrameCodec;
import io.skein.internal.transport.PeerTransport;
import io.skein.node.NodeSettings;
import io.skein.node.PeerAddress;
import io.skein.node.TlsSettings;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.http.HttpVersion;
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
  private final AtomicInteger inFlight = new AtomicInteger();
  private volatile boolean stopping;

  /** The port could not be bound; the message names host and port. */
  public static final class BindException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BindException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private HttpApi(
      NodeSettings settings,
      Skein skein,
      PrometheusMeterRegistry meters,
      @Nullable PeerTransport transport) {
    WriteConcern defaultConcern =
        settings.mode() == NodeSettings.Mode.LEADER ? WriteConcern.MAJORITY : WriteConcern.ONE;
    DocumentRoutes documents = new DocumentRoutes(skein, defaultConcern);
    ChangeRoutes changes = new ChangeRoutes(skein, this);
    Map<String, String> peerUrls = peerUrls(settings);
    ClusterRoutes cluster = new ClusterRoutes(settings, skein, meters, this, transport, peerUrls);
    this.app =
        Javalin.create(
            config -> {
              config.startup.showJavalinBanner = false;
              config.startup.showOldJavalinVersionWarning = false;
              config.concurrency.useVirtualThreads = true;
              config.http.maxRequestSize = settings.requestBodyBytesMax();
              config.http.defaultContentType = "application/json";
              config.jetty.modifyServer(server -> server.setErrorHandler(new JsonErrorHandler()));
              TlsSettings tls = settings.tls();
              if (tls != null) {
                config.jetty.addConnector(
                    (server, http) -> tlsConnector(server, http, tls, settings));
              }
              config.requestLogger.http((ctx, ms) -> recordRequest(meters, ctx, ms));
              config.routes.before(ctx -> admit(ctx, settings.requestBodyBytesMax()));
              config.routes.after(this::release);
              documents.register(config.routes);
              changes.register(config.routes);
              cluster.register(config.routes);
              registerErrors(config.routes, peerUrls);
              if (transport != null) {
                config.routes.ws(PeerTransport.PATH, transport::endpoint);
                config.jetty.modifyWebSocketServletFactory(
                    factory ->
                        factory.setMaxBinaryMessageSize(
                            transport.frameBytesMax() + FrameCodec.HEADER_BYTES));
              }
            });
  }

  /** The only connector when TLS is on: HTTPS (and WSS for peers) on the node's one port (D11). */
  private static ServerConnector tlsConnector(
      Server server, HttpConfiguration http, TlsSettings tls, NodeSettings settings) {
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
    connector.setHost(settings.host());
    connector.setPort(settings.port());
    return connector;
  }

  /**
   * Starts serving on the settings' host and port.
   *
   * @throws BindException if the port cannot be bound
   */
  public static HttpApi start(
      NodeSettings settings,
      Skein skein,
      PrometheusMeterRegistry meters,
      @Nullable PeerTransport transport) {
    HttpApi api = new HttpApi(settings, skein, meters, transport);
    try {
      api.app.start(settings.host(), settings.port());
    } catch (RuntimeException e) {
      api.app.stop();
      throw new BindException(
          "cannot listen on " + settings.host() + ":" + settings.port() + ": " + rootMessage(e), e);
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
    app.stop();
  }

  private void admit(Context ctx, long bodyBytesMax) {
    if (stopping) {
      throw new ClosedException("the node is shutting down");
    }
    long length = ctx.req().getContentLengthLong();
    if (length > bodyBytesMax) {
      throw new io.skein.TooLargeException(
          "body_too_large",
          "the request body is " + length + " bytes; the limit is " + bodyBytesMax);
    }
    ctx.attribute(COUNTED, Boolean.TRUE);
    inFlight.incrementAndGet();
  }

  private void release(Context ctx) {
    if (ctx.attribute(COUNTED) != null) {
      ctx.attribute(COUNTED, null);
      inFlight.decrementAndGet();
    }
  }

  /** Each configured peer's base URL by node id (leader mode: redirects and the leader's URL). */
  private static Map<String, String> peerUrls(NodeSettings settings) {
    Map<String, String> urls = new HashMap<>();
    for (PeerAddress peer : settings.peers()) {
      urls.put(peer.nodeId().value(), peer.url(settings.scheme()));
    }
    return Map.copyOf(urls);
  }

  private void registerErrors(io.javalin.config.RoutesConfig routes, Map<String, String> urls) {
    routes.exception(SkeinException.class, (e, ctx) -> ApiErrors.write(ctx, e));
    routes.exception(NotPrimaryException.class, (e, ctx) -> ApiErrors.notPrimary(ctx, e, urls));
    routes.exception(
        HttpResponseException.class,
        (e, ctx) -> {
          if (e.getStatus() == 413) {
            ApiErrors.write(ctx, 413, "body_too_large", "the request body is over the limit");
          } else if (e.getStatus() == 404) {
            ApiErrors.write(ctx, 404, "not_found", "no route " + ctx.method() + " " + ctx.path());
          } else {
            ApiErrors.write(
                ctx, e.getStatus(), "http_" + e.getStatus(), String.valueOf(e.getMessage()));
          }
        });
    routes.exception(
        Exception.class,
        (e, ctx) -> {
          log.error("unexpected error serving {} {}", ctx.method(), ctx.path(), e);
          ApiErrors.write(ctx, 500, "internal_error", "unexpected error: " + e);
        });
    routes.error(
        404,
        ctx -> {
          if (ctx.result() == null || ctx.result().isEmpty()) {
            ApiErrors.write(ctx, 404, "not_found", "no route " + ctx.method() + " " + ctx.path());
          }
        });
  }

  private static void recordRequest(PrometheusMeterRegistry meters, Context ctx, Float ms) {
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
