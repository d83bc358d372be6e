package io.skein.node;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * SIGHUP asks a running node to reload its configuration, as daemons do. Uses {@code
 * sun.misc.Signal} (module jdk.unsupported, present on every JDK); where the signal cannot be
 * handled (Windows), the node logs that and runs without it.
 */
final class Signals {
  private static final Logger log = LoggerFactory.getLogger(Signals.class);

  private Signals() {}

  /** Runs {@code action} on each SIGHUP, on the JVM's signal thread: it must return quickly. */
  static void onHangup(Runnable action) {
    try {
      Signal.handle(new Signal("HUP"), signal -> action.run());
    } catch (IllegalArgumentException | UnsupportedOperationException e) {
      log.info(
          "SIGHUP is not available here ({}); reload with datastore-node reload", e.toString());
    }
  }
}
