package io.skein.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.skein.Durability;
import io.skein.core.leader.LeaderConfig;
import io.skein.core.leader.LeaderCore;
import io.skein.core.leader.LeaderMessage;
import io.skein.core.leader.LeaderReady;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.replica.Mutation;
import io.skein.core.replica.PeerMessage;
import io.skein.core.replica.WriteConcern;
import io.skein.internal.storage.SqliteStore;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three leader-mode loops over real SQLite stores, wired by an in-memory link: a majority write,
 * failover to the next-lowest id when the primary stops, and the old primary's return as a
 * secondary that converges (the core, storage and loop together; the network is not involved).
 */
@Timeout(60)
class LeaderLoopTest {
  private static final List<NodeId> MEMBERS =
      List.of(NodeId.of("1"), NodeId.of("2"), NodeId.of("3"));
  private static final CollectionName C = CollectionName.user("c");

  @TempDir Path dir;
  private final Map<NodeId, LeaderLoop> loops = new ConcurrentHashMap<>();
  private final Map<NodeId, SqliteStore> stores = new ConcurrentHashMap<>();
  private final Map<NodeId, SimpleMeterRegistry> meters = new ConcurrentHashMap<>();

  /** Members that hear nothing from node 1 (a one-way cut). */
  private final Set<NodeId> deafToOne = ConcurrentHashMap.newKeySet();

  @AfterEach
  void closeAll() {
    loops.values().forEach(LeaderLoop::close);
    stores.values().forEach(SqliteStore::close);
  }

  private void start(NodeId id) {
    SqliteStore store =
        stores.computeIfAbsent(
            id,
            n ->
                SqliteStore.open(
                    dir.resolve("n" + n.value()),
                    n,
                    Durability.BUFFERED,
                    2,
                    new SimpleMeterRegistry()));
    LeaderCore core =
        LeaderCore.restore(
            new LeaderConfig(
                id, MEMBERS, 500, 100, 2_000, 64, 1_024, 1_000, id.equals(MEMBERS.get(0))),
            store.leaderRecovered());
    LeaderLoop loop =
        new LeaderLoop(
            core,
            store,
            InstantSource.system(),
            new ChangeNotifier(store.lastLsn()),
            meters.computeIfAbsent(id, n -> new SimpleMeterRegistry()));
    loop.attach(
        new PeerLink() {
          @Override
          public void send(NodeId peer, PeerMessage message) {}

          @Override
          public void sendLeader(NodeId to, LeaderMessage message) {
            LeaderLoop target = loops.get(to);
            if (target != null && !(id.equals(MEMBERS.get(0)) && deafToOne.contains(to))) {
              target.receive(message);
            }
          }
        });
    loops.put(id, loop);
  }

  private void stop(NodeId id) {
    Objects.requireNonNull(loops.remove(id)).close();
  }

  private static boolean await(Duration timeout, BooleanSupplier condition) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      TimeUnit.MILLISECONDS.sleep(10);
    }
    return true;
  }

  private boolean primaryIs(NodeId id) {
    LeaderLoop loop = loops.get(id);
    return loop != null && loop.leaderStatus().role() == LeaderCore.Role.PRIMARY;
  }

  private boolean holds(NodeId node, String doc) {
    return Objects.requireNonNull(stores.get(node))
        .get(new DocumentKey(C, DocumentId.of(doc)))
        .isPresent();
  }

  private void write(NodeId primary, String doc) throws Exception {
    Objects.requireNonNull(loops.get(primary))
        .submit(List.of(Mutation.put(C, DocumentId.of(doc), "{}")), WriteConcern.MAJORITY, false)
        .get(10, TimeUnit.SECONDS);
  }

  @Test
  void aMajorityWriteSurvivesTheFailoverAndTheOldPrimaryRejoinsAsASecondary() throws Exception {
    NodeId one = MEMBERS.get(0);
    NodeId two = MEMBERS.get(1);
    NodeId three = MEMBERS.get(2);
    for (NodeId id : MEMBERS) {
      start(id);
    }
    assertThat(await(Duration.ofSeconds(10), () -> primaryIs(one))).isTrue();
    write(one, "before");
    assertThat(await(Duration.ofSeconds(5), () -> holds(two, "before") && holds(three, "before")))
        .as("secondaries apply what is committed")
        .isTrue();

    stop(one);
    assertThat(await(Duration.ofSeconds(10), () -> primaryIs(two)))
        .as("the next-lowest id takes over")
        .isTrue();
    long epoch = Objects.requireNonNull(loops.get(two)).leaderStatus().epoch();
    write(two, "after");

    start(one);
    assertThat(
            await(
                Duration.ofSeconds(10),
                () -> {
                  LeaderLoop.Status status = Objects.requireNonNull(loops.get(one)).leaderStatus();
                  return status.role() == LeaderCore.Role.SECONDARY
                      && two.equals(status.leader())
                      && holds(one, "after");
                }))
        .as("the old primary follows node 2 and catches up")
        .isTrue();
    assertThat(primaryIs(two)).as("no flapping back to node 1").isTrue();
    assertThat(Objects.requireNonNull(loops.get(one)).leaderStatus().epoch()).isEqualTo(epoch);
    assertThat(holds(one, "before")).isTrue();
  }

  @Test
  void aRefusedPreVoteIsNotCountedOrLoggedAsALeadershipChange() throws Exception {
    NodeId one = MEMBERS.get(0);
    NodeId three = MEMBERS.get(2);
    for (NodeId id : MEMBERS) {
      start(id);
    }
    LeaderLoop loop = Objects.requireNonNull(loops.get(three));
    assertThat(await(Duration.ofSeconds(10), () -> one.equals(loop.leaderStatus().leader())))
        .isTrue();
    long epoch = loop.leaderStatus().epoch();
    List<LeaderReady.LeadershipChanged> seen = new CopyOnWriteArrayList<>();
    loop.onLeadershipChanged(seen::add);
    double changes = changes(three);

    // Node 3 stops hearing the primary, asks for pre-votes, is refused (the others still hear
    // node 1), and follows node 1 again once it hears it: nothing changed.
    deafToOne.add(three);
    assertThat(await(Duration.ofSeconds(10), () -> seen.stream().anyMatch(c -> c.leader() == null)))
        .as("node 3 stopped following to ask for pre-votes")
        .isTrue();
    deafToOne.remove(three);
    assertThat(await(Duration.ofSeconds(10), () -> one.equals(loop.leaderStatus().leader())))
        .isTrue();
    assertThat(loop.leaderStatus().epoch()).as("no election took place").isEqualTo(epoch);
    assertThat(seen).as("the core reported the blip").hasSizeGreaterThanOrEqualTo(2);
    assertThat(changes(three)).as("but it is no leadership change").isEqualTo(changes);
  }

  private double changes(NodeId id) {
    return Objects.requireNonNull(meters.get(id))
        .counter("skein.leader.leadership.changes")
        .count();
  }
}
