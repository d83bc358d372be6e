package io.skein.core.replica;

import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** How a proposed write ended. */
public sealed interface Outcome {
  /**
   * The write met its concern.
   *
   * @param entries the entries it produced, one per mutation, in order
   */
  record Committed(List<OplogEntry> entries) implements Outcome {
    /** Copies the list. */
    public Committed {
      entries = List.copyOf(entries);
    }
  }

  /**
   * The write was refused before anything was persisted: it did not happen.
   *
   * @param code a snake_case error code, such as {@code overloaded} or {@code invalid_request}
   * @param message what and why
   */
  record Rejected(String code, String message) implements Outcome {}

  /**
   * Persisting failed: the transaction rolled back, so the write did not happen.
   *
   * @param message what went wrong
   */
  record PersistFailed(String message) implements Outcome {}

  /**
   * The write is durable here but its concern was not met within the replication timeout (D2). It
   * may still replicate: its outcome is unknown to the client.
   *
   * @param message what was and was not confirmed
   */
  record TimedOut(String message) implements Outcome {}

  /**
   * Leader mode: this node is not the primary; nothing was written.
   *
   * @param leader the primary this node knows of, or {@code null} during an election
   * @param message what and why
   */
  record NotPrimary(@Nullable NodeId leader, String message) implements Outcome {}
}
