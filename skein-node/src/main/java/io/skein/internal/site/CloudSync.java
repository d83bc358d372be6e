package io.skein.internal.site;

import com.google.protobuf.InvalidProtocolBufferException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.skein.ClosedException;
import io.skein.RemotePeer;
import io.skein.Skein;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import io.skein.internal.crypto.SealedSecrets;
import io.skein.internal.oauth2.OAuth2Exception;
import io.skein.internal.oauth2.OAuth2TokenSource;
import io.skein.internal.runtime.Threads;
import io.skein.internal.transport.WireMessages;
import io.skein.internal.transport.proto.SiteSyncRequest;
import io.skein.internal.transport.proto.SiteSyncResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's sync with its cloud peers (seeds 000/001, DESIGN.md D1 and "Remote peers and
 * cloud"; docs/operating/cloud.md).
 *
 * <p>Design notes. One daemon thread runs a round every sync interval. A round does nothing unless
 * this node is the gateway (dynamo mode: it won the gateway election and still hears a majority
 * following it); otherwise it closes every session, so a node that stops being gateway, a peer
 * disabled or removed, or a peer whose definition changed, loses its connection within one
 * interval. For each enabled {@code CloudRemote} peer the gateway holds a session: an HTTP client
 * (its connections), an OAuth2 token source (client-credentials grant, token cached until near
 * expiry), and the version vector the peer last answered with.
 *
 * <p>A round is one {@code POST /v1/sync} per peer, request and answer both bounded ({@link
 * SiteBatches#ENTRIES_MAX}, {@link SiteBatches#BYTES_MAX}): the gateway sends its durable vector
 * and the entries the peer lacks by the vector it last answered; the peer takes them, persists
 * them, and answers with its own vector and the entries the gateway lacks. The gateway persists
 * those before it counts the round done, and its cluster's members fetch them from it by
 * anti-entropy. When either side had more than fitted, the next round follows at once (at most
 * {@link #ROUNDS_PER_INTERVAL} in a row).
 *
 * <p>Nothing is lost or taken twice, whatever fails: both sides take an origin's entries only in
 * sequence order and skip what they hold, and each request is computed from the vector the other
 * side last reported durable. A request whose answer is lost is simply sent again; a new gateway
 * starts with no vector, asks first, and goes on from what the peer holds.
 */
public final class CloudSync implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CloudSync.class);

  /** The most rounds in a row with one peer while either side has more to send. */
  static final int ROUNDS_PER_INTERVAL = 20;

  /** The largest answer read from a cloud peer. */
  static final int RESPONSE_BYTES_MAX = 16 << 20;

  private static final Pattern ENV_REFERENCE = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}");

  /**
   * The settings a round reads, fresh every round.
   *
   * @param syncIntervalMs the time between rounds
   * @param scheme {@code https} or {@code http} (loopback or trusted networks only)
   * @param sslContext the client TLS context for https, or {@code null} for the JDK's default
   * @param requestTimeout how long one request (and the token request) may take
   * @param clusterSecret this cluster's secret, which opens sealed client secrets
   */
  public record Options(
      long syncIntervalMs,
      String scheme,
      @Nullable SSLContext sslContext,
      Duration requestTimeout,
      String clusterSecret) {}

  /**
   * One cloud peer's sync, as the gateway sees it.
   *
   * @param nodeId the peer's node id
   * @param address where it is reached
   * @param state {@code connected} (the last round succeeded), {@code connecting} (no round has
   *     succeeded yet) or {@code failing} (the last round failed: see {@code lastError})
   * @param lastSync when a round last succeeded, or {@code null}
   * @param lastError why the last round failed, or {@code null}
   * @param entriesSent entries sent since the session opened
   * @param entriesReceived entries taken since the session opened
   * @param behindHorizon origins the peer lacks entries of that this node's oplog no longer holds
   */
  public record PeerState(
      String nodeId,
      String address,
      String state,
      @Nullable Instant lastSync,
      @Nullable String lastError,
      long entriesSent,
      long entriesReceived,
      List<String> behindHorizon) {}

  private final Supplier<Skein> store;
  private final Supplier<Options> options;
  private final Function<String, @Nullable String> environment;
  private final MeterRegistry meters;
  private final Clock clock;
  private final Map<String, Session> sessions = new ConcurrentHashMap<>();
  private final Counter roundsOk;
  private final Counter roundsFailed;
  private final Counter entriesSent;
  private final Counter entriesReceived;
  private final Thread thread;
  private final Object wake = new Object();
  private volatile boolean closed;

  /**
   * Starts the sync thread.
   *
   * @param store the store in force (it changes when the node id does)
   * @param options the settings, read every round
   * @param environment resolves {@code ${NAME}} references in client secrets
   */
  public CloudSync(
      Supplier<Skein> store,
      Supplier<Options> options,
      Function<String, @Nullable String> environment,
      MeterRegistry meters,
      Clock clock) {
    this.store = store;
    this.options = options;
    this.environment = environment;
    this.meters = meters;
    this.clock = clock;
    this.roundsOk =
        Counter.builder("skein.cloud.sync.rounds")
            .tag("outcome", "ok")
            .description("Gateway sync rounds with cloud peers")
            .register(meters);
    this.roundsFailed =
        Counter.builder("skein.cloud.sync.rounds")
            .tag("outcome", "failed")
            .description("Gateway sync rounds with cloud peers")
            .register(meters);
    this.entriesSent =
        Counter.builder("skein.cloud.entries.sent")
            .description("Entries the gateway sent to cloud peers")
            .register(meters);
    this.entriesReceived =
        Counter.builder("skein.cloud.entries.received")
            .description("Entries the gateway took from cloud peers")
            .register(meters);
    Gauge.builder("skein.cloud.sessions", sessions, Map::size)
        .description("Cloud peers this node holds a sync session with (only the gateway does)")
        .register(meters);
    this.thread = Threads.platform("skein-cloud-sync", true, this::run);
  }

  /** Returns the sessions this node holds now: none unless it is the gateway. */
  public List<PeerState> peers() {
    List<PeerState> states = new ArrayList<>();
    for (Session session : sessions.values()) {
      states.add(session.state());
    }
    states.sort(Comparator.comparing(PeerState::nodeId));
    return states;
  }

  /** Runs a round soon (after a change to the peer list, say). */
  public void wakeUp() {
    synchronized (wake) {
      wake.notifyAll();
    }
  }

  private void run() {
    while (!closed) {
      long interval = 2_000;
      try {
        Options now = options.get();
        interval = now.syncIntervalMs();
        round(now);
      } catch (RuntimeException e) {
        log.warn("a cloud sync round failed; the next one runs in one sync interval", e);
      }
      synchronized (wake) {
        if (closed) {
          break;
        }
        try {
          wake.wait(Math.max(1, interval));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    closeAll("the node is closing");
  }

  private void round(Options now) {
    Skein skein;
    List<RemotePeer> wanted = new ArrayList<>();
    try {
      skein = store.get();
      if (skein.multiWriter() && skein.gateway().isGateway()) {
        for (RemotePeer peer : skein.remotePeers().listPeers()) {
          if (peer.enabled()
              && peer.type() == RemotePeer.Type.CLOUD_REMOTE
              && !peer.nodeId().equals(skein.nodeId())) {
            wanted.add(peer);
          }
        }
      }
    } catch (ClosedException e) {
      closeAll("the store closed");
      return;
    }
    for (Session session : List.copyOf(sessions.values())) {
      RemotePeer still =
          wanted.stream()
              .filter(p -> p.nodeId().equals(session.peer.nodeId()))
              .findFirst()
              .orElse(null);
      if (still == null || !still.equals(session.peer) || !session.scheme.equals(now.scheme())) {
        close(
            session,
            still == null
                ? "this node is not the gateway, or the peer is disabled or removed"
                : "the peer's settings changed");
      }
    }
    for (RemotePeer peer : wanted) {
      if (closed || !stillGateway(skein)) {
        return;
      }
      Session session = sessions.get(peer.nodeId());
      if (session == null) {
        session = new Session(peer, now);
        sessions.put(peer.nodeId(), session);
        log.atInfo()
            .addKeyValue("peer", peer.nodeId())
            .addKeyValue("address", peer.address())
            .log("cloud sync session opened");
      }
      for (int i = 0; i < ROUNDS_PER_INTERVAL && !closed; i++) {
        if (i > 0 && !stillGateway(skein)) {
          break; // deposed mid-burst: the next round closes the sessions
        }
        if (!session.sync(skein, now)) {
          break;
        }
      }
    }
  }

  private static boolean stillGateway(Skein skein) {
    try {
      return skein.gateway().isGateway();
    } catch (ClosedException e) {
      return false;
    }
  }

  private void close(Session session, String why) {
    sessions.remove(session.peer.nodeId(), session);
    session.close();
    log.atInfo()
        .addKeyValue("peer", session.peer.nodeId())
        .addKeyValue("reason", why)
        .log("cloud sync session closed");
  }

  private void closeAll(String why) {
    for (Session session : List.copyOf(sessions.values())) {
      close(session, why);
    }
  }

  /** Stops the thread and closes every session (their connections close at once). */
  @Override
  public void close() {
    closed = true;
    wakeUp();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    closeAll("the node is closing");
  }

  /** Resolves a stored client secret: a sealed value, or a {@code ${NAME}} reference. */
  static char[] resolveSecret(
      RemotePeer peer,
      String stored,
      String clusterSecret,
      Function<String, @Nullable String> environment) {
    if (SealedSecrets.isSealed(stored)) {
      return SealedSecrets.fromClusterSecret(clusterSecret).open(stored).toCharArray();
    }
    Matcher reference = ENV_REFERENCE.matcher(stored);
    if (reference.matches()) {
      String value = environment.apply(reference.group(1));
      if (value == null || value.isEmpty()) {
        throw new IllegalStateException(
            "the environment variable "
                + reference.group(1)
                + " (oauth2.clientSecret of cloud peer "
                + peer.nodeId()
                + ") is not set on this node");
      }
      return value.toCharArray();
    }
    throw new IllegalStateException(
        "oauth2.clientSecret of cloud peer "
            + peer.nodeId()
            + " is neither sealed nor a reference");
  }

  /** One cloud peer's connection and position. Used by the sync thread only (state() aside). */
  private final class Session {
    final RemotePeer peer;
    final String scheme;
    final URI uri;
    final HttpClient http;
    private @Nullable OAuth2TokenSource tokens;
    private @Nullable Map<NodeId, Long> theirs;
    private int rotation;
    private volatile String state = "connecting";
    private volatile @Nullable Instant lastSync;
    private volatile @Nullable String lastError;
    private volatile long sent;
    private volatile long received;
    private volatile List<String> behind = List.of();

    Session(RemotePeer peer, Options options) {
      this.peer = peer;
      this.scheme = options.scheme();
      this.uri = URI.create(options.scheme() + "://" + peer.address() + "/v1/sync");
      HttpClient.Builder builder =
          HttpClient.newBuilder()
              .connectTimeout(options.requestTimeout())
              .followRedirects(HttpClient.Redirect.NEVER)
              .version(HttpClient.Version.HTTP_1_1);
      SSLContext ssl = options.sslContext();
      if (ssl != null) {
        builder.sslContext(ssl);
      }
      this.http = builder.build();
    }

    PeerState state() {
      return new PeerState(
          peer.nodeId(), peer.address(), state, lastSync, lastError, sent, received, behind);
    }

    private OAuth2TokenSource tokens(Options options) {
      OAuth2TokenSource source = tokens;
      if (source == null) {
        RemotePeer.OAuth2 oauth2 = Objects.requireNonNull(peer.oauth2(), "a cloud peer's oauth2");
        String stored = oauth2.clientSecret();
        if (stored == null) {
          throw new IllegalStateException(
              "cloud peer " + peer.nodeId() + " has no oauth2.clientSecret");
        }
        char[] secret = resolveSecret(peer, stored, options.clusterSecret(), environment);
        try {
          source =
              new OAuth2TokenSource(
                  oauth2.authority(),
                  oauth2.clientId(),
                  secret,
                  oauth2.scopes(),
                  clock,
                  options.requestTimeout(),
                  options.requestTimeout(),
                  meters);
        } finally {
          java.util.Arrays.fill(secret, '\0');
        }
        tokens = source;
      }
      return source;
    }

    /**
     * Runs one request and takes its answer.
     *
     * @return whether another round should follow at once (either side had more)
     */
    boolean sync(Skein skein, Options options) {
      try {
        String token = tokens(options).token();
        Map<NodeId, Long> mine = skein.durableVector();
        Map<NodeId, Long> known = theirs;
        SiteBatches.Outgoing out =
            known == null
                ? new SiteBatches.Outgoing(List.of(), true, List.of())
                : SiteBatches.select(
                    skein, mine, known, SiteBatches.ENTRIES_MAX, SiteBatches.BYTES_MAX, rotation++);
        SiteSyncRequest.Builder request =
            SiteSyncRequest.newBuilder()
                .setProtocolVersion(SiteBatches.PROTOCOL_VERSION)
                .setFrom(skein.nodeId())
                .addAllVector(WireMessages.vector(mine));
        for (OplogEntry entry : out.entries()) {
          request.addEntries(WireMessages.entry(entry));
        }
        HttpResponse<InputStream> response =
            http.send(
                HttpRequest.newBuilder(uri)
                    .timeout(options.requestTimeout())
                    .header("Authorization", "Bearer " + token)
                    .header("Content-Type", "application/x-protobuf")
                    .header("Accept", "application/x-protobuf")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(request.build().toByteArray()))
                    .build(),
                HttpResponse.BodyHandlers.ofInputStream());
        byte[] body;
        try (InputStream in = response.body()) {
          body = in.readNBytes(RESPONSE_BYTES_MAX + 1);
        }
        if (response.statusCode() == 401) {
          OAuth2TokenSource source = tokens;
          if (source != null) {
            source.invalidate(); // the next round fetches a fresh one
          }
        }
        if (response.statusCode() != 200) {
          throw new SyncFailure(
              "the cloud peer answered HTTP " + response.statusCode() + ": " + errorText(body));
        }
        if (body.length > RESPONSE_BYTES_MAX) {
          throw new SyncFailure("the cloud peer's answer exceeds " + RESPONSE_BYTES_MAX + " bytes");
        }
        SiteSyncResponse answer = SiteSyncResponse.parseFrom(body);
        Map<NodeId, Long> theirVector = WireMessages.vector(answer.getVectorList());
        List<OplogEntry> incoming =
            SiteBatches.fromOtherSite(
                SiteBatches.decode(answer.getEntriesList()), skein.clusterMembers());
        if (!incoming.isEmpty()) {
          skein
              .ingestFromSite(NodeId.of(peer.nodeId()), incoming)
              .get(options.requestTimeout().toMillis(), TimeUnit.MILLISECONDS);
        }
        boolean first = known == null;
        theirs = theirVector;
        sent += out.entries().size();
        received += incoming.size();
        entriesSent.increment(out.entries().size());
        entriesReceived.increment(incoming.size());
        behind = out.behindHorizon().stream().map(NodeId::value).toList();
        if (!behind.isEmpty() && !"connected".equals(state)) {
          log.atWarn()
              .addKeyValue("peer", peer.nodeId())
              .addKeyValue("origins", behind)
              .log(
                  "the cloud peer lacks entries this node's oplog no longer holds; they cannot be"
                      + " sent (site sync does not send snapshots)");
        }
        if (!"connected".equals(state)) {
          log.atInfo().addKeyValue("peer", peer.nodeId()).log("cloud sync connected");
        }
        state = "connected";
        lastSync = clock.instant();
        lastError = null;
        roundsOk.increment();
        // Again at once only while something moved: a peer that refuses an origin (its clock,
        // say) must not get the same batch twenty times an interval.
        boolean progress = first || !theirVector.equals(known) || !incoming.isEmpty();
        return progress && (first || out.more() || answer.getMore());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        failed("interrupted");
        return false;
      } catch (OAuth2Exception e) {
        tokens = null; // the next round resolves the secret again (it may have been rotated)
        failed("no token from " + authority() + ": " + e.getMessage());
      } catch (IOException e) {
        failed(
            e instanceof InvalidProtocolBufferException
                ? "the cloud peer's answer is not a sync answer: " + e.getMessage()
                : "cannot reach " + peer.address() + ": " + describe(e));
      } catch (SyncFailure | IllegalArgumentException | IllegalStateException e) {
        failed(e.getMessage());
      } catch (ExecutionException | TimeoutException e) {
        failed("taking the cloud peer's entries failed: " + describe(e));
      } catch (ClosedException e) {
        failed("the store closed");
      } catch (RuntimeException e) {
        // A storage error reading the oplog, a full ingest queue: this peer's round fails, the
        // others still run.
        failed(describe(e));
      }
      return false;
    }

    private String authority() {
      RemotePeer.OAuth2 oauth2 = peer.oauth2();
      return oauth2 == null ? "?" : oauth2.authority();
    }

    private void failed(@Nullable String why) {
      String message = why == null ? "unknown error" : why;
      if (!message.equals(lastError)) {
        log.atWarn()
            .addKeyValue("peer", peer.nodeId())
            .addKeyValue("address", peer.address())
            .log("cloud sync failed: {}", message);
      }
      state = "failing";
      lastError = message;
      roundsFailed.increment();
    }

    void close() {
      http.shutdownNow();
      http.close();
    }
  }

  private static String describe(Throwable e) {
    Throwable cause = e;
    while (cause.getCause() != null && cause.getMessage() == null) {
      cause = cause.getCause();
    }
    String message = cause.getMessage();
    return cause.getClass().getSimpleName() + (message == null ? "" : " (" + message + ")");
  }

  /** The error message of a JSON error answer, or the start of the body. */
  private static String errorText(byte[] body) {
    String text =
        new String(body, 0, Math.min(body.length, 512), java.nio.charset.StandardCharsets.UTF_8);
    try {
      var node = io.skein.internal.json.Json.MAPPER.readTree(text);
      var error = node.path("error");
      if (error.isObject()) {
        return error.path("code").asText() + ": " + error.path("message").asText();
      }
    } catch (IOException | RuntimeException e) {
      // not JSON: the start of the body
    }
    return text.replaceAll("\\s+", " ").strip();
  }

  private static final class SyncFailure extends Exception {
    private static final long serialVersionUID = 1L;

    SyncFailure(String message) {
      super(message);
    }
  }
}
