package io.skein.testkit.sim;

import io.skein.core.merge.DocumentState;
import io.skein.core.merge.InMemoryReplica;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.oplog.Version;
import io.skein.core.replica.Envelope;
import io.skein.core.replica.GatewayStatus;
import io.skein.core.replica.Input;
import io.skein.core.replica.Mutation;
import io.skein.core.replica.Outcome;
import io.skein.core.replica.ReplicaConfig;
import io.skein.core.replica.Reply;
import io.skein.core.replica.WriteConcern;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.Set;
import java.util.SortedMap;

/**
 * A deterministic run of a multi-writer cluster (D4): nodes, clients and a faulty network, all
 * driven from one seeded PRNG in virtual time. {@link #run()} goes through a fault phase (client
 * writes, message loss, duplication and reordering, crashes and restarts, symmetric and asymmetric
 * partitions, slow nodes, clock skew, and on about one seed in three timings changed at run time)
 * and a quiet phase (every node up, the network healed), then checks:
 *
 * <ul>
 *   <li>convergence: every replica holds identical live documents, equal to the last-write-wins of
 *       every entry any node ever persisted; a tombstone is either identical or collected (D5), so
 *       a deleted document never comes back;
 *   <li>durability: every write acknowledged with {@code w=all} is held by every replica (or
 *       superseded, or deleted and its tombstone collected);
 *   <li>clocks: each node's own entries carry strictly increasing HLCs, across restarts;
 *   <li>gap-free apply (checked at every persist).
 * </ul>
 */
public final class Simulation {
  private static final CollectionName COLLECTION = CollectionName.user("sim");

  private final long seed;
  private final SimulationConfig config;
  private final Random random;
  private final List<SimNode> nodes = new ArrayList<>();
  private final PriorityQueue<InFlight> network = new PriorityQueue<>();

  /**
   * Directed links that lose every message: (from, to). One-way cuts make asymmetric partitions.
   */
  private final Set<List<NodeId>> cut = new HashSet<>();

  /** Nodes whose messages, in and out, take {@link #SLOW_FACTOR} times longer. */
  private final Set<NodeId> slow = new HashSet<>();

  private static final int SLOW_FACTOR = 20;
  private final List<Acknowledged> acknowledgedAll = new ArrayList<>();
  private long nowMs;
  private long messageCounter;
  private long nextRequestId = 1;
  private final Stats stats = new Stats();
  private final Reconfigurations reconfigurations;

  /** Every entry any node persisted as its origin: the ground truth the replicas must reach. */
  private final InMemoryReplica history = new InMemoryReplica();

  /** Counters of one run, for reports and sanity checks. */
  public static final class Stats {
    /** Client writes proposed. */
    public long writes;

    /** Writes acknowledged (any concern). */
    public long acknowledged;

    /** Writes acknowledged with {@code w=all}. */
    public long acknowledgedAll;

    /** Messages sent, dropped and duplicated. */
    public long sent;

    /** Messages lost to drops, partitions or dead receivers. */
    public long dropped;

    /** Crashes. */
    public long crashes;

    /** Partitions. */
    public long partitions;

    /** Snapshot transfers completed (peers that fell behind a horizon). */
    public long snapshots;

    /** Tombstones collected. */
    public long tombstonesCollected;

    /** Oplog entries pruned. */
    public long entriesPruned;

    /** Peers seen leaving or rejoining the active membership. */
    public long membershipChanges;

    /** Timings changed at run time ({@link Input.Reconfigure}), restorations included. */
    public long reconfigurations;

    /** Of those, the ones made while a partition was in force. */
    public long reconfigurationsPartitioned;

    /** Gateway elections won (each in its own epoch). */
    public long gatewayElections;
  }

  private record Acknowledged(DocumentKey key, Version version) {}

  private record InFlight(long deliverAtMs, long order, NodeId to, Envelope envelope)
      implements Comparable<InFlight> {
    @Override
    public int compareTo(InFlight other) {
      int byTime = Long.compare(deliverAtMs, other.deliverAtMs);
      return byTime != 0 ? byTime : Long.compare(order, other.order);
    }
  }

  /** Creates a run; nothing happens until {@link #run()}. */
  public Simulation(long seed, SimulationConfig config) {
    this.seed = seed;
    this.config = config;
    this.random = new Random(seed);
    this.reconfigurations =
        new Reconfigurations(seed, config.reconfigurationsPerMinute(), config.stepMs());
    List<NodeId> ids = new ArrayList<>();
    for (int i = 1; i <= config.nodes(); i++) {
      ids.add(NodeId.of(Integer.toString(i)));
    }
    for (NodeId id : ids) {
      List<NodeId> peers = ids.stream().filter(peer -> !peer.equals(id)).toList();
      ReplicaConfig replicaConfig =
          new ReplicaConfig(
              id, 500, 100_000, 100, peers, 2_000, 2_000, 64, config.retentionMs(), 16);
      long skew =
          config.clockSkewMaxMs() == 0
              ? 0
              : random.nextLong(-config.clockSkewMaxMs(), config.clockSkewMaxMs() + 1);
      SimNode node = new SimNode(replicaConfig, skew, history::apply);
      node.step(new Input.ConfigureGateway(true, GATEWAY_ELECTION_MS, GATEWAY_HEARTBEAT_MS));
      node.gatewayChanges = change -> gatewayChanged(node, change);
      nodes.add(node);
    }
  }

  /** The gateway election's timings: the defaults of leader mode's election (0.5 s, 100 ms). */
  private static final long GATEWAY_ELECTION_MS = 500;

  private static final long GATEWAY_HEARTBEAT_MS = 100;

  /** Which node won each epoch's gateway election: at most one per epoch (D1). */
  private final Map<Long, NodeId> gatewayOfEpoch = new java.util.TreeMap<>();

  private void gatewayChanged(SimNode node, GatewayStatus change) {
    if (!change.isGateway()) {
      return;
    }
    NodeId before = gatewayOfEpoch.putIfAbsent(change.epoch(), node.id);
    if (before == null) {
      stats.gatewayElections++;
    } else if (!before.equals(node.id)) {
      throw new SimulationFailure(
          "two gateways in epoch "
              + change.epoch()
              + ": "
              + before
              + " and "
              + node.id
              + " (every epoch's winners: "
              + gatewayOfEpoch
              + ")");
    }
  }

  /**
   * Runs both phases and the checkers.
   *
   * @return the run's counters
   * @throws SimulationFailure naming the seed, if a checker finds a violation
   */
  public Stats run() {
    try {
      long end = config.faultPhaseMs() + config.quiescePhaseMs();
      boolean quiet = false;
      for (nowMs = 0; nowMs <= end; nowMs += config.stepMs()) {
        if (!quiet && nowMs >= config.faultPhaseMs()) {
          quiet = true;
          healEverything();
        }
        if (!quiet) {
          injectFaults();
          issueClientWrites();
        }
        deliverDueMessages(quiet);
        tickAndProcess(quiet);
      }
      check();
      return stats;
    } catch (SimulationFailure | IllegalStateException | IllegalArgumentException e) {
      throw new SimulationFailure(
          "seed "
              + seed
              + " failed at t="
              + nowMs
              + " ms: "
              + e.getMessage()
              + "\nReplay: bin/test -pl skein-testkit -am -Dsurefire.failIfNoSpecifiedTests=false"
              + " -Dtest=DynamoSimulationTest"
              + " -Dskein.sim.seed="
              + seed);
    }
  }

  private void injectFaults() {
    double perStep = config.stepMs() / 60_000.0;
    if (random.nextDouble() < config.partitionsPerMinute() * perStep) {
      // Membership churn, as discovery makes it: one node sees another leave (its beacons
      // stopped) or come back. A left peer stops counting for w= but stays known (D5).
      SimNode observer = nodes.get(random.nextInt(nodes.size()));
      SimNode subject = nodes.get(random.nextInt(nodes.size()));
      if (observer.isAlive() && !observer.id.equals(subject.id)) {
        observer.step(new Input.Tick(clock(observer)));
        observer.step(
            random.nextBoolean()
                ? new Input.PeerLeft(subject.id)
                : new Input.PeerJoined(subject.id));
        stats.membershipChanges++;
      }
    }
    if (random.nextDouble() < config.crashesPerMinute() * perStep) {
      SimNode node = nodes.get(random.nextInt(nodes.size()));
      if (node.isAlive()) {
        node.crash();
        stats.crashes++;
        node.clientWrites.clear(); // their outcome is unknown to the client
      } else {
        node.restart();
      }
    }
    if (random.nextDouble() < config.partitionsPerMinute() * perStep) {
      if (!cut.isEmpty() && random.nextBoolean()) {
        cut.clear();
      } else {
        partition();
      }
    }
    if (random.nextDouble() < config.crashesPerMinute() * perStep) {
      NodeId node = nodes.get(random.nextInt(nodes.size())).id;
      if (!slow.remove(node)) {
        slow.add(node);
      }
    }
    if (reconfigurations.due()) {
      reconfigure(nodes.get(reconfigurations.node(nodes.size())));
    }
  }

  /**
   * Changes a live node's timings, as a reloaded config would: the anti-entropy interval (200 ms to
   * 5 s), the replication timeout (0.5 to 5 s) and, in a scenario with retention, the retention
   * window; or restores its original ones. The nodes disagree on timings from then on, and a
   * restarted node keeps the ones it had.
   */
  private void reconfigure(SimNode node) {
    if (!node.isAlive()) {
      return;
    }
    ReplicaConfig original = node.originalConfig();
    Input.Reconfigure reconfigure =
        reconfigurations.restores()
            ? new Input.Reconfigure(
                original.syncIntervalMs(), original.replicationTimeoutMs(), original.retentionMs())
            : new Input.Reconfigure(
                reconfigurations.between(200, 5_000),
                reconfigurations.between(500, 5_000),
                retentionMs(original.retentionMs()));
    node.step(new Input.Tick(clock(node)));
    node.step(reconfigure);
    stats.reconfigurations++;
    if (!cut.isEmpty()) {
      stats.reconfigurationsPartitioned++;
    }
  }

  /**
   * A retention window for a reconfiguration: none where the scenario keeps everything (it tests
   * replication without a horizon); otherwise sometimes off, else between half and twice the
   * scenario's window, so pruning stops and starts again and the horizon moves at other speeds.
   */
  private long retentionMs(long originalMs) {
    if (originalMs == 0 || reconfigurations.chance(0.2)) {
      return 0;
    }
    return reconfigurations.between(originalMs / 2, originalMs * 2);
  }

  /**
   * Cuts one node off: both ways (a symmetric partition), or only what it sends, or only what it
   * receives (asymmetric partitions, where one side hears the other but not the reverse).
   */
  private void partition() {
    NodeId isolated = nodes.get(random.nextInt(nodes.size())).id;
    int shape = random.nextInt(3);
    for (SimNode other : nodes) {
      if (other.id.equals(isolated)) {
        continue;
      }
      if (shape != 2) {
        cut.add(List.of(isolated, other.id));
      }
      if (shape != 1) {
        cut.add(List.of(other.id, isolated));
      }
    }
    stats.partitions++;
  }

  private void healEverything() {
    cut.clear();
    slow.clear();
    for (SimNode node : nodes) {
      if (!node.isAlive()) {
        node.restart();
      }
    }
    for (SimNode node : nodes) {
      for (SimNode other : nodes) {
        if (!other.id.equals(node.id)) {
          node.step(new Input.PeerJoined(other.id));
        }
      }
    }
  }

  private void issueClientWrites() {
    double expected = config.writesPerSecond() * config.stepMs() / 1000.0;
    int count = (int) expected + (random.nextDouble() < expected - (int) expected ? 1 : 0);
    for (int i = 0; i < count; i++) {
      SimNode node = nodes.get(random.nextInt(nodes.size()));
      if (!node.isAlive()) {
        continue;
      }
      DocumentId id = DocumentId.of("k" + random.nextInt(config.keys()));
      Mutation mutation =
          random.nextDouble() < config.deleteRate()
              ? Mutation.delete(COLLECTION, id)
              : Mutation.put(COLLECTION, id, "{\"by\":\"" + node.id + "\",\"n\":" + i + "}");
      WriteConcern concern = WriteConcern.values()[random.nextInt(3)];
      long requestId = nextRequestId++;
      node.clientWrites.put(requestId, concern);
      node.step(new Input.Tick(clock(node)));
      node.step(new Input.Propose(requestId, List.of(mutation), concern));
      stats.writes++;
    }
  }

  private long clock(SimNode node) {
    return Math.max(0, nowMs + node.clockSkewMs + 1_000_000);
  }

  private void deliverDueMessages(boolean quiet) {
    while (!network.isEmpty() && network.peek().deliverAtMs() <= nowMs) {
      InFlight message = network.poll();
      SimNode to = node(message.to());
      boolean partitioned =
          cut.contains(List.of(message.envelope().message().from(), message.to()));
      if (!to.isAlive() || (!quiet && partitioned)) {
        stats.dropped++;
        continue;
      }
      to.step(new Input.Tick(clock(to)));
      to.step(new Input.Received(message.envelope().message()));
    }
  }

  private void tickAndProcess(boolean quiet) {
    for (SimNode node : nodes) {
      if (!node.isAlive()) {
        continue;
      }
      node.step(new Input.Tick(clock(node)));
      node.process(envelope -> send(envelope, quiet), reply -> reply(node, reply));
    }
  }

  private void send(Envelope envelope, boolean quiet) {
    stats.sent++;
    if (!quiet && random.nextDouble() < config.dropRate()) {
      stats.dropped++;
      return;
    }
    int copies = !quiet && random.nextDouble() < config.duplicateRate() ? 2 : 1;
    for (int i = 0; i < copies; i++) {
      long delay = 1 + random.nextLong(Math.max(1, config.delayMaxMs()));
      if (!quiet && (slow.contains(envelope.to()) || slow.contains(envelope.message().from()))) {
        delay *= SLOW_FACTOR;
      }
      network.add(new InFlight(nowMs + delay, messageCounter++, envelope.to(), envelope));
    }
  }

  private void reply(SimNode node, Reply reply) {
    WriteConcern concern = node.clientWrites.remove(reply.requestId());
    if (concern == null) {
      throw new SimulationFailure(node.id + " replied to unknown request " + reply.requestId());
    }
    if (reply.outcome() instanceof Outcome.Committed committed) {
      stats.acknowledged++;
      if (concern == WriteConcern.ALL) {
        stats.acknowledgedAll++;
        for (OplogEntry entry : committed.entries()) {
          acknowledgedAll.add(new Acknowledged(entry.key(), entry.version()));
        }
      }
    }
  }

  private SimNode node(NodeId id) {
    for (SimNode node : nodes) {
      if (node.id.equals(id)) {
        return node;
      }
    }
    throw new IllegalArgumentException("no node " + id);
  }

  // ---------------------------------------------------------------------------------------------
  // Checkers.

  private void check() {
    checkGateway();
    SortedMap<DocumentKey, DocumentState> expected = history.documents();
    for (SimNode node : nodes) {
      SortedMap<DocumentKey, DocumentState> actual = node.documents();
      List<String> differences = new ArrayList<>();
      Set<DocumentKey> keys = new java.util.TreeSet<>(expected.keySet());
      keys.addAll(actual.keySet());
      for (DocumentKey key : keys) {
        DocumentState want = expected.get(key);
        DocumentState got = actual.get(key);
        boolean collected = got == null && want != null && want.isTombstone();
        if (!collected && !java.util.Objects.equals(want, got)) {
          differences.add(key + " expected " + want + " got " + got);
        }
      }
      if (!differences.isEmpty()) {
        StringBuilder state = new StringBuilder();
        for (SimNode n : nodes) {
          state
              .append("\n  node ")
              .append(n.id)
              .append(": durable ")
              .append(new java.util.TreeMap<>(n.core().durableVector()))
              .append(" horizon ")
              .append(new java.util.TreeMap<>(n.core().horizon()))
              .append(" receiving ")
              .append(n.core().receivingSnapshot())
              .append(" members ")
              .append(n.core().members());
        }
        throw new SimulationFailure(
            state
                + "\n"
                + node.id
                + " did not converge: "
                + differences.size()
                + " divergent keys, e.g. "
                + differences.stream().limit(3).toList());
      }
      checkOwnClock(node);
      stats.snapshots += node.snapshotsCompleted;
      stats.tombstonesCollected += node.tombstonesCollected;
      stats.entriesPruned += node.entriesPruned;
    }
    for (Acknowledged write : acknowledgedAll) {
      DocumentState truth = java.util.Objects.requireNonNull(expected.get(write.key()));
      for (SimNode node : nodes) {
        DocumentState state = node.documents().get(write.key());
        boolean collected = state == null && truth.isTombstone();
        if (!collected && (state == null || state.version().compareTo(write.version()) < 0)) {
          throw new SimulationFailure(
              "write "
                  + write.key()
                  + "@"
                  + write.version()
                  + " acknowledged with w=all is missing on "
                  + node.id);
        }
      }
    }
  }

  /**
   * After the quiet phase every node is up and connected, so the lowest id must be the gateway and
   * every node must follow it: the election converges on the seed's choice once faults stop.
   */
  private void checkGateway() {
    NodeId lowest = nodes.get(0).id;
    for (SimNode node : nodes) {
      GatewayStatus status = node.core().gatewayStatus();
      if (!lowest.equals(status.gateway()) || status.isGateway() != node.id.equals(lowest)) {
        StringBuilder all = new StringBuilder();
        for (SimNode n : nodes) {
          all.append("\n  node ")
              .append(n.id)
              .append(": ")
              .append(n.core().gatewayStatus())
              .append(" term ")
              .append(n.gatewayTerm());
        }
        throw new SimulationFailure(
            all + "\nafter the quiet phase " + node.id + " does not follow gateway " + lowest);
      }
    }
  }

  private static void checkOwnClock(SimNode node) {
    OplogEntry previous = null;
    for (OplogEntry entry : node.ownEntries()) {
      if (previous != null && entry.hlc().compareTo(previous.hlc()) <= 0) {
        throw new SimulationFailure(
            node.id + "'s clock went backwards: " + previous.hlc() + " then " + entry.hlc());
      }
      previous = entry;
    }
  }

  private static String divergence(
      SortedMap<DocumentKey, DocumentState> expected,
      SortedMap<DocumentKey, DocumentState> actual) {
    List<String> differences = new ArrayList<>();
    Set<DocumentKey> keys = new HashSet<>(expected.keySet());
    keys.addAll(actual.keySet());
    for (DocumentKey key : keys) {
      if (!java.util.Objects.equals(expected.get(key), actual.get(key))) {
        differences.add(key + " expected " + expected.get(key) + " got " + actual.get(key));
      }
    }
    return differences.size() + " divergent keys, e.g. " + differences.stream().limit(3).toList();
  }

  /** Returns every node's documents, for scenario assertions. */
  public Map<NodeId, SortedMap<DocumentKey, DocumentState>> documentsByNode() {
    Map<NodeId, SortedMap<DocumentKey, DocumentState>> result = new HashMap<>();
    for (SimNode node : nodes) {
      result.put(node.id, node.documents());
    }
    return result;
  }
}
