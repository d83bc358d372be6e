package io.skein.core.replica;

import io.skein.core.hlc.Hlc;
import io.skein.core.oplog.OplogEntry;
import java.util.List;

/**
 * The work a {@link ReplicaCore} hands to its shell after a round of {@link ReplicaCore#step}
 * calls, after etcd raft's {@code Ready}. The shell must do it in this order:
 *
 * <ol>
 *   <li>Persist {@link #entriesToPersist()} and {@link #hlcHighWater()} in <em>one</em>
 *       transaction: append each entry to the oplog and apply it to the documents by
 *       last-write-wins. Then report the result with {@link Input.Persisted} or {@link
 *       Input.PersistFailed}.
 *   <li>Deliver {@link #replies()} to the waiting clients. A reply never refers to an entry that is
 *       in the same {@code Ready}'s {@code entriesToPersist}: it comes only after {@code
 *       Persisted}.
 * </ol>
 *
 * <p>Replication adds outbound peer messages here; they too may only be sent after the entries they
 * carry are persisted.
 *
 * @param entriesToPersist new local entries, in sequence order, possibly empty
 * @param hlcHighWater the clock's last timestamp, to persist with the entries so that the clock
 *     never goes backwards across a restart
 * @param replies answers to proposals, possibly empty
 */
public record Ready(List<OplogEntry> entriesToPersist, Hlc hlcHighWater, List<Reply> replies) {
  /** Copies the lists. */
  public Ready {
    entriesToPersist = List.copyOf(entriesToPersist);
    replies = List.copyOf(replies);
  }

  /** Returns whether there is nothing to do. */
  public boolean isEmpty() {
    return entriesToPersist.isEmpty() && replies.isEmpty();
  }
}
