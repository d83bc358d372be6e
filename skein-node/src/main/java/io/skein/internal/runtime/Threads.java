package io.skein.internal.runtime;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place Skein creates threads (ArchitectureTest enforces it). Every thread is named after
 * its job, and an exception that escapes one is logged instead of vanishing on stderr.
 *
 * <p>Platform threads run the write loops, anything that calls JDBC and everything replication
 * depends on (the loops, the peer streams): a JDBC call pins a virtual thread to its carrier, so
 * client work on virtual threads could otherwise starve heartbeats and elections. Virtual threads
 * are for work that only waits and that nothing replicated depends on.
 */
public final class Threads {
  private static final Logger log = LoggerFactory.getLogger(Threads.class);
  private static final AtomicInteger started = new AtomicInteger();

  private Threads() {}

  /** Starts a platform thread; {@code daemon} threads do not keep the JVM alive. */
  public static Thread platform(String name, boolean daemon, Runnable task) {
    started.incrementAndGet();
    return Thread.ofPlatform()
        .name(name)
        .daemon(daemon)
        .uncaughtExceptionHandler(Threads::uncaught)
        .start(task);
  }

  /** Starts a virtual thread. */
  public static Thread virtual(String name, Runnable task) {
    started.incrementAndGet();
    return Thread.ofVirtual().name(name).uncaughtExceptionHandler(Threads::uncaught).start(task);
  }

  /** Creates an unstarted platform thread, for a JVM shutdown hook. */
  public static Thread shutdownHook(String name, Runnable task) {
    return Thread.ofPlatform()
        .name(name)
        .uncaughtExceptionHandler(Threads::uncaught)
        .unstarted(task);
  }

  /**
   * Creates a single-threaded scheduler on a daemon platform thread. The owner shuts it down; a
   * component that owns one builds a new one when it reloads, so that no schedule dies with a
   * reload (the Spring {@code @RefreshScope} bug).
   */
  public static ScheduledExecutorService scheduler(String name) {
    return Executors.newSingleThreadScheduledExecutor(
        task -> {
          started.incrementAndGet();
          return Thread.ofPlatform()
              .name(name)
              .daemon(true)
              .uncaughtExceptionHandler(Threads::uncaught)
              .unstarted(task);
        });
  }

  /**
   * Creates a fixed pool of {@code size} daemon platform threads named {@code name-1..size}: for
   * blocking work (JDBC) that must not run on a virtual thread, whose carrier it would pin.
   */
  public static java.util.concurrent.ExecutorService platformPool(String name, int size) {
    return platformPool(name, size, Integer.MAX_VALUE);
  }

  /**
   * Creates a fixed pool of {@code size} daemon platform threads named {@code name-1..size} with at
   * most {@code queueMax} tasks waiting: one more is refused with a {@link
   * java.util.concurrent.RejectedExecutionException}, so that a flood of callers costs each of them
   * a refusal, never a growing backlog.
   */
  public static java.util.concurrent.ExecutorService platformPool(
      String name, int size, int queueMax) {
    AtomicInteger number = new AtomicInteger();
    return new java.util.concurrent.ThreadPoolExecutor(
        size,
        size,
        0L,
        java.util.concurrent.TimeUnit.MILLISECONDS,
        queueMax == Integer.MAX_VALUE
            ? new java.util.concurrent.LinkedBlockingQueue<>()
            : new java.util.concurrent.ArrayBlockingQueue<>(queueMax),
        task -> {
          started.incrementAndGet();
          return Thread.ofPlatform()
              .name(name + "-" + number.incrementAndGet())
              .daemon(true)
              .uncaughtExceptionHandler(Threads::uncaught)
              .unstarted(task);
        });
  }

  /** Returns how many threads this class has started since the JVM began (for tests). */
  public static int startedCount() {
    return started.get();
  }

  private static void uncaught(Thread thread, Throwable e) {
    log.error("thread {} died of an uncaught exception", thread.getName(), e);
  }
}
