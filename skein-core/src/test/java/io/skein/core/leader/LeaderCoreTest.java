package io.skein.core.leader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import java.util.function.BooleanSupplier;
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
    final Set<NodeId> preVotesSent = new HashSet<>();
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

    /** Starts a node that will join: it knows the three members, not itself. */
    void addJoiner(NodeId id) {
      cores.put(
          id,
          LeaderCore.restore(
              new LeaderConfig(
                  id, List.of(ONE, TWO, THREE), 500, 100, 2_000, 64, 1_024, 1_000, false),
              LeaderRecovered.EMPTY));
      logs.put(id, new ArrayList<>());
    }

    void change(NodeId at, long requestId, NodeId member, boolean add) {
      core(at).step(new LeaderInput.Tick(now));
      core(at).step(new LeaderInput.ChangeMembers(requestId, member, add, null, 5_000));
      drain();
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

    /** Runs in 10 ms steps until the condition holds, and returns the time it first held. */
    long runUntil(BooleanSupplier condition, long limitMs) {
      for (long t = 0; t < limitMs; t += 10) {
        run(10);
        if (condition.getAsBoolean()) {
          return now;
        }
      }
      throw new AssertionError("not reached within " + limitMs + " ms");
    }

    boolean replied(long requestId) {
      return replies.stream().anyMatch(r -> r.requestId() == requestId);
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
              if (out.message() instanceof LeaderMessage.PreVote preVote) {
                preVotesSent.add(preVote.from());
              }
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

    void proposeBatch(NodeId id, long requestId, int ops, WriteConcern concern) {
      core(id).step(new LeaderInput.Tick(now));
      List<Mutation> batch = new ArrayList<>();
      for (int i = 0; i < ops; i++) {
        batch.add(Mutation.put(C, DocumentId.of("b" + requestId + "-" + i), "{}"));
      }
      core(id).step(new LeaderInput.Propose(requestId, batch, concern));
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
  void writesProposedBeforeOneReadyLeaveInOneAppendPerFollower() {
    Cluster cluster = new Cluster(true);
    cluster.runUntil(() -> cluster.core(ONE).role() == LeaderCore.Role.PRIMARY, 5_000);
    cluster.run(200);
    LeaderCore primary = cluster.core(ONE);
    primary.step(new LeaderInput.Tick(cluster.now));
    for (long id = 100; id < 110; id++) {
      primary.step(
          new LeaderInput.Propose(
              id, List.of(Mutation.put(C, DocumentId.of("d" + id), "{}")), WriteConcern.MAJORITY));
    }
    LeaderReady ready = primary.ready();
    assertThat(ready.entriesToAppend()).hasSize(10);
    Map<NodeId, List<Integer>> appends = new java.util.HashMap<>();
    for (LeaderReady.Outgoing out : ready.messages()) {
      if (out.message() instanceof LeaderMessage.Append append && !append.entries().isEmpty()) {
        appends.computeIfAbsent(out.to(), k -> new ArrayList<>()).add(append.entries().size());
      }
    }
    assertThat(appends).containsOnly(Map.entry(TWO, List.of(10)), Map.entry(THREE, List.of(10)));
    // And a follower that takes two appends in one turn answers once, for the second.
    LeaderCore follower = cluster.core(TWO);
    follower.step(new LeaderInput.Tick(cluster.now));
    List<LeaderMessage.Append> sent = new ArrayList<>();
    for (LeaderReady.Outgoing out : ready.messages()) {
      if (out.to().equals(TWO) && out.message() instanceof LeaderMessage.Append append) {
        sent.add(append);
      }
    }
    LeaderMessage.Append all = sent.get(sent.size() - 1);
    LeaderMessage.Append first =
        new LeaderMessage.Append(
            all.from(),
            all.epoch(),
            all.prevIndex(),
            all.prevEpoch(),
            all.entries().subList(0, 4),
            List.of(),
            all.commitIndex(),
            all.round());
    LeaderMessage.Append second =
        new LeaderMessage.Append(
            all.from(),
            all.epoch(),
            all.prevIndex() + 4,
            all.epoch(),
            all.entries().subList(4, 10),
            List.of(),
            all.commitIndex(),
            all.round());
    follower.step(new LeaderInput.Received(first));
    follower.step(new LeaderInput.Received(second));
    List<LeaderMessage.AppendReply> answers = new ArrayList<>();
    for (LeaderReady.Outgoing out : follower.ready().messages()) {
      if (out.message() instanceof LeaderMessage.AppendReply reply) {
        answers.add(reply);
      }
    }
    assertThat(answers)
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.success()).isTrue();
              assertThat(r.index()).isEqualTo(all.prevIndex() + 10);
            });
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

  // -----------------------------------------------------------------------------------------------
  // Timings changed at run time (LeaderInput.Reconfigure). The cluster starts with a 500 ms
  // election interval (node 2 stands 750 ms after the last heartbeat), 100 ms heartbeats and a
  // 2 s replication timeout.

  @Test
  void aFollowerReconfiguredToALongerElectionIntervalStandsOnlyAtTheNewTimeout() {
    Cluster cluster = new Cluster(true);
    cluster.run(300);
    assertThat(cluster.core(ONE).role()).isEqualTo(LeaderCore.Role.PRIMARY);
    for (NodeId id : List.of(TWO, THREE)) {
      cluster.core(id).step(new LeaderInput.Reconfigure(2_000, 400, 2_000));
    }
    cluster.down.add(ONE);
    long diedMs = cluster.now;
    // Node 2's new timeout: 2 s plus half of it for its rank, from its last heartbeat.
    long stoodMs =
        cluster.runUntil(() -> cluster.core(TWO).role() != LeaderCore.Role.SECONDARY, 5_000);
    assertThat(stoodMs - diedMs).isBetween(2_880L, 3_010L);
    cluster.runUntil(() -> cluster.core(TWO).role() == LeaderCore.Role.PRIMARY, 1_000);
  }

  @Test
  void aFollowerReconfiguredToAShorterElectionIntervalGivesItsPrimaryAFullNewTimeout() {
    Cluster cluster = new Cluster(true);
    cluster.run(300);
    // Node 2 misses 400 ms of heartbeats: within its 750 ms timeout, so it still follows node 1.
    cluster.appendsDropped.add(TWO);
    cluster.run(400);
    cluster.appendsDropped.remove(TWO);
    assertThat(cluster.core(TWO).leader()).isEqualTo(ONE);
    // 225 ms from now on. Counted from the last heartbeat it would have expired already.
    cluster.core(TWO).step(new LeaderInput.Reconfigure(150, 30, 2_000));
    cluster.run(1_000);
    assertThat(cluster.preVotesSent).doesNotContain(TWO);
    assertThat(cluster.core(TWO).leader()).isEqualTo(ONE);
    // Once the primary is gone, the short timeout applies.
    cluster.down.add(ONE);
    long diedMs = cluster.now;
    long stoodMs =
        cluster.runUntil(() -> cluster.core(TWO).role() != LeaderCore.Role.SECONDARY, 1_000);
    assertThat(stoodMs - diedMs).isLessThanOrEqualTo(240);
  }

  @Test
  void theStartUpGraceIsTwoOfTheCurrentElectionIntervalsAndEndsNoSoonerThanAFullNewTimeout() {
    // Nobody starts as primary: each waits a grace of two intervals from its first tick (1,010).
    Cluster longer = new Cluster(false);
    longer.run(100);
    for (NodeId id : List.of(ONE, TWO, THREE)) {
      longer.core(id).step(new LeaderInput.Reconfigure(2_000, 400, 2_000));
    }
    // Node 1 stands at 1,010 + 4,000 (the new grace) + 2,000 (its new timeout).
    long stoodMs =
        longer.runUntil(() -> longer.core(ONE).role() != LeaderCore.Role.SECONDARY, 8_000);
    assertThat(stoodMs).isBetween(7_010L, 7_020L);

    Cluster shorter = new Cluster(false);
    shorter.run(900);
    for (NodeId id : List.of(ONE, TWO, THREE)) {
      shorter.core(id).step(new LeaderInput.Reconfigure(150, 30, 2_000));
    }
    // Two new intervals since the first tick are already past: the grace ends now (1,900), and
    // node 1 stands one new timeout later, not at once.
    stoodMs = shorter.runUntil(() -> shorter.core(ONE).role() != LeaderCore.Role.SECONDARY, 1_000);
    assertThat(stoodMs).isBetween(2_050L, 2_060L);
  }

  /**
   * A node whose shell was busy with its own storage (LeaderInput.Busy) does not blame anyone for
   * the pause: a secondary stalled 2 s by a large apply does not stand for election, and a primary
   * stalled 3 s does not step down. Without Busy, both happen.
   */
  @Test
  void aNodeBusyWithItsOwnStorageBlamesNobodyForThePause() {
    for (boolean busyReported : List.of(true, false)) {
      Cluster cluster = new Cluster(true);
      cluster.run(300);
      assertThat(cluster.core(ONE).role()).isEqualTo(LeaderCore.Role.PRIMARY);
      // Node 2's loop is stuck in a 2 s apply: no tick, no message, for 2 s of wall time.
      cluster.down.add(TWO);
      cluster.run(2_000);
      cluster.down.remove(TWO);
      if (busyReported) {
        cluster.core(TWO).step(new LeaderInput.Busy(2_000));
      }
      cluster.core(TWO).step(new LeaderInput.Tick(cluster.now));
      cluster.drain();
      assertThat(cluster.preVotesSent.contains(TWO))
          .as("node 2 stood after its own pause (Busy reported: %s)", busyReported)
          .isEqualTo(!busyReported);
    }
    for (boolean busyReported : List.of(true, false)) {
      Cluster cluster = new Cluster(true);
      cluster.run(300);
      // The primary's loop is stuck 3 s (its 2 s replication timeout): its followers answered
      // nothing it could read.
      cluster.down.add(ONE);
      cluster.down.add(TWO);
      cluster.down.add(THREE);
      cluster.now += 3_000;
      cluster.down.clear();
      if (busyReported) {
        cluster.core(ONE).step(new LeaderInput.Busy(3_000));
      }
      cluster.core(ONE).step(new LeaderInput.Tick(cluster.now));
      assertThat(cluster.core(ONE).role() == LeaderCore.Role.PRIMARY)
          .as("the primary kept its role after its own pause (Busy reported: %s)", busyReported)
          .isEqualTo(busyReported);
    }
  }

  @Test
  void aPrimaryStepsDownAfterTheReconfiguredReplicationTimeout() {
    Cluster cluster = new Cluster(true);
    cluster.run(300);
    cluster.core(ONE).step(new LeaderInput.Reconfigure(500, 100, 5_000));
    cluster.down.add(TWO);
    cluster.down.add(THREE);
    cluster.run(4_800); // the old 2 s timeout would have stepped it down long ago
    assertThat(cluster.core(ONE).role()).isEqualTo(LeaderCore.Role.PRIMARY);
    cluster.run(300);
    assertThat(cluster.core(ONE).role()).isNotEqualTo(LeaderCore.Role.PRIMARY);

    Cluster shorter = new Cluster(true);
    shorter.run(300);
    shorter.core(ONE).step(new LeaderInput.Reconfigure(500, 100, 600));
    shorter.down.add(TWO);
    shorter.down.add(THREE);
    shorter.run(700);
    assertThat(shorter.core(ONE).role()).isNotEqualTo(LeaderCore.Role.PRIMARY);
  }

  @Test
  void aReconfiguredReplicationTimeoutAppliesToNewWritesOnly() {
    Cluster cluster = new Cluster(true);
    cluster.run(300);
    cluster.down.add(THREE); // w=all cannot be met; node 2 keeps the primary's majority
    cluster.propose(ONE, 1, WriteConcern.ALL);
    cluster.core(ONE).step(new LeaderInput.Reconfigure(500, 100, 800));
    cluster.propose(ONE, 2, WriteConcern.ALL);
    cluster.run(790);
    assertThat(cluster.replied(1) || cluster.replied(2)).isFalse();
    cluster.run(20);
    assertThat(cluster.outcome(2))
        .isInstanceOfSatisfying(
            Outcome.TimedOut.class, out -> assertThat(out.message()).contains("800 ms"));
    assertThat(cluster.replied(1)).isFalse();
    cluster.run(1_200);
    assertThat(cluster.outcome(1))
        .isInstanceOfSatisfying(
            Outcome.TimedOut.class, out -> assertThat(out.message()).contains("2000 ms"));
    assertThat(cluster.core(ONE).role()).isEqualTo(LeaderCore.Role.PRIMARY);
  }

  @Test
  void theLowestSurvivorWinsAlthoughItStoodWhileTheOthersStillHeardThePrimary() {
    Cluster cluster = new Cluster(true);
    cluster.run(300);
    assertThat(cluster.core(ONE).role()).isEqualTo(LeaderCore.Role.PRIMARY);
    // Node 2 stops hearing the primary early and asks for pre-votes; node 3 still hears it and
    // refuses. Then the primary dies: node 3's refusals end one election interval after its last
    // heartbeat, before its own (later, rank-staggered) timeout, and node 2 must ask again in
    // that window rather than a whole timeout later.
    cluster.appendsDropped.add(TWO);
    cluster.runUntil(() -> cluster.core(TWO).role() == LeaderCore.Role.PRE_CANDIDATE, 5_000);
    // The primary dies 450 ms into node 2's refused round: waiting a whole timeout (750 ms) to
    // ask again would come after node 3's own timeout (1,000 ms after its last heartbeat).
    cluster.run(450);
    cluster.down.add(ONE);
    cluster.appendsDropped.remove(TWO);
    cluster.runUntil(
        () ->
            cluster.core(TWO).role() == LeaderCore.Role.PRIMARY
                || cluster.core(THREE).role() == LeaderCore.Role.PRIMARY,
        5_000);
    assertThat(cluster.core(TWO).role()).isEqualTo(LeaderCore.Role.PRIMARY);
  }

  @Test
  void aBatchsDeadlineGrowsWithItsSize() {
    Cluster cluster = new Cluster(true);
    cluster.run(300);
    cluster.down.add(THREE); // w=all cannot be met: each write runs to its deadline
    cluster.propose(ONE, 1, WriteConcern.ALL);
    cluster.proposeBatch(ONE, 2, 4_001, WriteConcern.ALL);
    long batchMs = LeaderCore.writeTimeoutMs(2_000, 4_001);
    assertThat(batchMs).isEqualTo(2_000 + 4_000 * LeaderCore.DEADLINE_MICROS_PER_ENTRY / 1_000);
    cluster.run(2_010);
    assertThat(cluster.outcome(1))
        .isInstanceOfSatisfying(
            Outcome.TimedOut.class, out -> assertThat(out.message()).contains("2000 ms"));
    assertThat(cluster.replied(2)).as("the batch still has time").isFalse();
    cluster.run((int) (batchMs - 2_010) + 20);
    assertThat(cluster.outcome(2))
        .isInstanceOfSatisfying(
            Outcome.TimedOut.class, out -> assertThat(out.message()).contains(batchMs + " ms"));
  }

  @Test
  void invalidTimingsAreRefusedAndLeaveTheConfigUnchanged() {
    LeaderCore one = new Cluster(true).core(ONE);
    LeaderConfig before = one.config();
    List<LeaderInput.Reconfigure> invalid =
        List.of(
            new LeaderInput.Reconfigure(500, 500, 2_000),
            new LeaderInput.Reconfigure(500, 600, 2_000),
            new LeaderInput.Reconfigure(500, 0, 2_000),
            new LeaderInput.Reconfigure(0, 100, 2_000),
            new LeaderInput.Reconfigure(500, 100, 0));
    for (LeaderInput.Reconfigure reconfigure : invalid) {
      assertThatThrownBy(() -> one.step(reconfigure)).isInstanceOf(IllegalArgumentException.class);
    }
    assertThat(one.config()).isEqualTo(before);
    one.step(new LeaderInput.Reconfigure(1_000, 200, 3_000));
    assertThat(one.config())
        .isEqualTo(
            new LeaderConfig(
                ONE, List.of(ONE, TWO, THREE), 1_000, 200, 3_000, 64, 1_024, 1_000, true));
  }

  /** One core driven by hand; the messages it sends are collected and its appends persisted. */
  private static final class Solo {
    final LeaderCore core;
    final List<LeaderMessage> sent = new ArrayList<>();
    long now = 1_000;
    long persisted;

    Solo(NodeId id, boolean startAsPrimary) {
      core =
          LeaderCore.restore(
              new LeaderConfig(
                  id, List.of(ONE, TWO, THREE), 500, 100, 2_000, 64, 1_024, 1_000, startAsPrimary),
              LeaderRecovered.EMPTY);
      tick(0);
    }

    void tick(long ms) {
      now += ms;
      core.step(new LeaderInput.Tick(now));
      collect();
    }

    void receive(LeaderMessage message) {
      core.step(new LeaderInput.Received(message));
      collect();
    }

    void collect() {
      while (core.hasReady()) {
        LeaderReady ready = core.ready();
        persisted += ready.entriesToAppend().size();
        core.step(new LeaderInput.Persisted(persisted));
        ready.messages().forEach(out -> sent.add(out.message()));
      }
    }

    <T extends LeaderMessage> List<T> sent(Class<T> type) {
      List<T> matching = sent.stream().filter(type::isInstance).map(type::cast).toList();
      sent.clear();
      return matching;
    }
  }

  @Test
  void aFollowerGrantsPreVotesAndVotesToThePrimaryItFollowsButNotToOthers() {
    Solo three = new Solo(THREE, false);
    three.receive(new LeaderMessage.Append(TWO, 1, 0, 0, List.of(), 0, 1));
    assertThat(three.core.leader()).isEqualTo(TWO);
    three.sent(LeaderMessage.class);

    // Node 2 asks: it lost the role (a member it had not heard from was in a later epoch), so
    // there is no live primary to protect from it.
    three.receive(new LeaderMessage.PreVote(TWO, 6, 0, 0));
    three.receive(new LeaderMessage.PreVote(ONE, 6, 0, 0));
    assertThat(three.sent(LeaderMessage.PreVoteReply.class))
        .extracting(LeaderMessage.PreVoteReply::from, LeaderMessage.PreVoteReply::granted)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(THREE, true),
            org.assertj.core.groups.Tuple.tuple(THREE, false));
    three.receive(new LeaderMessage.Vote(ONE, 6, 0, 0));
    assertThat(three.sent(LeaderMessage.VoteReply.class))
        .as("a stray candidate is still ignored while the primary is heard")
        .isEmpty();
    three.receive(new LeaderMessage.Vote(TWO, 6, 0, 0));
    assertThat(three.sent(LeaderMessage.VoteReply.class))
        .singleElement()
        .satisfies(reply -> assertThat(reply.granted()).isTrue());
  }

  @Test
  void aMemberStartedAsPrimaryThatIsDeposedBeforeItsEpochCommitsKeepsItsColdStartPace() {
    Solo two = new Solo(TWO, true);
    assertThat(two.sent(LeaderMessage.PreVote.class)).hasSize(2);
    two.receive(new LeaderMessage.PreVoteReply(THREE, 1, true, 0));
    two.receive(new LeaderMessage.VoteReply(THREE, 1, true));
    assertThat(two.core.role()).isEqualTo(LeaderCore.Role.PRIMARY);
    // Node 1, whose stream came up late, is in a later epoch: node 2 is deposed at once.
    two.receive(new LeaderMessage.VoteReply(ONE, 5, false));
    assertThat(two.core.role()).isEqualTo(LeaderCore.Role.SECONDARY);
    two.sent(LeaderMessage.class);
    two.tick(100);
    assertThat(two.sent(LeaderMessage.PreVote.class))
        .as("it never led: it asks again at the next heartbeat, in the later epoch")
        .hasSize(2)
        .allSatisfy(pre -> assertThat(pre.epoch()).isEqualTo(6));
  }

  @Test
  void aMemberStartedAsPrimaryThatLedTakesThePlainTimeoutAfterwards() {
    Solo two = new Solo(TWO, true);
    two.receive(new LeaderMessage.PreVoteReply(THREE, 1, true, 0));
    two.receive(new LeaderMessage.VoteReply(THREE, 1, true));
    LeaderMessage.Append marker = two.sent(LeaderMessage.Append.class).get(0);
    two.receive(new LeaderMessage.AppendReply(THREE, 1, true, 1, marker.round()));
    assertThat(two.core.commitIndex()).as("a majority holds its epoch's first entry").isEqualTo(1);
    two.tick(2_100); // no majority heard for a replication timeout: it steps down
    assertThat(two.core.role()).isEqualTo(LeaderCore.Role.SECONDARY);
    two.sent(LeaderMessage.class);
    two.tick(100);
    two.tick(100);
    assertThat(two.sent(LeaderMessage.PreVote.class))
        .as("later elections keep the rank-staggered timeout (A31)")
        .isEmpty();
  }

  // -----------------------------------------------------------------------------------------------
  // Membership changes.

  private static final NodeId FOUR = NodeId.of("4");

  private static Cluster withPrimaryOne() {
    Cluster cluster = new Cluster(true);
    cluster.runUntil(
        () ->
            cluster.core(ONE).role() == LeaderCore.Role.PRIMARY
                && cluster.core(ONE).commitIndex() >= 1,
        3_000);
    return cluster;
  }

  @Test
  void anAddedMemberCatchesUpAsALearnerThenVotes() {
    Cluster cluster = withPrimaryOne();
    for (long id = 1; id <= 50; id++) {
      cluster.propose(ONE, id, WriteConcern.MAJORITY);
    }
    cluster.addJoiner(FOUR);
    cluster.run(1_000);
    assertThat(cluster.core(FOUR).role())
        .as("a joiner that is not a member never stands")
        .isEqualTo(LeaderCore.Role.SECONDARY);
    assertThat(cluster.preVotesSent).doesNotContain(FOUR);

    cluster.change(ONE, 100, FOUR, true);
    cluster.runUntil(() -> cluster.replied(100), 3_000);
    assertThat(cluster.outcome(100)).isInstanceOf(Outcome.Committed.class);
    LeaderMembers members = cluster.core(ONE).members();
    assertThat(members.voters()).containsExactly(ONE, TWO, THREE, FOUR);
    assertThat(members.learners()).isEmpty();
    cluster.run(300);
    assertThat(cluster.log(FOUR)).isEqualTo(cluster.log(ONE));
    assertThat(cluster.core(FOUR).members()).isEqualTo(members);
    // Two configuration entries: the learner, then the voter.
    assertThat(
            cluster.log(ONE).stream()
                .filter(e -> e.collection().equals(LeaderMembers.COLLECTION))
                .map(e -> LeaderMembers.parse(java.util.Objects.requireNonNull(e.document())))
                .toList())
        .containsExactly(
            LeaderMembers.of(List.of(ONE, TWO, THREE)).withLearner(FOUR, null), members);

    // Four voters: a majority is three, so two down stop commits.
    cluster.down.add(TWO);
    cluster.down.add(THREE);
    cluster.propose(ONE, 101, WriteConcern.MAJORITY);
    assertThat(cluster.replied(101)).isFalse();
    cluster.down.remove(TWO);
    cluster.runUntil(() -> cluster.replied(101), 3_000);
    assertThat(cluster.outcome(101)).isInstanceOf(Outcome.Committed.class);
  }

  @Test
  void oneChangeAtATimeAndOnlyOnThePrimary() {
    Cluster cluster = withPrimaryOne();
    cluster.addJoiner(FOUR);
    cluster.down.add(FOUR); // it never catches up
    cluster.change(TWO, 1, FOUR, true);
    assertThat(cluster.outcome(1)).isInstanceOf(Outcome.NotPrimary.class);
    cluster.change(ONE, 2, FOUR, true);
    assertThat(cluster.core(ONE).changingMembers()).isTrue();
    cluster.change(ONE, 3, THREE, false);
    assertThat(cluster.outcome(3))
        .isInstanceOfSatisfying(
            Outcome.Rejected.class,
            r -> {
              assertThat(r.code()).isEqualTo("change_in_progress");
              assertThat(r.message()).contains("4").contains("learner");
            });
    // Removing the learner cancels its addition.
    cluster.change(ONE, 5, FOUR, false);
    assertThat(cluster.outcome(2))
        .isInstanceOfSatisfying(
            Outcome.Rejected.class, r -> assertThat(r.code()).isEqualTo("change_cancelled"));
    cluster.runUntil(() -> cluster.replied(5), 2_000);
    assertThat(cluster.outcome(5)).isInstanceOf(Outcome.Committed.class);
    assertThat(cluster.core(ONE).members()).isEqualTo(LeaderMembers.of(List.of(ONE, TWO, THREE)));
    assertThat(cluster.core(ONE).changingMembers()).isFalse();
    cluster.change(ONE, 6, FOUR, false);
    assertThat(cluster.outcome(6))
        .isInstanceOfSatisfying(
            Outcome.Rejected.class, r -> assertThat(r.code()).isEqualTo("not_member"));
    cluster.change(ONE, 4, ONE, true);
    assertThat(cluster.outcome(4))
        .isInstanceOfSatisfying(
            Outcome.Rejected.class, r -> assertThat(r.code()).isEqualTo("already_member"));
  }

  @Test
  void aRemovalThatWouldLoseTheQuorumIsRefused() {
    Cluster cluster = withPrimaryOne();
    cluster.down.add(THREE);
    cluster.run(2_100); // three has not answered for a replication timeout
    assertThat(cluster.core(ONE).role()).isEqualTo(LeaderCore.Role.PRIMARY);
    // Without two, the members would be {1, 3}, and 3 is down: no majority.
    cluster.change(ONE, 1, TWO, false);
    assertThat(cluster.outcome(1))
        .isInstanceOfSatisfying(
            Outcome.Rejected.class,
            r -> {
              assertThat(r.code()).isEqualTo("would_lose_quorum");
              assertThat(r.message()).contains("[1, 3]").contains("need 2");
            });
    assertThat(cluster.core(ONE).members().voters()).containsExactly(ONE, TWO, THREE);
    // Removing the dead one is fine: {1, 2} are both live.
    cluster.change(ONE, 2, THREE, false);
    cluster.runUntil(() -> cluster.replied(2), 2_000);
    assertThat(cluster.outcome(2)).isInstanceOf(Outcome.Committed.class);
    assertThat(cluster.core(TWO).members().voters()).containsExactly(ONE, TWO);
  }

  @Test
  void aPrimaryThatRemovesItselfStepsDownOnceTheChangeCommitsAndTheRestElect() {
    Cluster cluster = withPrimaryOne();
    cluster.propose(ONE, 1, WriteConcern.MAJORITY);
    cluster.change(ONE, 2, ONE, false);
    cluster.runUntil(() -> cluster.replied(2), 2_000);
    assertThat(cluster.outcome(2)).isInstanceOf(Outcome.Committed.class);
    assertThat(cluster.core(ONE).role()).isEqualTo(LeaderCore.Role.SECONDARY);
    cluster.runUntil(() -> cluster.core(TWO).role() == LeaderCore.Role.PRIMARY, 3_000);
    assertThat(cluster.core(TWO).reachableMembers().voters())
        .as("once committed, the removed member is no longer talked to")
        .containsExactly(TWO, THREE);
    assertThat(cluster.core(TWO).members().voters()).containsExactly(TWO, THREE);
    cluster.propose(TWO, 3, WriteConcern.MAJORITY);
    cluster.runUntil(() -> cluster.replied(3), 2_000);
    assertThat(cluster.outcome(3)).isInstanceOf(Outcome.Committed.class);
    cluster.run(3_000);
    assertThat(cluster.core(ONE).role())
        .as("a removed member never stands again")
        .isEqualTo(LeaderCore.Role.SECONDARY);
    assertThat(cluster.core(TWO).role()).isEqualTo(LeaderCore.Role.PRIMARY);
  }

  @Test
  void anUncommittedConfigurationThatIsTruncatedGivesWayToTheOneBefore() {
    Cluster cluster = withPrimaryOne();
    cluster.run(200);
    // One appends a configuration no one else receives, then dies.
    cluster.appendsDropped.add(TWO);
    cluster.appendsDropped.add(THREE);
    cluster.change(ONE, 1, THREE, false);
    assertThat(cluster.core(ONE).members().voters()).containsExactly(ONE, TWO);
    assertThat(cluster.core(ONE).reachableMembers().voters())
        .as("a member an uncommitted change removes is still talked to")
        .containsExactly(ONE, TWO, THREE);
    cluster.down.add(ONE);
    cluster.appendsDropped.clear();
    cluster.runUntil(() -> cluster.core(TWO).role() == LeaderCore.Role.PRIMARY, 3_000);
    cluster.propose(TWO, 2, WriteConcern.MAJORITY);
    cluster.down.remove(ONE);
    cluster.runUntil(() -> cluster.log(ONE).equals(cluster.log(TWO)), 3_000);
    assertThat(cluster.core(ONE).members()).isEqualTo(LeaderMembers.of(List.of(ONE, TWO, THREE)));
    assertThat(cluster.core(ONE).membersIndex()).isZero();
  }

  @Test
  void configurationsSurviveARestartFromTheLog() {
    LeaderMembers members =
        LeaderMembers.of(List.of(ONE, TWO)).withLearner(FOUR, "http://127.0.0.1:9004");
    LeaderCore core =
        LeaderCore.restore(
            new LeaderConfig(
                TWO, List.of(ONE, TWO, THREE), 500, 100, 2_000, 64, 1_024, 1_000, false),
            new LeaderRecovered(
                1,
                null,
                10,
                Map.of(1L, 1L),
                5,
                io.skein.core.hlc.Hlc.ZERO,
                Set.of(),
                Map.of(7L, members)));
    assertThat(core.members()).isEqualTo(members);
    assertThat(core.membersIndex()).isEqualTo(7);
    assertThat(core.changingMembers()).isTrue();
    assertThat(core.ready().members()).as("the first ready carries the members").isEqualTo(members);
  }

  @Test
  void aConfigurationDocumentRoundTripsAndABadOneIsRefused() {
    LeaderMembers members =
        new LeaderMembers(
            List.of(THREE, ONE), List.of(FOUR), Map.of(FOUR, "https://db4.example:8443"));
    assertThat(members.voters()).containsExactly(ONE, THREE);
    assertThat(LeaderMembers.parse(members.toDocument())).isEqualTo(members);
    assertThat(members.majority()).isEqualTo(2);
    assertThat(members.rank(THREE)).isEqualTo(1);
    assertThat(members.rank(FOUR)).isEqualTo(-1);
    assertThatThrownBy(() -> LeaderMembers.parse("{\"voters\":[\"1\"]}"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () -> LeaderMembers.parse("{\"voters\":[\"a b\"],\"learners\":[],\"urls\":{}}"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("a b");
    assertThatThrownBy(() -> new LeaderMembers(List.of(ONE), List.of(ONE), Map.of()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () -> new LeaderMembers(List.of(ONE), List.of(), Map.of(ONE, "http://x\"y:1")))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aRemovedMemberLearnsItWasRemovedAndNeverStands() {
    Cluster cluster = withPrimaryOne();
    cluster.change(ONE, 1, THREE, false);
    cluster.runUntil(() -> cluster.replied(1), 2_000);
    assertThat(cluster.outcome(1)).isInstanceOf(Outcome.Committed.class);
    cluster.run(300);
    assertThat(cluster.core(THREE).members().voters()).containsExactly(ONE, TWO);
    assertThat(cluster.core(ONE).reachableMembers().contains(THREE))
        .as("once it holds its removal the primary stops feeding it")
        .isFalse();
    cluster.preVotesSent.clear();
    cluster.run(3_000); // no primary feeds it any more: it times out, but it is not a voter
    assertThat(cluster.preVotesSent).doesNotContain(THREE);
    assertThat(cluster.core(THREE).role()).isEqualTo(LeaderCore.Role.SECONDARY);
    assertThat(cluster.core(ONE).role()).isEqualTo(LeaderCore.Role.PRIMARY);
  }

  /**
   * The thesis's corner (section 4.2.2): a primary removes itself, the other voter never gets the
   * new configuration, and the primary steps down. The other voter still counts it and needs its
   * vote, which it refuses (its log is longer): the removed primary must stand again, win, commit
   * its removal and step down.
   */
  @Test
  void aPrimaryWhoseOwnRemovalDidNotReachTheOthersStandsAgainToFinishIt() {
    Cluster cluster = withPrimaryOne();
    cluster.change(ONE, 1, THREE, false);
    cluster.runUntil(() -> cluster.replied(1), 2_000);
    cluster.run(300);
    assertThat(cluster.core(TWO).members().voters()).containsExactly(ONE, TWO);
    cluster.appendsDropped.add(TWO);
    cluster.change(ONE, 2, ONE, false);
    assertThat(cluster.core(ONE).members().voters()).containsExactly(TWO);
    cluster.runUntil(() -> cluster.core(ONE).role() != LeaderCore.Role.PRIMARY, 5_000);
    cluster.appendsDropped.clear();
    cluster.runUntil(
        () ->
            cluster.core(TWO).role() == LeaderCore.Role.PRIMARY
                && cluster.core(TWO).members().voters().equals(List.of(TWO))
                && cluster.core(TWO).commitIndex() >= cluster.core(TWO).membersIndex(),
        20_000);
    cluster.propose(TWO, 3, WriteConcern.MAJORITY);
    cluster.runUntil(() -> cluster.replied(3), 2_000);
    assertThat(cluster.outcome(3)).isInstanceOf(Outcome.Committed.class);
  }

  @Test
  void anAddressTheConfigurationCannotCarryIsRefusedAndChangesNothing() {
    Cluster cluster = withPrimaryOne();
    cluster.core(ONE).step(new LeaderInput.Tick(cluster.now));
    cluster
        .core(ONE)
        .step(new LeaderInput.ChangeMembers(1, FOUR, true, "http://[fe80::1%eth0]:9000", 5_000));
    cluster.drain();
    assertThat(cluster.outcome(1))
        .isInstanceOfSatisfying(
            Outcome.Rejected.class, r -> assertThat(r.code()).isEqualTo("invalid_url"));
    assertThat(cluster.core(ONE).changingMembers()).isFalse();
    assertThat(cluster.core(ONE).role()).isEqualTo(LeaderCore.Role.PRIMARY);
  }
}
