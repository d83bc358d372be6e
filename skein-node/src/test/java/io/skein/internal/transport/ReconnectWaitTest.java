package io.skein.internal.transport;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** When a dialler tries again (issue 12, item 10). */
@Timeout(30)
class ReconnectWaitTest {
  /** Jitter that always draws the shortest delay, so failures pile up without waiting. */
  private static final RandomGenerator SHORTEST = () -> 0L;

  @Test
  void aPeerThatDialsInEndsTheWaitAtOnce() throws Exception {
    ReconnectWait wait = new ReconnectWait(60_000, 60_000, 60_000, new SplittableRandom(1));
    CompletableFuture<Boolean> woken = CompletableFuture.supplyAsync(() -> awaitQuietly(wait));
    TimeUnit.MILLISECONDS.sleep(50);
    wait.wake();
    assertThat(woken.get(10, TimeUnit.SECONDS)).as("ended by the wake-up, not the delay").isTrue();
  }

  @Test
  void aWakeUpForgetsTheFailuresSoTheNextRetryIsSoonToo() throws Exception {
    ReconnectWait wait = new ReconnectWait(100, 5_000, 5_000, SHORTEST);
    for (int i = 0; i < 10; i++) {
      assertThat(wait.await(false)).isFalse();
    }
    assertThat(wait.failedCeilingMs()).as("a long outage reached the cap").isEqualTo(5_000);
    wait.wake();
    assertThat(wait.await(false)).isTrue();
    assertThat(wait.failedCeilingMs())
        .as("a dial that fails right after the wake-up waits the base delay again")
        .isEqualTo(100);
  }

  @Test
  void aWakeUpDuringADialEndsTheNextWaitButNotOneAfterAConnection() throws Exception {
    ReconnectWait wait = new ReconnectWait(100, 100, 100, SHORTEST);
    wait.wake();
    wait.wake();
    assertThat(wait.await(false)).isTrue();
    assertThat(wait.await(false)).as("two wake-ups are one").isFalse();
    wait.wake();
    wait.connected();
    assertThat(wait.await(false)).as("a wake-up from before the connection is stale").isFalse();
  }

  @Test
  void aRefusalBacksOffToItsOwnLongerCap() throws Exception {
    ReconnectWait wait = new ReconnectWait(100, 200, 5_000, SHORTEST);
    for (int i = 0; i < 10; i++) {
      assertThat(wait.await(true)).isFalse();
    }
    assertThat(wait.failedCeilingMs())
        .as("refusals leave the failure backoff alone")
        .isEqualTo(100);
  }

  @Test
  void inLeaderModeTheCapIsTheElectionInterval() {
    assertThat(PeerTransport.Options.reconnectCapMs(true, 500)).isEqualTo(500);
    assertThat(PeerTransport.Options.reconnectCapMs(true, 50))
        .as("never below the first delay")
        .isEqualTo(PeerTransport.Options.BACKOFF_BASE_MS);
    assertThat(PeerTransport.Options.reconnectCapMs(true, 60_000))
        .isEqualTo(PeerTransport.Options.BACKOFF_CAP_MS);
    assertThat(PeerTransport.Options.reconnectCapMs(false, 500))
        .isEqualTo(PeerTransport.Options.BACKOFF_CAP_MS);
    PeerTransport.Options options =
        PeerTransport.Options.defaults(1_000, PeerTransport.Options.reconnectCapMs(true, 500));
    assertThat(options.backoffCapMs()).isEqualTo(500);
    assertThat(options.refusedBackoffCapMs()).isEqualTo(PeerTransport.Options.BACKOFF_CAP_MS);
  }

  private static boolean awaitQuietly(ReconnectWait wait) {
    try {
      return wait.await(false);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
