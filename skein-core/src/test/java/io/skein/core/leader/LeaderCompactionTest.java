package io.skein.core.leader;

import static org.assertj.core.api.Assertions.assertThat;

import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.replica.Mutation;
import io.skein.core.replica.WriteConcern;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The core's compaction rule and the two ends of a snapshot transfer, one step at a time (the
 * leader simulator runs them under faults on every seed).
 */
class LeaderCompactionTest {
  private static final NodeId ONE = NodeId.of("1");
  private static final NodeId TWO = NodeId.of("2");
  private static final CollectionName C = CollectionName.user("c");

  private long now = 1_000;

  /** A single-member primary with an entry threshold of 8. */
  private LeaderCore soloPrimary(List<LeaderReady> readies) {
    LeaderCore core =
        LeaderCore.restore(
            new LeaderConfig(ONE, List.of(ONE), 500, 100, 2_000, 64, 1_024, 1_000, true)
                .withCompaction(8, Long.MAX_VALUE),
            LeaderRecovered.EMPTY);
    for (int i = 0; i < 100 && core.role() != LeaderCore.Role.PRIMARY; i++) {
      now += 10;
      core.step(new LeaderInput.Tick(now));
      shell(core, readies);
    }
    assertThat(core.role()).isEqualTo(LeaderCore.Role.PRIMARY);
    return core;
  }

  /** Persists and applies everything at once, as a shell with an instant disk does. */
  private static void shell(LeaderCore core, List<LeaderReady> readies) {
    while (core.hasReady()) {
      LeaderReady ready = core.ready();
      readies.add(ready);
      core.step(new LeaderInput.Persisted(core.lastIndex()));
      core.step(new LeaderInput.Applied(core.commitIndex()));
    }
  }

  private void write(LeaderCore core, int n, List<LeaderReady> readies) {
    for (int i = 0; i < n; i++) {
      core.step(
          new LeaderInput.Propose(
              i, List.of(Mutation.put(C, DocumentId.of("d" + i), "{}")), WriteConcern.MAJORITY));
      shell(core, readies);
    }
  }

  @Test
  void theAppliedLogPastTheThresholdIsCompactedKeepingItsNewestQuarter() {
    List<LeaderReady> readies = new ArrayList<>();
    LeaderCore core = soloPrimary(readies);
    write(core, 7, readies);
    assertThat(readies)
        .as("8 applied entries (the epoch marker and 7 writes): not past the threshold")
        .allMatch(r -> r.compaction() == null);
    write(core, 1, readies);
    List<LeaderReady.Compaction> compactions =
        readies.stream().map(LeaderReady::compaction).filter(c -> c != null).toList();
    assertThat(compactions).hasSize(1);
    LeaderReady.Compaction first = compactions.get(0);
    assertThat(first.index())
        .as("the applied index (9) less a quarter of the threshold (2)")
        .isEqualTo(core.appliedIndex() - 2);
    assertThat(first.epoch()).isEqualTo(core.epoch());
    assertThat(core.snapshotIndex()).isEqualTo(first.index());
    assertThat(core.epochAt(first.index())).isEqualTo(first.epoch());
  }

  private static OplogEntry entry(long index, String id, long epoch) {
    return OplogEntry.createInLog(
        ONE,
        index,
        new io.skein.core.hlc.Hlc(1_000 + index * 100, 0),
        io.skein.core.oplog.Operation.PUT,
        C,
        DocumentId.of(id),
        "{}",
        epoch,
        index);
  }

  @Test
  void aFollowerBehindTheCompactedLogGetsChunksThenTheLog() {
    // Node 2's core, following node 1: a snapshot arrives in two chunks.
    LeaderCore follower =
        LeaderCore.restore(
            new LeaderConfig(TWO, List.of(ONE, TWO), 500, 100, 2_000, 64, 1_024, 1_000, false),
            LeaderRecovered.EMPTY);
    follower.step(new LeaderInput.Tick(now));
    DocumentKey a = new DocumentKey(C, DocumentId.of("a"));
    OplogEntry docA = entry(3, "a", 1);
    follower.step(
        new LeaderInput.Received(
            new LeaderMessage.Snapshot(ONE, 2, 40, 1, 0, null, null, List.of(docA), a, false)));
    LeaderReady first = follower.ready();
    assertThat(java.util.Objects.requireNonNull(first.install()).done()).isFalse();
    follower.step(new LeaderInput.SnapshotInstalled(true));
    LeaderReady reply = follower.ready();
    assertThat(reply.messages())
        .extracting(o -> o.message())
        .containsExactly(new LeaderMessage.SnapshotReply(TWO, 2, 40, a, false));

    // A chunk out of order is not installed: the follower says where it is.
    follower.step(
        new LeaderInput.Received(
            new LeaderMessage.Snapshot(
                ONE,
                2,
                40,
                1,
                0,
                null,
                new DocumentKey(C, DocumentId.of("z")),
                List.of(),
                null,
                true)));
    LeaderReady refused = follower.ready();
    assertThat(refused.install()).isNull();
    assertThat(refused.messages())
        .extracting(o -> o.message())
        .containsExactly(new LeaderMessage.SnapshotReply(TWO, 2, 40, a, false));

    // The last chunk: the log (empty here) now ends at the snapshot, and appends continue after.
    follower.step(
        new LeaderInput.Received(
            new LeaderMessage.Snapshot(ONE, 2, 40, 1, 0, null, a, List.of(), a, true)));
    LeaderReady last = follower.ready();
    LeaderReady.SnapshotInstall install = java.util.Objects.requireNonNull(last.install());
    assertThat(install.done()).isTrue();
    assertThat(install.keepLog()).isFalse();
    follower.step(new LeaderInput.SnapshotInstalled(true));
    assertThat(follower.lastIndex()).isEqualTo(40);
    assertThat(follower.commitIndex()).isEqualTo(40);
    assertThat(follower.snapshotIndex()).isEqualTo(40);
    assertThat(follower.epochAt(40)).isEqualTo(1);
    assertThat(follower.ready().messages())
        .extracting(o -> o.message())
        .containsExactly(new LeaderMessage.SnapshotReply(TWO, 2, 40, a, true));
    OplogEntry next = entry(41, "b", 2);
    follower.step(
        new LeaderInput.Received(new LeaderMessage.Append(ONE, 2, 40, 1, List.of(next), 41, 1)));
    LeaderReady appended = follower.ready();
    assertThat(appended.entriesToAppend()).containsExactly(next);
    assertThat(appended.messages())
        .extracting(o -> o.message())
        .containsExactly(new LeaderMessage.AppendReply(TWO, 2, true, 41, 1));

    // A primary whose entry where the snapshot stands differs (a snapshot this cluster never
    // committed: a backup seeded into one member only) is refused, not followed silently.
    follower.step(
        new LeaderInput.Received(
            new LeaderMessage.Append(
                ONE, 3, 38, 1, List.of(entry(39, "x", 1), entry(40, "y", 3)), 40, 2)));
    LeaderReady refusedAppend = follower.ready();
    assertThat(refusedAppend.entriesToAppend()).isEmpty();
    assertThat(refusedAppend.messages())
        .extracting(o -> o.message())
        .containsExactly(new LeaderMessage.AppendReply(TWO, 3, false, 38, 2));
  }
}
