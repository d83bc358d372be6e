package io.skein.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Query admission: a bounded number run, the others wait a bounded time, the bound can move. */
@Timeout(30)
class QueryGateTest {
  @Test
  void atMostTheBoundRunAndOthersWaitABoundedTime() throws Exception {
    QueryGate gate = new QueryGate(1);
    assertThat(gate.acquire(0)).isTrue();
    assertThat(gate.acquire(50)).as("a second query waits 50 ms, then is refused").isFalse();
    CompletableFuture<Boolean> waiting = CompletableFuture.supplyAsync(() -> gate.acquire(20_000));
    Thread.sleep(50);
    assertThat(waiting).isNotDone();
    gate.release();
    assertThat(waiting.get(10, TimeUnit.SECONDS)).isTrue();
    gate.release();
  }

  @Test
  void raisingTheBoundLetsWaitersIn() throws Exception {
    QueryGate gate = new QueryGate(1);
    assertThat(gate.acquire(0)).isTrue();
    CompletableFuture<Boolean> waiting = CompletableFuture.supplyAsync(() -> gate.acquire(20_000));
    Thread.sleep(50);
    gate.max(2);
    assertThat(waiting.get(10, TimeUnit.SECONDS)).isTrue();
    gate.max(1);
    gate.release();
    assertThat(gate.acquire(0))
        .as("2 ran under a bound lowered to 1: none until one ends")
        .isFalse();
    gate.release();
    assertThat(gate.acquire(0)).isTrue();
  }
}
