package io.skein.internal.runtime;

import io.skein.core.config.Config;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns a node's components in order: starts them first to last, stops them last to first, and holds
 * the configuration snapshot they run (swapped atomically by the {@link ReloadOrchestrator} when a
 * reload succeeds).
 *
 * <p>Thread-safe: start and close are serialized on this object; the snapshot is an atomic
 * reference.
 */
public final class NodeRuntime implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeRuntime.class);

  private final List<Component> components;
  private final AtomicReference<Config> current;
  private final List<Component> started = new ArrayList<>();
  private boolean closed;

  /**
   * Creates a runtime; nothing starts until {@link #start()}.
   *
   * @param components in start order
   * @param initial the configuration they start with
   */
  public NodeRuntime(List<Component> components, Config initial) {
    this.components = List.copyOf(components);
    this.current = new AtomicReference<>(initial);
  }

  /**
   * Starts every component in order.
   *
   * @throws RuntimeException what the failing component threw (wrapped if checked), after the
   *     components already started were stopped in reverse order
   */
  public synchronized void start() {
    for (Component component : components) {
      try {
        component.start(current.get());
        started.add(component);
        log.debug("component {} started", component.name());
      } catch (Exception e) {
        stopStarted();
        if (e instanceof RuntimeException runtime) {
          throw runtime;
        }
        throw new IllegalStateException(
            "component " + component.name() + " failed to start: " + e.getMessage(), e);
      }
    }
  }

  /** Returns the configuration the components run now. */
  public Config config() {
    return current.get();
  }

  /** Returns the snapshot reference the orchestrator swaps. */
  AtomicReference<Config> snapshot() {
    return current;
  }

  /** Returns the components in start order. */
  public List<Component> components() {
    return components;
  }

  /** Stops the started components in reverse order. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    stopStarted();
  }

  private void stopStarted() {
    for (int i = started.size() - 1; i >= 0; i--) {
      Component component = started.get(i);
      try {
        component.stop();
      } catch (RuntimeException e) {
        log.error("component {} failed to stop cleanly", component.name(), e);
      }
    }
    started.clear();
  }
}
