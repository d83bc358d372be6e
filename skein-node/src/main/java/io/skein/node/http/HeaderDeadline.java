package io.skein.node.http;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpParser;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.ssl.SslConnection;
import org.eclipse.jetty.server.AbstractConnector;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.internal.HttpConnection;
import org.eclipse.jetty.util.thread.Scheduler;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes connections whose request headers take longer than {@code http.header-timeout} to arrive.
 * Jetty's idle timeout restarts at every byte, so a client that sends its headers one byte at a
 * time ("slowloris") would hold its connection for ever; Jetty has no header deadline of its own.
 *
 * <p>Design notes. A sweep on Jetty's scheduler (no thread of ours) looks at every connected
 * endpoint a few times per timeout. A connection whose HTTP parser is inside a request line or
 * headers is remembered with the time it was first seen there and its count of requests; seen there
 * again with the same count after the timeout, it is closed without an answer (the client is not
 * sending a request, so it is not waiting for one). A connection that finishes its headers, or
 * starts another request, is forgotten. The sweep reads the parser's state from another thread
 * without a lock: a stale read only delays a close by one sweep. Only the sweep touches {@link
 * #firstSeen}. Connections that became WebSockets are not HTTP connections and are left alone.
 */
final class HeaderDeadline implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(HeaderDeadline.class);
  private static final long SWEEP_MS_MAX = 1_000;
  private static final long SWEEP_MS_MIN = 25;

  private record Seen(long nanos, long messagesIn) {}

  private final Server server;
  private final Supplier<Duration> timeout;
  private final Counter closed;
  private final Map<HttpConnection, Seen> firstSeen = new HashMap<>();
  private volatile boolean stopped;

  private HeaderDeadline(Server server, Supplier<Duration> timeout, MeterRegistry meters) {
    this.server = server;
    this.timeout = timeout;
    this.closed =
        Counter.builder("skein.http.header.timeouts")
            .description("Connections closed because their headers took over http.header-timeout")
            .register(meters);
  }

  /** Starts sweeping the server's connections; {@code timeout} is read at every sweep. */
  static HeaderDeadline start(Server server, Supplier<Duration> timeout, MeterRegistry meters) {
    HeaderDeadline deadline = new HeaderDeadline(server, timeout, meters);
    deadline.schedule();
    return deadline;
  }

  /** Stops sweeping. */
  void stop() {
    stopped = true;
  }

  private void schedule() {
    Scheduler scheduler = server.getScheduler();
    long everyMs = Math.max(SWEEP_MS_MIN, Math.min(SWEEP_MS_MAX, timeout.get().toMillis() / 4));
    if (!stopped && scheduler.isRunning()) {
      scheduler.schedule(this, everyMs, TimeUnit.MILLISECONDS);
    }
  }

  @Override
  public void run() {
    try {
      sweep(System.nanoTime(), timeout.get().toNanos());
    } catch (RuntimeException e) {
      // A sweep must never end the schedule; the next one sees the connections again.
      log.warn("header deadline sweep failed: {}", e.toString());
    } finally {
      schedule();
    }
  }

  private void sweep(long nowNanos, long timeoutNanos) {
    Set<HttpConnection> inHeaders = new HashSet<>();
    for (Connector connector : server.getConnectors()) {
      if (!(connector instanceof AbstractConnector network)) {
        continue;
      }
      for (EndPoint endPoint : network.getConnectedEndPoints()) {
        HttpConnection http = httpConnection(endPoint.getConnection());
        if (http == null || !readingHeaders(http.getParser())) {
          continue;
        }
        inHeaders.add(http);
        Seen seen = firstSeen.get(http);
        if (seen == null || seen.messagesIn() != http.getMessagesIn()) {
          firstSeen.put(http, new Seen(nowNanos, http.getMessagesIn()));
        } else if (nowNanos - seen.nanos() >= timeoutNanos) {
          closed.increment();
          endPoint.close();
        }
      }
    }
    firstSeen.keySet().retainAll(inHeaders);
  }

  private static @Nullable HttpConnection httpConnection(Connection connection) {
    Connection inner = connection;
    if (inner instanceof SslConnection tls) {
      inner = tls.getSslEndPoint().getConnection();
    }
    return inner instanceof HttpConnection http ? http : null;
  }

  /** Inside a request line or headers: started (not idle between requests), not yet complete. */
  private static boolean readingHeaders(HttpParser parser) {
    return parser.inHeaderState() && !parser.isStart();
  }
}
