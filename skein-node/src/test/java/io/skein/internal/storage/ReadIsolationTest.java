package io.skein.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.skein.Durability;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Clients cannot starve the replication loop of reads, and cannot queue reads without bound
 * (reviewer finding: change streams and queries holding every read connection stalled a primary's
 * loop for up to 10 s on each log read).
 */
class ReadIsolationTest {
  private static final NodeId ONE = NodeId.of("1");
  private static final DocumentKey KEY =
      new DocumentKey(CollectionName.user("c"), DocumentId.of("d"));

  @TempDir Path dir;

  @Test
  void aLoopThreadReadsWhileClientsHoldEveryReadConnection() throws Exception {
    try (SqliteStore store =
        SqliteStore.open(dir, ONE, Durability.FSYNC, 1, new SimpleMeterRegistry())) {
      CountDownLatch held = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      // A client read that holds the only pooled connection.
      CompletableFuture<Void> client =
          CompletableFuture.runAsync(
              () ->
                  store.read(
                      c -> {
                        held.countDown();
                        awaitQuietly(release);
                        return Boolean.TRUE;
                      }),
              task -> Thread.ofPlatform().start(task));
      assertThat(held.await(30, TimeUnit.SECONDS)).isTrue();
      try {
        CompletableFuture<Boolean> loop = new CompletableFuture<>();
        Thread.ofPlatform()
            .start(
                () -> {
                  SqliteStore.markLoopThread();
                  try {
                    loop.complete(store.get(KEY).isEmpty());
                  } catch (RuntimeException e) {
                    loop.completeExceptionally(e);
                  }
                });
        // Without its own connection the loop waits 10 s for the pool, then fails "overloaded".
        assertThat(loop.get(60, TimeUnit.SECONDS)).isTrue();
        assertThat(client).isNotDone();
      } finally {
        release.countDown();
      }
      client.get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void readsBeyondTheQueueAreRefusedAsOverloadedAndTheRestComplete() throws Exception {
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    try (SqliteStore store = SqliteStore.open(dir, ONE, Durability.FSYNC, 1, meters)) {
      CountDownLatch held = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      // A virtual thread's read runs on the single read thread, and blocks it.
      Thread blocker =
          Thread.ofVirtual()
              .start(
                  () ->
                      store.read(
                          c -> {
                            held.countDown();
                            awaitQuietly(release);
                            return Boolean.TRUE;
                          }));
      assertThat(held.await(30, TimeUnit.SECONDS)).isTrue();
      List<CompletableFuture<Boolean>> waiting = new ArrayList<>();
      try {
        for (int i = 0; i < SqliteStore.READ_QUEUE_MAX; i++) {
          CompletableFuture<Boolean> read = new CompletableFuture<>();
          Thread.ofVirtual().start(() -> complete(read, store));
          waiting.add(read);
        }
        // Wait until the queue is full: then the next read is refused at once.
        @org.jspecify.annotations.Nullable StorageException refused = null;
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (refused == null && System.nanoTime() < until) {
          CompletableFuture<Boolean> extra = new CompletableFuture<>();
          Thread.ofVirtual().start(() -> complete(extra, store));
          try {
            extra.get(200, TimeUnit.MILLISECONDS);
          } catch (java.util.concurrent.ExecutionException e) {
            refused = (StorageException) e.getCause();
          } catch (java.util.concurrent.TimeoutException e) {
            waiting.add(extra); // queued: the queue was not full yet
          }
        }
        assertThat(refused).as("a read beyond the queue is refused").isNotNull();
        java.util.Objects.requireNonNull(refused);
        assertThat(refused.code()).isEqualTo("overloaded");
        assertThat(refused.getMessage()).contains(SqliteStore.READ_QUEUE_MAX + " reads");
        assertThat(meters.counter("skein.storage.reads.refused").count()).isPositive();
      } finally {
        release.countDown();
      }
      blocker.join(30_000);
      // Every read that was queued completes (the queue held READ_QUEUE_MAX when the refusal
      // came); the others were refused as overloaded, nothing else.
      int completed = 0;
      for (CompletableFuture<Boolean> read : waiting) {
        try {
          assertThat(read.get(60, TimeUnit.SECONDS)).isTrue();
          completed++;
        } catch (java.util.concurrent.ExecutionException e) {
          assertThat(e.getCause())
              .isInstanceOfSatisfying(
                  StorageException.class, x -> assertThat(x.code()).isEqualTo("overloaded"));
        }
      }
      assertThat(completed).isGreaterThanOrEqualTo(SqliteStore.READ_QUEUE_MAX);
    }
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void complete(CompletableFuture<Boolean> read, SqliteStore store) {
    try {
      read.complete(store.get(KEY).isEmpty());
    } catch (RuntimeException e) {
      read.completeExceptionally(e);
    }
  }
}
