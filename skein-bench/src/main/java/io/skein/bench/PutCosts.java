package io.skein.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What each server process and the client JVM spent in a window, for the per-put cost table: CPU
 * (from {@code /proc/PID/stat}), bytes written to storage ({@code write_bytes} of {@code
 * /proc/PID/io}: what reached the block layer, WAL, database file and checkpoints included) and two
 * counters the servers export on {@code /metrics}: transactions committed with an fsync and peer
 * messages sent (Skein: {@code skein_storage_syncs_total}, {@code skein_peer_messages_sent_total};
 * etcd: WAL fsyncs plus backend commits, and no message count). Unknown values are -1.
 *
 * @param processes per process label ("node 1", "etcd 2", "client"), its counters at one edge
 */
record PutCosts(Map<String, Counters> processes) {
  /** Kernel clock ticks per second (USER_HZ): 100 on every Linux this runs on. */
  private static final double TICKS_PER_SECOND = 100;

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /**
   * One process's counters.
   *
   * @param cpuTicks user and system ticks
   * @param writeBytes bytes written to storage
   * @param syncs transactions committed with an fsync
   * @param messages peer messages sent
   */
  record Counters(long cpuTicks, long writeBytes, long syncs, long messages) {
    Counters minus(Counters earlier) {
      return new Counters(
          diff(cpuTicks, earlier.cpuTicks),
          diff(writeBytes, earlier.writeBytes),
          diff(syncs, earlier.syncs),
          diff(messages, earlier.messages));
    }

    private static long diff(long a, long b) {
      return a < 0 || b < 0 ? -1 : a - b;
    }

    /** CPU ms per put. */
    double cpuMsPerPut(long puts) {
      return cpuTicks < 0 || puts <= 0 ? -1 : cpuTicks / TICKS_PER_SECOND * 1_000 / puts;
    }

    /** KB written per put. */
    double kbPerPut(long puts) {
      return writeBytes < 0 || puts <= 0 ? -1 : writeBytes / 1_024.0 / puts;
    }

    double perPut(long count, long puts) {
      return count < 0 || puts <= 0 ? -1 : (double) count / puts;
    }
  }

  /** A server process: its pid, label, and the URL of its {@code /metrics}, or null. */
  record Server(String label, long pid, URI metrics, boolean etcd) {}

  /** Reads every process's counters now. */
  static PutCosts now(List<Server> servers) {
    Map<String, Counters> processes = new LinkedHashMap<>();
    for (Server server : servers) {
      Map<String, Double> metrics = scrape(server.metrics());
      long syncs;
      long messages;
      if (server.etcd()) {
        syncs =
            sum(
                metrics,
                "etcd_disk_wal_fsync_duration_seconds_count",
                "etcd_disk_backend_commit_duration_seconds_count");
        messages = -1;
      } else {
        syncs = sum(metrics, "skein_storage_syncs_total");
        messages = sum(metrics, "skein_peer_messages_sent_total");
      }
      processes.put(
          server.label(),
          new Counters(
              CpuMeter.processTicks(server.pid()), writeBytes(server.pid()), syncs, messages));
    }
    long self = ProcessHandle.current().pid();
    processes.put("client", new Counters(CpuMeter.processTicks(self), writeBytes(self), -1, -1));
    return new PutCosts(processes);
  }

  /** Returns what each process spent since {@code earlier}. */
  PutCosts minus(PutCosts earlier) {
    Map<String, Counters> diff = new LinkedHashMap<>();
    processes.forEach(
        (label, counters) -> {
          Counters before = earlier.processes.get(label);
          diff.put(label, before == null ? new Counters(-1, -1, -1, -1) : counters.minus(before));
        });
    return new PutCosts(diff);
  }

  /** Sums the series of the given metric names (every label set), or -1 if none is there. */
  private static long sum(Map<String, Double> metrics, String... names) {
    double total = 0;
    boolean found = false;
    for (Map.Entry<String, Double> e : metrics.entrySet()) {
      String name = e.getKey();
      int brace = name.indexOf('{');
      String bare = brace < 0 ? name : name.substring(0, brace);
      for (String wanted : names) {
        if (bare.equals(wanted)) {
          total += e.getValue();
          found = true;
        }
      }
    }
    return found ? Math.round(total) : -1;
  }

  /** The Prometheus text of {@code url} as series to values; empty if it cannot be read. */
  private static Map<String, Double> scrape(URI url) {
    Map<String, Double> series = new LinkedHashMap<>();
    try {
      HttpResponse<String> response =
          HTTP.send(
              HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(5)).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        return series;
      }
      for (String line : response.body().split("\n")) {
        if (line.isEmpty() || line.startsWith("#")) {
          continue;
        }
        int space = line.lastIndexOf(' ');
        if (space < 0) {
          continue;
        }
        try {
          series.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
        } catch (NumberFormatException e) {
          // a timestamped or odd line: not a counter this reads
        }
      }
    } catch (IOException e) {
      return series;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return series;
  }

  private static long writeBytes(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "io"))) {
        if (line.startsWith("write_bytes:")) {
          return Long.parseLong(line.substring("write_bytes:".length()).trim());
        }
      }
      return -1;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }
}
