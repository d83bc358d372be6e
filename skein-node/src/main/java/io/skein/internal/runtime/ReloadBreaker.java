package io.skein.internal.runtime;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.core.IntervalFunction;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The reload circuit breaker (seed 002: "prevents reload storms"), on resilience4j's {@link
 * CircuitBreaker}. It opens after {@code failureThreshold} consecutive failed reloads (a count
 * window of that size, all failed), then refuses reloads for a backoff that starts at {@code
 * backoffBase}, doubles with each failed trial, is capped at {@code backoffCap}, and is jittered by
 * "equal jitter" (between half of it and all of it). After the backoff one trial reload is let
 * through: a success closes the breaker, a failure opens it again for the next, longer backoff.
 * {@link #reset()} closes it (the admin API).
 *
 * <p>resilience4j does not expose the time left in the open state, so the interval function is
 * wrapped to remember the backoff it chose and when.
 *
 * <p>Thread-safe.
 */
final class ReloadBreaker {
  private final Clock clock;
  private volatile CircuitBreaker breaker;
  private volatile Settings settings;
  private volatile long openedAtMs;
  private volatile long backoffMs;

  /**
   * The breaker's settings.
   *
   * @param failureThreshold consecutive failures that open it
   * @param backoffBase the first backoff
   * @param backoffCap the longest backoff
   */
  record Settings(int failureThreshold, Duration backoffBase, Duration backoffCap) {}

  ReloadBreaker(Settings settings, Clock clock) {
    this.clock = clock;
    this.settings = settings;
    this.breaker = build(settings);
  }

  private CircuitBreaker build(Settings s) {
    IntervalFunction remembered =
        attempt -> {
          long ms = backoffMs(s, attempt, java.util.concurrent.ThreadLocalRandom.current());
          backoffMs = ms;
          openedAtMs = clock.millis();
          return ms;
        };
    CircuitBreakerConfig config =
        CircuitBreakerConfig.custom()
            .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
            .slidingWindowSize(s.failureThreshold())
            .minimumNumberOfCalls(s.failureThreshold())
            .failureRateThreshold(100)
            .permittedNumberOfCallsInHalfOpenState(1)
            .automaticTransitionFromOpenToHalfOpenEnabled(false)
            .waitIntervalFunctionInOpenState(remembered)
            .recordException(e -> true)
            // A slow reload is not a failed one (reload.reload-timeout decides what is too slow).
            .slowCallRateThreshold(100)
            .slowCallDurationThreshold(Duration.ofDays(365))
            .clock(clock)
            .build();
    return CircuitBreaker.of("reload", config);
  }

  /**
   * The backoff before the {@code attempt}-th trial (1 for the first opening): the base doubled per
   * earlier failed trial, capped, with "equal jitter" (a uniform draw in the upper half), so it
   * never exceeds the cap and never drops below half the un-jittered value.
   */
  static long backoffMs(Settings s, long attempt, java.util.random.RandomGenerator random) {
    long base = Math.max(1, s.backoffBase().toMillis());
    long cap = Math.max(base, s.backoffCap().toMillis());
    long doubled = base << Math.min(30, Math.max(0, attempt - 1));
    long ms = Math.min(cap, doubled);
    return ms - random.nextLong(ms / 2 + 1);
  }

  /** Applies new settings; the breaker starts closed if they differ. */
  void configure(Settings next) {
    if (!next.equals(settings)) {
      settings = next;
      breaker = build(next);
      backoffMs = 0;
    }
  }

  /** Returns whether a reload may run now; if so it must be reported with success or failure. */
  boolean tryAcquire() {
    return breaker.tryAcquirePermission();
  }

  /** Records a successful reload. */
  void success(long durationNanos) {
    breaker.onSuccess(durationNanos, TimeUnit.NANOSECONDS);
  }

  /** Records a failed reload. */
  void failure(long durationNanos, Throwable cause) {
    breaker.onError(durationNanos, TimeUnit.NANOSECONDS, cause);
  }

  /** Returns how long the breaker will still refuse reloads; zero when it lets them through. */
  Duration remaining() {
    if (breaker.getState() != CircuitBreaker.State.OPEN) {
      return Duration.ZERO;
    }
    return Duration.ofMillis(Math.max(0, openedAtMs + backoffMs - clock.millis()));
  }

  /** Returns the breaker's state: {@code closed}, {@code open} or {@code half_open}. */
  String state() {
    return breaker.getState().name().toLowerCase(java.util.Locale.ROOT);
  }

  /** Closes the breaker and forgets past failures. */
  void reset() {
    breaker.reset();
    backoffMs = 0;
  }
}
