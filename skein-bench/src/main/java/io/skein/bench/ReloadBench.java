package io.skein.bench;

import io.cloudevents.CloudEvent;
import io.skein.internal.events.NodeEvents;
import io.skein.node.NodeServer;
import io.skein.node.config.ConfigSources;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * How long a configuration change takes to apply: from the moment a new config file is in place
 * (written to a temporary file and renamed over the old one, as editors and Kubernetes do) to the
 * node's {@code reload.completed} event, over {@code --edits} edits. In the same run, the same
 * changes applied as runtime overrides (a reload asked for directly, as {@code POST /admin/reload}
 * does, without the file watcher) measure the reload itself; the difference is the watcher's
 * debounce and detection.
 *
 * <p>Each edit flips {@code replication.sync-interval} between 2 s and 3 s, so every reload goes
 * through the store component and the write loop's core ({@code Reconfigure}), and {@code
 * log.level} between info and warn. The node runs in process, on loopback, with one data file.
 *
 * <p>Usage: {@code ReloadBench --dir DIR [--edits N] [--quick]}.
 */
public final class ReloadBench {
  private ReloadBench() {}

  /** Runs the benchmark and prints a Markdown table. */
  public static void main(String[] args) throws Exception {
    Arguments arguments = Arguments.parse(args, Set.of("--quick"), Set.of("--dir", "--edits"));
    int edits =
        Integer.parseInt(arguments.text("--edits", arguments.flag("--quick") ? "20" : "50"));
    Path dir = TempDirs.create(Path.of(arguments.text("--dir", "target/bench-data")), "reload-");
    Path file = dir.resolve("node.yaml");
    write(file, edit(0));
    ConfigSources sources =
        ConfigSources.builder()
            .configFile(file)
            .flag("--port", "0")
            .flag("--data-dir", dir.resolve("data").toString())
            .flag("--reload-check-interval", "60")
            .build();
    LinkedBlockingQueue<Long> completed = new LinkedBlockingQueue<>();
    Histogram fileMicros = new Histogram(3);
    Histogram apiMicros = new Histogram(3);
    List<String> failures = new ArrayList<>();
    try (NodeServer server = NodeServer.start(sources)) {
      server.onEvent(event -> onEvent(event, completed, failures));
      for (int i = 1; i <= edits; i++) {
        completed.clear();
        long start = System.nanoTime();
        write(file, edit(i));
        Long done = completed.poll(30, TimeUnit.SECONDS);
        if (done == null) {
          failures.add("edit " + i + ": no reload.completed within 30 s");
          continue;
        }
        fileMicros.recordValue(Math.max(1, (done - start) / 1_000));
        Thread.sleep(50); // let the watcher's debounce timer settle before the next edit
      }
      for (int i = 1; i <= edits; i++) {
        // Runtime overrides: the same reload, without a file or the watcher in the way.
        long start = System.nanoTime();
        server.override(
            java.util.Map.of(
                "replication.sync-interval", i % 2 == 0 ? "2s" : "3s",
                "log.level", i % 2 == 0 ? "info" : "warn"));
        apiMicros.recordValue(Math.max(1, (System.nanoTime() - start) / 1_000));
      }
    }
    Report.print(
        Report.environment("ReloadBench", args),
        () -> table(edits, fileMicros, apiMicros, failures));
  }

  private static void onEvent(
      CloudEvent event, LinkedBlockingQueue<Long> completed, List<String> failures) {
    long now = System.nanoTime();
    if (event.getType().equals(NodeEvents.COMPLETED)
        && NodeEvents.dataOf(event).path("changeCount").asInt() > 0) {
      completed.add(now);
    } else if (event.getType().equals(NodeEvents.FAILED)) {
      failures.add(NodeEvents.dataOf(event).toString());
    }
  }

  private static String edit(int n) {
    return String.format(
        Locale.ROOT,
        "replication:%n  sync-interval: %ds%nlog:%n  level: %s%n",
        n % 2 == 0 ? 2 : 3,
        n % 2 == 0 ? "info" : "warn");
  }

  private static void write(Path file, String content) throws Exception {
    Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(temporary, content);
    Files.move(
        temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private static String table(
      int edits, Histogram fileMicros, Histogram apiMicros, List<String> failures) {
    StringBuilder table = new StringBuilder();
    table.append("| Trigger | Edits | p50 (ms) | p99 (ms) | max (ms) |\n");
    table.append("|---|---:|---:|---:|---:|\n");
    row(table, "file watcher (write -> reload.completed)", fileMicros);
    row(table, "direct reload (runtime override, as the admin API)", apiMicros);
    table.append('\n');
    table.append(
        String.format(
            Locale.ROOT,
            "The watcher's p50 is %s the direct reload's; the difference is its stability check"
                + " (the content must read the same twice, %d ms apart, after the last event).%n",
            Report.ratio(fileMicros.getValueAtPercentile(50), apiMicros.getValueAtPercentile(50)),
            250));
    if (!failures.isEmpty()) {
      table
          .append("\nFailures (")
          .append(failures.size())
          .append("): ")
          .append(failures)
          .append('\n');
    }
    table.append("\n").append(edits).append(" edits per trigger.\n");
    return table.toString();
  }

  private static void row(StringBuilder table, String name, Histogram micros) {
    table.append(
        String.format(
            Locale.ROOT,
            "| %s | %d | %s | %s | %s |%n",
            name,
            micros.getTotalCount(),
            Report.millis(micros.getValueAtPercentile(50)),
            Report.millis(micros.getValueAtPercentile(99)),
            Report.millis(micros.getMaxValue())));
  }
}
