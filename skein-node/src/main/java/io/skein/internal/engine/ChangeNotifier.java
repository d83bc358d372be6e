package io.skein.internal.engine;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Tells change-feed readers that the oplog grew. Readers hold no buffer of their own: they read the
 * committed oplog from their last position, so a slow reader never makes the node buffer changes
 * for it (the oplog is the buffer).
 */
public final class ChangeNotifier {
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition advanced = lock.newCondition();
  private long lastLsn;

  /** Creates a notifier at the given position. */
  public ChangeNotifier(long lastLsn) {
    this.lastLsn = lastLsn;
  }

  /** Records that changes up to {@code lsn} are committed, and wakes the waiting readers. */
  public void publish(long lsn) {
    lock.lock();
    try {
      if (lsn > lastLsn) {
        lastLsn = lsn;
        advanced.signalAll();
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits until a change after {@code lsn} is committed, or the timeout passes.
   *
   * @return the last committed lsn (equal to {@code lsn} on timeout)
   * @throws InterruptedException if the waiting thread is interrupted
   */
  public long awaitAfter(long lsn, long timeoutMs) throws InterruptedException {
    long remainingNs = TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    lock.lock();
    try {
      while (lastLsn <= lsn && remainingNs > 0) {
        remainingNs = advanced.awaitNanos(remainingNs);
      }
      return lastLsn;
    } finally {
      lock.unlock();
    }
  }

  /** Wakes every waiting reader, for shutdown. */
  public void wakeAll() {
    lock.lock();
    try {
      advanced.signalAll();
    } finally {
      lock.unlock();
    }
  }
}
