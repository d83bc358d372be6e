package io.skein.internal.site;

import com.google.protobuf.InvalidProtocolBufferException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.skein.Skein;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import io.skein.internal.oauth2.JwtVerifier;
import io.skein.internal.transport.WireMessages;
import io.skein.internal.transport.proto.SiteSyncRequest;
import io.skein.internal.transport.proto.SiteSyncResponse;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receiving end of site-to-site sync: {@code POST /v1/sync} on a node that serves as a cloud
 * peer (docs/operating/cloud.md). Only with {@code oauth2.issuer} set; every request carries a
 * bearer JWT the {@link JwtVerifier} accepts (signature by the issuer's JWKS, issuer, audience,
 * expiry, the required scope), else it is answered 401 or 403 and nothing is read from its body.
 *
 * <p>A request's entries are checked (names, checksums, no system collection), those of this
 * cluster's own members dropped (they come over its peer streams), the rest persisted, and the
 * answer carries this node's durable vector and the entries the gateway lacks, bounded. Thread-
 * safe: requests run on the HTTP server's threads; the write goes through the event loop.
 */
public final class SiteSyncServer {
  private static final Logger log = LoggerFactory.getLogger(SiteSyncServer.class);

  /** How many recent gateways {@link #clients()} remembers. */
  static final int CLIENTS_MAX = 16;

  /** How long a request waits for its entries to be persisted. */
  static final long INGEST_WAIT_MS = 10_000;

  /**
   * A gateway that synced with this node.
   *
   * @param nodeId the node id it gave
   * @param clientId the OAuth2 client its token was issued to (or its subject)
   * @param lastSync when its last request was answered
   */
  public record Client(String nodeId, String clientId, Instant lastSync) {}

  /**
   * A refusal.
   *
   * @param status the HTTP status
   * @param code the error code
   * @param message what was wrong (never the token)
   */
  public record Refusal(int status, String code, String message) {}

  /** The outcome of a request: an answer body, or a refusal. */
  public sealed interface Outcome {}

  /** The answer, a serialized {@link SiteSyncResponse}. */
  public record Answer(byte[] body) implements Outcome {}

  /** A refused request; nothing was written. */
  public record Refused(Refusal refusal) implements Outcome {}

  private final @Nullable JwtVerifier verifier;
  private final Clock clock;
  private final Map<String, Client> clients = new LinkedHashMap<>();
  private final java.util.concurrent.atomic.AtomicLong lastRefusalLogMs =
      new java.util.concurrent.atomic.AtomicLong(Long.MIN_VALUE / 2);
  private final java.util.concurrent.atomic.AtomicLong refusalsNotLogged =
      new java.util.concurrent.atomic.AtomicLong();
  private final Counter requests;
  private final Counter refused;
  private final Counter entriesTaken;

  /**
   * Creates the endpoint's logic.
   *
   * @param verifier the token check, or {@code null} when this node takes no site sync
   */
  public SiteSyncServer(@Nullable JwtVerifier verifier, MeterRegistry meters, Clock clock) {
    this.verifier = verifier;
    this.clock = clock;
    this.requests =
        Counter.builder("skein.site.sync.requests")
            .tag("outcome", "ok")
            .description("POST /v1/sync requests from gateways of other sites")
            .register(meters);
    this.refused =
        Counter.builder("skein.site.sync.requests")
            .tag("outcome", "refused")
            .description("POST /v1/sync requests from gateways of other sites")
            .register(meters);
    this.entriesTaken =
        Counter.builder("skein.site.sync.entries.received")
            .description("Entries taken from gateways of other sites")
            .register(meters);
  }

  /** Whether this node takes site sync at all ({@code oauth2.issuer} set). */
  public boolean enabled() {
    return verifier != null;
  }

  /** Returns the gateways that synced with this node lately, most recent first. */
  public List<Client> clients() {
    synchronized (clients) {
      List<Client> list = new ArrayList<>(clients.values());
      list.sort(Comparator.comparing(Client::lastSync).reversed());
      return list;
    }
  }

  /**
   * Handles one request.
   *
   * @param authorization the {@code Authorization} header, or {@code null}
   * @param body reads the request body; called only once the token is accepted
   * @param remote the caller's address, for the log
   */
  public Outcome handle(
      Skein skein,
      @Nullable String authorization,
      java.util.function.Supplier<byte[]> body,
      String remote) {
    JwtVerifier check = verifier;
    if (check == null) {
      return refuse(
          404,
          "site_sync_disabled",
          "this node takes no site-to-site sync: start it with --oauth2-issuer and"
              + " --oauth2-audience",
          remote);
    }
    JwtVerifier.Verification verification = check.verify(authorization);
    String clientId;
    switch (verification) {
      case JwtVerifier.Accepted accepted -> {
        String client = accepted.clientId();
        clientId = client != null ? client : accepted.subject();
      }
      case JwtVerifier.Unauthenticated no -> {
        return refuse(401, "unauthenticated", no.reason(), remote);
      }
      case JwtVerifier.Forbidden no -> {
        return refuse(403, "forbidden", no.reason(), remote);
      }
    }
    if (!skein.multiWriter()) {
      return refuse(
          409,
          "site_sync_unsupported",
          "site-to-site sync needs multi-writer replication (--mode dynamo); this node runs leader"
              + " mode",
          remote);
    }
    SiteSyncRequest request;
    NodeId from;
    Map<NodeId, Long> theirs;
    List<OplogEntry> incoming;
    try {
      request = SiteSyncRequest.parseFrom(body.get());
      if (request.getProtocolVersion() != SiteBatches.PROTOCOL_VERSION) {
        return refuse(
            400,
            "unsupported_version",
            "site sync protocol version "
                + request.getProtocolVersion()
                + " is not supported; this node speaks "
                + SiteBatches.PROTOCOL_VERSION,
            remote);
      }
      if (request.getEntriesCount() > SiteBatches.ENTRIES_MAX) {
        return refuse(
            400,
            "too_many_entries",
            request.getEntriesCount() + " entries; the limit is " + SiteBatches.ENTRIES_MAX,
            remote);
      }
      from = NodeId.of(request.getFrom());
      theirs = WireMessages.vector(request.getVectorList());
      incoming =
          SiteBatches.fromOtherSite(
              SiteBatches.decode(request.getEntriesList()), skein.clusterMembers());
    } catch (InvalidProtocolBufferException e) {
      return refuse(
          400, "bad_request", "the body is not a site sync request: " + e.getMessage(), remote);
    } catch (IllegalArgumentException e) {
      return refuse(400, "bad_request", String.valueOf(e.getMessage()), remote);
    }
    Map<NodeId, Long> mine;
    try {
      mine =
          incoming.isEmpty()
              ? skein.durableVector()
              : skein.ingestFromSite(from, incoming).get(INGEST_WAIT_MS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return refuse(503, "unavailable", "interrupted while writing the entries", remote);
    } catch (TimeoutException e) {
      return refuse(
          503,
          "unavailable",
          "the entries were not written within " + INGEST_WAIT_MS + " ms",
          remote);
    } catch (ExecutionException e) {
      return refuse(503, "unavailable", "writing the entries failed: " + e.getCause(), remote);
    } catch (io.skein.OverloadedException e) {
      return refuse(503, "overloaded", String.valueOf(e.getMessage()), remote);
    }
    SiteBatches.Outgoing out =
        SiteBatches.select(
            skein,
            mine,
            theirs,
            SiteBatches.ENTRIES_MAX,
            SiteBatches.BYTES_MAX,
            java.util.concurrent.ThreadLocalRandom.current().nextInt(1 << 16));
    SiteSyncResponse.Builder answer =
        SiteSyncResponse.newBuilder()
            .setProtocolVersion(SiteBatches.PROTOCOL_VERSION)
            .setFrom(skein.nodeId())
            .addAllVector(WireMessages.vector(mine))
            .setMore(out.more());
    for (OplogEntry entry : out.entries()) {
      answer.addEntries(WireMessages.entry(entry));
    }
    requests.increment();
    entriesTaken.increment(incoming.size());
    remember(new Client(from.value(), clientId, clock.instant()));
    return new Answer(answer.build().toByteArray());
  }

  private void remember(Client client) {
    synchronized (clients) {
      clients.remove(client.nodeId());
      clients.put(client.nodeId(), client);
      while (clients.size() > CLIENTS_MAX) {
        clients.remove(clients.keySet().iterator().next());
      }
    }
  }

  private Outcome refuse(int status, String code, String message, String remote) {
    refused.increment();
    if (status == 401 || status == 403) {
      // At most one line a second: a stranger's flood must not flood the log.
      long now = clock.millis();
      long last = lastRefusalLogMs.get();
      long skipped = refusalsNotLogged.incrementAndGet() - 1;
      if (now - last >= 1_000 && lastRefusalLogMs.compareAndSet(last, now)) {
        refusalsNotLogged.set(0);
        log.atWarn()
            .addKeyValue("status", status)
            .addKeyValue("remote", remote)
            .addKeyValue("refusalsNotLogged", skipped)
            .log("site sync request refused: {}", message);
      }
    }
    return new Refused(new Refusal(status, code, message));
  }
}
