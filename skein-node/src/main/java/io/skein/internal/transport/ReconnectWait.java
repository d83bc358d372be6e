package io.skein.internal.transport;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;

/**
 * When a dialler tries a peer again (issue 12, item 10): after a failed connection, a capped
 * exponential backoff with full jitter; after a refused handshake, the same with a longer cap (a
 * refusal is a configuration problem, which knocking often does not cure); and at once when the
 * peer dials in, which proves it reachable. A wake-up also forgets the failures, so a dial that
 * fails right after it waits the base delay again, not the cap a long outage had reached.
 *
 * <p>Thread-safe in this way: one dialler thread calls {@link #connected} and {@link #await}; any
 * thread may call {@link #wake}.
 */
final class ReconnectWait {
  private final Backoff failed;
  private final Backoff refused;
  private final Semaphore wakeups = new Semaphore(0);

  /**
   * Creates the wait of one dialler.
   *
   * @param baseMs the first delay ceiling, in ms
   * @param capMs the largest delay ceiling after failed connections, in ms
   * @param refusedCapMs the largest delay ceiling after refused handshakes, in ms
   * @param random the jitter source
   */
  ReconnectWait(long baseMs, long capMs, long refusedCapMs, RandomGenerator random) {
    this.failed = new Backoff(baseMs, capMs, random);
    this.refused = new Backoff(baseMs, Math.max(capMs, refusedCapMs), random);
  }

  /** The stream is up: forget the failures and any wake-up that came while dialling. */
  void connected() {
    failed.reset();
    refused.reset();
    wakeups.drainPermits();
  }

  /**
   * Waits before the next attempt: the backoff's delay, or less if {@link #wake} is called.
   *
   * @param afterRefusal whether the last attempt was refused (rather than failed)
   * @return whether a wake-up ended the wait early
   * @throws InterruptedException if the dialler is stopped
   */
  boolean await(boolean afterRefusal) throws InterruptedException {
    long delayMs = (afterRefusal ? refused : failed).nextDelayMs();
    if (!wakeups.tryAcquire(delayMs, TimeUnit.MILLISECONDS)) {
      return false;
    }
    wakeups.drainPermits();
    failed.reset();
    refused.reset();
    return true;
  }

  /** The peer is reachable (it dialled in): end the current wait, or the next one, at once. */
  void wake() {
    if (wakeups.availablePermits() == 0) {
      wakeups.release();
    }
  }

  /** Returns the ceiling of the next delay after a failed connection (for tests). */
  long failedCeilingMs() {
    return failed.ceilingMs();
  }
}
