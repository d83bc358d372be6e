package io.skein.node;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * SIGHUP asks a running node to reload its configuration, as daemons do. The handler is installed
 * first thing, before the store opens: the JVM's default action for SIGHUP is to exit, and a node
 * takes a while to start. A SIGHUP that arrives before the node can reload is kept and acted on
 * once it can. Uses {@code sun.misc.Signal} (module jdk.unsupported, present on every JDK).
 */
final class Signals {
  private static final AtomicReference<@Nullable Runnable> target = new AtomicReference<>();
  private static final AtomicBoolean pending = new AtomicBoolean();

  /** What went wrong installing the handler, said once logging is set up (it is not yet). */
  private static final AtomicReference<@Nullable String> problem = new AtomicReference<>();

  private Signals() {}

  /**
   * Installs the SIGHUP handler. Where the signal cannot be handled (Windows), or the process was
   * started with SIGHUP ignored ({@code nohup}), it says so and the node runs without it.
   */
  static void install() {
    try {
      SignalHandler previous = Signal.handle(new Signal("HUP"), signal -> hangup());
      if (previous == SignalHandler.SIG_IGN) {
        problem.set(
            "SIGHUP is ignored by this process (started under nohup?), so it cannot trigger a"
                + " reload; use datastore-node reload or POST /admin/reload");
      }
    } catch (IllegalArgumentException | UnsupportedOperationException e) {
      problem.set("SIGHUP is not available here (" + e + "); reload with datastore-node reload");
    }
  }

  /** Sets what a SIGHUP runs (it must return quickly); a SIGHUP kept until now runs at once. */
  static void onHangup(Runnable action) {
    String trouble = problem.getAndSet(null);
    if (trouble != null) {
      LoggerFactory.getLogger(Signals.class).warn(trouble);
    }
    target.set(action);
    if (pending.getAndSet(false)) {
      action.run();
    }
  }

  private static void hangup() {
    Runnable action = target.get();
    if (action == null) {
      pending.set(true); // no logging here: it may not be set up yet
      return;
    }
    action.run();
  }
}
