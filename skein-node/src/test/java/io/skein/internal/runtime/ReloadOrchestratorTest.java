package io.skein.internal.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.cloudevents.CloudEvent;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.skein.core.config.Config;
import io.skein.core.config.ConfigChange;
import io.skein.core.config.ConfigLayer;
import io.skein.core.config.ConfigResolver;
import io.skein.core.config.RawValue;
import io.skein.core.config.ReloadClass;
import io.skein.core.config.Setting;
import io.skein.core.config.SettingsCatalog;
import io.skein.core.config.ValueTypes;
import io.skein.internal.events.EventBus;
import io.skein.internal.events.NodeEvents;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The reload engine with fake components: plans, timeouts, rollback, breaker, coalescing. */
@Timeout(60)
class ReloadOrchestratorTest {
  static final Setting<Integer> A =
      Setting.builder("alpha.value", ValueTypes.integer(0, 1000))
          .defaultValue(1)
          .reload(ReloadClass.DYNAMIC)
          .description("a")
          .build();
  static final Setting<Integer> B =
      Setting.builder("beta.value", ValueTypes.integer(0, 1000))
          .defaultValue(1)
          .reload(ReloadClass.DYNAMIC)
          .description("b")
          .build();
  static final Setting<Integer> FIXED =
      Setting.builder("alpha.fixed", ValueTypes.integer(0, 1000))
          .defaultValue(1)
          .reload(ReloadClass.STATIC)
          .description("static")
          .build();
  static final Setting<Integer> ORPHAN =
      Setting.builder("gamma.value", ValueTypes.integer(0, 1000))
          .defaultValue(1)
          .reload(ReloadClass.DYNAMIC)
          .description("no owner")
          .build();
  static final SettingsCatalog CATALOG =
      new SettingsCatalog(List.of(A, B, FIXED, ORPHAN), List.of());

  /** A component that records its reloads and can fail or block on demand. */
  static final class Fake implements Component {
    final String name;
    final Set<String> sections;
    final List<String> calls;
    volatile @Nullable String failWith;
    volatile @Nullable CountDownLatch block;
    volatile @Nullable Error error;
    final List<String> released = new CopyOnWriteArrayList<>();

    Fake(String name, String section, List<String> calls) {
      this.name = name;
      this.sections = Set.of(section);
      this.calls = calls;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public Set<String> sections() {
      return sections;
    }

    @Override
    public void start(Config config) {}

    @Override
    public void stop() {}

    @Override
    public void reload(List<ConfigChange> changes, Config config) throws Exception {
      calls.add(name + ":" + changes);
      CountDownLatch latch = block;
      if (latch != null) {
        while (true) {
          try {
            latch.await(); // a component that ignores interrupts: blocks for ever
            break;
          } catch (InterruptedException e) {
            // ignored on purpose
          }
        }
        released.add(name);
      }
      Error thrown = error;
      if (thrown != null) {
        throw thrown;
      }
      String failure = failWith;
      // It refuses new values; putting its old ones back (a rollback to 1) works.
      if (failure != null
          && !changes.isEmpty()
          && !Integer.valueOf(1).equals(changes.get(0).newValue())) {
        throw new IllegalStateException(failure);
      }
    }
  }

  private final List<String> calls = new CopyOnWriteArrayList<>();
  private final Fake alpha = new Fake("alpha", "alpha", calls);
  private final Fake beta = new Fake("beta", "beta", calls);
  private final Map<String, String> file = Collections.synchronizedMap(new LinkedHashMap<>());
  private final List<CloudEvent> events = new CopyOnWriteArrayList<>();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final List<CountDownLatch> latches = new ArrayList<>();
  private @Nullable NodeRuntime runtimeField;
  private @Nullable ReloadOrchestrator reloadsField;
  private volatile ReloadOrchestrator.Policy policy =
      ReloadOrchestrator.Policy.of(
          Duration.ofSeconds(5),
          true,
          Set.of(),
          3,
          Duration.ofMillis(200),
          Duration.ofSeconds(1),
          4);

  private ConfigResolver.Resolution load() {
    Map<String, RawValue> values = new LinkedHashMap<>();
    file.forEach((path, text) -> values.put(path, RawValue.text(text, "file: " + path)));
    return ConfigResolver.resolve(CATALOG, List.of(ConfigLayer.of("file", values)), n -> null);
  }

  private void start(Clock clock) {
    NodeRuntime runtime = new NodeRuntime(List.of(alpha, beta), load().orThrow());
    runtime.start();
    runtimeField = runtime;
    EventBus bus = new EventBus();
    bus.observe(events::add);
    ReloadOrchestrator reloads =
        new ReloadOrchestrator(
            runtime, this::load, c -> policy, bus, new NodeEvents("1", clock), meters, clock);
    reloads.start();
    reloadsField = reloads;
  }

  private NodeRuntime runtime() {
    return java.util.Objects.requireNonNull(runtimeField);
  }

  private ReloadOrchestrator reloads() {
    return java.util.Objects.requireNonNull(reloadsField);
  }

  private ReloadOrchestrator.Result reload() throws Exception {
    return reloads().request("test", Set.of()).get(30, TimeUnit.SECONDS);
  }

  private List<String> types() {
    return events.stream().map(CloudEvent::getType).toList();
  }

  @AfterEach
  void close() {
    latches.forEach(CountDownLatch::countDown);
    if (reloadsField != null) {
      reloadsField.close();
    }
  }

  @Test
  void aReloadAppliesEachComponentsChangesThenSwapsTheSnapshot() throws Exception {
    start(Clock.systemUTC());
    file.put("alpha.value", "5");
    file.put("beta.value", "7");
    ReloadOrchestrator.Result result = reload();
    assertThat(result.outcome()).isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    assertThat(calls).containsExactly("alpha:[alpha.value: 1 -> 5]", "beta:[beta.value: 1 -> 7]");
    assertThat(runtime().config().get(A)).isEqualTo(5);
    assertThat(runtime().config().get(B)).isEqualTo(7);
    assertThat(types())
        .containsExactly(
            "reload.started",
            "reload.validated",
            "reload.module.started",
            "reload.module.completed",
            "reload.module.started",
            "reload.module.completed",
            "reload.completed");
    assertThat(NodeEvents.dataOf(events.get(1)).get("changeCount").asInt()).isEqualTo(2);
    assertThat(reload().outcome()).isEqualTo(ReloadOrchestrator.Outcome.NO_CHANGE);
    assertThat(meters.counter("skein.reload.attempts").count()).isEqualTo(2);
    assertThat(meters.get("skein.config.last.reload.successful").gauge().value()).isEqualTo(1);
  }

  @Test
  void aStaticChangeOrAnUnownedOneIsRefusedBeforeAnyComponentIsTouched() throws Exception {
    start(Clock.systemUTC());
    file.put("alpha.value", "5");
    file.put("alpha.fixed", "2");
    file.put("gamma.value", "3");
    ReloadOrchestrator.Result result = reload();
    assertThat(result.outcome()).isEqualTo(ReloadOrchestrator.Outcome.FAILED);
    assertThat(result.error()).contains("alpha.fixed").contains("static");
    assertThat(result.error()).contains("gamma.value").contains("no running module");
    assertThat(calls).isEmpty();
    assertThat(runtime().config().get(A)).isEqualTo(1);
    assertThat(types()).containsExactly("reload.started", "reload.failed");
    assertThat(meters.get("skein.config.last.reload.successful").gauge().value()).isZero();
  }

  @Test
  void sourcesThatDoNotResolveApplyNothingAndReportEveryProblem() throws Exception {
    start(Clock.systemUTC());
    file.put("alpha.value", "5000");
    file.put("beta.value", "x");
    ReloadOrchestrator.Result result = reload();
    assertThat(result.outcome()).isEqualTo(ReloadOrchestrator.Outcome.FAILED);
    assertThat(result.violations())
        .extracting(v -> v.path())
        .containsExactly("alpha.value", "beta.value");
    assertThat(calls).isEmpty();
  }

  @Test
  void aFailedComponentRollsBackItselfAndThoseBeforeItInReverse() throws Exception {
    start(Clock.systemUTC());
    beta.failWith = "beta refuses";
    file.put("alpha.value", "5");
    file.put("beta.value", "7");
    ReloadOrchestrator.Result result = reload();
    assertThat(result.outcome()).isEqualTo(ReloadOrchestrator.Outcome.ROLLED_BACK);
    assertThat(result.failedModule()).isEqualTo("beta");
    assertThat(result.error()).contains("beta refuses");
    assertThat(calls)
        .containsExactly(
            "alpha:[alpha.value: 1 -> 5]",
            "beta:[beta.value: 1 -> 7]",
            "beta:[beta.value: 7 -> 1]",
            "alpha:[alpha.value: 5 -> 1]");
    assertThat(runtime().config().get(A)).isEqualTo(1);
    assertThat(types()).endsWith("reload.failed", "reload.rolledback");
  }

  @Test
  void withoutRollbackTheFailureIsReportedAndNothingIsUndone() throws Exception {
    policy =
        ReloadOrchestrator.Policy.of(
            Duration.ofSeconds(5),
            false,
            Set.of(),
            3,
            Duration.ofMillis(200),
            Duration.ofSeconds(1),
            4);
    start(Clock.systemUTC());
    beta.failWith = "no";
    file.put("alpha.value", "5");
    file.put("beta.value", "7");
    assertThat(reload().outcome()).isEqualTo(ReloadOrchestrator.Outcome.FAILED);
    assertThat(calls).hasSize(2);
    assertThat(types()).doesNotContain("reload.rolledback");
  }

  @Test
  void aComponentThatBlocksForEverIsAbandonedAndPutBackInLineLater() throws Exception {
    policy =
        ReloadOrchestrator.Policy.of(
            Duration.ofMillis(300),
            true,
            Set.of(),
            3,
            Duration.ofMillis(200),
            Duration.ofSeconds(1),
            4);
    start(Clock.systemUTC());
    CountDownLatch stuck = new CountDownLatch(1);
    latches.add(stuck);
    beta.block = stuck;
    file.put("alpha.value", "5");
    file.put("beta.value", "7");
    long startNanos = System.nanoTime();
    ReloadOrchestrator.Result result = reload();
    assertThat(Duration.ofNanos(System.nanoTime() - startNanos)).isLessThan(Duration.ofSeconds(20));
    // Beta's own rollback cannot run while its abandoned reload holds it: not a clean rollback.
    assertThat(result.outcome()).isEqualTo(ReloadOrchestrator.Outcome.FAILED);
    assertThat(result.error())
        .contains("did not finish within 300 ms")
        .contains("the rollback failed too");
    assertThat(calls).contains("alpha:[alpha.value: 5 -> 1]");
    assertThat(runtime().config().get(B)).isEqualTo(1);
    // No second thread on a component whose abandoned reload still runs.
    assertThat(reload().error()).contains("abandoned after a timeout, is still running");
    // Once it is free, the next reload gives it every setting of its sections again.
    beta.block = null;
    stuck.countDown();
    while (beta.released.isEmpty()) {
      Thread.sleep(5); // the abandoned reload finishes
    }
    Thread.sleep(50); // and its thread ends
    calls.clear();
    file.remove("alpha.value");
    file.remove("beta.value");
    ReloadOrchestrator.Result healed = reload();
    assertThat(healed.outcome()).isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    assertThat(calls).containsExactly("beta:[beta.value: 1 -> 1]");
    calls.clear();
    assertThat(reload().outcome()).isEqualTo(ReloadOrchestrator.Outcome.NO_CHANGE);
    assertThat(calls).isEmpty();
  }

  @Test
  void anUnexpectedErrorFailsTheReloadReleasesTheBreakerAndKeepsTheWorker() throws Exception {
    policy =
        ReloadOrchestrator.Policy.of(
            Duration.ofSeconds(5),
            true,
            Set.of(),
            1,
            Duration.ofMillis(10),
            Duration.ofMillis(20),
            4);
    start(Clock.systemUTC());
    alpha.error = new OutOfMemoryError("simulated");
    file.put("alpha.value", "5");
    ReloadOrchestrator.Result result = reload();
    assertThat(result.outcome())
        .isIn(ReloadOrchestrator.Outcome.ROLLED_BACK, ReloadOrchestrator.Outcome.FAILED);
    alpha.error = null;
    Thread.sleep(50); // past the 10-20 ms backoff the single failure opened
    assertThat(reload().outcome()).isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
  }

  @Test
  void theBreakerOpensAfterConsecutiveFailuresBacksOffToItsCapAndResets() throws Exception {
    MutableClock clock = new MutableClock();
    policy =
        ReloadOrchestrator.Policy.of(
            Duration.ofSeconds(5),
            true,
            Set.of(),
            2,
            Duration.ofSeconds(10),
            Duration.ofSeconds(40),
            4);
    start(clock);
    file.put("alpha.value", "bad");
    reload();
    reload();
    assertThatThrownBy(() -> reloads().request("test", Set.of()))
        .isInstanceOf(ReloadOrchestrator.BackingOffException.class);
    Duration first = reloads().backoffRemaining();
    assertThat(first).isBetween(Duration.ofSeconds(5), Duration.ofSeconds(10));
    assertThat(meters.get("skein.reload.backoff.seconds").gauge().value()).isGreaterThan(4.9);
    for (int trial = 0; trial < 5; trial++) {
      clock.advance(Duration.ofSeconds(41)); // past any backoff: one trial reload goes through
      assertThat(reload().outcome()).isEqualTo(ReloadOrchestrator.Outcome.FAILED);
    }
    // Doubled per failed trial, capped at 40 s, jittered within its upper half.
    assertThat(reloads().backoffRemaining())
        .isBetween(Duration.ofSeconds(20), Duration.ofSeconds(40));
    assertThat(reloads().breakerState()).isEqualTo("open");
    reloads().resetBreaker();
    assertThat(reloads().breakerState()).isEqualTo("closed");
    file.put("alpha.value", "9");
    assertThat(reload().outcome()).isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    assertThat(meters.counter("skein.reload.failures").count()).isEqualTo(7);
  }

  @Test
  void requestsThatWaitTogetherAreCoalescedAndTheQueueIsBounded() throws Exception {
    start(Clock.systemUTC());
    CountDownLatch hold = new CountDownLatch(1);
    latches.add(hold);
    alpha.block = hold;
    file.put("alpha.value", "5");
    CompletableFuture<ReloadOrchestrator.Result> first = reloads().request("test", Set.of());
    while (calls.isEmpty()) {
      Thread.sleep(5); // the first reload is now inside alpha
    }
    List<CompletableFuture<ReloadOrchestrator.Result>> waiting = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      waiting.add(reloads().request("test", Set.of()));
    }
    assertThatThrownBy(() -> reloads().request("test", Set.of()))
        .isInstanceOf(ReloadOrchestrator.QueueFullException.class);
    alpha.block = null;
    file.put("alpha.value", "6");
    hold.countDown();
    assertThat(first.get(10, TimeUnit.SECONDS).outcome())
        .isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    String id = waiting.get(0).get(10, TimeUnit.SECONDS).reloadId();
    for (CompletableFuture<ReloadOrchestrator.Result> request : waiting) {
      assertThat(request.get(10, TimeUnit.SECONDS).reloadId()).isEqualTo(id);
    }
    assertThat(runtime().config().get(A)).isEqualTo(6);
  }

  @Test
  void onlyEnabledModulesReloadAndASectionReloadLeavesTheRest() throws Exception {
    policy =
        ReloadOrchestrator.Policy.of(
            Duration.ofSeconds(5),
            true,
            Set.of("alpha"),
            3,
            Duration.ofMillis(200),
            Duration.ofSeconds(1),
            4);
    start(Clock.systemUTC());
    file.put("alpha.value", "5");
    file.put("beta.value", "7");
    ReloadOrchestrator.Result refused = reload();
    assertThat(refused.error()).contains("beta.value").contains("reload.enabled-modules");
    assertThat(calls).isEmpty();
    ReloadOrchestrator.Result alphaOnly =
        reloads().request("test", Set.of("alpha")).get(10, TimeUnit.SECONDS);
    assertThat(alphaOnly.outcome()).isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
    assertThat(runtime().config().get(A)).isEqualTo(5);
    assertThat(runtime().config().get(B)).isEqualTo(1);
  }

  /** A clock the test moves by hand (the breaker's backoff runs on it). */
  static final class MutableClock extends Clock {
    private volatile Instant now = Instant.parse("2026-12-06T00:00:00Z");

    void advance(Duration by) {
      now = now.plus(by);
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
