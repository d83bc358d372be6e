package io.skein.internal.runtime;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.skein.core.config.Config;
import io.skein.core.config.ConfigChange;
import io.skein.core.config.ConfigDiff;
import io.skein.core.config.ConfigResolver;
import io.skein.core.config.ReloadClass;
import io.skein.core.config.Violation;
import io.skein.internal.events.EventBus;
import io.skein.internal.events.NodeEvents;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs reloads (seed 002, DESIGN.md D13): one at a time, each a plan validated before any component
 * is touched, then applied component by component under a timeout, rolled back in reverse order on
 * failure, and swapped in atomically on success.
 *
 * <p>Design notes:
 *
 * <ul>
 *   <li><b>One at a time, coalesced.</b> Requests wait in a bounded queue; the worker takes every
 *       waiting request at once and runs one reload for all of them (a reload re-reads the sources,
 *       so the latest content wins). A full queue refuses the request.
 *   <li><b>Validate the whole plan first.</b> The sources must resolve without a problem; a change
 *       to a {@code static} setting, a change no component owns, and a change owned by a module
 *       outside {@code reload.enabled-modules} are refused, naming the field. Nothing is touched.
 *   <li><b>Enforced timeouts.</b> Each component reloads on a thread of its own; one that does not
 *       finish within the shorter of its {@link Component#reloadTimeout()} and {@code
 *       reload.reload-timeout} is interrupted and abandoned, and the reload fails. A component
 *       whose abandoned reload is still running refuses the next reload at once, so a component
 *       that blocks for ever costs one thread, not one per reload.
 *   <li><b>Rollback.</b> On failure, with {@code reload.enable-rollback}, the failed component and
 *       then those already reloaded get the inverse changes and the old configuration, in reverse
 *       order. The old snapshot stays current either way.
 *   <li><b>Circuit breaker.</b> Consecutive failures open a {@link ReloadBreaker}; while it is open
 *       a request fails with {@link BackingOffException} and its retry time.
 * </ul>
 *
 * <p>Thread-safe. The reloads run on one worker thread started by {@link #start()}.
 */
public final class ReloadOrchestrator implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ReloadOrchestrator.class);

  /**
   * The reload settings that apply to a reload: those of the configuration running when it starts.
   *
   * @param moduleTimeout the longest one component may take
   * @param rollback whether a failed reload rolls back the components already reloaded
   * @param enabledModules the modules that may reload; empty for all
   * @param breaker the circuit breaker's settings
   * @param queueMax the most requests that may wait
   */
  public record Policy(
      Duration moduleTimeout,
      boolean rollback,
      Set<String> enabledModules,
      ReloadBreaker.Settings breaker,
      int queueMax) {
    /** Copies the set. */
    public Policy {
      enabledModules = Set.copyOf(enabledModules);
    }

    /** Creates a policy from plain values. */
    public static Policy of(
        Duration moduleTimeout,
        boolean rollback,
        Set<String> enabledModules,
        int failureThreshold,
        Duration backoffBase,
        Duration backoffCap,
        int queueMax) {
      return new Policy(
          moduleTimeout,
          rollback,
          enabledModules,
          new ReloadBreaker.Settings(failureThreshold, backoffBase, backoffCap),
          queueMax);
    }
  }

  /** How a reload ended. */
  public enum Outcome {
    /** Every change was applied and the new snapshot is current. */
    COMPLETED,
    /** The sources hold nothing new. */
    NO_CHANGE,
    /** Nothing changed: the plan was refused, or a component failed and nothing was rolled back. */
    FAILED,
    /** A component failed and the components already reloaded were rolled back. */
    ROLLED_BACK;

    /** Returns the lower-case name used on the API. */
    public String wireName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * The result of one reload.
   *
   * @param reloadId the reload's id, as in its events
   * @param outcome how it ended
   * @param changes the changes it applied or tried to apply (secrets redacted when shown)
   * @param failedModule the component that failed, or {@code null}
   * @param error what went wrong, or {@code null}
   * @param violations the problems of a refused plan (invalid sources, static changes)
   */
  public record Result(
      String reloadId,
      Outcome outcome,
      List<ConfigChange> changes,
      @Nullable String failedModule,
      @Nullable String error,
      List<Violation> violations) {
    /** Copies the lists. */
    public Result {
      changes = List.copyOf(changes);
      violations = List.copyOf(violations);
    }
  }

  /** The circuit breaker is open: no reload runs until {@link #retryAfter()} has passed. */
  public static final class BackingOffException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient Duration retryAfter;

    BackingOffException(Duration retryAfter) {
      super(
          "reloads are backing off after repeated failures; retry in "
              + Math.max(1, (retryAfter.toMillis() + 999) / 1000)
              + " s, or reset the breaker (POST /admin/reload/reset)");
      this.retryAfter = retryAfter;
    }

    /** Returns how long until the breaker lets a reload through. */
    public Duration retryAfter() {
      return retryAfter;
    }
  }

  /** Too many reload requests are waiting already. */
  public static final class QueueFullException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    QueueFullException(int queued) {
      super(queued + " reload requests are waiting already (reload.queue-max); retry later");
    }
  }

  /** The node is shutting down: no more reloads. */
  public static final class ShuttingDownException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    ShuttingDownException() {
      super("the node is shutting down");
    }
  }

  private record Request(String trigger, Set<String> sections, CompletableFuture<Result> done) {}

  private final List<Component> components;
  private final AtomicReference<Config> current;
  private final Supplier<ConfigResolver.Resolution> source;
  private final Function<Config, Policy> policyOf;
  private final EventBus bus;
  private final NodeEvents events;
  private final Clock clock;
  private final ReloadBreaker breaker;
  private final List<Request> queue = new ArrayList<>();
  private final Map<String, Thread> abandoned = new HashMap<>();

  /** Components whose last rollback failed: the next reload gives them all their settings. */
  private final Set<String> dirty = new java.util.HashSet<>();

  private final Counter attempts;
  private final Counter failures;
  private final MeterRegistry meters;
  private volatile boolean lastSuccessful = true;
  private volatile double lastSuccessSeconds;
  private @Nullable Thread worker;
  private boolean closed;

  /**
   * Creates the orchestrator; {@link #start()} starts its worker.
   *
   * @param runtime the components, in order, and the snapshot to swap
   * @param source re-reads the sources and resolves them
   * @param policyOf the reload settings of a configuration
   */
  public ReloadOrchestrator(
      NodeRuntime runtime,
      Supplier<ConfigResolver.Resolution> source,
      Function<Config, Policy> policyOf,
      EventBus bus,
      NodeEvents events,
      MeterRegistry meters,
      Clock clock) {
    this.components = runtime.components();
    this.current = runtime.snapshot();
    this.source = source;
    this.policyOf = policyOf;
    this.bus = bus;
    this.events = events;
    this.clock = clock;
    this.meters = meters;
    this.breaker = new ReloadBreaker(policyOf.apply(current.get()).breaker(), clock);
    this.lastSuccessSeconds = clock.millis() / 1000.0;
    this.attempts =
        Counter.builder("skein.reload.attempts").description("Reloads run").register(meters);
    this.failures =
        Counter.builder("skein.reload.failures")
            .description("Reloads that failed or were rolled back")
            .register(meters);
    Gauge.builder("skein.reload.backoff.seconds", this, o -> o.breaker.remaining().toMillis() / 1e3)
        .description("Time the reload circuit breaker still refuses reloads")
        .register(meters);
    Gauge.builder("skein.config.last.reload.successful", this, o -> o.lastSuccessful ? 1 : 0)
        .description("1 if the last reload succeeded (or none ran), else 0")
        .register(meters);
    Gauge.builder(
            "skein.config.last.reload.success.timestamp.seconds", this, o -> o.lastSuccessSeconds)
        .description("When the configuration last reloaded successfully (or the node started)")
        .register(meters);
  }

  /** Starts the worker thread. */
  public synchronized void start() {
    if (worker == null && !closed) {
      worker = Threads.platform("skein-reload", true, this::work);
    }
  }

  /**
   * Asks for a reload. It runs as soon as the reloads before it are done; requests that wait
   * together are coalesced into one.
   *
   * @param trigger what asked ({@code api}, {@code file}, {@code signal}, {@code override})
   * @param sections the sections to reload, or empty for all
   * @return the result, once the reload ran
   * @throws BackingOffException if the circuit breaker is open
   * @throws QueueFullException if {@code reload.queue-max} requests are waiting already
   * @throws IllegalStateException if the orchestrator is closed
   */
  public CompletableFuture<Result> request(String trigger, Set<String> sections) {
    Duration wait = breaker.remaining();
    if (!wait.isZero()) {
      throw new BackingOffException(wait);
    }
    Request request = new Request(trigger, Set.copyOf(sections), new CompletableFuture<>());
    synchronized (this) {
      if (closed) {
        throw new ShuttingDownException();
      }
      int queueMax = policyOf.apply(current.get()).queueMax();
      if (queue.size() >= queueMax) {
        throw new QueueFullException(queue.size());
      }
      queue.add(request);
      notifyAll();
    }
    return request.done();
  }

  /** Returns the sections the component named {@code name} owns (empty if there is none). */
  public Set<String> sectionsOf(String name) {
    for (Component component : components) {
      if (component.name().equals(name)) {
        return component.sections();
      }
    }
    return Set.of();
  }

  /** Closes the circuit breaker (the admin API's reset). */
  public void resetBreaker() {
    breaker.reset();
    log.info("reload circuit breaker reset");
  }

  /** Returns the breaker's state, {@code closed}, {@code open} or {@code half_open}. */
  public String breakerState() {
    return breaker.state();
  }

  /** Returns how long the breaker still refuses reloads. */
  public Duration backoffRemaining() {
    return breaker.remaining();
  }

  /** Stops the worker; waiting requests fail. Does not wait for a running reload's modules. */
  @Override
  public void close() {
    Thread running;
    List<Request> waiting;
    synchronized (this) {
      closed = true;
      running = worker;
      waiting = new ArrayList<>(queue);
      queue.clear();
      notifyAll();
    }
    for (Request request : waiting) {
      request.done().completeExceptionally(new ShuttingDownException());
    }
    if (running != null) {
      running.interrupt();
      try {
        running.join(5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void work() {
    while (true) {
      List<Request> batch;
      synchronized (this) {
        while (queue.isEmpty() && !closed) {
          try {
            wait();
          } catch (InterruptedException e) {
            if (closed) {
              return;
            }
          }
        }
        if (closed) {
          return;
        }
        batch = new ArrayList<>(queue);
        queue.clear();
      }
      runBatch(batch);
    }
  }

  private void runBatch(List<Request> batch) {
    Set<String> triggers = new LinkedHashSet<>();
    Set<String> sections = new LinkedHashSet<>();
    boolean all = false;
    for (Request request : batch) {
      triggers.add(request.trigger());
      all |= request.sections().isEmpty();
      sections.addAll(request.sections());
    }
    try {
      Result result = reload(String.join(",", triggers), all ? Set.of() : sections);
      batch.forEach(r -> r.done().complete(result));
    } catch (Throwable e) {
      // Nothing may end this thread: without it no reload would ever run again.
      log.error("a reload failed unexpectedly; the reload engine keeps running", e);
      batch.forEach(r -> r.done().completeExceptionally(e));
    }
  }

  /** Runs one reload on the worker thread. */
  private Result reload(String trigger, Set<String> sections) {
    if (!breaker.tryAcquire()) {
      throw new BackingOffException(breaker.remaining());
    }
    String reloadId = UUID.randomUUID().toString();
    long startNanos = System.nanoTime();
    attempts.increment();
    // From here on every path must report to the breaker, or a half-open trial permit would
    // never be returned and reloads would stay refused.
    try {
      bus.publish(events.started(reloadId, trigger));
      Config running = current.get();
      Policy policy = policyOf.apply(running);
      Plan plan = plan(running, sections, policy);
      if (!plan.violations().isEmpty()) {
        String error = "invalid configuration: " + describe(plan.violations());
        return failed(reloadId, startNanos, Outcome.FAILED, plan, null, error);
      }
      bus.publish(events.validated(reloadId, plan.changes()));
      if (plan.steps().isEmpty()) {
        return succeeded(reloadId, startNanos, plan, Outcome.NO_CHANGE);
      }
      return apply(reloadId, startNanos, plan, running, policy);
    } catch (Throwable e) {
      Plan none = new Plan(null, List.of(), List.of(), List.of());
      String error = "the reload failed unexpectedly: " + e.getClass().getSimpleName();
      log.error("reload {} failed unexpectedly", reloadId, e);
      return failed(reloadId, startNanos, Outcome.FAILED, none, null, error);
    }
  }

  /**
   * What a reload will do.
   *
   * @param next the configuration it installs
   * @param changes every change, in catalog order
   * @param steps the components to reload, in runtime order, each with its changes
   * @param violations why it is refused, if it is
   */
  private record Plan(
      @Nullable Config next,
      List<ConfigChange> changes,
      List<Map.Entry<Component, List<ConfigChange>>> steps,
      List<Violation> violations) {}

  private Plan plan(Config running, Set<String> sections, Policy policy) {
    ConfigResolver.Resolution resolution = source.get();
    Config loaded = resolution.config();
    if (loaded == null) {
      return new Plan(null, List.of(), List.of(), resolution.violations());
    }
    Config next = sections.isEmpty() ? loaded : running.withSectionsFrom(loaded, sections);
    List<Violation> violations = new ArrayList<>(ConfigResolver.checkRules(next));
    List<ConfigChange> changes = ConfigDiff.between(running, next);
    List<Map.Entry<Component, List<ConfigChange>>> steps = new ArrayList<>();
    for (Component component : components) {
      List<ConfigChange> owned = new ArrayList<>();
      for (ConfigChange change : changes) {
        if (component.sections().contains(change.setting().section())) {
          owned.add(change);
        }
      }
      if (dirty.contains(component.name())) {
        // Its last rollback failed: it may run values the snapshot does not hold. Give it every
        // setting of its sections again, changed or not, so this reload puts it back in line.
        owned = everySettingOf(component, running, next);
      }
      if (!owned.isEmpty()) {
        steps.add(Map.entry(component, List.copyOf(owned)));
      }
    }
    for (ConfigChange change : changes) {
      Violation refused = refusal(change, steps, policy);
      if (refused != null) {
        violations.add(refused);
      }
    }
    return new Plan(next, changes, steps, violations);
  }

  private static List<ConfigChange> everySettingOf(
      Component component, Config running, Config next) {
    List<ConfigChange> all = new ArrayList<>();
    for (Config.Entry entry : next.entries()) {
      if (component.sections().contains(entry.setting().section())) {
        all.add(
            new ConfigChange(
                entry.setting(), running.entry(entry.setting().path()).value(), entry.value()));
      }
    }
    return all;
  }

  private static @Nullable Violation refusal(
      ConfigChange change, List<Map.Entry<Component, List<ConfigChange>>> steps, Policy policy) {
    String path = change.fieldPath();
    if (change.setting().reloadClass() == ReloadClass.STATIC) {
      return new Violation(path, path, "is static: restart the node to change it");
    }
    List<Component> owners = new ArrayList<>();
    for (Map.Entry<Component, List<ConfigChange>> step : steps) {
      if (step.getValue().contains(change)) {
        owners.add(step.getKey());
      }
    }
    if (owners.isEmpty()) {
      return new Violation(path, path, "no running module applies it; restart the node");
    }
    for (Component owner : owners) {
      if (!policy.enabledModules().isEmpty() && !policy.enabledModules().contains(owner.name())) {
        return new Violation(
            path, path, "its module '" + owner.name() + "' is not in reload.enabled-modules");
      }
      if (!owner.canReload()) {
        return new Violation(path, path, "its module '" + owner.name() + "' cannot reload");
      }
    }
    return null;
  }

  private Result apply(String reloadId, long startNanos, Plan plan, Config running, Policy policy) {
    Config next = java.util.Objects.requireNonNull(plan.next());
    List<Map.Entry<Component, List<ConfigChange>>> applied = new ArrayList<>();
    for (Map.Entry<Component, List<ConfigChange>> step : plan.steps()) {
      Component component = step.getKey();
      bus.publish(events.moduleStarted(reloadId, component.name()));
      long moduleStart = System.nanoTime();
      String error = runStep(component, step.getValue(), next, timeout(component, policy));
      long moduleNanos = System.nanoTime() - moduleStart;
      Timer.builder("skein.reload.duration")
          .description("Time a module took to reload")
          .tag("module", component.name())
          .register(meters)
          .record(moduleNanos, TimeUnit.NANOSECONDS);
      if (error != null) {
        return failedStep(reloadId, startNanos, plan, step, applied, running, policy, error);
      }
      applied.add(step);
      bus.publish(events.moduleCompleted(reloadId, component.name(), moduleNanos / 1_000_000));
    }
    current.set(next);
    dirty.clear(); // every dirty component was given all its settings, and took them
    return succeeded(reloadId, startNanos, plan, Outcome.COMPLETED);
  }

  private Result failedStep(
      String reloadId,
      long startNanos,
      Plan plan,
      Map.Entry<Component, List<ConfigChange>> failedStep,
      List<Map.Entry<Component, List<ConfigChange>>> applied,
      Config running,
      Policy policy,
      String error) {
    String module = failedStep.getKey().name();
    String message = "module '" + module + "' failed to reload: " + error;
    if (!policy.rollback()) {
      dirty.add(module);
      applied.forEach(step -> dirty.add(step.getKey().name()));
      log.error(
          "{}; reload.enable-rollback is false, so the modules reloaded before it keep the new"
              + " values while the configuration snapshot stays the old one",
          message);
      return failed(reloadId, startNanos, Outcome.FAILED, plan, module, message);
    }
    List<Map.Entry<Component, List<ConfigChange>>> undo = new ArrayList<>();
    undo.add(failedStep);
    for (int i = applied.size() - 1; i >= 0; i--) {
      undo.add(applied.get(i));
    }
    List<String> rollbackErrors = new ArrayList<>();
    for (Map.Entry<Component, List<ConfigChange>> step : undo) {
      List<ConfigChange> inverse = step.getValue().stream().map(ConfigChange::inverse).toList();
      String undoError = runStep(step.getKey(), inverse, running, timeout(step.getKey(), policy));
      if (undoError != null) {
        rollbackErrors.add(step.getKey().name() + ": " + undoError);
        dirty.add(step.getKey().name());
      }
    }
    if (!rollbackErrors.isEmpty()) {
      String reason =
          message
              + "; the rollback failed too ("
              + String.join("; ", rollbackErrors)
              + "), so those modules may run new values until the next successful reload"
              + " gives them all their settings again";
      log.error("reload {} could not be rolled back completely: {}", reloadId, rollbackErrors);
      return failed(reloadId, startNanos, Outcome.FAILED, plan, module, reason);
    }
    Result result = failed(reloadId, startNanos, Outcome.ROLLED_BACK, plan, module, message);
    bus.publish(events.rolledBack(reloadId, message));
    return result;
  }

  private Duration timeout(Component component, Policy policy) {
    Duration own = component.reloadTimeout();
    return own.compareTo(policy.moduleTimeout()) < 0 ? own : policy.moduleTimeout();
  }

  /** Runs one component's reload on its own thread; returns the error, or {@code null}. */
  private @Nullable String runStep(
      Component component, List<ConfigChange> changes, Config config, Duration timeout) {
    Thread stuck = abandoned.get(component.name());
    if (stuck != null && stuck.isAlive()) {
      return "its previous reload, abandoned after a timeout, is still running";
    }
    abandoned.remove(component.name());
    CompletableFuture<Void> done = new CompletableFuture<>();
    Thread thread =
        Threads.platform(
            "skein-reload-" + component.name(),
            true,
            () -> {
              try {
                component.reload(changes, config);
                done.complete(null);
              } catch (Throwable e) {
                done.completeExceptionally(e);
              }
            });
    try {
      done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return null;
    } catch (TimeoutException e) {
      thread.interrupt();
      abandoned.put(component.name(), thread);
      return "it did not finish within " + timeout.toMillis() + " ms and was abandoned";
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      return cause.getMessage() == null ? cause.toString() : cause.getMessage();
    } catch (InterruptedException e) {
      thread.interrupt();
      Thread.currentThread().interrupt();
      return "the reload was interrupted (the node is shutting down)";
    }
  }

  private Result succeeded(String reloadId, long startNanos, Plan plan, Outcome outcome) {
    long nanos = System.nanoTime() - startNanos;
    breaker.success(nanos);
    breaker.configure(policyOf.apply(current.get()).breaker());
    lastSuccessful = true;
    lastSuccessSeconds = clock.millis() / 1000.0;
    bus.publish(events.completed(reloadId, nanos / 1_000_000, plan.changes().size()));
    if (outcome == Outcome.COMPLETED) {
      log.atInfo()
          .addKeyValue("reloadId", reloadId)
          .addKeyValue("changes", plan.changes().toString())
          .log("configuration reloaded");
    }
    return new Result(reloadId, outcome, plan.changes(), null, null, List.of());
  }

  private Result failed(
      String reloadId,
      long startNanos,
      Outcome outcome,
      Plan plan,
      @Nullable String module,
      String error) {
    breaker.failure(System.nanoTime() - startNanos, new IllegalStateException(error));
    failures.increment();
    lastSuccessful = false;
    bus.publish(events.failed(reloadId, error, module));
    log.atWarn().addKeyValue("reloadId", reloadId).log("reload failed: {}", error);
    return new Result(reloadId, outcome, plan.changes(), module, error, plan.violations());
  }

  private static String describe(List<Violation> violations) {
    List<String> lines = new ArrayList<>();
    for (Violation violation : violations) {
      lines.add(violation.toString());
    }
    return String.join("; ", lines);
  }
}
