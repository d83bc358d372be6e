package io.skein.core.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.skein.core.hlc.Hlc;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReplicaCoreTest {
  private static final CollectionName C = CollectionName.user("c");

  private static Mutation put(String id) {
    return Mutation.put(C, DocumentId.of(id), "{}");
  }

  private static ReplicaCore core(int pendingMax) {
    return ReplicaCore.restore(
        new ReplicaConfig(NodeId.of("1"), 500, pendingMax, 3), RecoveredState.EMPTY);
  }

  @Test
  void proposalsBetweenTwoReadiesShareOneReadyAndReplyOnlyAfterPersisted() {
    ReplicaCore core = core(10);
    core.step(new Input.Tick(1_000));
    core.step(new Input.Propose(1, List.of(put("a")), WriteConcern.ONE));
    core.step(new Input.Propose(2, List.of(put("b"), put("c")), WriteConcern.ONE));
    Ready ready = core.ready();
    assertThat(ready.entriesToPersist())
        .extracting(OplogEntry::sequence)
        .containsExactly(1L, 2L, 3L);
    assertThat(ready.replies()).isEmpty();
    assertThat(ready.hlcHighWater()).isEqualTo(new Hlc(1_000, 2));
    assertThat(core.hasReady()).isFalse();

    core.step(new Input.Persisted(3));
    Ready replies = core.ready();
    assertThat(replies.entriesToPersist()).isEmpty();
    assertThat(replies.replies()).extracting(Reply::requestId).containsExactly(1L, 2L);
    Outcome.Committed second = (Outcome.Committed) replies.replies().get(1).outcome();
    assertThat(second.entries()).extracting(OplogEntry::sequence).containsExactly(2L, 3L);
  }

  private static OplogEntry remote(String origin, long sequence, String id) {
    return OplogEntry.create(
        NodeId.of(origin),
        sequence,
        new Hlc(1_000 + sequence, 0),
        io.skein.core.oplog.Operation.PUT,
        C,
        DocumentId.of(id),
        "{}");
  }

  @Test
  void entriesFromAnotherSiteAreTakenInOrderPerOriginWithoutAnyMessage() {
    ReplicaCore core = core(10);
    core.step(new Input.Tick(1_000));
    core.step(
        new Input.Ingest(
            NodeId.of("cloud"),
            List.of(
                remote("c1", 1, "a"),
                remote("c1", 2, "b"),
                remote("c1", 2, "b"), // a duplicate
                remote("c2", 2, "x"), // a gap: c2 stops here
                remote("c2", 3, "y"))));
    Ready ready = core.ready();
    assertThat(ready.entriesToPersist())
        .extracting(e -> e.origin().value() + "/" + e.sequence())
        .containsExactly("c1/1", "c1/2");
    assertThat(ready.messages()).isEmpty();
    core.step(new Input.Persisted(0));
    assertThat(core.durableVector()).containsEntry(NodeId.of("c1"), 2L);
    assertThat(core.durableVector()).doesNotContainKey(NodeId.of("c2"));

    // The same batch again (a retry after a lost answer) adds nothing.
    core.step(new Input.Ingest(NodeId.of("cloud"), List.of(remote("c1", 2, "b"))));
    assertThat(core.hasReady()).isFalse();

    // A tampered entry stops its origin.
    OplogEntry good = remote("c1", 3, "c");
    OplogEntry tampered =
        new OplogEntry(
            good.origin(),
            good.sequence(),
            good.hlc(),
            good.operation(),
            good.collection(),
            good.id(),
            "{\"evil\":1}",
            0,
            0,
            good.checksum());
    core.step(new Input.Ingest(NodeId.of("cloud"), List.of(tampered, remote("c1", 4, "d"))));
    assertThat(core.hasReady()).isFalse();
  }

  @Test
  void partialPersistenceReleasesOnlyCoveredWrites() {
    ReplicaCore core = core(10);
    core.step(new Input.Propose(1, List.of(put("a")), WriteConcern.ONE));
    core.step(new Input.Propose(2, List.of(put("b")), WriteConcern.ONE));
    core.ready();
    core.step(new Input.Persisted(1));
    assertThat(core.ready().replies()).extracting(Reply::requestId).containsExactly(1L);
  }

  @Test
  void failedPersistRollsTheSequenceBackSoItStaysDense() {
    ReplicaCore core = core(10);
    core.step(new Input.Propose(1, List.of(put("a")), WriteConcern.ONE));
    core.ready();
    core.step(new Input.Persisted(1));
    core.ready();
    core.step(new Input.Propose(2, List.of(put("b"), put("c")), WriteConcern.ONE));
    core.ready();
    core.step(new Input.PersistFailed(2, "disk full"));
    Ready failed = core.ready();
    assertThat(failed.replies())
        .singleElement()
        .satisfies(
            reply -> assertThat(reply.outcome()).isEqualTo(new Outcome.PersistFailed("disk full")));
    assertThat(core.lastSequence()).isEqualTo(1);
    core.step(new Input.Propose(3, List.of(put("d")), WriteConcern.ONE));
    assertThat(core.ready().entriesToPersist().get(0).sequence()).isEqualTo(2);
  }

  @Test
  void boundsAreEnforcedWithTypedRejections() {
    ReplicaCore core = core(1);
    core.step(new Input.Propose(1, List.of(put("a")), WriteConcern.ONE));
    core.step(new Input.Propose(2, List.of(put("b")), WriteConcern.ONE));
    core.step(new Input.Propose(3, List.of(), WriteConcern.ONE));
    core.step(
        new Input.Propose(4, List.of(put("a"), put("b"), put("c"), put("d")), WriteConcern.ONE));
    Ready ready = core.ready();
    assertThat(ready.entriesToPersist()).hasSize(1);
    assertThat(ready.replies())
        .extracting(reply -> ((Outcome.Rejected) reply.outcome()).code())
        .containsExactly("overloaded", "invalid_request", "batch_too_large");
  }

  @Test
  void restoreContinuesTheSequenceAndStaysAboveTheHighWaterMark() {
    ReplicaCore core =
        ReplicaCore.restore(
            ReplicaConfig.defaults(NodeId.of("1")), new RecoveredState(41, new Hlc(5_000, 9)));
    core.step(new Input.Tick(4_000)); // the wall clock went back across the restart
    core.step(new Input.Propose(1, List.of(put("a")), WriteConcern.ONE));
    OplogEntry entry = core.ready().entriesToPersist().get(0);
    assertThat(entry.sequence()).isEqualTo(42);
    assertThat(entry.hlc()).isEqualTo(new Hlc(5_000, 10));
    assertThat(entry.isIntact()).isTrue();
  }

  @Test
  void persistedBeyondWhatWasHandedOutIsAProgrammerError() {
    ReplicaCore core = core(10);
    assertThatThrownBy(() -> core.step(new Input.Persisted(5)))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void writeConcernParsesAndCountsMajorities() {
    assertThat(WriteConcern.parse("majority").requiredAcks(3)).isEqualTo(2);
    assertThat(WriteConcern.parse("majority").requiredAcks(4)).isEqualTo(3);
    assertThat(WriteConcern.parse("all").requiredAcks(3)).isEqualTo(3);
    assertThat(WriteConcern.parse("1").requiredAcks(5)).isEqualTo(1);
    assertThatThrownBy(() -> WriteConcern.parse("2")).hasMessageContaining("1, majority or all");
  }
}
