package io.skein.core.replica;

import io.skein.core.model.DocumentKey;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The sender's side of a snapshot transfer, shared by dynamo mode ({@link ReplicaCore}) and leader
 * mode ({@code LeaderCore}): documents go in key order, one chunk at a time, each after the
 * receiver confirmed the one before. The cursor is the last key the receiver confirmed applied; a
 * chunk in flight that is not confirmed within the resend interval is read and sent again from the
 * same key, so a lost chunk, a cut connection or a restart of the receiver (which reports where it
 * is) resumes where the receiver is, and nothing is applied out of order.
 *
 * <p>Not thread-safe: its core owns it.
 */
public final class ChunkCursor {
  private @Nullable DocumentKey ackedKey;
  private boolean inFlight;
  private long sentMs;
  private long lastAckMs;

  /**
   * Starts a cursor.
   *
   * @param ackedKey where the receiver already is ({@code null}: from the first key)
   * @param nowMs the time, in ms
   */
  public ChunkCursor(@Nullable DocumentKey ackedKey, long nowMs) {
    this.ackedKey = ackedKey;
    this.lastAckMs = nowMs;
  }

  /** Returns the key the next chunk starts after ({@code null}: the first key). */
  public @Nullable DocumentKey ackedKey() {
    return ackedKey;
  }

  /** Returns whether a chunk is out and not yet confirmed. */
  public boolean inFlight() {
    return inFlight;
  }

  /** Returns when the receiver last confirmed a chunk (or when the transfer started). */
  public long lastAckMs() {
    return lastAckMs;
  }

  /** Records that the chunk after {@link #ackedKey()} is being read and sent. */
  public void sent(long nowMs) {
    inFlight = true;
    sentMs = nowMs;
  }

  /** Returns whether a chunk in flight went unconfirmed for {@code resendMs}: send it again. */
  public boolean stale(long nowMs, long resendMs) {
    return inFlight && nowMs - sentMs >= resendMs;
  }

  /**
   * The receiver reports it applied everything up to {@code lastKey}.
   *
   * @return whether that moves the cursor (the next chunk is due); if not, the report repeats the
   *     last one and the chunk in flight stays as it is
   */
  public boolean confirmed(@Nullable DocumentKey lastKey, long nowMs) {
    lastAckMs = nowMs;
    if (Objects.equals(lastKey, ackedKey)) {
      return false;
    }
    ackedKey = lastKey;
    inFlight = false;
    return true;
  }
}
