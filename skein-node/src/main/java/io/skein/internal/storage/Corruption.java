package io.skein.internal.storage;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Corruption found while the node runs (an oplog entry that fails its checksum): logged at ERROR
 * with its location, counted ({@code skein_storage_corruption_total}), and remembered, so that
 * {@code /health} turns to degraded instead of the node serving on as if nothing happened. {@code
 * datastore-node check} verifies a stopped node's whole file.
 *
 * <p>Thread-safe.
 */
final class Corruption {
  private static final Logger log = LoggerFactory.getLogger(Corruption.class);

  private final Path file;
  private final Counter found;
  private final AtomicReference<@Nullable String> first = new AtomicReference<>();

  Corruption(Path file, MeterRegistry meters) {
    this.file = file;
    this.found =
        Counter.builder("skein.storage.corruption")
            .description("Corrupt records found in the data file (checksum failures)")
            .register(meters);
  }

  /** Records corruption at {@code where}. */
  void found(String where) {
    found.increment();
    boolean firstTime = first.compareAndSet(null, where);
    // Every occurrence is counted; the log says each place once per start, at ERROR.
    if (firstTime || log.isDebugEnabled()) {
      log.atError()
          .addKeyValue("file", file)
          .addKeyValue("where", where)
          .log(
              "data file corruption: {}. The node reports itself degraded; stop it and run"
                  + " datastore-node check --data-dir {}",
              where,
              file.getParent());
    }
  }

  /** Returns the first corruption found, or {@code null}. */
  @Nullable String first() {
    return first.get();
  }
}
