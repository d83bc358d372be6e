package io.skein.core.leader;

import static org.assertj.core.api.Assertions.assertThat;

import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.replica.Mutation;
import io.skein.core.replica.Outcome;
import io.skein.core.replica.Reply;
import io.skein.core.replica.WriteConcern;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The election and replication rules of {@link LeaderCore}, on a lossless in-test network. */
class LeaderCoreTest {
  private static final NodeId ONE = NodeId.of("1");
  private static final NodeId TWO = NodeId.of("2");
  private static final NodeId THREE = NodeId.of("3");
  private static final CollectionName C = CollectionName.user("c");

  /** Three cores, instant delivery, nodes that can be stopped, time that moves by hand. */
  private static final class Cluster {
    final Map<NodeId, LeaderCore> cores = new LinkedHashMap<>();
    final Map<NodeId, List<OplogEntry>> logs = new LinkedHashMap<>();
    final Set<NodeId> down = new HashSet<>();
    final List<Reply> replies = new ArrayList<>();
    final Map<NodeId, Long> entriesDelivered = new LinkedHashMap<>();
    final Set<NodeId> appendsDropped = new HashSet<>();
    long now = 1_000;

    Cluster(boolean oneStartsAsPrimary) {
      for (NodeId id : List.of(ONE, TWO, THREE)) {
        cores.put(
            id,
            LeaderCore.restore(
                new LeaderConfig(
                    id,
                    List.of(ONE, TWO, THREE),
                    500,
                    100,
                    2_000,
                    64,
                    1_024,
                    1_000,
                    oneStartsAsPrimary && id.equals(ONE)),
                LeaderRecovered.EMPTY));
        logs.put(id, new ArrayList<>());
      }
    }

    LeaderCore core(NodeId id) {
      return java.util.Objects.requireNonNull(cores.get(id));
    }

    List<OplogEntry> log(NodeId id) {
      return java.util.Objects.requireNonNull(logs.get(id));
    }

    /** Advances time in 10 ms steps, delivering everything at once. */
    void run(long ms) {
      for (long t = 0; t < ms; t += 10) {
        now += 10;
        for (NodeId id : cores.keySet()) {
          if (!down.contains(id)) {
            core(id).step(new LeaderInput.Tick(now));
          }
        }
        drain();
      }
    }

    void drain() {
      boolean progress = true;
      while (progress) {
        progress = false;
        for (Map.Entry<NodeId, LeaderCore> entry : cores.entrySet()) {
          if (down.contains(entry.getKey())) {
            continue;
          }
          LeaderCore core = entry.getValue();
          while (core.hasReady()) {
            progress = true;
            LeaderReady ready = core.ready();
            List<OplogEntry> log = log(entry.getKey());
            if (ready.truncateFrom() != 0) {
              log.subList((int) ready.truncateFrom() - 1, log.size()).clear();
            }
            log.addAll(ready.entriesToAppend());
            core.step(new LeaderInput.Persisted(log.size()));
            replies.addAll(ready.replies());
            for (LeaderReady.Outgoing out : ready.messages()) {
              if (out.message() instanceof LeaderMessage.Append
                  && appendsDropped.contains(out.to())) {
                continue;
              }
              if (!down.contains(out.to())) {
                if (out.message() instanceof LeaderMessage.Append append) {
                  entriesDelivered.merge(out.to(), (long) append.entries().size(), Long::sum);
                }
                core(out.to()).step(new LeaderInput.Tick(now));
                core(out.to()).step(new LeaderInput.Received(out.message()));
              }
            }
          }
        }
      }
    }

    void propose(NodeId id, long requestId, WriteConcern concern) {
      core(id).step(new LeaderInput.Tick(now));
      core(id)
          .step(
              new LeaderInput.Propose(
                  requestId,
                  List.of(Mutation.put(C, DocumentId.of("d" + requestId), "{}")),
                  concern));
      drain();
    }

    Outcome outcome(long requestId) {
      return replies.stream()
          .filter(r -> r.requestId() == requestId)
          .findFirst()
          .orElseThrow()
          .outcome();
    }
  }

  @Test
  void theLowestIdBecomesPrimaryAndAMajorityWriteCommitsEverywhere() {
    Cluster cluster = new Cluster(false);
    cluster.run(2_000);
    assertThat(cluster.core(ONE).role()).isEqualTo(LeaderCore.Role.PRIMARY);
    assertThat(cluster.core(TWO).leader()).isEqualTo(ONE);
    cluster.propose(ONE, 1, WriteConcern.MAJORITY);
    assertThat(cluster.outcome(1)).isInstanceOf(Outcome.Committed.class);
    cluster.run(200);
    assertThat(cluster.log(THREE)).isEqualTo(cluster.log(ONE));
    assertThat(cluster.core(THREE).commitIndex()).isEqualTo(cluster.core(ONE).lastIndex());
  }

  @Test
  void aNewPrimaryWhoseFollowerAnswersLateDoesNotResendItsWholeLog() {
    Cluster cluster = new Cluster(true);
    cluster.run(800);
    assertThat(cluster.core(ONE).role()).isEqualTo(LeaderCore.Role.PRIMARY);
    for (long id = 1; id <= 300; id++) {
      cluster.propose(ONE, id, WriteConcern.MAJORITY);
    }
    cluster.run(200);
    long logLength = cluster.log(THREE).size();
    assertThat(logLength).isGreaterThan(300);

    cluster.down.add(ONE);
    // Node 3 votes, but the new primary's appends reach it only after longer than the primary's
    // resend delay (two heartbeats): the new primary does not learn its match for a while.
    cluster.appendsDropped.add(THREE);
    for (int step = 0; step < 300 && cluster.core(TWO).role() != LeaderCore.Role.PRIMARY; step++) {
      cluster.run(10);
    }
    assertThat(cluster.core(TWO).role()).isEqualTo(LeaderCore.Role.PRIMARY);
    cluster.run(400);
    cluster.appendsDropped.remove(THREE);
    cluster.entriesDelivered.clear();
    cluster.run(300);
    assertThat(cluster.log(THREE)).isEqualTo(cluster.log(TWO));
    assertThat(cluster.core(TWO).commitIndex()).isEqualTo(cluster.log(TWO).size());
    assertThat(cluster.entriesDelivered.getOrDefault(THREE, 0L))
        .as(
            "only the new epoch's marker is missing on node 3, not the %d entries before it",
            logLength)
        .isLessThan(10);
  }

  @Test
  void aSecondaryRefusesWritesAndNamesThePrimary() {
    Cluster cluster = new Cluster(true);
    cluster.run(300);
    cluster.propose(TWO, 7, WriteConcern.MAJORITY);
    assertThat(cluster.outcome(7))
        .isInstanceOfSatisfying(
            Outcome.NotPrimary.class, notPrimary -> assertThat(notPrimary.leader()).isEqualTo(ONE));
  }

  @Test
  void whenThePrimaryDiesTheNextLowestTakesOverInANewEpochAndTheOldOneRejoinsAsSecondary() {
    Cluster cluster = new Cluster(true);
    cluster.run(300);
    cluster.propose(ONE, 1, WriteConcern.MAJORITY);
    long firstEpoch = cluster.core(ONE).epoch();
    cluster.down.add(ONE);
    cluster.run(1_500);
    assertThat(cluster.core(TWO).role()).isEqualTo(LeaderCore.Role.PRIMARY);
    assertThat(cluster.core(TWO).epoch()).isGreaterThan(firstEpoch);
    cluster.propose(TWO, 2, WriteConcern.MAJORITY);
    assertThat(cluster.outcome(2)).isInstanceOf(Outcome.Committed.class);
    // Node 1 returns: node 2 stays primary (no flapping), node 1 follows and catches up.
    cluster.down.remove(ONE);
    cluster.run(2_000);
    assertThat(cluster.core(TWO).role()).isEqualTo(LeaderCore.Role.PRIMARY);
    assertThat(cluster.core(ONE).role()).isEqualTo(LeaderCore.Role.SECONDARY);
    assertThat(cluster.core(ONE).leader()).isEqualTo(TWO);
    assertThat(cluster.log(ONE)).isEqualTo(cluster.log(TWO));
  }

  @Test
  void aPrimaryCutOffFromTheMajorityStepsDownAndItsWriteTimesOut() {
    Cluster cluster = new Cluster(true);
    cluster.run(300);
    cluster.down.add(TWO);
    cluster.down.add(THREE);
    cluster.propose(ONE, 3, WriteConcern.MAJORITY);
    cluster.run(2_500);
    assertThat(cluster.core(ONE).role()).isNotEqualTo(LeaderCore.Role.PRIMARY);
    assertThat(cluster.outcome(3)).isInstanceOf(Outcome.TimedOut.class);
  }

  @Test
  void aStrongReadIsAnsweredOnlyAfterAMajorityConfirmsThePrimary() {
    Cluster cluster = new Cluster(true);
    cluster.run(300);
    LeaderCore one = cluster.core(ONE);
    cluster.down.add(TWO);
    cluster.down.add(THREE);
    one.step(new LeaderInput.ReadIndex(9));
    LeaderReady alone = one.ready();
    assertThat(alone.readReplies()).isEmpty();
    cluster.down.clear();
    // Deliver the heartbeat round that was just sent, now that the others are back.
    for (LeaderReady.Outgoing out : alone.messages()) {
      cluster.core(out.to()).step(new LeaderInput.Received(out.message()));
    }
    List<LeaderReady.ReadReply> answered = new ArrayList<>();
    for (NodeId id : List.of(TWO, THREE)) {
      LeaderReady ready = cluster.core(id).ready();
      for (LeaderReady.Outgoing out : ready.messages()) {
        one.step(new LeaderInput.Received(out.message()));
        answered.addAll(one.ready().readReplies());
      }
    }
    assertThat(answered).singleElement().satisfies(r -> assertThat(r.readIndex()).isPositive());
  }
}
