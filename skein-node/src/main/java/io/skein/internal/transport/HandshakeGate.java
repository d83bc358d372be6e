package io.skein.internal.transport;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.skein.internal.runtime.LogThrottle;
import java.net.SocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the peer endpoint gives a stream that has not authenticated yet (issue 12, item 4): anyone
 * who can reach the node's port can open one, so until the handshake completes a stream gets a slot
 * among at most {@link Limits#streamsMax}, messages of at most {@link Limits#messageBytesMax}
 * (Jetty refuses a larger one from its header, before buffering it), and {@link Limits#deadlineMs}
 * to finish the handshake. The memory strangers can hold is therefore bounded by {@code streamsMax
 * * messageBytesMax}, plus Jetty's per-connection buffers.
 *
 * <p>Design notes. The slots are counted, not queued: a stream over the limit is closed at once
 * (WebSocket status 1013, "try again later"), so a flood of strangers costs a refusal each, never a
 * growing backlog. The price is that strangers holding every slot also keep a real peer out until
 * their deadline closes them; its dialler retries. Every refusal is counted in a metric; the log
 * line is throttled per reason, so that strangers cannot flood the log either.
 *
 * <p>Thread-safe.
 */
final class HandshakeGate {
  private static final Logger log = LoggerFactory.getLogger(HandshakeGate.class);

  /** The least time between two log lines about refused strangers of one reason, in ms. */
  static final long REFUSAL_LOG_INTERVAL_MS = 10_000;

  /**
   * The bounds on unauthenticated streams.
   *
   * @param messageBytesMax the largest WebSocket message (a frame with its header) accepted before
   *     the handshake completes, in bytes
   * @param deadlineMs how long a stream may take from its upgrade to the end of its handshake
   * @param streamsMax how many unauthenticated streams may be open at once
   */
  record Limits(int messageBytesMax, long deadlineMs, int streamsMax) {
    Limits {
      if (messageBytesMax < FrameCodec.HEADER_BYTES + 64 || deadlineMs < 1 || streamsMax < 1) {
        throw new IllegalArgumentException(
            "need messageBytesMax >= 72, deadlineMs >= 1, streamsMax >= 1; got "
                + messageBytesMax
                + ", "
                + deadlineMs
                + ", "
                + streamsMax);
      }
    }
  }

  private final Limits limits;
  private final MeterRegistry meters;
  private final AtomicInteger open = new AtomicInteger();
  private final ConcurrentHashMap<String, LogThrottle> throttles = new ConcurrentHashMap<>();

  HandshakeGate(Limits limits, MeterRegistry meters) {
    this.limits = limits;
    this.meters = meters;
    Gauge.builder("skein.peer.streams.unauthenticated", open, AtomicInteger::get)
        .description("Peer streams open that have not completed the handshake")
        .register(meters);
  }

  Limits limits() {
    return limits;
  }

  /**
   * Takes a slot for a new stream.
   *
   * @return false if every slot is taken: the caller closes the stream (this method counted and
   *     logged the refusal)
   */
  boolean enter(@Nullable SocketAddress remote) {
    if (open.incrementAndGet() <= limits.streamsMax()) {
      return true;
    }
    open.decrementAndGet();
    refused(
        "unauthenticated_max",
        remote,
        limits.streamsMax() + " peer streams are already in their handshake");
    return false;
  }

  /** Gives back the slot a stream took (it authenticated, or closed). Call once per slot. */
  void leave() {
    open.decrementAndGet();
  }

  /**
   * Counts and logs (throttled) a stream closed before it authenticated.
   *
   * @param reason a snake_case reason, the metric's tag
   * @param remote where the stream came from, if known
   * @param message what happened, for the log
   */
  void refused(String reason, @Nullable SocketAddress remote, String message) {
    Counter.builder("skein.peer.streams.refused")
        .description("Unauthenticated peer streams closed by this node, by reason")
        .tag("reason", reason)
        .register(meters)
        .increment();
    long heldBack =
        throttles.computeIfAbsent(reason, r -> new LogThrottle(REFUSAL_LOG_INTERVAL_MS)).tryLog();
    if (heldBack >= 0) {
      log.atWarn()
          .addKeyValue("reason", reason)
          .addKeyValue("remote", remote)
          .addKeyValue("notLogged", heldBack)
          .log(
              "closed an unauthenticated peer stream: {} ({} more since the last line; every one"
                  + " is counted in skein_peer_streams_refused_total)",
              message,
              heldBack);
    }
  }
}
