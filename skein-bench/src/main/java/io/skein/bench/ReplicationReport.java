package io.skein.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;

/** Markdown tables of a {@link ReplicationBench} run. */
final class ReplicationReport {
  /** The most node log lines quoted under the tables. */
  private static final int WARNINGS_QUOTED_MAX = 10;

  private ReplicationReport() {}

  /** Returns the three tables with their notes. */
  static String markdown(ReplicationBench.Results results) {
    StringBuilder out = new StringBuilder();
    out.append("### Replication lag (node 1 → node 2)\n\n");
    out.append(lagTable(results.lag(), results.options())).append('\n');
    out.append("### Throughput\n\n");
    out.append(throughputTable(results.throughput())).append('\n');
    out.append("### Catch-up\n\n");
    out.append(catchUpTable(results.catchUp())).append('\n');
    out.append(warningNotes(results));
    return out.toString();
  }

  static String lagTable(ReplicationBench.Lag lag, ReplicationBench.Options options) {
    OpenLoopWriter.Result writes = lag.writes();
    List<String> header =
        List.of(
            "Writes to node 1 (w=1)",
            "done at",
            "seen on node 2",
            "lag p50 ms",
            "p90 ms",
            "p99 ms",
            "p99.9 ms",
            "max ms",
            "lag < 0",
            "stream reopened",
            "PUT p50 / p99 ms (from due)",
            "due → seen p99 ms",
            "CPUs: clients / nodes / others");
    StringBuilder table = new StringBuilder();
    head(table, header);
    Histogram micros = lag.lagMicros();
    Report.line(
        table,
        List.of(
            String.format(
                Locale.ROOT,
                "%,d due at %,d/s (%,d recorded)",
                writes.writes(),
                writes.ratePerSecond(),
                writes.writes() - lag.measuredFrom()),
            Report.rate(writes.acknowledged() * 1e9 / writes.elapsedNanos()) + "/s",
            Report.count(lag.seen()),
            percentile(micros, 50),
            percentile(micros, 90),
            percentile(micros, 99),
            percentile(micros, 99.9),
            micros.getTotalCount() == 0 ? "-" : Report.millis(micros.getMaxValue()),
            Report.count(lag.negative()),
            Report.count(lag.streamReopenings()),
            Report.latency(writes.latencyMicros()),
            percentile(lag.visibleMicros(), 99),
            cpu(lag.cpu())));
    lagNotes(lag, options).forEach(note -> table.append('\n').append(note).append('\n'));
    return table.toString();
  }

  private static List<String> lagNotes(ReplicationBench.Lag lag, ReplicationBench.Options options) {
    OpenLoopWriter.Result writes = lag.writes();
    List<String> notes = new ArrayList<>();
    notes.add(
        String.format(
            Locale.ROOT,
            "%,d of %,d writes acknowledged in %.1f s; the most a write went out after it was due"
                + " (all %d senders busy): %s ms.",
            writes.acknowledged(),
            writes.writes(),
            writes.elapsedNanos() / 1e9,
            options.senders(),
            Report.millis(writes.sentLateMaxNanos() / 1_000)));
    if (lag.missing() > 0) {
      notes.add(
          Report.count(lag.missing())
              + " acknowledged writes never showed on node 2's stream within "
              + options.lagDrainMs()
              + " ms of the last write.");
    }
    if (writes.failed() > 0) {
      notes.add(Report.count(writes.failed()) + " writes failed; first: " + writes.firstError());
    }
    if (lag.streamReopenings() > 0) {
      notes.add(
          "Node 2 ended its change stream "
              + Report.count(lag.streamReopenings())
              + " times; each time a new stream was opened with Last-Event-ID after 10 ms. The"
              + " first ended: "
              + lag.firstStreamEnding());
      Histogram live = lag.liveLagMicros();
      notes.add(
          String.format(
              Locale.ROOT,
              "Without the %,d recorded writes that node 1 acknowledged before the reopened"
                  + " stream that delivered them had opened: lag p50 %s, p90 %s, p99 %s, p99.9 %s,"
                  + " max %s ms.",
              lag.replayed(),
              percentile(live, 50),
              percentile(live, 90),
              percentile(live, 99),
              percentile(live, 99.9),
              live.getTotalCount() == 0 ? "-" : Report.millis(live.getMaxValue())));
    }
    if (lag.streamFailure() != null) {
      notes.add("Reading node 2's change stream failed: " + lag.streamFailure());
    }
    if (lag.repeats() > 0) {
      notes.add(Report.count(lag.repeats()) + " ids showed twice on node 2's stream.");
    }
    return notes;
  }

  /** The windows of one setup, write concern and client count, over all rounds. */
  private static final class Merged extends Report.Windows {
    final ReplicationBench.Throughput first;
    final List<Double> ratios = new ArrayList<>();
    double machineCpus;
    double clientCpus;
    double nodeCpus;
    double nodeCpuSeconds;
    int rounds;

    Merged(ReplicationBench.Throughput first) {
      this.first = first;
    }

    void add(ReplicationBench.Throughput row, double singleNodeRate) {
      ClosedLoop.Result result = row.result();
      add(result, row.settleNanos());
      machineCpus += row.cpu().machineCpus();
      clientCpus += row.cpu().clientCpus();
      nodeCpus += row.cpu().nodeCpus();
      nodeCpuSeconds += row.cpu().nodeCpus() * result.elapsedNanos() / 1e9;
      rounds++;
      if (singleNodeRate > 0) {
        ratios.add(result.unitsPerSecond() / singleNodeRate);
      }
    }

    CpuMeter.Share cpu() {
      return new CpuMeter.Share(machineCpus / rounds, clientCpus / rounds, nodeCpus / rounds);
    }
  }

  static String throughputTable(List<ReplicationBench.Throughput> rows) {
    Map<String, Merged> merged = new LinkedHashMap<>();
    Map<String, Merged> singles = new LinkedHashMap<>();
    for (ReplicationBench.Throughput row : rows) {
      String key = row.clients() + "|" + row.setup() + "|" + row.writeConcern();
      Merged m = merged.computeIfAbsent(key, k -> new Merged(row));
      m.add(row, singleNodeRate(rows, row.round(), row.clients()));
      if (row.setup().equals(ReplicationBench.Throughput.SINGLE_NODE)) {
        singles.put(Integer.toString(row.clients()), m);
      }
    }
    List<String> header =
        List.of(
            "Setup",
            "w",
            "Clients",
            "puts/s",
            "÷ single node",
            "p50 / p99 ms",
            "errors",
            "replicas caught up after",
            "CPUs: clients / nodes / others",
            "node CPU ms per put");
    StringBuilder table = new StringBuilder();
    head(table, header);
    List<String> notes = new ArrayList<>();
    for (Merged m : merged.values()) {
      Merged single = singles.get(Integer.toString(m.first.clients()));
      Report.line(
          table,
          List.of(
              m.first.setup(),
              m.first.writeConcern(),
              Integer.toString(m.first.clients()),
              Report.rate(m.unitsPerSecond()),
              ratio(m, single),
              Report.latency(m.latencyMicros),
              Report.count(m.errors),
              settle(m.settleNanosMax),
              cpu(m.cpu()),
              m.nodeCpus < 0 || m.units == 0
                  ? "-"
                  : String.format(Locale.ROOT, "%.2f", m.nodeCpuSeconds * 1e3 / m.units)));
      if (m.firstError != null) {
        notes.add(
            Report.windowErrorNote(
                m.first.setup(),
                m.first.writeConcern(),
                m.first.clients(),
                m.errors,
                m.firstError));
      }
    }
    Report.appendNotes(table, notes);
    return table.toString();
  }

  /** Returns "r" over all rounds, with "(min–max of the rounds)" if there were several. */
  private static String ratio(Merged m, @Nullable Merged single) {
    if (single == null) {
      return "-";
    }
    String overall = Report.ratio(m.unitsPerSecond(), single.unitsPerSecond());
    if (m.ratios.size() < 2 || m == single) {
      return overall;
    }
    double min = m.ratios.stream().mapToDouble(Double::doubleValue).min().orElse(0);
    double max = m.ratios.stream().mapToDouble(Double::doubleValue).max().orElse(0);
    return overall + " (" + Report.ratio(min, 1) + "–" + Report.ratio(max, 1) + ")";
  }

  private static double singleNodeRate(
      List<ReplicationBench.Throughput> rows, int round, int clients) {
    for (ReplicationBench.Throughput row : rows) {
      if (row.setup().equals(ReplicationBench.Throughput.SINGLE_NODE)
          && row.round() == round
          && row.clients() == clients) {
        return row.result().unitsPerSecond();
      }
    }
    return 0;
  }

  private static String settle(long nanos) {
    if (nanos == 0) {
      return "-";
    }
    return nanos < 0 ? "not within the timeout" : Report.millis(nanos / 1_000) + " ms";
  }

  static String catchUpTable(ReplicationBench.CatchUp catchUp) {
    List<String> header =
        List.of(
            "Entries behind",
            "written to node 1 in",
            "node 2 restart to /health",
            "first entry after",
            "caught up after",
            "entries/s",
            "entries/s after the first");
    StringBuilder table = new StringBuilder();
    head(table, header);
    Report.line(
        table,
        List.of(
            Report.count(catchUp.target() - catchUp.beforeStop()),
            String.format(
                Locale.ROOT,
                "%.1f s (%s docs/s)",
                catchUp.loadNanos() / 1e9,
                Report.rate(catchUp.documents() * 1e9 / catchUp.loadNanos())),
            seconds(catchUp.startNanos()),
            catchUp.firstEntryNanos() < 0 ? "-" : seconds(catchUp.firstEntryNanos()),
            catchUp.caughtUp() ? seconds(catchUp.caughtUpNanos()) : "not within the timeout",
            catchUp.caughtUp() ? Report.rate(catchUp.entriesPerSecond()) : "-",
            catchUp.copyEntriesPerSecond() > 0
                ? Report.rate(catchUp.copyEntriesPerSecond())
                : "-"));
    table
        .append('\n')
        .append(
            String.format(
                Locale.ROOT,
                "Node 2 held %,d of node 1's entries when stopped, %,d when it first answered"
                    + " after the restart, %,d at the end; node 1 held %,d. The \"after\" times"
                    + " count from node 2's first 200 on /health, polled every 20 ms.%n",
                catchUp.beforeStop(),
                catchUp.atHealthy(),
                catchUp.reached(),
                catchUp.target()));
    if (catchUp.originReportedAfterLoad() < catchUp.target()) {
      table
          .append('\n')
          .append(
              String.format(
                  Locale.ROOT,
                  "Right after the last batch's 200, node 1's GET /v1/cluster counted %,d of its"
                      + " own entries, %,d fewer than it had acknowledged; it counted them all %s"
                      + " later.%n",
                  catchUp.originReportedAfterLoad(),
                  catchUp.target() - catchUp.originReportedAfterLoad(),
                  catchUp.originVectorWaitNanos() < 0
                      ? "not within the timeout"
                      : Report.millis(catchUp.originVectorWaitNanos() / 1_000) + " ms"));
    }
    return table.toString();
  }

  private static String warningNotes(ReplicationBench.Results results) {
    List<String> warnings = results.nodeWarnings();
    StringBuilder out = new StringBuilder();
    out.append(
        String.format(
            Locale.ROOT,
            "Node logs: %s (%d WARN/ERROR lines besides the loopback-secret warning)%n",
            results.runDirectory(),
            warnings.size()));
    if (!warnings.isEmpty()) {
      out.append("\n```\n");
      warnings.stream().limit(WARNINGS_QUOTED_MAX).forEach(w -> out.append(w).append('\n'));
      out.append("```\n");
    }
    return out.toString();
  }

  /** Returns "clients / nodes / others" in CPUs, or "-" if unknown. */
  private static String cpu(CpuMeter.Share share) {
    if (share.otherCpus() < 0) {
      return "-";
    }
    return String.format(
        Locale.ROOT, "%.2f / %.2f / %.2f", share.clientCpus(), share.nodeCpus(), share.otherCpus());
  }

  private static String percentile(Histogram micros, double percentile) {
    return micros.getTotalCount() == 0
        ? "-"
        : Report.millis(micros.getValueAtPercentile(percentile));
  }

  private static String seconds(long nanos) {
    return String.format(Locale.ROOT, "%.2f s", nanos / 1e9);
  }

  private static void head(StringBuilder table, List<String> header) {
    Report.head(table, header, h -> h.equals("Setup") || h.startsWith("Writes"));
  }
}
