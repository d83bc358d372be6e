package io.skein.bench;

import io.skein.Durability;
import java.io.PrintStream;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;

/** Markdown tables of the runners' results. */
final class Report {
  private Report() {}

  /** Returns a line naming the JVM, OS, CPU count, time and the runner's arguments. */
  static String environment(String runner, String[] args) {
    return String.format(
        Locale.ROOT,
        "%s %s | %s %s (%s) | %s %s | %d processors | %s",
        runner,
        String.join(" ", args),
        System.getProperty("java.vm.name"),
        System.getProperty("java.runtime.version"),
        System.getProperty("java.vm.vendor"),
        System.getProperty("os.name"),
        System.getProperty("os.arch"),
        Runtime.getRuntime().availableProcessors(),
        Instant.now().truncatedTo(ChronoUnit.SECONDS));
  }

  /**
   * Prints the environment line, a blank line, then the tables that {@code markdown} returns to
   * stdout.
   */
  static void print(String environment, Supplier<String> markdown) {
    PrintStream out = System.out;
    out.println(environment);
    out.println();
    out.print(markdown.get());
  }

  /** Returns the throughput table of the rows of one durability. */
  static String putTable(
      List<PutThroughput.Row> rows, Durability durability, List<String> targets) {
    boolean hasSkein = targets.contains("skein");
    List<String> baselines = targets.stream().filter(t -> !t.equals("skein")).toList();
    List<String> header = new ArrayList<>();
    header.add("Workload");
    targets.forEach(t -> header.add(t + " puts/s"));
    if (hasSkein) {
      baselines.forEach(t -> header.add("skein ÷ " + t));
    }
    targets.forEach(t -> header.add(t + " p50 / p99 ms"));
    StringBuilder table = new StringBuilder();
    List<String> notes = new ArrayList<>();
    head(table, header);
    for (PutThroughput.Row row : ofDurability(rows, durability)) {
      List<String> cells = new ArrayList<>();
      cells.add(row.workload().label());
      targets.forEach(t -> cells.add(rate(row.tally(t).unitsPerSecond())));
      if (hasSkein) {
        baselines.forEach(t -> cells.add(ratio(row.tally("skein"), row.tally(t))));
      }
      targets.forEach(t -> cells.add(latency(row.tally(t).latencyMicros)));
      line(table, cells);
      notes.addAll(errorNotes(row));
    }
    appendNotes(table, notes);
    return table.toString();
  }

  /**
   * Returns the cost table of the rows of one durability: process CPU time and bytes written per
   * put of each target, and Skein's group commits.
   */
  static String costTable(
      List<PutThroughput.Row> rows, Durability durability, List<String> targets) {
    boolean hasSkein = targets.contains("skein");
    List<String> header = new ArrayList<>();
    header.add("Workload");
    targets.forEach(t -> header.add(t + " CPU µs/put"));
    targets.forEach(t -> header.add(t + " KB written/put"));
    if (hasSkein) {
      header.addAll(List.of("skein commits/s", "puts per commit", "skein loop committing"));
    }
    StringBuilder table = new StringBuilder();
    head(table, header);
    for (PutThroughput.Row row : ofDurability(rows, durability)) {
      List<String> cells = new ArrayList<>();
      cells.add(row.workload().label());
      targets.forEach(t -> cells.add(perUnit(row.tally(t).process.cpuNanos() / 1e3, row.tally(t))));
      targets.forEach(
          t -> cells.add(perUnit(row.tally(t).process.writtenBytes() / 1024.0, row.tally(t))));
      if (hasSkein) {
        cells.addAll(commitCells(row.tally("skein")));
      }
      line(table, cells);
    }
    return table.toString();
  }

  private static List<PutThroughput.Row> ofDurability(
      List<PutThroughput.Row> rows, Durability durability) {
    return rows.stream().filter(row -> row.workload().durability() == durability).toList();
  }

  /** Returns {@code total / units}, or "-" if the total is unknown (negative). */
  private static String perUnit(double total, PutThroughput.Tally tally) {
    if (tally.units == 0 || total < 0) {
      return "-";
    }
    double value = total / tally.units;
    return String.format(Locale.ROOT, value < 10 ? "%.2f" : "%.0f", value);
  }

  private static List<String> commitCells(PutThroughput.Tally skein) {
    PutTarget.CommitStats commits = skein.commits;
    if (commits.commits() == 0 || skein.elapsedNanos == 0) {
      return List.of("-", "-", "-");
    }
    return List.of(
        rate(commits.commits() * 1e9 / skein.elapsedNanos),
        String.format(Locale.ROOT, "%.1f", (double) commits.entries() / commits.commits()),
        String.format(Locale.ROOT, "%.0f%%", 100.0 * commits.commitNanos() / skein.elapsedNanos));
  }

  private static void head(StringBuilder table, List<String> header) {
    head(table, header, h -> h.equals("Workload"));
  }

  /**
   * Appends a Markdown table's header line and its alignment line: left for the columns {@code
   * leftAligned} accepts, right for the others.
   */
  static void head(StringBuilder table, List<String> header, Predicate<String> leftAligned) {
    line(table, header);
    line(table, header.stream().map(h -> leftAligned.test(h) ? "---" : "---:").toList());
  }

  /** Returns "r" for one round, or "r (min–max of the rounds)" for several. */
  static String ratio(PutThroughput.Tally numerator, PutThroughput.Tally denominator) {
    return ratio(
        numerator.unitsPerSecond(),
        denominator.unitsPerSecond(),
        numerator.roundRates,
        denominator.roundRates);
  }

  /** Returns "r" of the overall rates for one round, or "r (min–max of the rounds)" for several. */
  static String ratio(
      double numeratorRate,
      double denominatorRate,
      List<Double> numeratorRoundRates,
      List<Double> denominatorRoundRates) {
    String overall = ratio(numeratorRate, denominatorRate);
    int rounds = Math.min(numeratorRoundRates.size(), denominatorRoundRates.size());
    if (rounds < 2) {
      return overall;
    }
    double min = Double.MAX_VALUE;
    double max = 0;
    for (int i = 0; i < rounds; i++) {
      double r = numeratorRoundRates.get(i) / denominatorRoundRates.get(i);
      min = Math.min(min, r);
      max = Math.max(max, r);
    }
    return overall + " (" + ratio(min, 1) + "–" + ratio(max, 1) + ")";
  }

  static String ratio(double numerator, double denominator) {
    if (denominator == 0) {
      return "-";
    }
    double r = numerator / denominator;
    return String.format(Locale.ROOT, r >= 10 ? "%.0f×" : "%.2f×", r);
  }

  static String rate(double perSecond) {
    return String.format(Locale.ROOT, "%,.0f", perSecond);
  }

  /** Returns "p50 / p99" in ms. */
  static String latency(Histogram micros) {
    if (micros.getTotalCount() == 0) {
      return "-";
    }
    return millis(micros.getValueAtPercentile(50))
        + " / "
        + millis(micros.getValueAtPercentile(99));
  }

  static String millis(long micros) {
    double ms = micros / 1000.0;
    return String.format(Locale.ROOT, ms < 1 ? "%.3f" : ms < 100 ? "%.1f" : "%.0f", ms);
  }

  private static List<String> errorNotes(PutThroughput.Row row) {
    List<String> notes = new ArrayList<>();
    row.tallies()
        .forEach(
            (target, tally) -> {
              if (tally.errors > 0 || tally.firstError != null) {
                notes.add(
                    "Errors: "
                        + target
                        + ", "
                        + row.workload().label()
                        + ": "
                        + tally.errors
                        + " in the window; first: "
                        + tally.firstError);
              }
            });
    return notes;
  }

  /** Appends each note after the table, as a paragraph of its own. */
  static void appendNotes(StringBuilder table, List<String> notes) {
    notes.forEach(note -> table.append('\n').append(note).append('\n'));
  }

  /** Returns the note on the errors of the windows of one table row. */
  static String windowErrorNote(
      String system, String writeConcern, int clients, long errors, @Nullable String firstError) {
    return String.format(
        Locale.ROOT,
        "Errors: %s, w=%s, %d clients: %d in the windows; first: %s",
        system,
        writeConcern,
        clients,
        errors,
        firstError);
  }

  /** Returns {@code value} with thousands separators. */
  static String count(long value) {
    return String.format(Locale.ROOT, "%,d", value);
  }

  /**
   * The closed-loop windows of one table row over all rounds: their sums, the first error and the
   * longest settle time (-1 once one did not settle).
   */
  static class Windows {
    final Histogram latencyMicros = ClosedLoop.newHistogram();
    long units;
    long elapsedNanos;
    long errors;
    @Nullable String firstError;
    long settleNanosMax;

    /** Adds one window and how long the system took to settle after it (-1: not in time). */
    void add(ClosedLoop.Result result, long settleNanos) {
      units += result.units();
      elapsedNanos += result.elapsedNanos();
      errors += result.errors();
      latencyMicros.add(result.latencyMicros());
      if (firstError == null) {
        firstError = result.firstError();
      }
      settleNanosMax =
          settleNanosMax < 0 || settleNanos < 0 ? -1 : Math.max(settleNanosMax, settleNanos);
    }

    double unitsPerSecond() {
      return elapsedNanos == 0 ? 0 : units * 1e9 / elapsedNanos;
    }
  }

  /** Appends one Markdown table line. */
  static void line(StringBuilder table, List<String> cells) {
    table.append("| ").append(String.join(" | ", cells)).append(" |\n");
  }
}
