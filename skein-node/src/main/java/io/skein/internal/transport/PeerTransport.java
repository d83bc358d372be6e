package io.skein.internal.transport;

import io.javalin.websocket.WsConfig;
import io.javalin.websocket.WsContext;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.skein.core.leader.LeaderMessage;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.replica.PeerMessage;
import io.skein.internal.engine.PeerLink;
import io.skein.internal.engine.Replicator;
import io.skein.internal.runtime.LogThrottle;
import io.skein.internal.transport.proto.Frame;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The peer transport (D10, D11): long-lived WebSocket streams on the node's own HTTP port, carrying
 * {@link FrameCodec} frames of Protocol Buffers messages, opened by the {@link Handshake}.
 *
 * <p>Design notes. Every node dials every peer, and a stream carries data one way only: a node
 * sends its messages on the stream it dialled and receives on the streams its peers dialled (as
 * etcd's rafthttp does with its per-direction streams). So there is no tie-break between two nodes
 * dialling each other at once, and a stream is never shared by two writers.
 *
 * <ul>
 *   <li>Sending never blocks the event loop: each peer has a bounded queue (messages and bytes). A
 *       message for a peer that is not connected, or whose queue is full, is dropped and counted;
 *       the replication core's anti-entropy and its ack-windowed catch-up stream repair the loss,
 *       which is the back-pressure: a slow peer is fed at the rate it acknowledges.
 *   <li>One platform thread per peer connects, runs the handshake, then drains the queue: a thread
 *       that client work cannot take, since JDBC calls pin virtual threads to their carriers. A
 *       failed or refused connection is retried after a capped exponential backoff with full
 *       jitter.
 *   <li>Receiving: the server side decodes and checks each frame (size, checksum, fields, sender),
 *       then hands the message to the {@link Replicator}, which blocks the stream for a bounded
 *       time when the loop's inbox is full (back-pressure onto the peer's socket).
 * </ul>
 *
 * <p>Why one class of this size (about 1,500 lines, over the project's 1,000-line guide): the
 * outbound side (one {@code Outbound} per peer: dialler thread, send queue, backoff) and the
 * inbound side (handshake state per stream, admission, duplicate-id checks) meet on shared state
 * that must change together: a peer that dials in wakes its dialler, an authenticated announcement
 * moves its {@code Outbound} (D8), a new identity closes both sides at once (D9), and the peer view
 * and metrics read both. The stateless pieces already live on their own ({@link Handshake}, {@link
 * HandshakeGate}, {@link FrameCodec}, {@link PeerAddress}, {@link ReconnectWait}, {@code
 * WireMessages}, {@code LeaderWire}). The file is ordered: options, lifecycle and addresses,
 * outbound streams, inbound streams and the handshake.
 *
 * <p>Thread-safe.
 */
public final class PeerTransport implements PeerLink, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PeerTransport.class);

  /** The path of the peer endpoint on the node's port. */
  public static final String PATH = "/v1/peer";

  /** A peer's outbound stream state, as {@code /v1/cluster} shows it. */
  public enum State {
    /** Dialling or in the handshake. */
    CONNECTING,
    /** Authenticated; messages flow. */
    CONNECTED,
    /** The last attempt failed; waiting to retry. */
    DISCONNECTED,
    /** The last handshake was refused (by either side); waiting to retry. */
    REFUSED,
    /** Not dialled: a discovered peer whose beacons stopped (it stays known). */
    INACTIVE;

    /** Returns the lower-case name used on the API. */
    public String wireName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * Transport settings.
   *
   * @param frameBytesMax the largest frame payload, sent or received
   * @param sendQueueMessagesMax the most messages queued for one peer
   * @param sendQueueBytesMax the most bytes (estimated) queued for one peer
   * @param connectTimeoutMs how long a dial may take
   * @param handshakeTimeoutMs how long the peer may take to answer each handshake step
   * @param sendTimeoutMs how long one frame may take to leave before the stream is cut
   * @param backoffBaseMs the first reconnect delay ceiling
   * @param backoffCapMs the largest reconnect delay ceiling after a failed connection
   * @param refusedBackoffCapMs the largest reconnect delay ceiling after a refused handshake (a
   *     configuration problem, which a retry rarely cures: no need to knock as often)
   * @param idleTimeoutMs an inbound stream silent for this long is closed (peers sync every few s)
   * @param liveStreamWindowMs an inbound stream that carried a frame this recently is live: a
   *     second process claiming its node id is refused as a duplicate, while a silent one is
   *     presumed dead and replaced (a restarted peer)
   * @param handshakeDeadlineMs an inbound stream that has not authenticated this long after its
   *     upgrade is closed
   * @param unauthenticatedStreamsMax how many inbound streams may be in their handshake at once; a
   *     new one past it evicts the oldest stream of the address holding the most ({@link
   *     HandshakeGate})
   * @param unauthenticatedStreamsPerAddressMax how many of those may come from one IP address; a
   *     new one past it evicts that address's oldest (at most {@code unauthenticatedStreamsMax})
   * @param sslContext the client TLS context for {@code wss} peers, or {@code null} for plain
   */
  public record Options(
      int frameBytesMax,
      int sendQueueMessagesMax,
      long sendQueueBytesMax,
      long connectTimeoutMs,
      long handshakeTimeoutMs,
      long sendTimeoutMs,
      long backoffBaseMs,
      long backoffCapMs,
      long refusedBackoffCapMs,
      long idleTimeoutMs,
      long liveStreamWindowMs,
      long handshakeDeadlineMs,
      int unauthenticatedStreamsMax,
      int unauthenticatedStreamsPerAddressMax,
      @Nullable SSLContext sslContext) {
    /** The first reconnect delay ceiling, in ms. */
    public static final long BACKOFF_BASE_MS = 100;

    /** The largest reconnect delay ceiling, in ms, whatever the replication timings. */
    public static final long BACKOFF_CAP_MS = 5_000;

    /**
     * How long a stranger's stream may stay in its handshake, in ms: a real peer's handshake is two
     * round trips and two HMACs, a few ms on a LAN and well under a second across continents; two
     * seconds leave room for a loaded node while bounding how long a silent stream holds a slot.
     * The dialler's own wait for each answer ({@code handshakeTimeoutMs}, 5 s) may be longer: this
     * node's close ends that wait at once, and the dialler retries after its backoff.
     */
    public static final long HANDSHAKE_DEADLINE_MS = 2_000;

    /**
     * How many streams may be in their handshake at once: far more than the members that dial at
     * one time, and with {@link Handshake#MESSAGE_BYTES_MAX} each, at most 256 KiB of messages.
     * Past it, a newcomer evicts the oldest stream of the address holding the most slots.
     */
    public static final int UNAUTHENTICATED_STREAMS_MAX = 64;

    /**
     * How many streams in their handshake one IP address (any port) may hold: a quarter of {@link
     * #UNAUTHENTICATED_STREAMS_MAX}. A host dials this node once per member it runs, so 16 leaves
     * room for a dozen co-located nodes reconnecting at once; and one address can never fill the
     * slots alone: it takes strangers on at least four addresses before another address's stream is
     * evicted, and on 63 before a real peer's single stream can be the one evicted. A new stream
     * past it evicts the address's own oldest, so that a peer sharing an address with a stranger
     * (behind a NAT or proxy, on one host) still gets in.
     */
    public static final int UNAUTHENTICATED_STREAMS_PER_ADDRESS_MAX = 16;

    /**
     * The defaults.
     *
     * @param syncIntervalMs the anti-entropy interval, which sizes the idle and liveness windows
     * @param reconnectCapMs the largest reconnect delay ceiling after a failure, in ms: the most a
     *     healed link waits to be used again (at least {@link #BACKOFF_BASE_MS}, at most {@link
     *     #BACKOFF_CAP_MS}; see {@link #reconnectCapMs})
     */
    public static Options defaults(long syncIntervalMs, long reconnectCapMs) {
      return new Options(
          FrameCodec.FRAME_BYTES_MAX_DEFAULT,
          4_096,
          64L << 20,
          2_000,
          5_000,
          10_000,
          BACKOFF_BASE_MS,
          Math.clamp(reconnectCapMs, BACKOFF_BASE_MS, BACKOFF_CAP_MS),
          BACKOFF_CAP_MS,
          Math.max(30_000, 5 * syncIntervalMs),
          3 * syncIntervalMs,
          HANDSHAKE_DEADLINE_MS,
          UNAUTHENTICATED_STREAMS_MAX,
          UNAUTHENTICATED_STREAMS_PER_ADDRESS_MAX,
          null);
    }

    /**
     * Returns the reconnect delay ceiling for a replication mode (issue 12, item 10). In leader
     * mode a link that heals must carry votes before the election timeouts stand again, so its
     * dialler waits at most one election interval; in dynamo mode anti-entropy repairs whatever a
     * longer wait costs, so it keeps {@link #BACKOFF_CAP_MS}.
     *
     * @param leaderMode whether the node runs leader mode
     * @param electionIntervalMs the election interval, in ms
     */
    public static long reconnectCapMs(boolean leaderMode, long electionIntervalMs) {
      return leaderMode
          ? Math.clamp(electionIntervalMs, BACKOFF_BASE_MS, BACKOFF_CAP_MS)
          : BACKOFF_CAP_MS;
    }

    /** Returns these options with a client TLS context. */
    public Options withSslContext(@Nullable SSLContext context) {
      return new Options(
          frameBytesMax,
          sendQueueMessagesMax,
          sendQueueBytesMax,
          connectTimeoutMs,
          handshakeTimeoutMs,
          sendTimeoutMs,
          backoffBaseMs,
          backoffCapMs,
          refusedBackoffCapMs,
          idleTimeoutMs,
          liveStreamWindowMs,
          handshakeDeadlineMs,
          unauthenticatedStreamsMax,
          unauthenticatedStreamsPerAddressMax,
          context);
    }

    /**
     * Returns these options with other bounds on unauthenticated streams: for tests, whose peers
     * and strangers all come from 127.0.0.1, and which must not wait for the deadline.
     */
    public Options withStrangerLimits(
        long handshakeDeadlineMs,
        int unauthenticatedStreamsMax,
        int unauthenticatedStreamsPerAddressMax) {
      return new Options(
          frameBytesMax,
          sendQueueMessagesMax,
          sendQueueBytesMax,
          connectTimeoutMs,
          handshakeTimeoutMs,
          sendTimeoutMs,
          backoffBaseMs,
          backoffCapMs,
          refusedBackoffCapMs,
          idleTimeoutMs,
          liveStreamWindowMs,
          handshakeDeadlineMs,
          unauthenticatedStreamsMax,
          unauthenticatedStreamsPerAddressMax,
          sslContext);
    }
  }

  /**
   * One peer as seen from here.
   *
   * @param nodeId the peer's id
   * @param url the URL this node dials
   * @param state the outbound stream's state
   * @param inboundStreams how many authenticated streams the peer has open to this node
   * @param lastContactMs when a frame last arrived from the peer (epoch ms), or -1 if never
   * @param lastError why the last attempt failed, or {@code null}
   */
  public record PeerView(
      NodeId nodeId,
      URI url,
      State state,
      int inboundStreams,
      long lastContactMs,
      @Nullable String lastError) {}

  private volatile Handshake.Identity self;
  private final java.util.function.Supplier<Replicator> replicators;
  private final Options options;
  private final FrameCodec codec;
  private final FrameCodec handshakeCodec =
      new FrameCodec(Handshake.MESSAGE_BYTES_MAX - FrameCodec.HEADER_BYTES);
  private final HandshakeGate gate;
  private final MeterRegistry meters;
  private final HttpClient client;
  private final SecureRandom random = new SecureRandom();
  private final Map<NodeId, Outbound> outbound = new java.util.concurrent.ConcurrentSkipListMap<>();
  private final Map<String, Inbound> inbound = new ConcurrentHashMap<>();
  private final Timer applyDelay;
  private final DistributionSummary frameBytes;
  private final com.google.protobuf.ByteString incarnation;
  private final long liveStreamWindowMs;
  private volatile String selfUrl;
  private volatile Admission admission = (peer, url) -> false;
  private volatile java.util.function.BiConsumer<NodeId, URI> peerMoved = (peer, url) -> {};
  private volatile java.util.function.Consumer<NodeId> connected = peer -> {};
  private volatile boolean started;
  private volatile boolean advertised;
  private volatile boolean closed;
  private @Nullable ScheduledExecutorService deadlines;

  /** Decides whether an authenticated node that is not a known peer may join (discovery). */
  @FunctionalInterface
  public interface Admission {
    /**
     * Returns whether to accept the node; if so, the caller has made it a known peer.
     *
     * @param peer the node, authenticated by the cluster secret
     * @param url the URL it says it serves on, or {@code null} if it sent none
     */
    boolean admit(NodeId peer, @Nullable URI url);
  }

  /**
   * Creates the transport; {@link #start()} dials the peers.
   *
   * @param self who this node is on the wire
   * @param selfUrl the base URL this node serves on, sent to the peers it dials
   * @param peers the members to dial, with their base URLs ({@code http://host:port})
   * @param replicators where received messages go: looked up on every message, so the store behind
   *     it can be replaced
   */
  public PeerTransport(
      Handshake.Identity self,
      String selfUrl,
      Map<NodeId, URI> peers,
      java.util.function.Supplier<Replicator> replicators,
      Options options,
      MeterRegistry meters) {
    this.self = self;
    this.selfUrl = selfUrl;
    this.replicators = replicators;
    this.options = options;
    this.codec = new FrameCodec(options.frameBytesMax());
    this.meters = meters;
    this.gate =
        new HandshakeGate(
            new HandshakeGate.Limits(
                Handshake.MESSAGE_BYTES_MAX,
                options.handshakeDeadlineMs(),
                options.unauthenticatedStreamsMax(),
                options.unauthenticatedStreamsPerAddressMax()),
            meters);
    HttpClient.Builder builder =
        HttpClient.newBuilder().connectTimeout(Duration.ofMillis(options.connectTimeoutMs()));
    if (options.sslContext() != null) {
      builder.sslContext(options.sslContext());
    }
    this.client = builder.build();
    byte[] incarnationBytes = new byte[16];
    random.nextBytes(incarnationBytes);
    this.incarnation = com.google.protobuf.ByteString.copyFrom(incarnationBytes);
    this.liveStreamWindowMs = options.liveStreamWindowMs();
    for (Map.Entry<NodeId, URI> peer : peers.entrySet()) {
      outbound.put(peer.getKey(), new Outbound(peer.getKey(), peer.getValue()));
    }
    this.applyDelay =
        Timer.builder("skein.replication.apply.delay")
            .description(
                "From an entry's HLC on its origin to its arrival here (includes clock skew)")
            .publishPercentiles(0.5, 0.99)
            .register(meters);
    this.frameBytes =
        DistributionSummary.builder("skein.peer.frame.bytes")
            .description("Size of frames received from peers")
            .register(meters);
  }

  private static URI streamUri(URI base) {
    String scheme = "https".equals(base.getScheme()) ? "wss" : "ws";
    return URI.create(scheme + "://" + base.getRawAuthority() + PATH);
  }

  /** Returns the largest frame payload accepted from an authenticated peer. */
  public int frameBytesMax() {
    return options.frameBytesMax();
  }

  /**
   * Returns the largest WebSocket message a stream may send before it authenticates: the endpoint's
   * default, which {@link #endpoint} raises to a whole frame once the peer is authenticated.
   */
  public int handshakeMessageBytesMax() {
    return Handshake.MESSAGE_BYTES_MAX;
  }

  /**
   * Starts the transport. It attaches to the replicator and dials once the listener has {@link
   * #advertise advertised} the URL this node serves on (the port is known only after the bind with
   * port 0).
   */
  public synchronized void start() {
    started = true;
    if (deadlines == null) {
      ScheduledExecutorService scheduler =
          io.skein.internal.runtime.Threads.scheduler("skein-peer-handshakes");
      long periodMs = Math.max(1, options.handshakeDeadlineMs() / 10);
      scheduler.scheduleWithFixedDelay(
          this::closeLateHandshakes, periodMs, periodMs, TimeUnit.MILLISECONDS);
      deadlines = scheduler;
    }
    if (advertised) {
      attachAndDial();
    }
  }

  /** Returns the node id this transport authenticates as. */
  public NodeId selfId() {
    return self.nodeId();
  }

  /** Returns the URL this node tells the peers it dials. */
  public String selfUrl() {
    return selfUrl;
  }

  /**
   * Sets the URL this node tells the peers it dials; the first call starts the dialling. A later
   * call with another URL (the listener moved, D8) cuts this node's outbound streams: each dials
   * again at once and announces the new URL in its handshake, which is how the peers learn it.
   */
  public synchronized void advertise(String url) {
    String before = this.selfUrl;
    this.selfUrl = url;
    boolean first = !advertised;
    advertised = true;
    if (first && started) {
      attachAndDial();
    } else if (!first && !url.equals(before)) {
      log.atInfo()
          .addKeyValue("from", before)
          .addKeyValue("to", url)
          .log("this node moved; its peer streams reconnect to announce the new address");
      for (Outbound peer : outbound.values()) {
        // Only the peers reachable now are waited for (peersKnow): a peer that is down learns
        // the address when it next connects.
        peer.awaitingAnnounce = peer.state == State.CONNECTED;
        peer.abort();
        peer.reconnect.wake();
      }
    }
  }

  /**
   * This node's id changed (D9, a leave and a rejoin): every stream, authenticated as the old id,
   * is closed; the outbound ones dial again at once as the new id, and the store opened for the new
   * id becomes the replicator the streams deliver to.
   */
  public synchronized void reidentify(Handshake.Identity next) {
    Handshake.Identity before = self;
    self = next;
    for (Inbound in : List.copyOf(inbound.values())) {
      if (forget(in.ctx.sessionId()) != null) {
        try {
          in.ctx.closeSession(1012, "the node's identity changed");
        } catch (RuntimeException e) {
          log.debug("closing a stream at an identity change failed", e);
        }
      }
    }
    for (Outbound peer : outbound.values()) {
      peer.abort();
      peer.reconnect.wake();
    }
    if (started && advertised) {
      replicators.get().attach(this);
    }
    log.atInfo()
        .addKeyValue("from", before.nodeId())
        .addKeyValue("to", next.nodeId())
        .log("peer streams reconnect under the new node id");
  }

  /** Sets who hears that a peer announced a new address and is dialled there now (D8). */
  public void onPeerMoved(java.util.function.BiConsumer<NodeId, URI> listener) {
    this.peerMoved = listener;
  }

  /**
   * Returns whether every active peer that was connected when this node last moved has an
   * authenticated stream from this node whose handshake announced {@code url}: then each of them
   * dials this node there, and redirects to it (D8).
   */
  public boolean peersKnow(String url) {
    for (Outbound peer : outbound.values()) {
      if (peer.active
          && peer.awaitingAnnounce
          && (peer.state != State.CONNECTED || !url.equals(peer.connectedAs))) {
        return false;
      }
    }
    return true;
  }

  /** Returns the base URL each known peer is dialled at now, which follows its moves (D8). */
  public Map<NodeId, URI> peerUrls() {
    Map<NodeId, URI> urls = new LinkedHashMap<>();
    outbound.forEach((id, peer) -> urls.put(id, peer.base));
    return urls;
  }

  /**
   * An authenticated peer announced its address: if it moved (PeerAddress), dial it at the new one.
   */
  private void followMove(NodeId peer, @Nullable URI announced) {
    Outbound known = outbound.get(peer);
    if (known == null || announced == null || !known.active) {
      return; // only an active member's move is followed: a removed peer stays removed
    }
    URI next;
    URI before;
    synchronized (known) {
      before = known.base;
      next = PeerAddress.follow(known.base, known.announced, announced);
      known.announced = announced;
    }
    if (next == null) {
      return;
    }
    log.atInfo()
        .addKeyValue("peer", peer)
        .addKeyValue("from", before)
        .addKeyValue("to", next)
        .log("peer moved; dialling it at its new address");
    addPeer(peer, next);
    peerMoved.accept(peer, next);
  }

  /**
   * Attaches to the replicator and dials every peer. Attaching starts the leader loop's clock, so
   * that its election timeouts, and a secondary's start-up grace, count from when the peers can be
   * reached, not from when the HTTP listener began its start (which can take seconds on a loaded
   * machine).
   */
  private void attachAndDial() {
    replicators.get().attach(this);
    dialAll();
  }

  private void dialAll() {
    for (Outbound peer : outbound.values()) {
      peer.startDialling();
    }
  }

  /** Sets who hears that an outbound stream to a peer authenticated (membership confirmation). */
  public void onConnected(java.util.function.Consumer<NodeId> listener) {
    this.connected = listener;
  }

  /** Returns whether the outbound stream to a peer is authenticated. */
  public boolean isConnected(NodeId peer) {
    Outbound stream = outbound.get(peer);
    return stream != null && stream.state == State.CONNECTED;
  }

  /** Stops dialling a peer and forgets it (an unconfirmed discovery candidate). */
  public void remove(NodeId peer) {
    Outbound gone = outbound.remove(peer);
    if (gone != null) {
      synchronized (gone) {
        gone.active = false;
        gone.abort();
      }
    }
  }

  /** Sets who decides on unknown authenticated nodes (by default they are refused). */
  public void admission(Admission admission) {
    this.admission = admission;
  }

  /** Adds a peer to dial, or points a known one at a new URL and dials it again if inactive. */
  public void addPeer(NodeId peer, URI baseUrl) {
    URI stream = streamUri(baseUrl);
    Outbound existing = outbound.computeIfAbsent(peer, id -> new Outbound(id, baseUrl));
    synchronized (existing) {
      boolean moved = !existing.uri.equals(stream);
      existing.uri = stream;
      existing.base = baseUrl;
      if (moved) {
        existing.abort();
      }
      existing.active = true;
      if (existing.state == State.INACTIVE) {
        existing.state = State.CONNECTING;
      }
      if (started && advertised) {
        existing.startDialling();
      }
    }
  }

  /** Stops dialling a peer (it stays listed, as inactive). */
  public void deactivate(NodeId peer) {
    Outbound existing = outbound.get(peer);
    if (existing != null) {
      synchronized (existing) {
        existing.active = false;
        existing.abort();
        existing.state = State.INACTIVE;
      }
    }
  }

  @Override
  public void send(NodeId peer, PeerMessage message) {
    Outbound stream = outbound.get(peer);
    if (stream != null) {
      stream.offer(new Queued(message, null, WireMessages.estimateBytes(message)));
    }
  }

  @Override
  public void sendLeader(NodeId peer, LeaderMessage message) {
    Outbound stream = outbound.get(peer);
    if (stream != null) {
      stream.offer(new Queued(null, message, LeaderWire.estimateBytes(message)));
    }
  }

  /** Returns every configured peer's state. */
  public List<PeerView> peers() {
    Map<NodeId, Integer> streams = new LinkedHashMap<>();
    for (Inbound in : inbound.values()) {
      NodeId peer = in.peer;
      if (peer != null) {
        streams.merge(peer, 1, Integer::sum);
      }
    }
    List<PeerView> views = new ArrayList<>();
    for (Outbound peer : outbound.values()) {
      views.add(
          new PeerView(
              peer.peer,
              peer.uri,
              peer.state,
              streams.getOrDefault(peer.peer, 0),
              peer.lastContactMs.get(),
              peer.lastError));
    }
    return views;
  }

  /** Stops dialling, closes every stream and drops what is queued. Idempotent. */
  @Override
  public void close() {
    closed = true;
    replicators.get().attach(PeerLink.NONE);
    synchronized (this) {
      if (deadlines != null) {
        deadlines.shutdownNow();
      }
    }
    for (Outbound peer : outbound.values()) {
      Thread thread = peer.thread;
      if (thread != null) {
        thread.interrupt();
      }
      WebSocket socket = peer.socket;
      if (socket != null) {
        socket.abort();
      }
    }
    for (Outbound peer : outbound.values()) {
      Thread thread = peer.thread;
      if (thread != null) {
        try {
          thread.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
    client.shutdownNow();
  }

  private byte[] nonce() {
    byte[] nonce = new byte[Handshake.NONCE_BYTES];
    random.nextBytes(nonce);
    return nonce;
  }

  private void countRefusal(String reason, String side) {
    Counter.builder("skein.peer.handshake.refusals")
        .description("Peer handshakes refused, by reason and by which side refused")
        .tag("reason", Handshake.knownCode(reason))
        .tag("side", side)
        .register(meters)
        .increment();
  }

  private Counter peerCounter(String name, String description, String peer) {
    return Counter.builder(name).description(description).tag("peer", peer).register(meters);
  }

  private void countFrameError(FrameException.Reason reason) {
    Counter.builder("skein.peer.frames.refused")
        .description("Inbound frames refused (stream closed), by reason")
        .tag("reason", reason.name().toLowerCase(java.util.Locale.ROOT))
        .register(meters)
        .increment();
  }

  // ---------------------------------------------------------------------------------------------
  // Outbound: this node's stream to one peer.

  /** A refusal during the handshake, by either side. */
  private static final class RefusedException extends Exception {
    private static final long serialVersionUID = 1L;
    final String code;

    RefusedException(String code, String message) {
      super(message);
      this.code = code;
    }
  }

  /** One outgoing message: a dynamo-mode or a leader-mode one. */
  private record Queued(
      @Nullable PeerMessage message, @Nullable LeaderMessage leader, long bytes) {}

  /** Put in a send queue to wake its pump at once (an abort); carries nothing. */
  private static final Queued WAKE = new Queued(null, null, 0);

  private final class Outbound {
    final NodeId peer;
    volatile URI uri;

    /** The base URL dialled (uri is its stream URL); redirects to the peer use it. */
    volatile URI base;

    /** The address the peer announced in its last authenticated stream, if any (D8). */
    @Nullable URI announced;

    /** The URL this node announced in the handshake of its current stream to the peer. */
    volatile @Nullable String connectedAs;

    /** Whether a move waits for this peer to hear the new address (it was connected then). */
    volatile boolean awaitingAnnounce;

    volatile boolean active = true;
    final BlockingQueue<Queued> queue = new LinkedBlockingQueue<>();
    final AtomicLong queuedBytes = new AtomicLong();
    final AtomicLong lastContactMs = new AtomicLong(-1);
    final Counter entriesSent;
    final Counter bytesSent;
    final Counter messagesSent;
    final Counter reconnects;
    final Counter dropped;
    final Counter bytesReceived;
    final Counter entriesReceived;
    final Counter receiveDropped;
    volatile State state = State.CONNECTING;
    volatile @Nullable String lastError;
    volatile @Nullable WebSocket socket;
    volatile @Nullable Thread thread;
    final ReconnectWait reconnect =
        new ReconnectWait(
            options.backoffBaseMs(),
            options.backoffCapMs(),
            options.refusedBackoffCapMs(),
            new java.util.Random());
    private boolean everConnected;

    Outbound(NodeId peer, URI base) {
      this.peer = peer;
      this.base = base;
      this.uri = streamUri(base);
      String tag = peer.value();
      this.entriesSent =
          peerCounter("skein.peer.entries.sent", "Oplog entries sent to a peer", tag);
      this.bytesSent = peerCounter("skein.peer.bytes.sent", "Frame bytes sent to a peer", tag);
      this.messagesSent = peerCounter("skein.peer.messages.sent", "Messages sent to a peer", tag);
      this.reconnects =
          peerCounter(
              "skein.peer.reconnects", "Streams to a peer re-established after a loss", tag);
      this.dropped =
          peerCounter(
              "skein.peer.send.dropped",
              "Messages for a peer dropped (not connected, or its queue full)",
              tag);
      this.bytesReceived =
          peerCounter("skein.peer.bytes.received", "Frame bytes received from a peer", tag);
      this.entriesReceived =
          peerCounter("skein.peer.entries.received", "Oplog entries received from a peer", tag);
      this.receiveDropped =
          peerCounter(
              "skein.peer.receive.dropped",
              "Messages from a peer dropped because the event loop's inbox stayed full",
              tag);
      Gauge.builder("skein.peer.connected", this, o -> o.state == State.CONNECTED ? 1 : 0)
          .description("1 while the stream to a peer is authenticated")
          .tag("peer", tag)
          .register(meters);
      Gauge.builder("skein.peer.send.queue.bytes", queuedBytes, AtomicLong::get)
          .description("Bytes queued for a peer")
          .tag("peer", tag)
          .register(meters);
    }

    /** Starts the dialling thread unless one runs. */
    synchronized void startDialling() {
      Thread running = thread;
      if (closed || !active || (running != null && running.isAlive())) {
        return;
      }
      // A platform thread, not a virtual one: client work that pins the virtual-thread carriers
      // (JDBC calls do) must never hold up a stream that carries heartbeats and votes.
      thread = io.skein.internal.runtime.Threads.platform("skein-peer-" + peer, true, this::run);
    }

    /** Cuts the current stream (the thread reconnects if still active). */
    void abort() {
      WebSocket current = socket;
      if (current != null) {
        // The pump wakes (WAKE), sees that its socket is gone and ends the stream: an idle
        // stream would otherwise notice the abort only at its next send or ping.
        socket = null;
        current.abort();
        queue.offer(WAKE);
      }
    }

    void offer(Queued message) {
      if (state != State.CONNECTED) {
        dropped.increment();
        return;
      }
      // One message always fits an empty queue, however large (frames split it): otherwise a
      // message over the byte bound would be dropped on every retry and its peer never caught up.
      if (!queue.isEmpty()
          && (queue.size() >= options.sendQueueMessagesMax()
              || queuedBytes.get() + message.bytes() > options.sendQueueBytesMax())) {
        dropped.increment();
        return;
      }
      queuedBytes.addAndGet(message.bytes());
      queue.offer(message);
    }

    void run() {
      while (!closed && active) {
        boolean refused;
        try {
          refused = connectAndPump();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
        if (closed || !active) {
          if (!active) {
            state = State.INACTIVE;
          }
          return;
        }
        try {
          // A peer that dials in ends the wait at once: it is reachable again (issue 12, item 10).
          reconnect.await(refused);
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    /**
     * Dials, runs the handshake and pumps the queue until the stream ends.
     *
     * @return whether the handshake was refused (rather than the connection failing or ending)
     */
    private boolean connectAndPump() throws InterruptedException {
      // Only handshake frames ever come back on a stream this node dialled.
      ClientListener listener = new ClientListener(Handshake.MESSAGE_BYTES_MAX);
      WebSocket ws = null;
      try {
        state = State.CONNECTING;
        ws =
            client
                .newWebSocketBuilder()
                .connectTimeout(Duration.ofMillis(options.connectTimeoutMs()))
                .buildAsync(uri, listener)
                .get(options.connectTimeoutMs() + 1_000, TimeUnit.MILLISECONDS);
        socket = ws;
        String announcing = selfUrl;
        handshake(ws, listener);
        connectedAs = announcing;
        streamUp();
        pump(ws, listener);
        return false;
      } catch (RefusedException e) {
        state = State.REFUSED;
        noteFailure(String.valueOf(e.getMessage()), e.code);
        return true;
      } catch (ExecutionException | TimeoutException | IOException | RuntimeException e) {
        state = State.DISCONNECTED;
        noteFailure(ClientListener.describe(e), null);
        return false;
      } finally {
        socket = null;
        if (ws != null) {
          ws.abort();
        }
        queue.clear();
        queuedBytes.set(0);
      }
    }

    private void streamUp() {
      state = State.CONNECTED;
      if (lastError != null || !everConnected) {
        log.atInfo().addKeyValue("peer", peer).addKeyValue("url", uri).log("peer stream connected");
      }
      lastError = null;
      reconnect.connected();
      if (everConnected) {
        reconnects.increment();
      }
      everConnected = true;
      connected.accept(peer);
      replicators.get().peerConnected(peer);
    }

    /**
     * Records why the last attempt failed, and logs it when the reason changes (not on every
     * retry).
     *
     * @param refusalCode the handshake refusal's code, or {@code null} if the connection failed
     */
    private void noteFailure(String error, @Nullable String refusalCode) {
      if (closed) {
        return;
      }
      if (!error.equals(lastError)) {
        String message =
            refusalCode == null
                ? "peer stream down; retrying with backoff"
                : BAD_PROOF.equals(refusalCode)
                    ? "peer handshake refused: " + secretVerdict(peer)
                    : "peer handshake refused";
        (refusalCode != null ? log.atWarn() : log.atInfo())
            .addKeyValue("node", self.nodeId())
            .addKeyValue("peer", peer)
            .addKeyValue("url", uri)
            .addKeyValue("error", error)
            .log(message);
      }
      lastError = error;
    }

    private void handshake(WebSocket ws, ClientListener listener)
        throws RefusedException,
            InterruptedException,
            ExecutionException,
            TimeoutException,
            IOException {
      Handshake.Client handshake = new Handshake.Client(self, nonce());
      // The URL this node serves on: a peer dials back there, and follows it when it moves (D8).
      String announcing = selfUrl;
      write(
          ws,
          handshake.hello().toBuilder()
              .setClientHello(
                  handshake.hello().getClientHello().toBuilder()
                      .setIncarnation(incarnation)
                      .setUrl(announcing))
              .build());
      Frame answer = listener.next(handshakeCodec, options.handshakeTimeoutMs());
      if (answer.hasRefused()) {
        countRefusal(answer.getRefused().getCode(), "remote");
        throw new RefusedException(
            answer.getRefused().getCode(),
            "refused by the peer: "
                + Handshake.printable(answer.getRefused().getCode())
                + ": "
                + Handshake.printable(answer.getRefused().getMessage()));
      }
      if (!answer.hasServerChallenge()) {
        throw new IOException("expected a challenge, got " + answer.getBodyCase());
      }
      Handshake.Step step = handshake.onChallenge(answer.getServerChallenge());
      if (step instanceof Handshake.Step.Refuse refuse) {
        write(ws, refuse.frame());
        countRefusal(refuse.code(), "local");
        throw new RefusedException(refuse.code(), refuse.code() + ": " + refuse.message());
      }
      Handshake.Step.Authenticated authenticated = (Handshake.Step.Authenticated) step;
      if (!authenticated.peer().equals(peer)) {
        Frame refused =
            Handshake.refusedFrame(
                "unexpected_node_id",
                "dialled "
                    + uri
                    + " for node "
                    + peer
                    + " but node "
                    + authenticated.peer()
                    + " answered");
        write(ws, refused);
        countRefusal("unexpected_node_id", "local");
        throw new RefusedException("unexpected_node_id", refused.getRefused().getMessage());
      }
      Frame proof = authenticated.frame();
      if (proof != null) {
        write(ws, proof);
      }
      Frame welcome = listener.next(handshakeCodec, options.handshakeTimeoutMs());
      if (welcome.hasRefused()) {
        countRefusal(welcome.getRefused().getCode(), "remote");
        throw new RefusedException(
            welcome.getRefused().getCode(),
            "refused by the peer: "
                + Handshake.printable(welcome.getRefused().getCode())
                + ": "
                + Handshake.printable(welcome.getRefused().getMessage()));
      }
      if (!welcome.hasWelcome()) {
        throw new IOException("expected welcome, got " + welcome.getBodyCase());
      }
    }

    private void pump(WebSocket ws, ClientListener listener)
        throws InterruptedException, ExecutionException, TimeoutException, IOException {
      // abort() (deactivation, a URL change) does not call the listener: check active and the
      // socket too, so the thread never outlives its stream.
      long lastSentNanos = System.nanoTime();
      long keepaliveNanos = TimeUnit.MILLISECONDS.toNanos(options.idleTimeoutMs() / 3);
      while (!closed && active && socket == ws) {
        if (listener.closedReason != null) {
          throw new IOException("peer closed the stream: " + listener.closedReason);
        }
        Queued next = queue.poll(500, TimeUnit.MILLISECONDS);
        if (next == WAKE) {
          continue; // an abort: the loop's condition sees the socket gone
        }
        if (next == null) {
          // A stream may carry nothing for long (in leader mode, one secondary to another): a
          // ping keeps the peer's idle timeout from closing it, so it is up when an election
          // needs it.
          if (System.nanoTime() - lastSentNanos > keepaliveNanos) {
            ws.sendPing(ByteBuffer.allocate(0)).get(options.sendTimeoutMs(), TimeUnit.MILLISECONDS);
            lastSentNanos = System.nanoTime();
          }
          continue;
        }
        lastSentNanos = System.nanoTime();
        queuedBytes.addAndGet(-next.bytes());
        PeerMessage message = next.message();
        LeaderMessage leader = next.leader();
        List<Frame> frames =
            message != null
                ? WireMessages.toFrames(message, options.frameBytesMax())
                : LeaderWire.toFrames(Objects.requireNonNull(leader), options.frameBytesMax());
        for (Frame frame : frames) {
          write(ws, frame);
        }
        messagesSent.increment();
        if (message instanceof PeerMessage.Push push) {
          entriesSent.increment(push.entries().size());
        } else if (leader instanceof LeaderMessage.Append append) {
          entriesSent.increment(append.entries().size());
        }
      }
    }

    private void write(WebSocket ws, Frame frame)
        throws InterruptedException, ExecutionException, TimeoutException {
      byte[] bytes = codec.encode(frame);
      ws.sendBinary(ByteBuffer.wrap(bytes), true)
          .get(options.sendTimeoutMs(), TimeUnit.MILLISECONDS);
      bytesSent.increment(bytes.length);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Inbound: streams peers dialled to this node.

  private static final class Inbound {
    final Handshake.Server handshake;
    final WsContext ctx;
    final long openedNanos = System.nanoTime();

    /** The handshake slot, given back exactly once (authenticated, closed, late or evicted). */
    final HandshakeGate.Slot slot;

    volatile @Nullable NodeId peer;
    volatile com.google.protobuf.ByteString incarnation = com.google.protobuf.ByteString.EMPTY;
    volatile String advertisedUrl = "";
    volatile long lastFrameMs = System.currentTimeMillis();

    Inbound(Handshake.Server handshake, WsContext ctx, HandshakeGate.Slot slot) {
      this.handshake = handshake;
      this.ctx = ctx;
      this.slot = slot;
    }
  }

  /** The refusal code of a failed proof: the two sides hold different cluster secrets. */
  private static final String BAD_PROOF = "bad_proof";

  /** The least time between two log lines about handshake refusals of one code, in ms. */
  private static final long REFUSAL_LOG_MS = HandshakeGate.REFUSAL_LOG_INTERVAL_MS;

  private final Map<String, LogThrottle> handshakeLogs = new ConcurrentHashMap<>();

  /** The WebSocket status Jetty closes a stream with when a message is over the limit. */
  private static final int MESSAGE_TOO_LARGE_STATUS = 1009;

  /**
   * Registers the handlers of the {@link #PATH} endpoint. The endpoint's largest message must be
   * {@link #handshakeMessageBytesMax()}: a stream gets whole frames only once authenticated.
   */
  public void endpoint(WsConfig ws) {
    ws.onConnect(this::onOpen);
    ws.onBinaryMessage(ctx -> onFrame(ctx, ctx.data()));
    ws.onClose(
        ctx -> {
          Inbound in = inbound.get(ctx.sessionId());
          if (in != null && ctx.status() == MESSAGE_TOO_LARGE_STATUS) {
            refusedTooLarge(in);
          }
          Inbound gone = forget(ctx.sessionId());
          if (gone != null && gone.peer != null) {
            log.atDebug()
                .addKeyValue("peer", gone.peer)
                .addKeyValue("status", ctx.status())
                .log("inbound peer stream closed");
          }
        });
    ws.onError(
        ctx -> {
          Inbound in = inbound.get(ctx.sessionId());
          if (in != null
              && ctx.error()
                  instanceof org.eclipse.jetty.websocket.api.exceptions.MessageTooLargeException) {
            refusedTooLarge(in);
          }
          forget(ctx.sessionId());
        });
  }

  /**
   * A stream opens: it takes one of the handshake slots before it can send anything. When its
   * address holds its share, or every slot is taken, that evicts an older stream in its handshake
   * ({@link HandshakeGate}), closed with 1013 ("try again later").
   */
  private void onOpen(WsContext ctx) {
    if (closed) {
      ctx.closeSession(1001, "closing");
      return;
    }
    String sessionId = ctx.sessionId();
    HandshakeGate.Slot slot =
        gate.enter(ctx.session.getRemoteSocketAddress(), reason -> evicted(sessionId, ctx, reason));
    ctx.session.setIdleTimeout(Duration.ofMillis(options.idleTimeoutMs()));
    Inbound in = new Inbound(new Handshake.Server(self, nonce()), ctx, slot);
    inbound.put(sessionId, in);
    if (!slot.held()) {
      // Evicted by another stream's onOpen before it was registered: evicted() found nothing to
      // forget, so forget it here (the close is already on its way).
      inbound.remove(sessionId, in);
    }
  }

  /** A newer stream took this one's handshake slot (the gate counted it): close it. */
  private void evicted(String sessionId, WsContext ctx, String reason) {
    inbound.remove(sessionId);
    ctx.closeSession(1013, reason);
  }

  /** Forgets a closed stream, giving back its handshake slot if it still held one. */
  private @Nullable Inbound forget(String sessionId) {
    Inbound gone = inbound.remove(sessionId);
    if (gone != null) {
      gone.slot.release();
    }
    return gone;
  }

  /** Jetty refused a message over the stream's limit, from its header: count it. */
  private void refusedTooLarge(Inbound in) {
    countFrameError(FrameException.Reason.TOO_LARGE);
    NodeId peer = in.peer;
    if (peer == null) {
      gate.refused(
          "too_large",
          in.ctx.session.getRemoteSocketAddress(),
          "a message over " + Handshake.MESSAGE_BYTES_MAX + " bytes before the handshake");
    } else {
      log.atWarn()
          .addKeyValue("peer", peer)
          .log("closed a peer stream: a message over {} bytes", options.frameBytesMax());
    }
  }

  /** Closes the streams that have not authenticated within the handshake deadline. */
  private void closeLateHandshakes() {
    long deadlineNanos = TimeUnit.MILLISECONDS.toNanos(options.handshakeDeadlineMs());
    long now = System.nanoTime();
    for (Inbound in : inbound.values()) {
      if (in.peer == null && now - in.openedNanos > deadlineNanos) {
        try {
          // Whoever gives the slot back ends the stream's time as a stranger: not if it has just
          // authenticated, closed or been evicted.
          if (in.slot.release()) {
            inbound.remove(in.ctx.sessionId(), in);
            gate.refused(
                "handshake_timeout",
                in.ctx.session.getRemoteSocketAddress(),
                "no handshake within " + options.handshakeDeadlineMs() + " ms");
            in.ctx.closeSession(1008, "handshake_timeout");
          }
        } catch (RuntimeException e) {
          // One stream that fails to close must not end the sweep (a scheduled task that throws
          // never runs again).
          log.debug("closing a late handshake failed", e);
        }
      }
    }
  }

  private void onFrame(WsContext ctx, ByteBuffer data) {
    Inbound in = inbound.get(ctx.sessionId());
    if (in == null || closed) {
      ctx.closeSession(1001, "closing");
      return;
    }
    byte[] bytes = new byte[data.remaining()];
    data.get(bytes);
    in.lastFrameMs = System.currentTimeMillis();
    Frame frame;
    try {
      frame = (in.peer == null ? handshakeCodec : codec).decode(bytes);
    } catch (FrameException e) {
      refuseFrame(ctx, in, e);
      return;
    }
    NodeId peer = in.peer;
    if (peer == null) {
      onHandshakeFrame(ctx, in, frame);
      return;
    }
    Replicator replicator;
    try {
      replicator = replicators.get();
    } catch (RuntimeException e) {
      // The store is closed for a moment (a node.id change reopens it, D9): the message is
      // dropped, as a full inbox drops one; the peer resends, and anti-entropy repairs.
      log.debug("a peer message arrived while the store was not open; dropped", e);
      return;
    }
    if (LeaderWire.isLeaderFrame(frame) != replicator.leaderMode()) {
      refuseFrame(
          ctx,
          in,
          new FrameException(
              FrameException.Reason.MALFORMED,
              "node "
                  + peer
                  + " sent a "
                  + (replicator.leaderMode() ? "dynamo" : "leader")
                  + "-mode message, but this node runs --mode "
                  + (replicator.leaderMode() ? "leader" : "dynamo")
                  + "; every member must run the same mode"));
      return;
    }
    PeerMessage message = null;
    LeaderMessage leader = null;
    try {
      if (replicator.leaderMode()) {
        leader = LeaderWire.fromFrame(frame);
      } else {
        message = WireMessages.fromFrame(frame);
      }
    } catch (FrameException e) {
      refuseFrame(ctx, in, e);
      return;
    }
    NodeId from = leader != null ? leader.from() : Objects.requireNonNull(message).from();
    if (!from.equals(peer)) {
      refuseFrame(ctx, in, wrongSender(from, peer));
      return;
    }
    long now = System.currentTimeMillis();
    touch(peer, now);
    Outbound stream = outbound.get(peer);
    if (stream != null) {
      received(stream, message, leader, bytes.length, now);
    }
    boolean accepted =
        leader != null
            ? replicator.receiveLeader(leader)
            : replicator.receive(Objects.requireNonNull(message));
    if (!accepted && stream != null) {
      stream.receiveDropped.increment();
    }
  }

  private static FrameException wrongSender(NodeId from, NodeId peer) {
    return new FrameException(
        FrameException.Reason.MALFORMED, "a message from " + from + " on " + peer + "'s stream");
  }

  private void touch(NodeId peer, long nowMs) {
    Outbound stream = outbound.get(peer);
    if (stream != null) {
      stream.lastContactMs.set(nowMs);
    }
  }

  private void received(
      Outbound stream,
      @Nullable PeerMessage message,
      @Nullable LeaderMessage leader,
      int bytes,
      long nowMs) {
    stream.bytesReceived.increment(bytes);
    if (message instanceof PeerMessage.Push push && !push.entries().isEmpty()) {
      stream.entriesReceived.increment(push.entries().size());
      OplogEntry newest = push.entries().get(push.entries().size() - 1);
      applyDelay.record(Math.max(0, nowMs - newest.hlc().physicalMs()), TimeUnit.MILLISECONDS);
    } else if (leader instanceof LeaderMessage.Append append) {
      stream.entriesReceived.increment(append.entries().size());
    }
    frameBytes.record(bytes);
  }

  private void onHandshakeFrame(WsContext ctx, Inbound in, Frame frame) {
    Handshake.Step step;
    if (frame.hasClientHello()) {
      in.incarnation = frame.getClientHello().getIncarnation();
      in.advertisedUrl = frame.getClientHello().getUrl();
      step = in.handshake.onHello(frame.getClientHello());
    } else if (frame.hasClientProof()) {
      step = in.handshake.onProof(frame.getClientProof());
    } else if (frame.hasRefused()) {
      refusedByDialler(ctx, in, frame.getRefused().getCode(), frame.getRefused().getMessage());
      return;
    } else {
      refuseFrame(
          ctx,
          in,
          new FrameException(
              FrameException.Reason.MALFORMED,
              "expected a handshake frame, got " + frame.getBodyCase()));
      return;
    }
    switch (step) {
      case Handshake.Step.Send send -> ctx.send(ByteBuffer.wrap(codec.encode(send.frame())));
      case Handshake.Step.Refuse refuse -> refuseInbound(ctx, in, refuse.code(), refuse.message());
      case Handshake.Step.Authenticated authenticated -> admit(ctx, in, authenticated);
    }
  }

  /**
   * A dialler proved it knows the secret: admits it if it is a member (or discovery admits it) and
   * not a second process with a live peer's id, raises its stream's message limit and wakes this
   * node's dialler to it.
   */
  private void admit(WsContext ctx, Inbound in, Handshake.Step.Authenticated authenticated) {
    // The handshake is over: the stream leaves the strangers, admitted or refused. Giving the slot
    // back decides a race with its eviction or its deadline: if either took the slot first, the
    // stream is being closed, so it must not change anything here (the peer retries).
    if (!in.slot.release()) {
      return;
    }
    NodeId peer = authenticated.peer();
    Outbound known = outbound.get(peer);
    boolean admitted = (known == null || !known.active) && admission.admit(peer, advertised(in));
    if (!admitted && (known == null || !known.active)) {
      // Unknown, or known but not a member now (removed from cluster.peers, or an expired
      // discovered peer that discovery does not take back): it exchanges nothing.
      refuseInbound(
          ctx,
          in,
          "unknown_peer",
          "node " + peer + " is not an active member of this cluster (unknown or removed)");
      return;
    }
    String duplicate = duplicateOf(in, peer);
    if (duplicate != null) {
      refuseInbound(ctx, in, "duplicate_node_id", duplicate);
      return;
    }
    // Whole frames from now on. Raised before the welcome leaves: the peer sends nothing larger
    // until it has the welcome.
    in.ctx.session.setMaxBinaryMessageSize(options.frameBytesMax() + FrameCodec.HEADER_BYTES);
    in.peer = peer;
    touch(peer, System.currentTimeMillis());
    followMove(peer, advertised(in));
    Outbound back = outbound.get(peer);
    if (back != null && back.state != State.CONNECTED) {
      back.reconnect.wake(); // the peer is reachable again: dial it now
    }
    Frame welcome = authenticated.frame();
    if (welcome != null) {
      ctx.send(ByteBuffer.wrap(codec.encode(welcome)));
    }
    log.atDebug().addKeyValue("peer", peer).log("inbound peer stream authenticated");
  }

  /**
   * The dialler refused this node (this node failed its proof, or has the dialler's own id): counts
   * and logs it (throttled: the dialler retries), and closes the stream.
   */
  private void refusedByDialler(WsContext ctx, Inbound in, String code, String message) {
    countRefusal(code, "remote");
    if (handshakeLogs.computeIfAbsent("remote", c -> new LogThrottle(REFUSAL_LOG_MS)).tryLog()
        >= 0) {
      NodeId dialler = in.handshake.client();
      log.atWarn()
          .addKeyValue("node", self.nodeId())
          .addKeyValue("peer", dialler)
          .addKeyValue("code", Handshake.printable(code))
          .addKeyValue("reason", Handshake.printable(message))
          .addKeyValue("remote", ctx.session.getRemoteSocketAddress())
          .log(
              BAD_PROOF.equals(code) && dialler != null
                  ? "a dialling peer refused this node's proof: " + secretVerdict(dialler)
                  : "a dialling peer refused this node");
    }
    ctx.closeSession(1008, "refused");
  }

  /**
   * Refuses a dialling peer: counts, logs (throttled per code: the dialler retries), tells it why,
   * and closes the stream.
   */
  private void refuseInbound(WsContext ctx, Inbound in, String code, String message) {
    countRefusal(code, "local");
    if (handshakeLogs.computeIfAbsent(code, c -> new LogThrottle(REFUSAL_LOG_MS)).tryLog() >= 0) {
      NodeId dialler = in.handshake.client();
      log.atWarn()
          .addKeyValue("node", self.nodeId())
          .addKeyValue("peer", dialler)
          .addKeyValue("code", code)
          .addKeyValue("remote", ctx.session.getRemoteSocketAddress())
          .log(
              "peer handshake refused: {}{}",
              message,
              BAD_PROOF.equals(code) && dialler != null ? ": " + secretVerdict(dialler) : "");
    }
    ctx.send(ByteBuffer.wrap(codec.encode(Handshake.refusedFrame(code, message))));
    ctx.closeSession(1008, code);
  }

  /**
   * Says, as far as this node can tell, which side of a secret mismatch holds the odd secret (issue
   * 12, item 11): neither side can know whose secret is the cluster's, but a node whose secret
   * other peers accept is not the odd one, and a node that no peer accepts yet may be.
   */
  private String secretVerdict(NodeId other) {
    List<String> accepting = new ArrayList<>();
    for (Outbound peer : outbound.values()) {
      if (!peer.peer.equals(other) && peer.state == State.CONNECTED) {
        accepting.add(peer.peer.value());
      }
    }
    for (Inbound in : inbound.values()) {
      NodeId peer = in.peer;
      if (peer != null && !peer.equals(other) && !accepting.contains(peer.value())) {
        accepting.add(peer.value());
      }
    }
    if (!accepting.isEmpty()) {
      return "node "
          + other
          + " holds a different cluster secret from this node's, which node(s) "
          + String.join(", ", accepting)
          + " accept: fix node "
          + other
          + "'s --cluster-secret";
    }
    return "this node's cluster secret differs from node "
        + other
        + "'s, and no other peer has accepted it yet: if the other members accept each other,"
        + " this node's --cluster-secret is the one to fix";
  }

  private static @Nullable URI advertised(Inbound in) {
    String url = in.advertisedUrl;
    if (url.isEmpty()) {
      return null;
    }
    try {
      URI uri = new URI(url);
      return ("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
              && uri.getRawAuthority() != null
          ? uri
          : null;
    } catch (java.net.URISyntaxException e) {
      return null;
    }
  }

  /**
   * Checks a newly authenticated stream against the streams already open from the same node id: a
   * live one from another incarnation means two processes share the id (refused); silent ones, or
   * ones of the same incarnation, are older streams of this peer and are closed.
   *
   * @return the refusal message, or {@code null} to accept
   */
  private @Nullable String duplicateOf(Inbound fresh, NodeId peer) {
    long now = System.currentTimeMillis();
    for (Inbound other : inbound.values()) {
      if (other == fresh || !peer.equals(other.peer)) {
        continue;
      }
      boolean live = now - other.lastFrameMs < liveStreamWindowMs;
      if (live && !other.incarnation.equals(fresh.incarnation)) {
        return "node id "
            + peer
            + " is already connected from "
            + other.ctx.session.getRemoteSocketAddress()
            + " by another process: two live nodes share the id";
      }
      other.ctx.closeSession(1000, "replaced by a newer stream");
    }
    return null;
  }

  private void refuseFrame(WsContext ctx, Inbound in, FrameException e) {
    countFrameError(e.reason());
    log.atWarn()
        .addKeyValue("peer", in.peer == null ? "unauthenticated" : in.peer.value())
        .addKeyValue("reason", e.reason())
        .log("closing a peer stream after a bad frame: {}", e.getMessage());
    ctx.closeSession(1002, e.reason().name().toLowerCase(java.util.Locale.ROOT));
  }
}
