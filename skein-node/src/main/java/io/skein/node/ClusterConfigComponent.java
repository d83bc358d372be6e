package io.skein.node;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.Skein;
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
 *   <li>One follower thread waits on the store's change notifier. When anything was committed, it
 *       waits {@value #SETTLE_MS} ms more, re-reads the whole collection (at most {@value
 *       #DOCUMENTS_MAX} small documents, through the documents index) and puts it in the {@link
 *       ClusterLayer}; only if that changed does it ask for a reload, and it waits for the reload
 *       before it looks again. A burst of changes costs one read and one reload, and a busy node
 *       pays one small read per {@value #SETTLE_MS} ms: it never scans the oplog for them.
 *   <li>At start the follower reads the collection before anything else and applies what it holds
 *       in a reload; {@link #awaitFirstApply} lets the node wait for it, so a node that starts has
 *       the cluster-wide values in force when {@code start} returns.
 *   <li>A value the layer left out is logged and published as {@code config.cluster.rejected}. A
 *       cluster reload that a component fails (or whose plan is refused for a cluster value) has
 *       its cluster values marked failed in the layer and is tried once more without them, so the
 *       node keeps its other values; a failed value stays out until it changes.
 *   <li>The store is looked up at every turn, so a store reopened by a {@code node.id} change (D9)
 *       is read at once and followed from then on.
 * </ul>
 *
 * <p>Owns no settings; its reload is a no-op.
 */
final class ClusterConfigComponent implements Component {
  private static final Logger log = LoggerFactory.getLogger(ClusterConfigComponent.class);

  /** The most documents the follower reads; the layer takes at most {@code VALUES_MAX}. */
  static final int DOCUMENTS_MAX = 256;

  /** How long the follower lets changes settle before it reads, and so its most frequent read. */
  static final long SETTLE_MS = 100;

  /** How long one wait on the notifier lasts before the follower checks that it should go on. */
  private static final long WAIT_MS = 1_000;

  /** The longest the follower waits for one reload. */
  private static final long RELOAD_WAIT_MS = 10 * 60_000;

  private final StoreComponent store;
  private final ClusterLayer layer;
  private final Supplier<ReloadOrchestrator> reloads;
  private final CountDownLatch firstApply = new CountDownLatch(1);
  private volatile boolean stopped;
  private @Nullable Thread follower;
  private boolean retryPending; // the follower thread's own

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
  public synchronized void start(Config config) {
    follower = Threads.platform("skein-cluster-config", true, this::run);
  }

  @Override
  public void reload(List<ConfigChange> changes, Config config) {
    // Owns no settings.
  }

  @Override
  public void stop() {
    stopped = true;
    Thread running;
    synchronized (this) {
      running = follower;
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

  private void run() {
    @Nullable Skein followed = null;
    long seen = -1;
    try {
      while (!stopped) {
        Skein skein;
        try {
          skein = store.skein();
          if (skein == followed && !retryPending) {
            skein.awaitChangeAfter(seen, WAIT_MS);
            if (skein.parseToken("now") == seen) {
              continue;
            }
            Thread.sleep(SETTLE_MS);
          }
          seen = skein.parseToken("now");
        } catch (RuntimeException e) {
          // The store is closed or being reopened (D9): look again shortly.
          Thread.sleep(SETTLE_MS);
          continue;
        }
        followed = skein;
        long retryMs = apply(skein);
        firstApply.countDown();
        if (retryMs > 0) {
          Thread.sleep(retryMs);
        }
      }
    } catch (InterruptedException e) {
      // stopping
    } catch (RuntimeException e) {
      log.error("the cluster-wide settings follower stopped", e);
    } finally {
      firstApply.countDown();
    }
  }

  /** Reads the collection and reloads if it changed; returns a retry delay, or 0. */
  private long apply(Skein skein) throws InterruptedException {
    Map<String, JsonNode> values;
    try {
      values = ClusterLayer.read(skein, DOCUMENTS_MAX);
    } catch (RuntimeException e) {
      log.warn("cannot read {}: {}", Skein.SYSTEM_CONFIG, e.getMessage());
      retryPending = true;
      return 1_000;
    }
    boolean changed = layer.replace(values);
    if (!changed && !retryPending) {
      return 0;
    }
    retryPending = false;
    try {
      return reloadAndBlame();
    } catch (RuntimeException e) {
      // A reload that did not finish, or failed in a way no branch above expects: keep following
      // and try again, rather than let this thread end and the node stop following for good.
      log.warn("a cluster-wide settings reload failed; retrying in 5 s: {}", e.toString());
      retryPending = true;
      return 5_000;
    }
  }

  private long reloadAndBlame() throws InterruptedException {
    try {
      ReloadOrchestrator.Result result = reload();
      if (result.outcome() == ReloadOrchestrator.Outcome.FAILED
          || result.outcome() == ReloadOrchestrator.Outcome.ROLLED_BACK) {
        Set<String> blamed =
            blame(
                result,
                layer.taken(),
                result.failedModule() == null
                    ? Set.of()
                    : reloads.get().sectionsOf(String.valueOf(result.failedModule())));
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
    } catch (ReloadOrchestrator.ShuttingDownException e) {
      return 0;
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
   * component failed, the cluster values it changed in the sections that component owns (a value of
   * another component that merely rolled back with it is not to blame).
   *
   * @param failedSections the sections of the component that failed; empty to blame every cluster
   *     value the reload changed
   */
  static Set<String> blame(
      ReloadOrchestrator.Result result, Set<String> cluster, Set<String> failedSections) {
    Set<String> blamed = new LinkedHashSet<>();
    if (!result.violations().isEmpty()) {
      for (Violation violation : result.violations()) {
        if (cluster.contains(violation.path())) {
          blamed.add(violation.path());
        }
      }
    } else if (result.failedModule() != null) {
      for (ConfigChange change : result.changes()) {
        if (cluster.contains(change.fieldPath())
            && (failedSections.isEmpty() || failedSections.contains(change.setting().section()))) {
          blamed.add(change.fieldPath());
        }
      }
    }
    return blamed;
  }
}
