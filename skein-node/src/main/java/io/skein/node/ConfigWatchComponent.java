package io.skein.node;

import io.skein.core.config.Config;
import io.skein.core.config.ConfigChange;
import io.skein.internal.runtime.Component;
import io.skein.internal.runtime.ReloadOrchestrator;
import io.skein.internal.runtime.Threads;
import io.skein.node.config.Settings;
import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
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
 *       the file itself misses.
 *   <li>Events are <b>debounced</b> for {@value #DEBOUNCE_MS} ms: an editor's save is several
 *       events, and a half-written file must not be read.
 *   <li>It compares <b>content hashes</b>, not timestamps: a touch, or a swap to identical content,
 *       reloads nothing; content it already tried (a broken file) is not tried again until it
 *       changes.
 *   <li>It also <b>polls</b> every {@code reload.check-interval}: filesystem events can be lost
 *       (network filesystems, queue overflow).
 *   <li>While the reload breaker is open, a changed file is retried once the backoff ends.
 * </ul>
 *
 * <p>Reload: {@code reload.watch} and {@code reload.check-interval} rebuild the scheduler and the
 * watch live; the other {@code reload.*} settings are read by the orchestrator at each reload.
 */
final class ConfigWatchComponent implements Component {
  private static final Logger log = LoggerFactory.getLogger(ConfigWatchComponent.class);

  /** How long the watcher waits after the last filesystem event before it reads the files. */
  static final long DEBOUNCE_MS = 250;

  private final List<Path> files;
  private final Supplier<ReloadOrchestrator> reloads;
  private final Object lock = new Object();
  private @Nullable ScheduledExecutorService scheduler;
  private @Nullable WatchService watcher;
  private @Nullable Thread watchThread;
  private @Nullable ScheduledFuture<?> pending;
  private String attemptedHash = "";
  private volatile long checks;

  /**
   * Creates the watcher.
   *
   * @param files the config file and the env file, those that are set
   * @param reloads the orchestrator to ask
   */
  ConfigWatchComponent(List<Path> files, Supplier<ReloadOrchestrator> reloads) {
    this.files = List.copyOf(files);
    this.reloads = reloads;
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
      attemptedHash = hash();
      begin(config);
    }
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
      watcher = service;
      watchThread = Threads.platform("skein-config-watch", true, () -> watch(service));
    } catch (IOException e) {
      log.warn("cannot watch the config directory ({}); polling every {} ms", e, pollMs);
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
        key.reset();
        debounce();
      }
    } catch (InterruptedException | ClosedWatchServiceException e) {
      // Stopped or rebuilt by a reload.
    }
  }

  private void debounce() {
    synchronized (lock) {
      ScheduledExecutorService timer = scheduler;
      if (timer == null) {
        return;
      }
      ScheduledFuture<?> waiting = pending;
      if (waiting != null) {
        waiting.cancel(false);
      }
      pending = timer.schedule(this::check, DEBOUNCE_MS, TimeUnit.MILLISECONDS);
    }
  }

  /** Reads the files; asks for a reload if their content is not what was last tried. */
  private void check() {
    checks++;
    String hash;
    synchronized (lock) {
      hash = hash();
      if (hash.equals(attemptedHash)) {
        return;
      }
    }
    try {
      reloads.get().request("file", Set.of());
      synchronized (lock) {
        attemptedHash = hash;
      }
    } catch (ReloadOrchestrator.BackingOffException e) {
      retryAfter(e.retryAfter().toMillis() + DEBOUNCE_MS);
    } catch (RuntimeException e) {
      log.warn("cannot ask for a reload after a config file change: {}", e.toString());
      retryAfter(DEBOUNCE_MS * 4);
    }
  }

  private void retryAfter(long delayMs) {
    synchronized (lock) {
      ScheduledExecutorService timer = scheduler;
      if (timer != null) {
        pending = timer.schedule(this::check, delayMs, TimeUnit.MILLISECONDS);
      }
    }
  }

  /** Returns how many times the files were checked (tests: the poll keeps running). */
  long checks() {
    return checks;
  }

  /** The hash of every watched file's content; a missing file hashes as "missing". */
  private String hash() {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      for (Path file : files) {
        byte[] content;
        try {
          content = Files.readAllBytes(file);
        } catch (IOException e) {
          content = ("missing:" + file).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }
        digest.update(content);
        digest.update((byte) 0);
      }
      return HexFormat.of().formatHex(digest.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  @Override
  public void stop() {
    synchronized (lock) {
      end();
    }
  }
}
