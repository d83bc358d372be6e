package io.skein.internal.runtime;

import io.skein.core.config.Config;
import io.skein.core.config.ConfigChange;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * One part of a running node (the store and its loop, the HTTP listener, the peer transport,
 * discovery, the file watcher...) with a lifecycle owned by the {@link NodeRuntime}: built, then
 * started in order, reloaded in place, stopped in reverse order. It is also the seed's {@code
 * Reloadable}: {@link #canReload()}, {@link #reloadTimeout()} and {@link #reload}.
 *
 * <p>Contract:
 *
 * <ul>
 *   <li>{@link #start} and {@link #stop} are called once each, from the runtime's thread; {@link
 *       #stop} is bounded in time and never throws.
 *   <li>{@link #reload} gets only the changes of the sections this component owns ({@link
 *       #sections()}), and the whole new configuration. It runs on a thread of its own under a
 *       timeout: on timeout that thread is interrupted and abandoned, and the reload fails.
 *   <li>A reload must be reversible: calling it again with {@link ConfigChange#inverse()} changes
 *       and the previous configuration restores the previous behaviour. That is how a failed reload
 *       is rolled back. It must be safe to call even if the forward reload stopped half-way.
 *   <li>A component that owns a scheduler rebuilds it when a change affects it; no schedule may
 *       stop because of a reload.
 * </ul>
 */
public interface Component {
  /** Returns the module name used in events, metrics and {@code reload.enabled-modules}. */
  String name();

  /** Returns the configuration sections whose changes this component applies. */
  Set<String> sections();

  /**
   * Starts the component with the node's initial configuration.
   *
   * @throws Exception if it cannot start; the runtime stops the components started before it
   */
  void start(Config config) throws Exception;

  /** Stops the component, releasing what it holds. Idempotent, bounded, never throws. */
  void stop();

  /** Returns whether this component can apply changes live (the seed's {@code CanReload}). */
  default boolean canReload() {
    return true;
  }

  /**
   * Returns the longest this component's reload may take; the runtime uses the shorter of this and
   * {@code reload.reload-timeout}.
   */
  default Duration reloadTimeout() {
    return Duration.ofMinutes(10);
  }

  /**
   * Applies changes live (the seed's {@code Reload}).
   *
   * @param changes the changes of this component's sections, in catalog order
   * @param config the whole configuration the node will run once every component has reloaded
   * @throws Exception if the changes cannot be applied; the reload fails and is rolled back
   */
  void reload(List<ConfigChange> changes, Config config) throws Exception;
}
