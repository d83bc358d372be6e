package io.skein.internal.transport;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.skein.internal.runtime.LogThrottle;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the peer endpoint gives a stream that has not authenticated yet (issue 12, item 4): anyone
 * who can reach the node's port can open one, so until the handshake completes a stream gets a slot
 * among at most {@link Limits#streamsMax}, of which one source address may hold at most {@link
 * Limits#streamsPerAddressMax}, messages of at most {@link Limits#messageBytesMax} (Jetty refuses a
 * larger one from its header, before buffering it), and {@link Limits#deadlineMs} to finish the
 * handshake. The memory strangers can hold is therefore bounded by {@code streamsMax *
 * messageBytesMax}, plus Jetty's per-connection buffers.
 *
 * <p>Design notes. The slots are counted, not queued, so a flood of strangers costs one close per
 * stream, never a growing backlog. The rule they serve: no stranger may keep a real peer out, and a
 * real peer needs its slot only for its handshake (two round trips and two HMACs, a few ms). So a
 * newcomer is never refused; it takes the slot of an older stream in its handshake, which is closed
 * (WebSocket status 1013, "try again later"):
 *
 * <ul>
 *   <li>If the newcomer's IP address (any port: a stranger gets a new port with every connection)
 *       already holds {@code streamsPerAddressMax}, its own oldest stream goes (reason {@code
 *       per_address_max}). One address therefore never holds more than its share, never fills the
 *       slots alone, and never pushes out another address's stream by outnumbering it. A peer that
 *       shares an address with a stranger (behind one NAT or proxy, or on one host) still gets in:
 *       its stream is the newest of its address, and goes only if {@code streamsPerAddressMax}
 *       streams from that address arrive during its handshake. (Refusing the newcomer instead would
 *       let such a stranger keep that peer out for good, by reopening its streams as they close.)
 *   <li>Otherwise, if every slot is taken, the oldest stream of the address holding the most slots
 *       goes (of equals, the one whose oldest stream is oldest; reason {@code evicted}). Refusing
 *       the newcomer let strangers that reopen their streams at each deadline hold every slot
 *       forever. With eviction, a flood only shortens the strangers' own window: a real peer's
 *       stream is the newest and holds one slot, so it goes only if every other address holds one
 *       slot too (the other {@code streamsMax - 1} slots held by as many strangers' addresses) and
 *       {@code streamsMax} streams arrive during its handshake. Evicting the oldest overall would
 *       be simpler, but strangers on a handful of addresses, opening streams fast enough, could
 *       then evict a peer whose handshake crosses a slow link; choosing among the largest holders
 *       costs a scan of at most {@code streamsMax} addresses, under the lock the slots take anyway.
 * </ul>
 *
 * <p>A peer whose stream is evicted retries after its backoff. Every stream gives its slot back
 * exactly once, through its {@link Slot}: when it authenticates, closes, passes its deadline, or is
 * evicted, whichever comes first; the gauge {@code skein_peer_streams_unauthenticated} is the
 * number of slots held. Every eviction and refusal is counted in a metric; the log line is
 * throttled per reason, so that strangers cannot flood the log either.
 *
 * <p>Thread-safe: the slots are kept under the gate's monitor, which is held only to count and
 * choose; the evicted stream is closed, and the eviction logged, outside it.
 */
final class HandshakeGate {
  private static final Logger log = LoggerFactory.getLogger(HandshakeGate.class);

  /** The least time between two log lines about refused strangers of one reason, in ms. */
  static final long REFUSAL_LOG_INTERVAL_MS = 10_000;

  /** The key under which streams from an unknown address are counted (all of them together). */
  private static final String UNKNOWN_ADDRESS = "unknown";

  /**
   * The bounds on unauthenticated streams.
   *
   * @param messageBytesMax the largest WebSocket message (a frame with its header) accepted before
   *     the handshake completes, in bytes
   * @param deadlineMs how long a stream may take from its upgrade to the end of its handshake
   * @param streamsMax how many unauthenticated streams may be open at once; past it, a newcomer
   *     evicts the oldest stream of the address holding the most
   * @param streamsPerAddressMax how many of them may come from one IP address (any port); past it,
   *     a newcomer evicts its address's oldest; at most {@code streamsMax}
   */
  record Limits(int messageBytesMax, long deadlineMs, int streamsMax, int streamsPerAddressMax) {
    Limits {
      if (messageBytesMax < FrameCodec.HEADER_BYTES + 64
          || deadlineMs < 1
          || streamsMax < 1
          || streamsPerAddressMax < 1
          || streamsPerAddressMax > streamsMax) {
        throw new IllegalArgumentException(
            "need messageBytesMax >= 72, deadlineMs >= 1, streamsMax >= 1 and 1 <="
                + " streamsPerAddressMax <= streamsMax; got "
                + messageBytesMax
                + ", "
                + deadlineMs
                + ", "
                + streamsMax
                + ", "
                + streamsPerAddressMax);
      }
    }
  }

  /**
   * One stream's place among the unauthenticated ones, from {@link #enter} until {@link #release}
   * or its eviction.
   */
  final class Slot {
    private final Object address;
    private final @Nullable SocketAddress remote;
    private final Consumer<String> onEvict;
    private final long sequence;
    private boolean held = true; // guarded by HandshakeGate.this

    private Slot(
        Object address, @Nullable SocketAddress remote, Consumer<String> onEvict, long sequence) {
      this.address = address;
      this.remote = remote;
      this.onEvict = onEvict;
      this.sequence = sequence;
    }

    /**
     * Gives the slot back (the stream authenticated, closed or passed its deadline).
     *
     * @return true if this call gave it back; false if it was already given back or evicted, so
     *     that whoever gets true is the one that ends the stream's time as a stranger
     */
    boolean release() {
      synchronized (HandshakeGate.this) {
        if (!held) {
          return false;
        }
        ArrayDeque<Slot> mine = byAddress.get(address);
        if (mine != null) {
          mine.remove(this);
          if (mine.isEmpty()) {
            byAddress.remove(address);
          }
        }
        held = false;
        open.decrementAndGet();
        return true;
      }
    }

    /** Returns whether the stream still holds its slot. */
    boolean held() {
      synchronized (HandshakeGate.this) {
        return held;
      }
    }
  }

  private final Limits limits;
  private final MeterRegistry meters;

  /** The slots held, as the gauge shows them; changed only under the monitor. */
  private final AtomicInteger open = new AtomicInteger();

  /** The slots held, per source address, oldest first; guarded by this. */
  private final Map<Object, ArrayDeque<Slot>> byAddress = new HashMap<>();

  private long entered; // guarded by this
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

  /** Returns how many slots are held. */
  int open() {
    return open.get();
  }

  /** Returns how many slots streams from the address of {@code remote} hold. */
  synchronized int openFrom(@Nullable SocketAddress remote) {
    ArrayDeque<Slot> mine = byAddress.get(addressOf(remote));
    return mine == null ? 0 : mine.size();
  }

  /**
   * Takes a slot for a new stream, evicting an older stream if the new one's address holds its
   * share (its own oldest) or every slot is taken (the oldest of the address holding the most). The
   * evicted stream's slot is given back, the eviction counted and logged, and its {@code onEvict}
   * run with the reason (on this thread, after the gate's lock is released) to close it.
   *
   * @param remote where the stream comes from, if known (streams from unknown addresses count as
   *     one address)
   * @param onEvict closes the stream, given the reason, if it is evicted later; run at most once
   * @return the stream's slot
   */
  Slot enter(@Nullable SocketAddress remote, Consumer<String> onEvict) {
    Object address = addressOf(remote);
    Slot slot;
    Slot evicted = null;
    String reason;
    synchronized (this) {
      ArrayDeque<Slot> mine = byAddress.computeIfAbsent(address, a -> new ArrayDeque<>());
      if (mine.size() >= limits.streamsPerAddressMax()) {
        evicted = take(address, mine);
        reason = "per_address_max";
      } else if (open.get() >= limits.streamsMax()) {
        evicted = evictFromLargest();
        reason = "evicted";
      } else {
        reason = "";
      }
      slot = new Slot(address, remote, onEvict, entered++);
      byAddress.computeIfAbsent(address, a -> new ArrayDeque<>()).addLast(slot);
      open.incrementAndGet();
    }
    if (evicted != null) {
      refused(
          reason,
          evicted.remote,
          reason.equals("per_address_max")
              ? "its address already held "
                  + limits.streamsPerAddressMax()
                  + " handshake slots; its oldest made way for a new one"
              : "all "
                  + limits.streamsMax()
                  + " handshake slots were taken; the oldest stream of the address holding the"
                  + " most made way for a new one");
      try {
        evicted.onEvict.accept(reason);
      } catch (RuntimeException e) {
        // The slot is already given back; a stream that fails to close is ended by its idle
        // timeout. The newcomer must not pay for it.
        log.debug("closing an evicted unauthenticated peer stream failed", e);
      }
    }
    return slot;
  }

  /**
   * Takes the slot of the oldest stream of the address holding the most slots (of equals, the one
   * whose oldest stream is oldest). Called with the monitor held, when every slot is taken.
   */
  private Slot evictFromLargest() {
    Map.Entry<Object, ArrayDeque<Slot>> largest = null;
    for (Map.Entry<Object, ArrayDeque<Slot>> entry : byAddress.entrySet()) {
      ArrayDeque<Slot> slots = entry.getValue();
      if (slots.isEmpty()) {
        continue; // the newcomer's, created empty
      }
      if (largest == null
          || slots.size() > largest.getValue().size()
          || (slots.size() == largest.getValue().size()
              && slots.getFirst().sequence < largest.getValue().getFirst().sequence)) {
        largest = entry;
      }
    }
    // Every slot is taken and streamsMax >= 1, so some address holds one.
    Objects.requireNonNull(largest);
    return take(largest.getKey(), largest.getValue());
  }

  /** Takes the slot of an address's oldest stream. Called with the monitor held. */
  private Slot take(Object address, ArrayDeque<Slot> slots) {
    Slot victim = slots.removeFirst();
    if (slots.isEmpty()) {
      byAddress.remove(address);
    }
    victim.held = false;
    open.decrementAndGet();
    return victim;
  }

  /** The address a stream's slot counts against: its IP address, whatever the port. */
  private static Object addressOf(@Nullable SocketAddress remote) {
    if (remote instanceof InetSocketAddress inet) {
      InetAddress address = inet.getAddress();
      return address != null ? address : inet.getHostString();
    }
    return UNKNOWN_ADDRESS;
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
