package io.skein;

/**
 * Receives changes from a subscription, one at a time, in feed order, on the subscription's own
 * thread. It may block (that slows only this subscription: the feed is read from the oplog, never
 * buffered). An exception it throws is logged, and delivery continues with the next change.
 */
@FunctionalInterface
public interface ChangeListener {
  /** Called once for each change. */
  void onChange(ChangeEvent change);
}
