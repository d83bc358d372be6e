package io.skein.internal.events;

import io.cloudevents.CloudEvent;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fans node events out to observers. {@link #publish} never blocks and never throws: an embedded
 * observer runs on the publishing thread (it must return quickly; an exception it throws is
 * logged), and a queued subscriber ({@code GET /admin/events}) gets a bounded queue that drops the
 * events it has no room for and counts them. Every event is also logged.
 *
 * <p>Thread-safe.
 */
public final class EventBus {
  private static final Logger log = LoggerFactory.getLogger(EventBus.class);

  private final CopyOnWriteArrayList<Consumer<CloudEvent>> observers = new CopyOnWriteArrayList<>();

  /** Publishes an event to every observer and subscriber, and logs it. */
  public void publish(CloudEvent event) {
    log.atInfo()
        .addKeyValue("type", event.getType())
        .addKeyValue("data", NodeEvents.dataOf(event))
        .log("event");
    for (Consumer<CloudEvent> observer : observers) {
      try {
        observer.accept(event);
      } catch (RuntimeException e) {
        log.warn("an event observer threw on {}; ignored", event.getType(), e);
      }
    }
  }

  /**
   * Adds an observer that runs on the publishing thread.
   *
   * @return what removes it
   */
  public AutoCloseable observe(Consumer<CloudEvent> observer) {
    observers.add(observer);
    return () -> observers.remove(observer);
  }

  /** Adds a subscriber with a queue of {@code capacity} events. Close it to remove it. */
  public Subscriber subscribe(int capacity) {
    Subscriber subscriber = new Subscriber(capacity);
    observers.add(subscriber);
    return subscriber;
  }

  /** A bounded queue of events for one slow reader. */
  public final class Subscriber implements Consumer<CloudEvent>, AutoCloseable {
    private final BlockingQueue<CloudEvent> queue;
    private final AtomicLong dropped = new AtomicLong();

    private Subscriber(int capacity) {
      this.queue = new ArrayBlockingQueue<>(capacity);
    }

    @Override
    public void accept(CloudEvent event) {
      if (!queue.offer(event)) {
        dropped.incrementAndGet();
      }
    }

    /** Returns the next event, waiting up to {@code timeoutMs}, or {@code null}. */
    public @Nullable CloudEvent poll(long timeoutMs) throws InterruptedException {
      return queue.poll(timeoutMs, TimeUnit.MILLISECONDS);
    }

    /** Returns how many events did not fit the queue, and resets the count. */
    public long takeDropped() {
      return dropped.getAndSet(0);
    }

    @Override
    public void close() {
      observers.remove(this);
    }
  }
}
