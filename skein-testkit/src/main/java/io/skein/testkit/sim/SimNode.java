package io.skein.testkit.sim;

import io.skein.core.hlc.Hlc;
import io.skein.core.merge.DocumentState;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.replica.Envelope;
import io.skein.core.replica.GatewayStatus;
import io.skein.core.replica.GatewayTerm;
import io.skein.core.replica.Input;
import io.skein.core.replica.Load;
import io.skein.core.replica.Prune;
import io.skein.core.replica.Ready;
import io.skein.core.replica.RecoveredState;
import io.skein.core.replica.ReplicaConfig;
import io.skein.core.replica.ReplicaCore;
import io.skein.core.replica.Reply;
import io.skein.core.replica.SnapshotApply;
import io.skein.core.replica.SnapshotProgress;
import io.skein.core.replica.SnapshotRead;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * One simulated node: a {@link ReplicaCore} plus the durable state a real node keeps in SQLite (an
 * oplog per origin, the documents with their winning entries, the horizon and an open snapshot
 * transfer), which survives {@link #crash()}. Persisting is synchronous, as the event loop's is: a
 * crash loses only volatile state (the core, pending replies, messages in flight to it).
 */
final class SimNode {
  final NodeId id;
  final long clockSkewMs;
  private final ReplicaConfig originalConfig;
  private final Consumer<OplogEntry> history;

  // Durable state.
  private final Map<NodeId, TreeMap<Long, OplogEntry>> oplog = new HashMap<>();
  private final TreeMap<DocumentKey, OplogEntry> winners = new TreeMap<>();
  private final Map<NodeId, Long> horizon = new HashMap<>();
  private @Nullable SnapshotProgress receiving;
  private Hlc hlcHighWater = Hlc.ZERO;
  private GatewayTerm gatewayTerm = GatewayTerm.NONE;

  /** The gateway election's settings, applied again after a restart as the node's config is. */
  private Input.@Nullable ConfigureGateway gatewaySettings;

  /** Receives every change of this node's gateway status (the run's gateway checker). */
  Consumer<GatewayStatus> gatewayChanges = change -> {};

  private ReplicaCore core;
  private boolean alive = true;
  long snapshotsCompleted;
  long tombstonesCollected;
  long entriesPruned;

  /** Client writes waiting for a reply from this node, by request id (volatile state). */
  final Map<Long, io.skein.core.replica.WriteConcern> clientWrites = new HashMap<>();

  /**
   * Creates a node.
   *
   * @param history receives every entry this node persists as its origin (the run's ground truth)
   */
  SimNode(ReplicaConfig config, long clockSkewMs, Consumer<OplogEntry> history) {
    this.id = config.nodeId();
    this.originalConfig = config;
    this.clockSkewMs = clockSkewMs;
    this.history = history;
    this.core = ReplicaCore.restore(config, RecoveredState.EMPTY);
  }

  boolean isAlive() {
    return alive;
  }

  ReplicaCore core() {
    return core;
  }

  /** The config the node was created with, before any reconfiguration. */
  ReplicaConfig originalConfig() {
    return originalConfig;
  }

  /** The documents, tombstones included, as this node holds them. */
  SortedMap<DocumentKey, DocumentState> documents() {
    SortedMap<DocumentKey, DocumentState> documents = new TreeMap<>();
    winners.forEach((key, entry) -> documents.put(key, DocumentState.of(entry)));
    return documents;
  }

  /** This node's own entries still in its oplog, in sequence order. */
  List<OplogEntry> ownEntries() {
    return List.copyOf(oplog.getOrDefault(id, new TreeMap<>()).values());
  }

  void crash() {
    alive = false;
  }

  /**
   * Restarts from durable state only, as a real node does after SIGKILL. Timings changed at run
   * time survive, as a reloaded config file's do.
   */
  void restart() {
    Map<NodeId, Long> vector = new HashMap<>(horizon);
    oplog.forEach(
        (origin, log) -> {
          if (!log.isEmpty()) {
            vector.merge(origin, log.lastKey(), Math::max);
          }
        });
    long lastLocal = vector.getOrDefault(id, 0L);
    core =
        ReplicaCore.restore(
            core.config(),
            new RecoveredState(lastLocal, hlcHighWater, vector, horizon, receiving, gatewayTerm));
    alive = true;
    Input.ConfigureGateway settings = gatewaySettings;
    if (settings != null) {
      core.step(settings);
    }
  }

  void step(Input input) {
    if (input instanceof Input.ConfigureGateway settings) {
      gatewaySettings = settings;
    }
    core.step(input);
  }

  /** The gateway election state this node persisted. */
  GatewayTerm gatewayTerm() {
    return gatewayTerm;
  }

  /**
   * Runs every {@link Ready} in the contract's order: persist, report, send, load, snapshots,
   * retention.
   *
   * @param send delivers an envelope to the network
   * @param replies receives each reply to a client
   */
  void process(Consumer<Envelope> send, Consumer<Reply> replies) {
    while (core.hasReady()) {
      Ready ready = core.ready();
      GatewayTerm term = ready.gatewayTerm();
      if (term != null) {
        if (term.epoch() < gatewayTerm.epoch()) {
          throw new SimulationFailure(
              id + " was asked to persist gateway epoch " + term + " after " + gatewayTerm);
        }
        gatewayTerm = term;
      }
      GatewayStatus changed = ready.gatewayChanged();
      if (changed != null) {
        gatewayChanges.accept(changed);
      }
      if (!ready.entriesToPersist().isEmpty()) {
        persist(ready.entriesToPersist(), ready.hlcHighWater());
        core.step(new Input.Persisted(localSequence()));
      }
      ready.replies().forEach(replies);
      ready.messages().forEach(send);
      for (Load load : ready.loads()) {
        core.step(new Input.Loaded(load.peer(), read(load)));
      }
      for (SnapshotApply apply : ready.snapshotApplies()) {
        applySnapshot(apply);
        core.step(new Input.SnapshotApplied(apply.source(), true));
      }
      for (SnapshotRead read : ready.snapshotReads()) {
        core.step(readSnapshot(read));
      }
      for (Prune prune : ready.prunes()) {
        core.step(new Input.Pruned(prune(prune)));
      }
    }
  }

  private long localSequence() {
    TreeMap<Long, OplogEntry> log = oplog.get(id);
    long last = log == null || log.isEmpty() ? 0 : log.lastKey();
    return Math.max(last, horizon.getOrDefault(id, 0L));
  }

  private long held(NodeId origin) {
    TreeMap<Long, OplogEntry> log = oplog.get(origin);
    long last = log == null || log.isEmpty() ? 0 : log.lastKey();
    return Math.max(last, horizon.getOrDefault(origin, 0L));
  }

  private void persist(List<OplogEntry> entries, Hlc highWater) {
    for (OplogEntry entry : entries) {
      long held = held(entry.origin());
      if (entry.sequence() != held + 1) {
        throw new SimulationFailure(
            id
                + " was asked to persist "
                + entry.origin()
                + "/"
                + entry.sequence()
                + " but holds "
                + held
                + " entries of that origin: apply is not gap-free");
      }
      oplog.computeIfAbsent(entry.origin(), origin -> new TreeMap<>()).put(entry.sequence(), entry);
      applyWinner(entry);
      if (entry.origin().equals(id)) {
        history.accept(entry);
      }
    }
    hlcHighWater = Hlc.max(hlcHighWater, highWater);
  }

  private void applyWinner(OplogEntry entry) {
    OplogEntry current = winners.get(entry.key());
    if (current == null || entry.version().compareTo(current.version()) > 0) {
      winners.put(entry.key(), entry);
    }
  }

  private List<OplogEntry> read(Load load) {
    TreeMap<Long, OplogEntry> log = oplog.getOrDefault(load.origin(), new TreeMap<>());
    if (!log.containsKey(load.fromSequence())) {
      return List.of(); // pruned meanwhile (or never held): the peer will need a snapshot
    }
    List<OplogEntry> entries = new ArrayList<>();
    for (OplogEntry entry : log.tailMap(load.fromSequence(), true).values()) {
      if (entries.size() >= load.limit()) {
        break;
      }
      entries.add(entry);
    }
    return entries;
  }

  private Input.SnapshotLoaded readSnapshot(SnapshotRead read) {
    DocumentKey after = read.afterKey();
    NavigableMap<DocumentKey, OplogEntry> rest =
        after == null ? winners : winners.tailMap(after, false);
    List<OplogEntry> documents = new ArrayList<>();
    DocumentKey lastKey = after;
    int scanned = 0;
    for (Map.Entry<DocumentKey, OplogEntry> doc : rest.entrySet()) {
      if (scanned >= read.limit()) {
        break;
      }
      scanned++;
      lastKey = doc.getKey();
      OplogEntry winner = doc.getValue();
      if (winner.sequence() <= read.vector().getOrDefault(winner.origin(), 0L)) {
        documents.add(winner);
      }
    }
    return new Input.SnapshotLoaded(
        read.peer(), read.vector(), after, documents, lastKey, scanned < read.limit());
  }

  private void applySnapshot(SnapshotApply apply) {
    for (OplogEntry document : apply.documents()) {
      applyWinner(document);
    }
    if (apply.done()) {
      receiving = null;
      apply.vector().forEach((origin, seq) -> horizon.merge(origin, seq, Math::max));
      snapshotsCompleted++;
    } else {
      receiving = new SnapshotProgress(apply.source(), apply.vector(), apply.lastKey());
    }
  }

  private Map<NodeId, Long> prune(Prune prune) {
    for (Map.Entry<NodeId, TreeMap<Long, OplogEntry>> log : oplog.entrySet()) {
      for (Iterator<OplogEntry> it = log.getValue().values().iterator(); it.hasNext(); ) {
        OplogEntry entry = it.next();
        if (entry.hlc().physicalMs() >= prune.cutoffPhysicalMs()) {
          break; // an origin's timestamps grow with its sequence: the rest is newer
        }
        horizon.merge(log.getKey(), entry.sequence(), Math::max);
        it.remove();
        entriesPruned++;
      }
    }
    for (Iterator<OplogEntry> it = winners.values().iterator(); it.hasNext(); ) {
      OplogEntry winner = it.next();
      if (winner.document() == null
          && winner.hlc().physicalMs() < prune.cutoffPhysicalMs()
          && winner.sequence() <= prune.tombstoneStable().getOrDefault(winner.origin(), 0L)) {
        it.remove();
        tombstonesCollected++;
      }
    }
    return Map.copyOf(horizon);
  }
}
