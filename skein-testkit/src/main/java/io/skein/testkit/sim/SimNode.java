package io.skein.testkit.sim;

import io.skein.core.hlc.Hlc;
import io.skein.core.merge.InMemoryReplica;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.replica.Envelope;
import io.skein.core.replica.Input;
import io.skein.core.replica.Load;
import io.skein.core.replica.Ready;
import io.skein.core.replica.RecoveredState;
import io.skein.core.replica.ReplicaConfig;
import io.skein.core.replica.ReplicaCore;
import io.skein.core.replica.Reply;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One simulated node: a {@link ReplicaCore} plus the durable state a real node keeps in SQLite (an
 * oplog per origin and the documents), which survives {@link #crash()}. Persisting is synchronous,
 * as the event loop's is: a crash loses only volatile state (the core, pending replies, messages in
 * flight to it).
 */
final class SimNode {
  final NodeId id;
  final long clockSkewMs;
  private final ReplicaConfig config;
  private final InMemoryReplica documents = new InMemoryReplica();
  private final Map<NodeId, List<OplogEntry>> oplog = new HashMap<>();
  private Hlc hlcHighWater = Hlc.ZERO;
  private ReplicaCore core;
  private boolean alive = true;

  /** Client writes waiting for a reply from this node, by request id (volatile state). */
  final Map<Long, io.skein.core.replica.WriteConcern> clientWrites = new HashMap<>();

  SimNode(ReplicaConfig config, long clockSkewMs) {
    this.id = config.nodeId();
    this.config = config;
    this.clockSkewMs = clockSkewMs;
    this.core = ReplicaCore.restore(config, RecoveredState.EMPTY);
  }

  boolean isAlive() {
    return alive;
  }

  ReplicaCore core() {
    return core;
  }

  InMemoryReplica documents() {
    return documents;
  }

  Map<NodeId, List<OplogEntry>> oplog() {
    return oplog;
  }

  void crash() {
    alive = false;
  }

  /** Restarts from durable state only, as a real node does after SIGKILL. */
  void restart() {
    Map<NodeId, Long> vector = new HashMap<>();
    oplog.forEach((origin, entries) -> vector.put(origin, (long) entries.size()));
    long lastLocal = oplog.getOrDefault(id, List.of()).size();
    core = ReplicaCore.restore(config, new RecoveredState(lastLocal, hlcHighWater, vector));
    alive = true;
  }

  void step(Input input) {
    core.step(input);
  }

  /**
   * Runs every {@link Ready} in the contract's order: persist, report, send, load.
   *
   * @param send delivers an envelope to the network
   * @param replies receives each reply to a client
   */
  void process(Consumer<Envelope> send, Consumer<Reply> replies) {
    while (core.hasReady()) {
      Ready ready = core.ready();
      if (!ready.entriesToPersist().isEmpty()) {
        persist(ready.entriesToPersist(), ready.hlcHighWater());
        core.step(new Input.Persisted(localSequence()));
      }
      ready.replies().forEach(replies);
      ready.messages().forEach(send);
      for (Load load : ready.loads()) {
        core.step(new Input.Loaded(load.peer(), read(load)));
      }
    }
  }

  private long localSequence() {
    return oplog.getOrDefault(id, List.of()).size();
  }

  private void persist(List<OplogEntry> entries, Hlc highWater) {
    for (OplogEntry entry : entries) {
      List<OplogEntry> log = oplog.computeIfAbsent(entry.origin(), origin -> new ArrayList<>());
      if (entry.sequence() != log.size() + 1) {
        throw new SimulationFailure(
            id
                + " was asked to persist "
                + entry.origin()
                + "/"
                + entry.sequence()
                + " but holds "
                + log.size()
                + " entries of that origin: apply is not gap-free");
      }
      log.add(entry);
      documents.apply(entry);
    }
    hlcHighWater = Hlc.max(hlcHighWater, highWater);
  }

  private List<OplogEntry> read(Load load) {
    List<OplogEntry> log = oplog.getOrDefault(load.origin(), List.of());
    int from = (int) Math.min(log.size(), load.fromSequence() - 1);
    int to = Math.min(log.size(), from + load.limit());
    return List.copyOf(log.subList(from, to));
  }
}
