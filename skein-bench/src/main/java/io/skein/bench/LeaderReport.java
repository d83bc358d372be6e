package io.skein.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/** Markdown tables of a {@link LeaderBench} run. */
final class LeaderReport {
  /** The most log lines quoted under the tables, per system. */
  private static final int WARNINGS_QUOTED_MAX = 8;

  /** The targets for Skein's failover at a 0.5 s election interval, in ms. */
  private static final double MEDIAN_TARGET_MS = 1_000;

  private static final double MAX_TARGET_MS = 1_500;

  private LeaderReport() {}

  /** Returns the tables with their notes. */
  static String markdown(LeaderBench.Results results) {
    StringBuilder out = new StringBuilder();
    LeaderBench.Options options = results.options();
    out.append(
        String.format(
            Locale.ROOT,
            "Skein: %d nodes, leader mode, --election-interval %s, roles %s, --durability %s."
                + " etcd: %s.%n%n",
            options.nodes(),
            options.electionInterval(),
            options.roles().isEmpty() ? "none" : String.join(",", options.roles()),
            options.durability(),
            results.etcd() != null
                ? results.etcd() + ", " + options.nodes() + " members, default settings"
                : "not run (" + results.etcdSkipped() + ")"));
    out.append("### Throughput\n\n");
    out.append(throughputTable(results.throughput())).append('\n');
    out.append("### Per put, by process\n\n");
    out.append(costTable(results.throughput())).append('\n');
    out.append("### Ratios\n\n");
    out.append(ratioTable(results.throughput(), results.etcd() != null)).append('\n');
    out.append("### Failover\n\n");
    out.append(failoverSummary(results)).append('\n');
    List<LeaderBench.Trial> all = new ArrayList<>(results.skeinTrials());
    all.addAll(results.loadedTrials());
    all.addAll(results.etcdTrials());
    out.append(trialTable(all)).append('\n');
    for (String note : results.notes()) {
      out.append(note).append("\n\n");
    }
    out.append(warningNotes(results));
    return out.toString();
  }

  /** The windows of one system, write concern and client count, over all rounds. */
  private static final class Merged extends Report.Windows {
    final LeaderBench.Throughput first;
    final List<Double> roundRates = new ArrayList<>();
    boolean leaderChanged;
    double machineCpus;
    double clientCpus;
    double serverCpus;
    double skeinCpus;
    double etcdCpus;
    double loadedCpuSeconds;

    Merged(LeaderBench.Throughput first) {
      this.first = first;
    }

    void add(LeaderBench.Throughput row) {
      ClosedLoop.Result result = row.result();
      add(result, row.settleNanos());
      leaderChanged |= row.leaderChanged();
      machineCpus += row.cpu().machineCpus();
      clientCpus += row.cpu().clientCpus();
      serverCpus += row.cpu().nodeCpus();
      skeinCpus += row.skeinCpus();
      etcdCpus += row.etcdCpus();
      loadedCpuSeconds += row.loadedSystemCpus() * result.elapsedNanos() / 1e9;
      roundRates.add(result.unitsPerSecond());
    }

    /** Returns "clients / Skein / etcd / others" in CPUs, averaged over the rounds, or "-". */
    String cpu() {
      int rounds = roundRates.size();
      CpuMeter.Share share =
          new CpuMeter.Share(machineCpus / rounds, clientCpus / rounds, serverCpus / rounds);
      if (share.otherCpus() < 0 || skeinCpus < 0 || etcdCpus < 0) {
        return "-";
      }
      return String.format(
          Locale.ROOT,
          "%.2f / %.2f / %.2f / %.2f",
          share.clientCpus(),
          skeinCpus / rounds,
          etcdCpus / rounds,
          share.otherCpus());
    }
  }

  private static Map<String, Merged> merge(List<LeaderBench.Throughput> rows) {
    Map<String, Merged> merged = new LinkedHashMap<>();
    for (LeaderBench.Throughput row : rows) {
      merged
          .computeIfAbsent(
              key(row.system(), row.writeConcern(), row.clients()), k -> new Merged(row))
          .add(row);
    }
    return merged;
  }

  private static String key(String system, String writeConcern, int clients) {
    return clients + "|" + system + "|" + writeConcern;
  }

  static String throughputTable(List<LeaderBench.Throughput> rows) {
    List<String> header =
        List.of(
            "System",
            "w",
            "Clients",
            "puts/s",
            "p50 / p99 ms",
            "errors",
            "settled after",
            "CPUs: clients / Skein / etcd / others",
            "CPU ms per put");
    StringBuilder table = new StringBuilder();
    head(table, header);
    List<String> notes = new ArrayList<>();
    for (Merged m : merge(rows).values()) {
      Report.line(
          table,
          List.of(
              m.first.system(),
              m.first.writeConcern(),
              Integer.toString(m.first.clients()),
              Report.rate(m.unitsPerSecond()),
              Report.latency(m.latencyMicros),
              Report.count(m.errors),
              m.settleNanosMax < 0
                  ? "not within the timeout"
                  : Report.millis(m.settleNanosMax / 1_000) + " ms",
              m.cpu(),
              m.loadedCpuSeconds < 0 || m.units == 0
                  ? "-"
                  : String.format(Locale.ROOT, "%.2f", m.loadedCpuSeconds * 1e3 / m.units)));
      if (m.firstError != null) {
        notes.add(
            Report.windowErrorNote(
                m.first.system(),
                m.first.writeConcern(),
                m.first.clients(),
                m.errors,
                m.firstError));
      }
      if (m.leaderChanged) {
        notes.add(
            String.format(
                Locale.ROOT,
                "%s, w=%s, %d clients: the leader changed during a window.",
                m.first.system(),
                m.first.writeConcern(),
                m.first.clients()));
      }
    }
    notes.add(
        "Every row is the sum of its rounds (latencies over all of them); CPUs are averaged over"
            + " the rounds. \"CPU ms per put\": the CPU time of the processes of the system under"
            + " load (Skein's nodes, or etcd's members) per acknowledged put. \"settled after\":"
            + " the longest wait after a window until every node held every entry.");
    Report.appendNotes(table, notes);
    return table.toString();
  }

  /**
   * What one put cost each process, over all rounds of a window: the servers' CPU, bytes written to
   * storage, fsynced commits and peer messages, and the client's CPU.
   */
  static String costTable(List<LeaderBench.Throughput> rows) {
    StringBuilder table = new StringBuilder();
    head(
        table,
        List.of(
            "System",
            "w",
            "Clients",
            "process",
            "CPU ms per put",
            "KB written per put",
            "fsyncs per put",
            "messages per put"));
    Map<String, Map<String, PutCosts.Counters>> sums = new java.util.LinkedHashMap<>();
    Map<String, Long> puts = new java.util.LinkedHashMap<>();
    Map<String, LeaderBench.Throughput> firsts = new java.util.LinkedHashMap<>();
    for (LeaderBench.Throughput row : rows) {
      String key = key(row.system(), row.writeConcern(), row.clients());
      firsts.putIfAbsent(key, row);
      puts.merge(key, row.result().units(), Long::sum);
      Map<String, PutCosts.Counters> sum =
          sums.computeIfAbsent(key, k -> new java.util.LinkedHashMap<>());
      row.costs().processes().forEach((process, c) -> sum.merge(process, c, LeaderReport::add));
    }
    for (Map.Entry<String, Map<String, PutCosts.Counters>> e : sums.entrySet()) {
      LeaderBench.Throughput first = firsts.get(e.getKey());
      long n = puts.getOrDefault(e.getKey(), 0L);
      PutCosts.Counters servers = null;
      for (Map.Entry<String, PutCosts.Counters> p : e.getValue().entrySet()) {
        if (!p.getKey().equals("client")) {
          servers = servers == null ? p.getValue() : add(servers, p.getValue());
        }
      }
      java.util.LinkedHashMap<String, PutCosts.Counters> shown =
          new java.util.LinkedHashMap<>(e.getValue());
      if (servers != null) {
        shown.put("servers together", servers);
      }
      for (Map.Entry<String, PutCosts.Counters> p : shown.entrySet()) {
        PutCosts.Counters c = p.getValue();
        Report.line(
            table,
            List.of(
                first == null ? "?" : first.system(),
                first == null ? "?" : first.writeConcern(),
                first == null ? "?" : Integer.toString(first.clients()),
                p.getKey(),
                figure(c.cpuMsPerPut(n), "%.3f"),
                figure(c.kbPerPut(n), "%.2f"),
                figure(c.perPut(c.syncs(), n), "%.3f"),
                figure(c.perPut(c.messages(), n), "%.2f")));
      }
    }
    Report.appendNotes(
        table,
        List.of(
            "CPU from /proc/PID/stat (10 ms ticks), bytes from write_bytes of /proc/PID/io (what"
                + " reached the disk: WAL, database and checkpoints), fsyncs and messages from each"
                + " server's /metrics (Skein: skein_storage_syncs_total and"
                + " skein_peer_messages_sent_total; etcd: WAL fsyncs plus backend commits, no"
                + " message count), all over the measured windows of every round, divided by the"
                + " puts acknowledged in them."));
    return table.toString();
  }

  private static PutCosts.Counters add(PutCosts.Counters a, PutCosts.Counters b) {
    return new PutCosts.Counters(
        sum(a.cpuTicks(), b.cpuTicks()),
        sum(a.writeBytes(), b.writeBytes()),
        sum(a.syncs(), b.syncs()),
        sum(a.messages(), b.messages()));
  }

  private static long sum(long a, long b) {
    return a < 0 || b < 0 ? -1 : a + b;
  }

  private static String figure(double value, String format) {
    return value < 0 ? "-" : String.format(Locale.ROOT, format, value);
  }

  static String ratioTable(List<LeaderBench.Throughput> rows, boolean withEtcd) {
    Map<String, Merged> merged = merge(rows);
    List<String> header = new ArrayList<>(List.of("Clients", "Skein majority ÷ w=1"));
    if (withEtcd) {
      header.addAll(List.of("Skein majority ÷ etcd", "Skein w=1 ÷ etcd"));
    }
    StringBuilder table = new StringBuilder();
    head(table, header);
    List<Integer> clients = rows.stream().map(LeaderBench.Throughput::clients).distinct().toList();
    for (int c : clients) {
      Merged majority = merged.get(key(LeaderBench.Throughput.SKEIN, "majority", c));
      Merged one = merged.get(key(LeaderBench.Throughput.SKEIN, "1", c));
      Merged etcd = merged.get(key(LeaderBench.Throughput.ETCD, "-", c));
      List<String> cells = new ArrayList<>(List.of(Integer.toString(c), ratio(majority, one)));
      if (withEtcd) {
        cells.add(ratio(majority, etcd));
        cells.add(ratio(one, etcd));
      }
      Report.line(table, cells);
    }
    return table.toString();
  }

  /** Returns "r" over all rounds, with "(min–max of the rounds)" if there were several. */
  private static String ratio(@Nullable Merged numerator, @Nullable Merged denominator) {
    if (numerator == null || denominator == null) {
      return "-";
    }
    return Report.ratio(
        numerator.unitsPerSecond(),
        denominator.unitsPerSecond(),
        numerator.roundRates,
        denominator.roundRates);
  }

  static String failoverSummary(LeaderBench.Results results) {
    List<String> header =
        List.of(
            "System",
            "cluster",
            "log entries at kill",
            "trials",
            "acknowledged",
            "median ms",
            "mean ms",
            "min ms",
            "max ms",
            "attempts after kill, median (max)",
            "rejoin to healthy, median / max s",
            "acknowledged writes read back",
            "missing on leader / elsewhere");
    StringBuilder table = new StringBuilder();
    head(table, header);
    List<String> notes = new ArrayList<>();
    summaryLine(table, LeaderBench.Throughput.SKEIN, results.skeinTrials());
    summaryLine(table, LeaderBench.Throughput.SKEIN, results.loadedTrials());
    summaryLine(table, LeaderBench.Throughput.ETCD, results.etcdTrials());
    targetNote(results, results.skeinTrials()).ifPresent(notes::add);
    targetNote(results, results.loadedTrials()).ifPresent(notes::add);
    List<LeaderBench.Trial> skein = new ArrayList<>(results.skeinTrials());
    skein.addAll(results.loadedTrials());
    notes.addAll(rejoinNotes(skein));
    Report.appendNotes(table, notes);
    return table.toString();
  }

  /** Returns whether Skein's trials of one phase met the targets, if there were any. */
  private static Optional<String> targetNote(
      LeaderBench.Results results, List<LeaderBench.Trial> trials) {
    List<Double> millis = acknowledgedMillis(trials);
    if (millis.isEmpty()) {
      return Optional.empty();
    }
    double median = median(millis);
    double max = millis.get(millis.size() - 1);
    boolean allAcknowledged = millis.size() == trials.size();
    return Optional.of(
        String.format(
            Locale.ROOT,
            "Target for Skein at a 0.5 s election interval (this run: %s s), %s cluster:"
                + " median < %.1f s (%s), max < %.1f s (%s)%s.",
            results.options().electionInterval(),
            trials.get(0).phase(),
            MEDIAN_TARGET_MS / 1e3,
            median < MEDIAN_TARGET_MS ? "met" : "not met",
            MAX_TARGET_MS / 1e3,
            max < MAX_TARGET_MS && allAcknowledged ? "met" : "not met",
            allAcknowledged ? "" : "; some trials had no acknowledged write"));
  }

  private static void summaryLine(
      StringBuilder table, String system, List<LeaderBench.Trial> trials) {
    if (trials.isEmpty()) {
      return;
    }
    long entriesMin = Long.MAX_VALUE;
    long entriesMax = 0;
    for (LeaderBench.Trial trial : trials) {
      entriesMin = Math.min(entriesMin, trial.logEntriesBefore());
      entriesMax = Math.max(entriesMax, trial.logEntriesBefore());
    }
    List<Double> millis = acknowledgedMillis(trials);
    List<Double> attempts = new ArrayList<>();
    List<Double> healthy = new ArrayList<>();
    int keys = 0;
    int missingOnLeader = 0;
    int missingElsewhere = 0;
    for (LeaderBench.Trial trial : trials) {
      attempts.add((double) trial.probe().attemptsAfterKill());
      if (trial.healthyNanos() >= 0) {
        healthy.add(trial.healthyNanos() / 1e9);
      }
      keys += trial.check().keys();
      missingOnLeader += Math.max(0, trial.check().missingOnLeader());
      missingElsewhere += Math.max(0, trial.check().missingElsewhere());
    }
    attempts.sort(null);
    healthy.sort(null);
    Report.line(
        table,
        List.of(
            system,
            trials.get(0).phase(),
            Report.count(entriesMin) + "–" + Report.count(entriesMax),
            Report.count(trials.size()),
            Report.count(millis.size()),
            millis.isEmpty() ? "-" : milliseconds(median(millis)),
            millis.isEmpty()
                ? "-"
                : milliseconds(
                    millis.stream().mapToDouble(Double::doubleValue).average().orElse(0)),
            millis.isEmpty() ? "-" : milliseconds(millis.get(0)),
            millis.isEmpty() ? "-" : milliseconds(millis.get(millis.size() - 1)),
            attempts.isEmpty()
                ? "-"
                : String.format(
                    Locale.ROOT,
                    "%.0f (%.0f)",
                    median(attempts),
                    attempts.get(attempts.size() - 1)),
            healthy.isEmpty()
                ? "-"
                : String.format(
                    Locale.ROOT, "%.2f / %.2f", median(healthy), healthy.get(healthy.size() - 1)),
            Report.count(keys),
            missingOnLeader + " / " + missingElsewhere));
  }

  /** Notes on trials whose leadership moved while the killed node rejoined. */
  private static List<String> rejoinNotes(List<LeaderBench.Trial> trials) {
    List<String> moved = new ArrayList<>();
    for (LeaderBench.Trial trial : trials) {
      boolean leaderMoved =
          trial.leaderAfterRejoinId() >= 0
              && trial.acknowledgedById() >= 0
              && trial.leaderAfterRejoinId() != trial.acknowledgedById();
      boolean epochMoved =
          trial.epochAfterRejoin() >= 0
              && trial.epochAtAcknowledgement() >= 0
              && trial.epochAfterRejoin() != trial.epochAtAcknowledgement();
      if (leaderMoved || epochMoved) {
        moved.add(Integer.toString(trial.trial()));
      }
    }
    if (moved.isEmpty()) {
      return List.of();
    }
    return List.of(
        "Skein trials where the leader or its epoch changed again while the killed node rejoined: "
            + String.join(", ", moved)
            + ".");
  }

  static String trialTable(List<LeaderBench.Trial> all) {
    List<String> header =
        List.of(
            "System",
            "cluster",
            "Trial",
            "log entries",
            "killed",
            "acknowledged by",
            "failover ms",
            "attempts after kill",
            "failures after kill",
            "epoch: before → at ack → after rejoin",
            "rejoin: serving / healthy s",
            "leader after rejoin",
            "read back (missing)");
    StringBuilder table = new StringBuilder();
    head(table, header);
    for (LeaderBench.Trial trial : all) {
      FailoverProbe.Result probe = trial.probe();
      Report.line(
          table,
          List.of(
              trial.system(),
              trial.phase(),
              Integer.toString(trial.trial()),
              Report.count(trial.logEntriesBefore()),
              Integer.toString(trial.killed()),
              trial.acknowledgedById() < 0 ? "-" : Integer.toString(trial.acknowledgedById()),
              probe.acknowledged() ? milliseconds(probe.acknowledgedNanos() / 1e6) : "none",
              Report.count(probe.attemptsAfterKill()),
              LeaderBench.tally(probe.tally()),
              trial.epochBefore() < 0
                  ? "-"
                  : trial.epochBefore()
                      + " → "
                      + trial.epochAtAcknowledgement()
                      + " → "
                      + trial.epochAfterRejoin(),
              seconds(trial.restartNanos()) + " / " + seconds(trial.healthyNanos()),
              trial.leaderAfterRejoinId() < 0 ? "-" : Integer.toString(trial.leaderAfterRejoinId()),
              trial.check().keys()
                  + " ("
                  + missing(trial.check().missingOnLeader())
                  + " / "
                  + missing(trial.check().missingElsewhere())
                  + ")"));
    }
    table
        .append('\n')
        .append(
            "\"failover ms\" runs from just before the SIGKILL to the 200 of the first write sent"
                + " after it. \"log entries\": the primary's last index before the kill (etcd: its"
                + " raft index); \"fresh\" trials run before the throughput windows, \"loaded\""
                + " ones after. \"rejoin\" counts from relaunching the killed node on its data"
                + " directory: until it served, and until the cluster was healthy again. \"read"
                + " back\": the writes the probe saw acknowledged in the trial, before and after"
                + " the kill, read on every node once healthy (missing on the leader / most"
                + " missing on another node).\n");
    return table.toString();
  }

  private static String missing(int count) {
    return count < 0 ? "?" : Integer.toString(count);
  }

  private static List<Double> acknowledgedMillis(List<LeaderBench.Trial> trials) {
    List<Double> millis = new ArrayList<>();
    for (LeaderBench.Trial trial : trials) {
      if (trial.probe().acknowledged()) {
        millis.add(trial.probe().acknowledgedNanos() / 1e6);
      }
    }
    millis.sort(null);
    return millis;
  }

  /** Returns the median of a sorted, non-empty list. */
  private static double median(List<Double> sorted) {
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  private static String warningNotes(LeaderBench.Results results) {
    StringBuilder out = new StringBuilder();
    out.append(
        String.format(
            Locale.ROOT,
            "Logs: %s (Skein nodes: %d WARN/ERROR lines besides the loopback-secret warning;"
                + " etcd: %d warn/error lines)%n",
            results.runDirectory(),
            results.nodeWarnings().size(),
            results.etcdWarnings().size()));
    if (!results.nodeWarnings().isEmpty()) {
      out.append("\nFirst Skein node warnings:\n\n```\n");
      results.nodeWarnings().stream()
          .limit(WARNINGS_QUOTED_MAX)
          .forEach(w -> out.append(w).append('\n'));
      out.append("```\n");
    }
    return out.toString();
  }

  private static String milliseconds(double millis) {
    return String.format(Locale.ROOT, "%,.0f", millis);
  }

  private static String seconds(long nanos) {
    return nanos < 0 ? "-" : String.format(Locale.ROOT, "%.2f", nanos / 1e9);
  }

  private static void head(StringBuilder table, List<String> header) {
    Report.head(table, header, h -> h.equals("System") || h.equals("cluster"));
  }
}
