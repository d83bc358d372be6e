package io.skein.node;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.Skein;
import io.skein.Subscription;
import io.skein.core.config.Config;
import io.skein.core.config.ConfigChange;
import io.skein.core.config.Violation;
import io.skein.internal.events.EventBus;
import io.skein.internal.events.NodeEvents;
import io.skein.internal.runtime.Component;
import io.skein.internal.runtime.ReloadOrchestrator;
import io.skein.internal.runtime.Threads;
import io.skein.node.config.ClusterLayer;
import io.skein.node.config.ConfigSources;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the replicated {@code _system_config} collection (cluster-wide settings, ARCHITECTURE.md
 * A60-A64) and reloads the node through the same {@link ReloadOrchestrator} as a file change does,
 * with trigger {@code cluster}.
 *
 * <p>Design notes:
 *
 * <ul>
 *   <li>The collection's change feed only <b>wakes</b> one follower thread; the thread re-reads the
 *       whole collection (at most {@value #DOCUMENTS_MAX} documents) and puts it in the {@link
 *       ClusterLayer}. A burst of changes costs one read and one reload, and a change that arrives
 *       during a reload costs one more: the follower waits for each reload before it looks again.
 *   <li>At start the follower reads the collection before anything else and applies what it holds
 *       in a reload; {@link #awaitFirstApply} lets the node wait for it, so a node that starts has
 *       the cluster-wide values in force when {@code start} returns.
 *   <li>A value the layer left out is logged and published as {@code config.cluster.rejected}. A
 *       cluster reload that a component fails (or whose plan is refused for a cluster value) has
 *       its cluster values marked failed in the layer and is tried once more without them, so the
 *       node keeps its other values; a failed value stays out until it changes.
 *   <li>A reopened store (a {@code node.id} change, D9) is followed again from its own collection.
 * </ul>
 *
 * <p>Owns no settings; its reload is a no-op.
 */
final class ClusterConfigComponent implements Component {
  private static final Logger log = LoggerFactory.getLogger(ClusterConfigComponent.class);

  /** The most documents the follower reads; the layer takes at most {@code VALUES_MAX}. */
  static final int DOCUMENTS_MAX = 256;

  /** How long a wake-up waits for more changes before the follower reads. */
  private static final long SETTLE_MS = 50;

  /** The longest the follower waits for one reload. */
  private static final long RELOAD_WAIT_MS = 10 * 60_000;

  private final StoreComponent store;
  private final ClusterLayer layer;
  private final Supplier<ReloadOrchestrator> reloads;
  private final CountDownLatch firstApply = new CountDownLatch(1);
  private final Object lock = new Object();
  private boolean dirty = true;
  private boolean stopped;
  private boolean started;
  private boolean retryPending; // the follower thread's own
  private @Nullable Subscription subscription;
  private @Nullable Thread follower;

  ClusterConfigComponent(
      StoreComponent store,
      ConfigSources sources,
      Supplier<ReloadOrchestrator> reloads,
      EventBus bus,
      NodeEvents events) {
    this.store = store;
    this.layer = sources.cluster();
    this.reloads = reloads;
    layer.onRejected(
        rejection -> {
          JsonNode shown =
              ClusterLayer.shown(sources.catalog(), rejection.path(), rejection.value());
          log.atWarn()
              .addKeyValue("path", rejection.path())
              .addKeyValue("value", shown.toString())
              .log("cluster-wide value left out on this node: {}", rejection.reason());
          bus.publish(events.clusterValueRejected(rejection.path(), shown, rejection.reason()));
        });
    store.onOpen(
        skein -> {
          synchronized (lock) {
            if (started && !stopped) {
              follow(skein);
            }
          }
        });
  }

  @Override
  public String name() {
    return "cluster-config";
  }

  @Override
  public Set<String> sections() {
    return Set.of();
  }

  @Override
  public void start(Config config) {
    synchronized (lock) {
      started = true;
      follow(store.skein());
      follower = Threads.platform("skein-cluster-config", true, this::run);
    }
  }

  @Override
  public void reload(List<ConfigChange> changes, Config config) {
    // Owns no settings.
  }

  @Override
  public void stop() {
    Thread running;
    synchronized (lock) {
      stopped = true;
      closeSubscription();
      running = follower;
      lock.notifyAll();
    }
    firstApply.countDown();
    if (running != null) {
      running.interrupt();
      try {
        running.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Waits until the values the collection held at start were applied (or left out). */
  boolean awaitFirstApply(long timeoutMs) throws InterruptedException {
    return firstApply.await(timeoutMs, TimeUnit.MILLISECONDS);
  }

  /** Subscribes to a store's collection from now, and reads it once more. Under the lock. */
  private void follow(Skein skein) {
    closeSubscription();
    try {
      subscription = skein.systemConfig().subscribe("now", change -> wake());
    } catch (RuntimeException e) {
      log.warn("cannot follow {}: {}", Skein.SYSTEM_CONFIG, e.getMessage());
    }
    dirty = true;
    lock.notifyAll();
  }

  private void closeSubscription() {
    Subscription open = subscription;
    subscription = null;
    if (open != null) {
      open.close();
    }
  }

  private void wake() {
    synchronized (lock) {
      dirty = true;
      lock.notifyAll();
    }
  }

  private void run() {
    try {
      while (true) {
        synchronized (lock) {
          while (!dirty && !stopped) {
            lock.wait();
          }
          if (stopped) {
            return;
          }
        }
        Thread.sleep(SETTLE_MS);
        synchronized (lock) {
          dirty = false;
        }
        long retryMs = apply();
        firstApply.countDown();
        if (retryMs > 0) {
          Thread.sleep(retryMs);
          wake();
        }
      }
    } catch (InterruptedException e) {
      // stopping
    } catch (RuntimeException e) {
      log.error("the cluster-wide settings follower stopped", e);
    }
  }

  /** Reads the collection and reloads if it changed; returns a retry delay, or 0. */
  private long apply() throws InterruptedException {
    Map<String, JsonNode> values;
    try {
      values = ClusterLayer.read(store.skein(), DOCUMENTS_MAX);
    } catch (RuntimeException e) {
      log.warn("cannot read {}: {}", Skein.SYSTEM_CONFIG, e.getMessage());
      return 1_000;
    }
    boolean changed = layer.replace(values);
    if (!changed && !retryPending) {
      return 0;
    }
    retryPending = false;
    try {
      ReloadOrchestrator.Result result = reload();
      if (result.outcome() == ReloadOrchestrator.Outcome.FAILED
          || result.outcome() == ReloadOrchestrator.Outcome.ROLLED_BACK) {
        Set<String> blamed = blame(result, layer.taken());
        if (!blamed.isEmpty()) {
          layer.failed(blamed, String.valueOf(result.error()));
          reload(); // the node's other values, without the ones it could not apply
        }
      }
      return 0;
    } catch (ReloadOrchestrator.BackingOffException e) {
      retryPending = true; // not applied yet: reload when the breaker lets us through
      return Math.max(100, e.retryAfter().toMillis());
    } catch (ReloadOrchestrator.QueueFullException e) {
      retryPending = true;
      return 1_000;
    }
  }

  private ReloadOrchestrator.Result reload() throws InterruptedException {
    try {
      return reloads.get().request("cluster", Set.of()).get(RELOAD_WAIT_MS, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new IllegalStateException(e.getCause());
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("a cluster reload did not finish", e);
    }
  }

  /**
   * The cluster values a failed reload is blamed on: those its refused plan names, or, when a
   * component failed, every cluster value it changed.
   */
  static Set<String> blame(ReloadOrchestrator.Result result, Set<String> cluster) {
    Set<String> blamed = new LinkedHashSet<>();
    if (!result.violations().isEmpty()) {
      for (Violation violation : result.violations()) {
        if (cluster.contains(violation.path())) {
          blamed.add(violation.path());
        }
      }
    } else if (result.failedModule() != null) {
      for (ConfigChange change : result.changes()) {
        if (cluster.contains(change.fieldPath())) {
          blamed.add(change.fieldPath());
        }
      }
    }
    return blamed;
  }
}
