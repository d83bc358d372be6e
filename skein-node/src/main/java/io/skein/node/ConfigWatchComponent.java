package io.skein.node;

import io.skein.core.config.Config;
import io.skein.core.config.ConfigChange;
import io.skein.internal.runtime.Component;
import io.skein.internal.runtime.ReloadOrchestrator;
import io.skein.internal.runtime.Threads;
import io.skein.node.config.ConfigFile;
import io.skein.node.config.Settings;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the config file and the env file, and asks for a reload when their content changes (seed
 * 002's file-based auto-reload).
 *
 * <p>Design notes:
 *
 * <ul>
 *   <li>It watches each file's <b>parent directory</b>, not the file: editors and Kubernetes
 *       replace files by rename (a ConfigMap swaps the {@code ..data} symlink), which a watch on
 *       the file itself misses. If the directory itself is replaced, the watch is registered again.
 *   <li>A change must be <b>stable</b>: the content must read the same twice, {@value #DEBOUNCE_MS}
 *       ms apart, with no filesystem event in between. An editor's save is several events, and a
 *       file caught half-written must not be applied.
 *   <li>It compares <b>content hashes</b>, not timestamps: a touch, or a swap to identical content,
 *       reloads nothing; content it already tried (a broken file) is not tried again until it
 *       changes. The first hash is the one of the load the node started with, so an edit made while
 *       the node was starting is not missed.
 *   <li>It also <b>polls</b> every {@code reload.check-interval}: filesystem events can be lost
 *       (network filesystems, queue overflow, a file edited behind a symlink).
 *   <li>Files are read bounded (1 MiB, regular files only) and never under the lock, so a config
 *       path that turns into a FIFO or a hung mount cannot block a shutdown.
 *   <li>While the reload breaker is open, a changed file is retried once the backoff ends.
 * </ul>
 *
 * <p>Reload: {@code reload.watch} and {@code reload.check-interval} rebuild the scheduler and the
 * watch live; the other {@code reload.*} settings are read by the orchestrator at each reload.
 */
final class ConfigWatchComponent implements Component {
  private static final Logger log = LoggerFactory.getLogger(ConfigWatchComponent.class);

  /** How long a changed content must stay the same before it is reloaded. */
  static final long DEBOUNCE_MS = 250;

  private final List<Path> files;
  private final Supplier<ReloadOrchestrator> reloads;
  private final Object lock = new Object();
  private final AtomicLong checks = new AtomicLong();
  private @Nullable ScheduledExecutorService scheduler;
  private @Nullable WatchService watcher;
  private @Nullable Thread watchThread;
  private @Nullable ScheduledFuture<?> pending;
  private String attemptedHash;
  private String candidateHash = "";
  private long candidateSeenNanos;

  /**
   * Creates the watcher.
   *
   * @param files the config file and the env file, those that are set
   * @param startHash the hash ({@link #hash}) of the files the running configuration was read from
   * @param reloads the orchestrator to ask
   */
  ConfigWatchComponent(List<Path> files, String startHash, Supplier<ReloadOrchestrator> reloads) {
    this.files = List.copyOf(files);
    this.attemptedHash = startHash;
    this.reloads = reloads;
  }

  /** The combined content hash of some files, as the watcher compares them. Never throws. */
  static String hash(List<Path> files) {
    StringBuilder combined = new StringBuilder();
    for (Path file : files) {
      combined.append(ConfigFile.contentHash(file)).append(';');
    }
    return combined.toString();
  }

  @Override
  public String name() {
    return "config-watch";
  }

  @Override
  public Set<String> sections() {
    return Set.of("reload");
  }

  @Override
  public void start(Config config) {
    synchronized (lock) {
      begin(config);
    }
    // The file may have changed between the load the node started with and now.
    schedule(0);
  }

  @Override
  public void reload(List<ConfigChange> changes, Config config) {
    synchronized (lock) {
      end();
      begin(config);
    }
  }

  private void begin(Config config) {
    if (files.isEmpty() || !config.get(Settings.RELOAD_WATCH)) {
      return;
    }
    ScheduledExecutorService timer = Threads.scheduler("skein-config-poll");
    long pollMs = config.get(Settings.RELOAD_CHECK_INTERVAL).toMillis();
    timer.scheduleWithFixedDelay(this::check, pollMs, pollMs, TimeUnit.MILLISECONDS);
    scheduler = timer;
    try {
      WatchService service = files.get(0).getFileSystem().newWatchService();
      register(service);
      watcher = service;
      watchThread = Threads.platform("skein-config-watch", true, () -> watch(service));
    } catch (IOException e) {
      log.warn("cannot watch the config directory ({}); polling every {} ms", e, pollMs);
    }
  }

  private void register(WatchService service) throws IOException {
    Set<Path> directories = new LinkedHashSet<>();
    for (Path file : files) {
      directories.add(file.toAbsolutePath().getParent());
    }
    for (Path directory : directories) {
      directory.register(
          service,
          StandardWatchEventKinds.ENTRY_CREATE,
          StandardWatchEventKinds.ENTRY_MODIFY,
          StandardWatchEventKinds.ENTRY_DELETE);
    }
  }

  private void end() {
    ScheduledExecutorService timer = scheduler;
    if (timer != null) {
      timer.shutdownNow();
      scheduler = null;
    }
    WatchService service = watcher;
    if (service != null) {
      try {
        service.close();
      } catch (IOException e) {
        log.debug("closing the config watch failed", e);
      }
      watcher = null;
    }
    Thread thread = watchThread;
    if (thread != null) {
      thread.interrupt();
      watchThread = null;
    }
    pending = null;
  }

  private void watch(WatchService service) {
    try {
      while (true) {
        WatchKey key = service.take();
        key.pollEvents(); // any change in the directory may be ours (renames, symlink swaps)
        if (!key.reset()) {
          // The directory itself went away or was replaced: watch whatever stands there now.
          // Until it exists again, the poll covers it.
          try {
            register(service);
          } catch (IOException e) {
            log.warn("the config directory is gone ({}); polling until it is back", e.toString());
          }
        }
        synchronized (lock) {
          candidateHash = ""; // an event: whatever was read before is not stable
        }
        schedule(DEBOUNCE_MS);
      }
    } catch (InterruptedException | ClosedWatchServiceException e) {
      // Stopped or rebuilt by a reload.
    }
  }

  /** (Re)arms the one pending check {@code delayMs} from now. */
  private void schedule(long delayMs) {
    synchronized (lock) {
      ScheduledExecutorService timer = scheduler;
      if (timer == null) {
        return;
      }
      ScheduledFuture<?> waiting = pending;
      if (waiting != null) {
        waiting.cancel(false);
      }
      pending = timer.schedule(this::check, delayMs, TimeUnit.MILLISECONDS);
    }
  }

  /**
   * Reads the files (outside the lock); asks for a reload once new content has read the same for
   * {@value #DEBOUNCE_MS} ms. Never throws: a scheduled task that throws is silently cancelled.
   */
  private void check() {
    try {
      checks.incrementAndGet();
      String hash = hash(files);
      long now = System.nanoTime();
      synchronized (lock) {
        if (hash.equals(attemptedHash)) {
          candidateHash = "";
          return;
        }
        if (!hash.equals(candidateHash)) {
          candidateHash = hash;
          candidateSeenNanos = now;
        }
        if (now - candidateSeenNanos < TimeUnit.MILLISECONDS.toNanos(DEBOUNCE_MS)) {
          long waitMs = DEBOUNCE_MS - TimeUnit.NANOSECONDS.toMillis(now - candidateSeenNanos);
          ScheduledExecutorService timer = scheduler;
          if (timer != null) {
            pending = timer.schedule(this::check, Math.max(1, waitMs), TimeUnit.MILLISECONDS);
          }
          return;
        }
      }
      request(hash);
    } catch (Throwable e) {
      log.warn("the config file check failed; it runs again at the next poll", e);
    }
  }

  private void request(String hash) {
    try {
      reloads.get().request("file", Set.of());
      synchronized (lock) {
        attemptedHash = hash;
        candidateHash = "";
      }
    } catch (ReloadOrchestrator.BackingOffException e) {
      schedule(e.retryAfter().toMillis() + DEBOUNCE_MS);
    } catch (ReloadOrchestrator.ShuttingDownException e) {
      // Nothing more to do.
    } catch (RuntimeException e) {
      log.warn("cannot ask for a reload after a config file change: {}", e.toString());
      schedule(DEBOUNCE_MS * 4);
    }
  }

  /** Returns how many times the files were checked (tests: the poll keeps running). */
  long checks() {
    return checks.get();
  }

  @Override
  public void stop() {
    synchronized (lock) {
      end();
    }
  }
}
