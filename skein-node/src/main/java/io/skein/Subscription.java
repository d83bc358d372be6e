package io.skein;

/** A running change-feed subscription. Closing it stops delivery; it is idempotent. */
public interface Subscription extends AutoCloseable {
  /** Returns the token of the last change delivered (or the starting token). */
  String position();

  /** Stops delivery and waits for the listener's current call to return. */
  @Override
  void close();
}
