package io.skein.core.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.skein.core.hlc.Hlc;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.Operation;
import io.skein.core.oplog.OplogEntry;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The multi-writer rules of {@link ReplicaCore}, one transition at a time. */
class ReplicationCoreTest {
  private static final NodeId ONE = NodeId.of("1");
  private static final NodeId TWO = NodeId.of("2");
  private static final NodeId THREE = NodeId.of("3");
  private static final CollectionName C = CollectionName.user("c");

  private static ReplicaCore core(NodeId self, List<NodeId> peers) {
    return ReplicaCore.restore(
        new ReplicaConfig(self, 500, 100, 100, peers, 2_000, 2_000, 64), RecoveredState.EMPTY);
  }

  private static OplogEntry remote(NodeId origin, long sequence, long physicalMs) {
    return OplogEntry.create(
        origin,
        sequence,
        new Hlc(physicalMs, 0),
        Operation.PUT,
        C,
        DocumentId.of("d" + sequence),
        "{}");
  }

  private static void persistAll(ReplicaCore core, Ready ready) {
    long local = core.persistedSequence();
    for (OplogEntry e : ready.entriesToPersist()) {
      if (e.origin().equals(core.nodeId())) {
        local = Math.max(local, e.sequence());
      }
    }
    core.step(new Input.Persisted(local));
  }

  /** Proposes a one-document {@code w=all} write and persists it, as the shell would. */
  private static void proposeDurable(ReplicaCore core, long requestId, String id) {
    core.step(
        new Input.Propose(
            requestId, List.of(Mutation.put(C, DocumentId.of(id), "{}")), WriteConcern.ALL));
    persistAll(core, core.ready());
    core.ready();
  }

  @Test
  void aMajorityWriteWaitsForAPeerAckAndIsPushedOnceDurable() {
    ReplicaCore core = core(ONE, List.of(TWO, THREE));
    core.step(new Input.Tick(10_000));
    core.ready(); // the first anti-entropy round
    core.step(
        new Input.Propose(
            7, List.of(Mutation.put(C, DocumentId.of("a"), "{}")), WriteConcern.MAJORITY));
    persistAll(core, core.ready());
    Ready afterPersist = core.ready();
    assertThat(afterPersist.replies()).isEmpty();
    assertThat(afterPersist.messages())
        .extracting(Envelope::to)
        .containsExactlyInAnyOrder(TWO, THREE);
    assertThat(afterPersist.messages().get(0).message()).isInstanceOf(PeerMessage.Push.class);

    core.step(new Input.Received(new PeerMessage.Ack(TWO, Map.of(ONE, 1L))));
    assertThat(core.ready().replies())
        .singleElement()
        .satisfies(reply -> assertThat(reply.outcome()).isInstanceOf(Outcome.Committed.class));
  }

  @Test
  void anUnconfirmedWriteTimesOutAsOutcomeUnknown() {
    ReplicaCore core = core(ONE, List.of(TWO, THREE));
    core.step(new Input.Tick(10_000));
    proposeDurable(core, 1, "a");
    core.step(new Input.Tick(11_999));
    assertThat(core.ready().replies()).isEmpty();
    core.step(new Input.Tick(12_000));
    assertThat(core.ready().replies())
        .singleElement()
        .satisfies(reply -> assertThat(reply.outcome()).isInstanceOf(Outcome.TimedOut.class));
  }

  @Test
  void entriesApplyInOrderOnlyAndAGapAsksTheSenderForTheMissingRange() {
    ReplicaCore core = core(ONE, List.of(TWO));
    core.step(new Input.Tick(10_000));
    core.ready();
    core.step(new Input.Tick(10_600));
    core.step(
        new Input.Received(
            new PeerMessage.Push(TWO, List.of(remote(TWO, 1, 10_000), remote(TWO, 3, 10_002)))));
    Ready ready = core.ready();
    assertThat(ready.entriesToPersist()).extracting(OplogEntry::sequence).containsExactly(1L);
    assertThat(ready.messages())
        .singleElement()
        .satisfies(e -> assertThat(e.message()).isInstanceOf(PeerMessage.SyncRequest.class));
    persistAll(core, ready);
    // The ack reports what is now durable.
    assertThat(core.ready().messages())
        .singleElement()
        .satisfies(
            e -> assertThat(((PeerMessage.Ack) e.message()).durable()).containsEntry(TWO, 1L));
    // A duplicate of what is held changes nothing.
    core.step(new Input.Received(new PeerMessage.Push(TWO, List.of(remote(TWO, 1, 10_000)))));
    assertThat(core.hasReady()).isFalse();
  }

  @Test
  void anEntryFromAClockBeyondTheMaxOffsetIsRefused() {
    ReplicaCore core = core(ONE, List.of(TWO));
    core.step(new Input.Tick(10_000));
    core.ready();
    core.step(new Input.Received(new PeerMessage.Push(TWO, List.of(remote(TWO, 1, 10_501)))));
    assertThat(core.ready().entriesToPersist()).isEmpty();
    assertThat(core.refusedEntries()).isEqualTo(1);
    assertThat(core.lastHlc().physicalMs()).isLessThan(10_501);
  }

  @Test
  void aSyncRequestIsAnsweredWithLoadsOfWhatThePeerLacks() {
    ReplicaCore core =
        ReplicaCore.restore(
            new ReplicaConfig(ONE, 500, 100, 100, List.of(TWO), 2_000, 2_000, 64),
            new RecoveredState(5, new Hlc(9_000, 0), Map.of(ONE, 5L, THREE, 2L)));
    core.step(new Input.Tick(10_000));
    core.ready();
    core.step(new Input.Received(new PeerMessage.SyncRequest(TWO, Map.of(ONE, 3L))));
    Ready ready = core.ready();
    assertThat(ready.loads())
        .containsExactlyInAnyOrder(new Load(TWO, ONE, 4, 64), new Load(TWO, THREE, 1, 64));
    assertThat(core.lagEntries(TWO)).isEqualTo(4);
    core.step(new Input.Loaded(TWO, List.of(remote(THREE, 1, 9_000))));
    assertThat(core.ready().messages())
        .singleElement()
        .satisfies(e -> assertThat(e.message()).isInstanceOf(PeerMessage.Push.class));
  }

  @Test
  void aPeerFarBehindIsStreamedInAWindowThatEachAckReopens() {
    // 1,000 local entries; the peer holds none. Batches of 64, at most 4 in flight.
    ReplicaCore core =
        ReplicaCore.restore(
            new ReplicaConfig(ONE, 500, 100, 100, List.of(TWO), 2_000, 2_000, 64),
            new RecoveredState(1_000, new Hlc(9_000, 0), Map.of(ONE, 1_000L)));
    core.step(new Input.Tick(10_000));
    core.ready();
    core.step(new Input.Received(new PeerMessage.SyncRequest(TWO, Map.of())));
    assertThat(core.ready().loads())
        .extracting(Load::fromSequence)
        .containsExactly(1L, 65L, 129L, 193L);
    // An ack that confirms nothing new opens nothing.
    core.step(new Input.Received(new PeerMessage.Ack(TWO, Map.of())));
    assertThat(core.ready().loads()).isEmpty();
    // Each confirmed batch lets one more go.
    core.step(new Input.Received(new PeerMessage.Ack(TWO, Map.of(ONE, 64L))));
    assertThat(core.ready().loads()).extracting(Load::fromSequence).containsExactly(257L);
    core.step(new Input.Received(new PeerMessage.Ack(TWO, Map.of(ONE, 320L))));
    assertThat(core.ready().loads())
        .extracting(Load::fromSequence)
        .containsExactly(321L, 385L, 449L, 513L);
    // A peer that got ahead of the stream (by pushes) moves its head; the tail stops at 1,000.
    core.step(new Input.Received(new PeerMessage.Ack(TWO, Map.of(ONE, 960L))));
    assertThat(core.ready().loads()).extracting(Load::fromSequence).containsExactly(961L);
    core.step(new Input.Received(new PeerMessage.Ack(TWO, Map.of(ONE, 1_000L))));
    assertThat(core.hasReady()).isFalse();
    assertThat(core.lagEntries(TWO)).isZero();
  }

  @Test
  void aPeerThatConnectsIsAskedAtOnceForWhatItHolds() {
    ReplicaCore core = core(ONE, List.of(TWO));
    core.step(new Input.Tick(10_000));
    core.ready();
    core.step(new Input.Tick(10_010));
    assertThat(core.hasReady()).isFalse();
    core.step(new Input.PeerConnected(TWO));
    assertThat(core.ready().messages())
        .singleElement()
        .satisfies(e -> assertThat(e.message()).isInstanceOf(PeerMessage.SyncRequest.class));
  }

  @Test
  void aSnapshotResumesWhereTheReceiverIsAfterEitherSideRestarts() {
    ReplicaConfig senderConfig =
        new ReplicaConfig(ONE, 500, 100, 100, List.of(TWO), 2_000, 2_000, 64);
    RecoveredState pruned =
        new RecoveredState(100, new Hlc(9_000, 0), Map.of(ONE, 100L), Map.of(ONE, 100L), null);
    ReplicaCore sender = ReplicaCore.restore(senderConfig, pruned);
    sender.step(new Input.Tick(10_000));
    sender.ready();
    // The peer holds nothing, and everything it needs is behind the horizon: a snapshot starts.
    sender.step(new Input.Received(new PeerMessage.SyncRequest(TWO, Map.of())));
    Ready first = sender.ready();
    assertThat(first.loads()).isEmpty();
    SnapshotRead read = first.snapshotReads().get(0);
    assertThat(read.afterKey()).isNull();
    assertThat(read.vector()).isEqualTo(Map.of(ONE, 100L));
    DocumentKey k1 = new DocumentKey(C, DocumentId.of("d1"));
    sender.step(
        new Input.SnapshotLoaded(
            TWO, read.vector(), null, List.of(remote(ONE, 1, 9_000)), k1, false));
    PeerMessage.SnapshotChunk chunk =
        (PeerMessage.SnapshotChunk) sender.ready().messages().get(0).message();

    ReplicaConfig receiverConfig =
        new ReplicaConfig(TWO, 500, 100, 100, List.of(ONE), 2_000, 2_000, 64);
    ReplicaCore receiver = ReplicaCore.restore(receiverConfig, RecoveredState.EMPTY);
    receiver.step(new Input.Tick(10_000));
    receiver.ready();
    receiver.step(new Input.Received(chunk));
    SnapshotApply apply = receiver.ready().snapshotApplies().get(0);
    assertThat(apply.done()).isFalse();
    receiver.step(new Input.SnapshotApplied(ONE, true));
    assertThat(receiver.ready().messages())
        .singleElement()
        .satisfies(
            e -> assertThat(((PeerMessage.SnapshotAck) e.message()).lastKey()).isEqualTo(k1));
    assertThat(receiver.durableVector()).doesNotContainKey(ONE);

    // Both restart: the receiver from its durable progress, the sender with no memory of it.
    ReplicaCore receiverAgain =
        ReplicaCore.restore(
            receiverConfig,
            new RecoveredState(
                0,
                new Hlc(10_000, 0),
                Map.of(),
                Map.of(),
                new SnapshotProgress(ONE, read.vector(), k1)));
    ReplicaCore senderAgain = ReplicaCore.restore(senderConfig, pruned);
    senderAgain.step(new Input.Tick(20_000));
    senderAgain.ready();
    receiverAgain.step(new Input.Tick(20_000));
    PeerMessage.SnapshotAck resume =
        receiverAgain.ready().messages().stream()
            .map(Envelope::message)
            .filter(PeerMessage.SnapshotAck.class::isInstance)
            .map(PeerMessage.SnapshotAck.class::cast)
            .findFirst()
            .orElseThrow();
    senderAgain.step(new Input.Received(resume));
    SnapshotRead resumed = senderAgain.ready().snapshotReads().get(0);
    assertThat(resumed.afterKey()).isEqualTo(k1);
    senderAgain.step(
        new Input.SnapshotLoaded(
            TWO, resumed.vector(), k1, List.of(remote(ONE, 2, 9_001)), null, true));
    receiverAgain.step(new Input.Received(senderAgain.ready().messages().get(0).message()));
    assertThat(receiverAgain.ready().snapshotApplies())
        .singleElement()
        .satisfies(a -> assertThat(a.done()).isTrue());
    receiverAgain.step(new Input.SnapshotApplied(ONE, true));
    PeerMessage.SnapshotAck done =
        (PeerMessage.SnapshotAck) receiverAgain.ready().messages().get(0).message();
    assertThat(done.done()).isTrue();
    assertThat(receiverAgain.durableVector()).containsEntry(ONE, 100L);
    assertThat(receiverAgain.horizon()).containsEntry(ONE, 100L);
    assertThat(receiverAgain.receivingSnapshot()).isNull();
    // The sender learns the peer holds the vector and stops sending.
    senderAgain.step(new Input.Received(done));
    assertThat(senderAgain.sendingSnapshotTo(TWO)).isFalse();
    assertThat(senderAgain.lagEntries(TWO)).isZero();
  }

  @Test
  void aJoiningPeerCountsForWAllAndALeavingOneNoLongerDoesButStaysKnown() {
    ReplicaCore core = core(ONE, List.of(TWO));
    core.step(new Input.Tick(10_000));
    core.ready();
    core.step(new Input.PeerJoined(THREE));
    assertThat(core.members()).isEqualTo(3);
    core.step(
        new Input.Propose(1, List.of(Mutation.put(C, DocumentId.of("a"), "{}")), WriteConcern.ALL));
    persistAll(core, core.ready());
    assertThat(core.ready().messages())
        .extracting(Envelope::to)
        .containsExactlyInAnyOrder(TWO, THREE);
    core.step(new Input.Received(new PeerMessage.Ack(TWO, Map.of(ONE, 1L))));
    assertThat(core.ready().replies()).isEmpty(); // node 3 has not confirmed
    core.step(new Input.Received(new PeerMessage.Ack(THREE, Map.of(ONE, 1L))));
    assertThat(core.ready().replies()).hasSize(1);

    core.step(new Input.PeerLeft(THREE));
    assertThat(core.members()).isEqualTo(2);
    assertThat(core.knownPeers()).containsExactly(TWO, THREE);
    core.step(
        new Input.Propose(2, List.of(Mutation.put(C, DocumentId.of("b"), "{}")), WriteConcern.ALL));
    persistAll(core, core.ready());
    assertThat(core.ready().messages()).extracting(Envelope::to).containsExactly(TWO);
    core.step(new Input.Received(new PeerMessage.Ack(TWO, Map.of(ONE, 2L))));
    assertThat(core.ready().replies()).hasSize(1);
  }

  @Test
  void aPeerThatLeftHoldsTombstonesBackUntilItIsForgotten() {
    ReplicaCore core =
        ReplicaCore.restore(
            new ReplicaConfig(
                ONE, 500, 100, 100, List.of(TWO, THREE), 2_000, 2_000, 64, 600_000, 16),
            new RecoveredState(5, new Hlc(9_000, 0), Map.of(ONE, 5L)));
    core.step(new Input.Tick(1_000_000));
    core.ready();
    core.step(new Input.Pruned(Map.of()));
    // Node 2 tells its vector; node 3 never does (it is gone for good).
    core.step(new Input.Received(new PeerMessage.Ack(TWO, Map.of(ONE, 5L))));
    core.step(new Input.PeerLeft(THREE));
    core.step(new Input.PeerForgotten(TWO)); // an active peer cannot be forgotten
    core.step(new Input.Tick(1_070_000));
    assertThat(core.ready().prunes())
        .singleElement()
        .satisfies(prune -> assertThat(prune.tombstoneStable()).isEmpty());
    core.step(new Input.Pruned(Map.of()));
    assertThat(core.knownPeers()).containsExactly(TWO, THREE);

    core.step(new Input.PeerForgotten(THREE));
    assertThat(core.knownPeers()).containsExactly(TWO);
    core.step(new Input.Tick(1_140_000));
    assertThat(core.ready().prunes())
        .singleElement()
        .satisfies(prune -> assertThat(prune.tombstoneStable()).containsEntry(ONE, 5L));
  }

  @Test
  void aNewWriteDoesNotStallThePeersCatchUpStream() {
    ReplicaCore core =
        ReplicaCore.restore(
            new ReplicaConfig(ONE, 500, 100, 100, List.of(TWO), 2_000, 2_000, 64),
            new RecoveredState(1_000, new Hlc(9_000, 0), Map.of(ONE, 1_000L)));
    core.step(new Input.Tick(10_000));
    core.ready();
    core.step(new Input.Received(new PeerMessage.SyncRequest(TWO, Map.of())));
    assertThat(core.ready().loads()).hasSize(4);
    core.step(
        new Input.Propose(
            1, List.of(Mutation.put(C, DocumentId.of("new"), "{}")), WriteConcern.ONE));
    persistAll(core, core.ready());
    // No live push to a peer that is 744 entries behind: it would only be dropped as a gap.
    assertThat(core.ready().messages()).noneMatch(e -> e.message() instanceof PeerMessage.Push);
    core.step(new Input.Received(new PeerMessage.Ack(TWO, Map.of(ONE, 64L))));
    assertThat(core.ready().loads()).extracting(Load::fromSequence).containsExactly(257L);
  }

  @Test
  void anOpenTransferThisNodeAlreadyCoversIsDroppedAndDoesNotBlockAnotherSource() {
    // Node 1 resumes a transfer from node 3 whose vector it already holds (incremental sync got
    // there first); node 2 then offers a snapshot it does need.
    ReplicaCore core =
        ReplicaCore.restore(
            new ReplicaConfig(ONE, 500, 100, 100, List.of(TWO, THREE), 2_000, 2_000, 64),
            new RecoveredState(
                5,
                new Hlc(9_000, 0),
                Map.of(ONE, 5L, THREE, 9L),
                Map.of(),
                new SnapshotProgress(THREE, Map.of(ONE, 5L, THREE, 8L), null)));
    core.step(new Input.Tick(10_000));
    core.ready();
    assertThat(core.receivingSnapshot()).isNull();
    core.step(
        new Input.Received(
            new PeerMessage.SnapshotChunk(
                TWO, Map.of(TWO, 40L), null, List.of(remote(TWO, 40, 9_500)), null, true)));
    assertThat(core.ready().snapshotApplies())
        .singleElement()
        .satisfies(a -> assertThat(a.source()).isEqualTo(TWO));
  }

  // -----------------------------------------------------------------------------------------------
  // Timings changed at run time (Input.Reconfigure).

  private static boolean sendsSyncRequest(Ready ready) {
    return ready.messages().stream().anyMatch(e -> e.message() instanceof PeerMessage.SyncRequest);
  }

  private static ReplicaCore coreWithRetention(long retentionMs) {
    return ReplicaCore.restore(
        new ReplicaConfig(ONE, 500, 100, 100, List.of(TWO), 2_000, 2_000, 64, retentionMs, 16),
        RecoveredState.EMPTY);
  }

  @Test
  void aReconfiguredSyncIntervalTakesEffectFromTheNextTick() {
    ReplicaCore core = core(ONE, List.of(TWO));
    core.step(new Input.Tick(10_000));
    assertThat(sendsSyncRequest(core.ready())).isTrue();
    core.step(new Input.Reconfigure(5_000, 2_000, 0));
    assertThat(core.config().syncIntervalMs()).isEqualTo(5_000);
    core.step(new Input.Tick(12_000)); // the old interval's round
    assertThat(sendsSyncRequest(core.ready())).isFalse();
    core.step(new Input.Tick(14_999));
    assertThat(sendsSyncRequest(core.ready())).isFalse();
    core.step(new Input.Tick(15_000));
    assertThat(sendsSyncRequest(core.ready())).isTrue();
    // Shorter again: the next round is one new interval after the last, already past here.
    core.step(new Input.Reconfigure(200, 2_000, 0));
    core.step(new Input.Tick(15_200));
    assertThat(sendsSyncRequest(core.ready())).isTrue();
  }

  private static void assertTimedOut(Ready ready, long requestId, String message) {
    assertThat(ready.replies())
        .singleElement()
        .satisfies(
            reply -> {
              assertThat(reply.requestId()).isEqualTo(requestId);
              assertThat(((Outcome.TimedOut) reply.outcome()).message()).contains(message);
            });
  }

  @Test
  void aReconfiguredReplicationTimeoutAppliesToNewWritesOnly() {
    ReplicaCore core = core(ONE, List.of(TWO, THREE));
    core.step(new Input.Tick(10_000));
    proposeDurable(core, 1, "a");
    core.step(new Input.Reconfigure(2_000, 500, 0));
    proposeDurable(core, 2, "b");
    core.step(new Input.Tick(10_499));
    assertThat(core.ready().replies()).isEmpty();
    core.step(new Input.Tick(10_500));
    assertTimedOut(core.ready(), 2, "within 500 ms");
    // The first write keeps the deadline it was given under the old 2 s timeout.
    core.step(new Input.Tick(11_999));
    assertThat(core.ready().replies()).isEmpty();
    core.step(new Input.Tick(12_000));
    assertTimedOut(core.ready(), 1, "within 2000 ms");
  }

  @Test
  void aReconfiguredRetentionTakesEffectAtTheNextPruneRound() {
    ReplicaCore core = coreWithRetention(600_000); // a round every 60 s
    core.step(new Input.Tick(1_000_000));
    assertThat(core.ready().prunes())
        .singleElement()
        .satisfies(prune -> assertThat(prune.cutoffPhysicalMs()).isEqualTo(400_000));
    core.step(new Input.Pruned(Map.of()));
    core.step(new Input.Reconfigure(2_000, 2_000, 60_000)); // a round every 6 s
    core.step(new Input.Tick(1_005_999));
    assertThat(core.ready().prunes()).isEmpty();
    core.step(new Input.Tick(1_006_000));
    assertThat(core.ready().prunes())
        .singleElement()
        .satisfies(prune -> assertThat(prune.cutoffPhysicalMs()).isEqualTo(946_000));
    core.step(new Input.Pruned(Map.of()));
    // 0 turns pruning off.
    core.step(new Input.Reconfigure(2_000, 2_000, 0));
    core.step(new Input.Tick(1_100_000));
    assertThat(core.ready().prunes()).isEmpty();
  }

  @Test
  void retentionSwitchedOnStartsPruningAtTheNextTick() {
    ReplicaCore never = coreWithRetention(0);
    never.step(new Input.Tick(1_000_000));
    assertThat(never.ready().prunes()).isEmpty();
    never.step(new Input.Reconfigure(2_000, 2_000, 60_000));
    never.step(new Input.Tick(1_000_010));
    assertThat(never.ready().prunes()).hasSize(1);

    // On, off, and on again with a long window: the round must not wait a tenth of the new window
    // after the round made before retention was switched off.
    ReplicaCore again = coreWithRetention(600_000);
    again.step(new Input.Tick(1_000_000));
    assertThat(again.ready().prunes()).hasSize(1);
    again.step(new Input.Pruned(Map.of()));
    again.step(new Input.Reconfigure(2_000, 2_000, 0));
    again.step(new Input.Tick(1_010_000));
    again.step(new Input.Reconfigure(2_000, 2_000, 600_000));
    again.step(new Input.Tick(1_010_010));
    assertThat(again.ready().prunes())
        .singleElement()
        .satisfies(prune -> assertThat(prune.cutoffPhysicalMs()).isEqualTo(410_010));
  }

  @Test
  void invalidTimingsAreRefusedAndLeaveTheConfigUnchanged() {
    ReplicaCore core = core(ONE, List.of(TWO));
    ReplicaConfig before = core.config();
    assertThatThrownBy(() -> core.step(new Input.Reconfigure(0, 2_000, 0)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> core.step(new Input.Reconfigure(2_000, 0, 0)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> core.step(new Input.Reconfigure(2_000, 2_000, -1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(core.config()).isEqualTo(before);
    core.step(new Input.Reconfigure(3_000, 4_000, 5_000));
    assertThat(core.config())
        .isEqualTo(
            new ReplicaConfig(
                ONE,
                500,
                100,
                100,
                List.of(TWO),
                3_000,
                4_000,
                64,
                5_000,
                ReplicaConfig.SNAPSHOT_DOCS_MAX_DEFAULT));
  }
}
