package io.skein;

import io.skein.core.model.CollectionName;
import io.skein.internal.storage.Change;
import io.skein.internal.storage.ChangePage;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A subscription that reads the committed oplog from its position on its own virtual thread, and
 * waits on the {@link io.skein.internal.engine.ChangeNotifier} when it has caught up. It buffers
 * nothing: a slow listener only falls behind, it never grows memory.
 */
final class ChangeSubscription implements Subscription {
  private static final Logger log = LoggerFactory.getLogger(ChangeSubscription.class);
  private static final int PAGE_SIZE = 1_000;
  private static final long WAIT_MS = 1_000;

  private final Skein skein;
  private final @Nullable CollectionName collection;
  private final ChangeListener listener;
  private volatile long position;
  private volatile boolean closed;
  private @Nullable Thread thread;

  ChangeSubscription(
      Skein skein, long position, @Nullable CollectionName collection, ChangeListener listener) {
    this.skein = skein;
    this.position = position;
    this.collection = collection;
    this.listener = listener;
  }

  void start() {
    thread = io.skein.internal.runtime.Threads.virtual("skein-subscription", this::run);
  }

  private void run() {
    try {
      while (!closed) {
        ChangePage page = skein.store().changes(position, collection, PAGE_SIZE);
        for (Change change : page.changes()) {
          if (closed) {
            return;
          }
          deliver(change);
        }
        position = page.lastLsn();
        if (page.changes().isEmpty()) {
          skein.notifier().awaitAfter(position, WAIT_MS);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (SkeinException e) {
      if (!closed) {
        log.warn("change subscription stopped: {}", e.getMessage());
      }
    }
  }

  private void deliver(Change change) {
    if (!change.won()) {
      position = change.lsn();
      return;
    }
    try {
      listener.onChange(Skein.event(change));
    } catch (RuntimeException e) {
      log.warn("change listener threw on change {}; continuing", change.lsn(), e);
    }
    position = change.lsn();
  }

  @Override
  public String position() {
    return Long.toString(position);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    skein.unsubscribe(this);
    Thread running = thread;
    if (running != null && running != Thread.currentThread()) {
      running.interrupt();
      try {
        running.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
