package io.skein.bench;

import io.skein.Durability;
import io.skein.bench.RawSqliteTarget.Shape;
import io.skein.bench.RawSqliteTarget.Sharing;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;

/**
 * Embedded put throughput of Skein against raw SQLite inserts of the same rows, in the same run.
 *
 * <p>For each workload (durability × single puts or batches × number of writer threads), each
 * target runs on a fresh database for a warm-up and then a measured window, back to back; with
 * several rounds, the order of the targets alternates so neither always runs on a warmer JVM or a
 * quieter disk. It prints one Markdown table per durability: puts/s of each target, Skein's ratio
 * to the baseline, p50/p99 latency per call, and Skein's group commits (commits/s, puts per commit,
 * and the share of the window its event loop spent inside SQLite).
 *
 * <pre>
 * java -cp skein-bench/target/skein-benchmarks.jar io.skein.bench.PutThroughput [--quick]
 *   [--warmup-ms 1500] [--duration-ms 4000] [--rounds 2] [--durability fsync,buffered]
 *   [--put-writers 1,8,64] [--batch-writers 1,8] [--batch-size 100]
 *   [--targets raw,raw-per-conn,raw-oplog,skein] [--dir PATH]
 * </pre>
 *
 * The defaults are the full run; {@code --quick} makes every window shorter, runs one round, one
 * batch workload and only the {@code raw} and {@code skein} targets.
 *
 * <p>Targets: {@code skein}; the baselines {@code raw} (one shared connection behind a lock) and
 * {@code raw-per-conn} (a connection per writer, waiting on SQLite's busy handler); and {@code
 * raw-oplog}, raw SQL of Skein's own write set (see {@link RawSqliteTarget.Shape}), to split
 * Skein's cost between storage and engine.
 */
public final class PutThroughput {
  private PutThroughput() {}

  /**
   * The settings of a run.
   *
   * @param warmupMs warm-up of each measurement, in ms
   * @param durationMs measured window of each measurement, in ms
   * @param rounds how many times each workload is measured on each target
   * @param durabilities the durabilities to measure
   * @param putWriters the writer counts for single puts
   * @param batchWriters the writer counts for batches
   * @param batchSize puts per batch
   * @param targets the targets, by name; each workload runs on all of them
   * @param dataParent where the fresh databases are created
   */
  record Options(
      long warmupMs,
      long durationMs,
      int rounds,
      List<Durability> durabilities,
      List<Integer> putWriters,
      List<Integer> batchWriters,
      int batchSize,
      List<String> targets,
      Path dataParent) {

    static final Set<String> TARGETS = Set.of("skein", "raw", "raw-per-conn", "raw-oplog");

    Options {
      for (String target : targets) {
        if (!TARGETS.contains(target)) {
          throw new IllegalArgumentException(
              "unknown target '" + target + "'; known: " + String.join(", ", TARGETS));
        }
      }
      if (targets.isEmpty() || rounds < 1 || batchSize < 2) {
        throw new IllegalArgumentException("need a target, rounds >= 1 and batch size >= 2");
      }
    }

    /**
     * Parses the command line over the full defaults, or the quick ones with {@code --quick}.
     *
     * @throws IllegalArgumentException for an unknown or malformed argument
     */
    static Options parse(String[] args) {
      Arguments a =
          Arguments.parse(
              args,
              Set.of("--quick"),
              Set.of(
                  "--warmup-ms",
                  "--duration-ms",
                  "--rounds",
                  "--durability",
                  "--put-writers",
                  "--batch-writers",
                  "--batch-size",
                  "--targets",
                  "--dir"));
      boolean quick = a.flag("--quick");
      return new Options(
          a.positive("--warmup-ms", quick ? 500 : 1_500),
          a.positive("--duration-ms", quick ? 1_500 : 4_000),
          (int) a.positive("--rounds", quick ? 1 : 2),
          a.words("--durability", List.of("fsync", "buffered")).stream()
              .map(PutThroughput::durability)
              .toList(),
          a.positives("--put-writers", List.of(1, 8, 64)),
          a.positives("--batch-writers", quick ? List.of(1) : List.of(1, 8)),
          (int) a.positive("--batch-size", 100),
          a.words(
              "--targets",
              quick
                  ? List.of("raw", "skein")
                  : List.of("raw", "raw-per-conn", "raw-oplog", "skein")),
          Path.of(a.text("--dir", TempDirs.defaultParent().toString())));
    }
  }

  /**
   * One workload.
   *
   * @param durability fsync or buffered commits
   * @param writers writer threads
   * @param batchSize puts per call: 1 for single puts
   */
  record Workload(Durability durability, int writers, int batchSize) {
    String label() {
      String what = batchSize == 1 ? "put" : "batch of " + batchSize;
      return what + ", " + writers + (writers == 1 ? " writer" : " writers");
    }
  }

  /** What one target did in one workload, summed over the rounds. */
  static final class Tally {
    long units;
    long calls;
    ProcessCounters process = new ProcessCounters(0, 0);
    long elapsedNanos;
    long errors;
    @Nullable String firstError;
    final Histogram latencyMicros = ClosedLoop.newHistogram();
    PutTarget.CommitStats commits = PutTarget.CommitStats.NONE;
    final List<Double> roundRates = new ArrayList<>();

    void add(ClosedLoop.Result result, PutTarget.CommitStats windowCommits) {
      units += result.units();
      calls += result.calls();
      process = process.plus(result.process());
      elapsedNanos += result.elapsedNanos();
      errors += result.errors();
      if (firstError == null) {
        firstError = result.firstError();
      }
      latencyMicros.add(result.latencyMicros());
      commits = commits.plus(windowCommits);
      roundRates.add(result.unitsPerSecond());
    }

    /** Returns puts per second over all rounds. */
    double unitsPerSecond() {
      return elapsedNanos == 0 ? 0 : units * 1e9 / elapsedNanos;
    }
  }

  /**
   * The result of one workload.
   *
   * @param workload the workload
   * @param tallies each target's tally, in the order of the options' targets
   */
  record Row(Workload workload, Map<String, Tally> tallies) {
    /**
     * Returns the tally of {@code target}.
     *
     * @throws IllegalArgumentException if the target was not measured
     */
    Tally tally(String target) {
      Tally tally = tallies.get(target);
      if (tally == null) {
        throw new IllegalArgumentException("target " + target + " was not measured");
      }
      return tally;
    }
  }

  /** Runs the options given on the command line and prints the tables. */
  public static void main(String[] args) throws InterruptedException {
    Options options = Arguments.parseOrExit("PutThroughput", args, Options::parse);
    List<Row> rows = run(options, System.err);
    PrintStream out = System.out;
    out.println(Report.environment("PutThroughput", args));
    for (Durability durability : options.durabilities()) {
      out.println();
      out.println("### " + durability.name().toLowerCase(Locale.ROOT));
      out.println();
      out.print(Report.putTable(rows, durability, options.targets()));
      out.println();
      out.print(Report.costTable(rows, durability, options.targets()));
    }
  }

  /**
   * Measures every workload of {@code options} on every target; prints progress lines.
   *
   * @throws InterruptedException if the thread is interrupted
   */
  static List<Row> run(Options options, PrintStream progress) throws InterruptedException {
    warmUpJit(options, progress);
    List<Row> rows = new ArrayList<>();
    for (Durability durability : options.durabilities()) {
      for (int writers : options.putWriters()) {
        rows.add(measure(new Workload(durability, writers, 1), options, progress));
      }
      for (int writers : options.batchWriters()) {
        rows.add(
            measure(new Workload(durability, writers, options.batchSize()), options, progress));
      }
    }
    return rows;
  }

  /**
   * Runs every target untimed, buffered, with single puts and with batches, so that the first
   * measured workload does not pay for compiling the code of the others.
   */
  private static void warmUpJit(Options options, PrintStream progress) throws InterruptedException {
    progress.println("warming up the JIT on every target ...");
    Options untimed =
        new Options(
            options.warmupMs(),
            options.warmupMs(),
            1,
            List.of(Durability.BUFFERED),
            List.of(4),
            List.of(1),
            options.batchSize(),
            options.targets(),
            options.dataParent());
    for (Workload workload :
        List.of(
            new Workload(Durability.BUFFERED, 4, 1),
            new Workload(Durability.BUFFERED, 1, options.batchSize()))) {
      for (String target : options.targets()) {
        measureOnce(target, workload, untimed, new Tally());
      }
    }
  }

  private static Row measure(Workload workload, Options options, PrintStream progress)
      throws InterruptedException {
    Map<String, Tally> tallies = new LinkedHashMap<>();
    for (String target : options.targets()) {
      tallies.put(target, new Tally());
    }
    for (int round = 0; round < options.rounds(); round++) {
      List<String> order = new ArrayList<>(options.targets());
      if (round % 2 == 1) {
        java.util.Collections.reverse(order);
      }
      for (String target : order) {
        Tally tally = tallies.get(target);
        if (tally == null) {
          throw new IllegalStateException("no tally for " + target);
        }
        measureOnce(target, workload, options, tally);
        progress.printf(
            Locale.ROOT,
            "%-9s %-24s round %d: %-12s %,10.0f puts/s%n",
            workload.durability().name().toLowerCase(Locale.ROOT),
            workload.label(),
            round + 1,
            target,
            tally.roundRates.get(tally.roundRates.size() - 1));
      }
    }
    return new Row(workload, tallies);
  }

  /** Measures {@code target} once on a fresh database and adds the result to {@code tally}. */
  private static void measureOnce(String target, Workload workload, Options options, Tally tally)
      throws InterruptedException {
    Path dir = TempDirs.create(options.dataParent(), "skein-bench-");
    try {
      try (PutTarget store = open(target, dir, workload.durability())) {
        CommitWindow commits = new CommitWindow(store::commitStats);
        ClosedLoop.Result result =
            ClosedLoop.run(
                workload.writers(),
                i -> new WriterSession(store, i, workload.batchSize()),
                options.warmupMs(),
                options.durationMs(),
                commits);
        tally.add(result, commits.counted());
      }
    } finally {
      TempDirs.delete(dir);
    }
  }

  static PutTarget open(String target, Path dir, Durability durability) {
    return switch (target) {
      case "skein" -> SkeinTarget.open(dir, durability);
      case "raw" -> raw(dir, durability, Sharing.SHARED_CONNECTION, Shape.DOCS_ONLY);
      case "raw-per-conn" -> raw(dir, durability, Sharing.CONNECTION_PER_WRITER, Shape.DOCS_ONLY);
      case "raw-oplog" -> raw(dir, durability, Sharing.SHARED_CONNECTION, Shape.SKEIN_WRITE_SET);
      default -> throw new IllegalArgumentException("unknown target '" + target + "'");
    };
  }

  private static PutTarget raw(Path dir, Durability durability, Sharing sharing, Shape shape) {
    return RawSqliteTarget.open(dir, durability, sharing, shape);
  }

  static Durability durability(String text) {
    return switch (text) {
      case "fsync" -> Durability.FSYNC;
      case "buffered" -> Durability.BUFFERED;
      default ->
          throw new IllegalArgumentException(
              "unknown durability '" + text + "'; expected fsync or buffered");
    };
  }
}
