package io.skein.internal.storage;

/**
 * Admission control for queries: at most {@link #max()} run at once; others wait a bounded time.
 * The bound can change while queries run (a reload): a lower one takes effect as queries finish.
 *
 * <p>Thread-safe; waits on this object's monitor (never held while a query runs).
 */
final class QueryGate {
  private int max;
  private int running;

  QueryGate(int max) {
    this.max = max;
  }

  /** Returns the bound. */
  synchronized int max() {
    return max;
  }

  /** Changes the bound; waiting callers see a higher one at once. */
  synchronized void max(int value) {
    max = value;
    notifyAll();
  }

  /**
   * Takes a slot, waiting up to {@code waitMs}.
   *
   * @return whether a slot was taken (then {@link #release()} must follow)
   */
  synchronized boolean acquire(long waitMs) {
    long deadlineNanos = System.nanoTime() + waitMs * 1_000_000L;
    while (running >= max) {
      long leftNanos = deadlineNanos - System.nanoTime();
      if (leftNanos <= 0) {
        return false;
      }
      try {
        wait(Math.max(1, leftNanos / 1_000_000L));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    running++;
    return true;
  }

  /** Gives a slot back. */
  synchronized void release() {
    running--;
    notifyAll();
  }
}
