package io.skein.node.http;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Per-client request rate limits of the HTTP API ({@code limits.rate-limit}, {@code
 * limits.rate-limit-burst}): one token bucket per client address, from Bucket4j. A client may make
 * {@code burst} requests at once, then {@code rate} a second. The buckets live in a map bounded by
 * {@code limits.rate-limit-clients}, least recently seen evicted first, so a scan from many
 * addresses costs bounded memory.
 *
 * <p>Why not resilience4j's {@code RateLimiter}: it is a fixed-window permit limiter (a number of
 * calls per refresh period) without a separate burst, and one limiter per client would need an
 * unbounded registry. A token bucket with rate and burst is the usual contract of an API limit.
 *
 * <p>Thread-safe. A new configuration starts every client with a full bucket.
 */
final class ClientRateLimiter {
  /**
   * The limits.
   *
   * @param ratePerSecond requests per second per client; 0 turns the limit off
   * @param burst requests a client may make at once
   * @param clientsMax client addresses remembered
   */
  record Limits(double ratePerSecond, int burst, int clientsMax) {
    boolean enabled() {
      return ratePerSecond > 0;
    }
  }

  /** The limits and the buckets made under them, swapped together so they always agree. */
  private record State(Limits limits, Map<String, Bucket> buckets) {}

  private volatile State state;

  ClientRateLimiter(Limits limits) {
    this.state = new State(limits, newMap(limits.clientsMax()));
  }

  /** Applies new limits; unchanged limits keep the buckets. */
  synchronized void configure(Limits next) {
    if (!next.equals(state.limits())) {
      state = new State(next, newMap(next.clientsMax()));
    }
  }

  /** Returns the limits in force. */
  Limits limits() {
    return state.limits();
  }

  /**
   * Takes one request from a client's bucket.
   *
   * @return {@code null} if the request may go on, else how long until it would be allowed
   */
  @Nullable Duration tryAcquire(String client) {
    State current = state;
    if (!current.limits().enabled()) {
      return null;
    }
    Map<String, Bucket> map = current.buckets();
    Bucket bucket;
    synchronized (map) {
      bucket = map.computeIfAbsent(client, c -> bucket(current.limits()));
    }
    ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(1);
    return probe.isConsumed() ? null : Duration.ofNanos(probe.getNanosToWaitForRefill());
  }

  private static Bucket bucket(Limits limits) {
    // Tokens per 1,000 s keeps fractional rates (0.5/s) exact; the refill is greedy, so tokens
    // come back continuously, not once per period.
    long tokens = Math.max(1, Math.round(limits.ratePerSecond() * 1_000));
    return Bucket.builder()
        .addLimit(
            limit -> limit.capacity(limits.burst()).refillGreedy(tokens, Duration.ofSeconds(1_000)))
        .build();
  }

  private static Map<String, Bucket> newMap(int clientsMax) {
    return new LinkedHashMap<>(256, 0.75f, true) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<String, Bucket> eldest) {
        return size() > clientsMax;
      }
    };
  }
}
