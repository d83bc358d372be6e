package io.skein.core.replica;

import io.skein.core.hlc.Hlc;
import io.skein.core.oplog.OplogEntry;
import java.util.List;
import org.jspecify.annotations.Nullable;

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
 * <li>Send {@link #messages()}. They may refer to the entries just persisted (an ack, a push of new
 *     local commits), which is why they come after step 1.
 * <li>Do {@link #loads()}: read each range from storage and hand it back with {@link Input.Loaded}.
 * <li>Apply {@link #snapshotApplies()} (each in one transaction) and report each with {@link
 *     Input.SnapshotApplied}; do {@link #snapshotReads()} and hand each back with {@link
 *     Input.SnapshotLoaded}; do {@link #prunes()} and report each with {@link Input.Pruned}.
 * </ol>
 *
 * @param entriesToPersist new entries (local ones in sequence order, and accepted remote ones),
 *     possibly empty
 * @param hlcHighWater the clock's last timestamp, to persist with the entries so that the clock
 *     never goes backwards across a restart
 * @param replies answers to proposals, possibly empty
 * @param messages peer messages to send after persisting, possibly empty
 * @param loads storage reads to do for peers, possibly empty
 * @param snapshotApplies snapshot chunks received, to apply
 * @param snapshotReads snapshot chunks to read for peers
 * @param prunes retention work (at most one)
 */
public record Ready(
    List<OplogEntry> entriesToPersist,
    Hlc hlcHighWater,
    List<Reply> replies,
    List<Envelope> messages,
    List<Load> loads,
    List<SnapshotApply> snapshotApplies,
    List<SnapshotRead> snapshotReads,
    List<Prune> prunes,
    @Nullable GatewayTerm gatewayTerm,
    @Nullable GatewayStatus gatewayChanged) {
  /** Copies the lists. */
  public Ready {
    snapshotApplies = List.copyOf(snapshotApplies);
    snapshotReads = List.copyOf(snapshotReads);
    prunes = List.copyOf(prunes);
    entriesToPersist = List.copyOf(entriesToPersist);
    replies = List.copyOf(replies);
    messages = List.copyOf(messages);
    loads = List.copyOf(loads);
  }

  /** Returns whether there is nothing to do. */
  public boolean isEmpty() {
    return entriesToPersist.isEmpty()
        && replies.isEmpty()
        && messages.isEmpty()
        && loads.isEmpty()
        && snapshotApplies.isEmpty()
        && snapshotReads.isEmpty()
        && prunes.isEmpty()
        && gatewayTerm == null
        && gatewayChanged == null;
  }
}
