package io.skein.testkit.sim;

import io.skein.core.hlc.Hlc;
import io.skein.core.leader.LeaderConfig;
import io.skein.core.leader.LeaderCore;
import io.skein.core.leader.LeaderInput;
import io.skein.core.leader.LeaderReady;
import io.skein.core.leader.LeaderRecovered;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.Operation;
import io.skein.core.oplog.OplogEntry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * One cold start of a leader-mode cluster in virtual time (ARCHITECTURE A31): one member, chosen at
 * random, is started with {@code --role primary}; the members start at random moments within a few
 * seconds of each other, from empty logs or from the logs of an earlier run (each holds a prefix of
 * one history, with epochs and votes of its own); each directed stream comes up at a random delay
 * after both ends have started, or never (a partition). It runs until a member leads (it was
 * elected and a majority holds its epoch's first entry) and reports whether the primary-designate
 * could win, by the rule the docs give:
 *
 * <p>The primary-designate wins a cold start if, before the first member started as secondary can
 * stand (its election timeout plus the start-up grace after it started, less the time two pre-vote
 * rounds and a vote round take), it has streams both ways with a majority of members (itself
 * included) whose logs are not ahead of its own.
 *
 * <p>Messages are delayed but never lost here: the rule is about timing, and a lost vote only moves
 * an election to its next round. Deterministic from the seed.
 */
public final class ColdStartSimulation {
  private static final CollectionName COLLECTION = CollectionName.user("sim");
  private static final long ELECTION_INTERVAL_MS = 500;
  private static final long HEARTBEAT_MS = 100;
  private static final long STEP_MS = 5;
  private static final long START_SKEW_MAX_MS = 2_500;
  private static final long STREAM_DELAY_MAX_MS = 800;
  private static final long MESSAGE_DELAY_MAX_MS = 20;
  private static final long RUN_MS = 15_000;

  /**
   * The outcome of one cold start.
   *
   * @param designate the member started as primary
   * @param firstPrimary the first member to lead (elected, and its epoch's first entry held by a
   *     majority), or {@code null} if none did within the run
   * @param designateCanWin whether the rule says the designate wins this start
   */
  public record Result(NodeId designate, @Nullable NodeId firstPrimary, boolean designateCanWin) {}

  private final long seed;
  private final Random random;
  private final List<NodeId> ids = new ArrayList<>();
  private final NodeId designate;
  private final Map<NodeId, Long> startMs = new HashMap<>();
  private final Map<NodeId, List<OplogEntry>> logs = new HashMap<>();
  private final Map<NodeId, LeaderCore> cores = new TreeMap<>();
  private final Map<List<NodeId>, Long> streamUpMs = new HashMap<>();
  private final Map<NodeId, Long> markers = new HashMap<>();
  private final PriorityQueue<LeaderSimulation.InFlight> network = new PriorityQueue<>();
  private final boolean designateCanWin;
  private long order;

  /**
   * Prepares a cold start.
   *
   * @param seed the seed
   * @param members how many members (3 or more)
   */
  public ColdStartSimulation(long seed, int members) {
    this.seed = seed;
    this.random = new Random(seed);
    for (int i = 1; i <= members; i++) {
      ids.add(NodeId.of(Integer.toString(i)));
    }
    this.designate = ids.get(random.nextInt(members));
    List<OplogEntry> history = random.nextBoolean() ? List.of() : history();
    for (NodeId id : ids) {
      startMs.put(id, (long) random.nextInt((int) START_SKEW_MAX_MS + 1));
      List<OplogEntry> log = history.subList(0, random.nextInt(history.size() + 1));
      logs.put(id, new ArrayList<>(log));
      cores.put(id, LeaderCore.restore(config(id), recovered(log)));
    }
    for (NodeId from : ids) {
      for (NodeId to : ids) {
        if (!from.equals(to)) {
          long bothUp = Math.max(startOf(from), startOf(to));
          boolean partitioned = random.nextInt(8) == 0;
          streamUpMs.put(
              List.of(from, to),
              partitioned
                  ? Long.MAX_VALUE
                  : bothUp + random.nextInt((int) STREAM_DELAY_MAX_MS + 1));
        }
      }
    }
    this.designateCanWin = designateCanWin();
  }

  private LeaderConfig config(NodeId id) {
    return new LeaderConfig(
        id, ids, ELECTION_INTERVAL_MS, HEARTBEAT_MS, 2_000, 64, 1_024, 1_000, id.equals(designate));
  }

  /** One history an earlier run could have left: runs of entries, each run in a later epoch. */
  private List<OplogEntry> history() {
    List<OplogEntry> entries = new ArrayList<>();
    int length = 1 + random.nextInt(20);
    long epoch = 1;
    NodeId primary = ids.get(random.nextInt(ids.size()));
    for (long index = 1; index <= length; index++) {
      if (random.nextInt(5) == 0) {
        epoch += 1 + random.nextInt(2);
        primary = ids.get(random.nextInt(ids.size()));
      }
      entries.add(
          OplogEntry.createInLog(
              primary,
              index,
              new Hlc(1_000 + index, 0),
              Operation.PUT,
              COLLECTION,
              DocumentId.of("k" + index),
              "{}",
              epoch,
              index));
    }
    return entries;
  }

  /** What a member that held {@code log} persisted: an epoch at or past its log's, maybe a vote. */
  private LeaderRecovered recovered(List<OplogEntry> log) {
    Map<Long, Long> starts = new HashMap<>();
    long lastEpoch = 0;
    for (OplogEntry entry : log) {
      if (entry.epoch() != lastEpoch) {
        starts.put(entry.index(), entry.epoch());
        lastEpoch = entry.epoch();
      }
    }
    long epoch = lastEpoch + random.nextInt(3);
    NodeId votedFor =
        epoch > 0 && random.nextBoolean() ? ids.get(random.nextInt(ids.size())) : null;
    Hlc hlc = log.isEmpty() ? Hlc.ZERO : log.get(log.size() - 1).hlc();
    return new LeaderRecovered(epoch, votedFor, log.size(), starts, 0, hlc);
  }

  /**
   * Runs the start until the first primary is elected (or the run ends).
   *
   * @throws SimulationFailure naming the seed, if the core breaks an invariant
   */
  public Result run() {
    try {
      for (long nowMs = 0; nowMs <= RUN_MS; nowMs += STEP_MS) {
        deliver(nowMs);
        for (Map.Entry<NodeId, LeaderCore> member : cores.entrySet()) {
          if (nowMs >= startOf(member.getKey())) {
            member.getValue().step(new LeaderInput.Tick(nowMs));
            NodeId elected = process(member.getKey(), member.getValue(), nowMs);
            if (elected != null) {
              return new Result(designate, elected, designateCanWin);
            }
          }
        }
      }
      return new Result(designate, null, designateCanWin);
    } catch (IllegalStateException | IllegalArgumentException e) {
      throw new SimulationFailure("cold start seed " + seed + " failed: " + e.getMessage());
    }
  }

  private void deliver(long nowMs) {
    while (!network.isEmpty() && network.peek().deliverAtMs() <= nowMs) {
      LeaderSimulation.InFlight message = network.poll();
      LeaderCore to = java.util.Objects.requireNonNull(cores.get(message.to()));
      to.step(new LeaderInput.Tick(nowMs));
      to.step(new LeaderInput.Received(message.message()));
    }
  }

  /**
   * Runs a member's readies; returns the member if it leads: it is primary and a majority holds its
   * epoch's first entry. A member that wins an election and is deposed before that (a member it had
   * not heard from is in a later epoch) has not led.
   */
  private @Nullable NodeId process(NodeId id, LeaderCore core, long nowMs) {
    List<OplogEntry> log = logOf(id);
    while (core.hasReady()) {
      LeaderReady ready = core.ready();
      if (ready.truncateFrom() != 0) {
        log.subList((int) ready.truncateFrom() - 1, log.size()).clear();
      }
      for (OplogEntry entry : ready.entriesToAppend()) {
        if (entry.origin().equals(id) && entry.collection().equals(LeaderCore.EPOCHS)) {
          markers.put(id, entry.index());
        }
        log.add(entry);
      }
      core.step(new LeaderInput.Persisted(log.size()));
      for (LeaderReady.Outgoing out : ready.messages()) {
        send(id, out, nowMs);
      }
      for (LeaderReady.LogRead read : ready.loads()) {
        int from = (int) read.fromIndex() - 1;
        int to = Math.min(log.size(), from + read.limit());
        core.step(
            new LeaderInput.Loaded(
                read.peer(), read.fromIndex(), List.copyOf(log.subList(from, to))));
      }
    }
    Long marker = markers.get(id);
    boolean leads =
        core.role() == LeaderCore.Role.PRIMARY && marker != null && core.commitIndex() >= marker;
    return leads ? id : null;
  }

  /** A message leaves only on an authenticated stream, as the transport drops the rest. */
  private void send(NodeId from, LeaderReady.Outgoing out, long nowMs) {
    if (nowMs < streamUp(from, out.to())) {
      return;
    }
    long delay = 1 + random.nextInt((int) MESSAGE_DELAY_MAX_MS);
    network.add(new LeaderSimulation.InFlight(nowMs + delay, order++, out.to(), out.message()));
  }

  private long startOf(NodeId id) {
    return java.util.Objects.requireNonNull(startMs.get(id));
  }

  private long streamUp(NodeId from, NodeId to) {
    return java.util.Objects.requireNonNull(streamUpMs.get(List.of(from, to)));
  }

  private List<OplogEntry> logOf(NodeId id) {
    return java.util.Objects.requireNonNull(logs.get(id));
  }

  /** The rule of the class comment, judged on the members' logs at the start. */
  private boolean designateCanWin() {
    long standsFirstMs = Long.MAX_VALUE;
    for (NodeId id : ids) {
      if (!id.equals(designate)) {
        LeaderConfig config = config(id);
        standsFirstMs =
            Math.min(
                standsFirstMs, startOf(id) + config.electionTimeoutMs() + config.startupGraceMs());
      }
    }
    long byMs = standsFirstMs - (3 * HEARTBEAT_MS + 6 * MESSAGE_DELAY_MAX_MS + 2 * STEP_MS);
    int voters = 1;
    for (NodeId id : ids) {
      if (!id.equals(designate)
          && streamUp(designate, id) <= byMs
          && streamUp(id, designate) <= byMs
          && !ahead(logOf(id), logOf(designate))) {
        voters++;
      }
    }
    return voters >= ids.size() / 2 + 1;
  }

  /** Whether log {@code a} is more up to date than log {@code b} (last epoch, then length). */
  private static boolean ahead(List<OplogEntry> a, List<OplogEntry> b) {
    long epochA = a.isEmpty() ? 0 : a.get(a.size() - 1).epoch();
    long epochB = b.isEmpty() ? 0 : b.get(b.size() - 1).epoch();
    return epochA > epochB || (epochA == epochB && a.size() > b.size());
  }
}
