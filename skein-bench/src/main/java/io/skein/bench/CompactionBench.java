package io.skein.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A store that runs for years (issue 13), measured between real {@code datastore-node} processes on
 * 127.0.0.1, in two parts.
 *
 * <ol>
 *   <li><b>Footprint.</b> In each mode, a 3-node cluster takes {@code puts} puts over {@code keys}
 *       keys (batches of {@code batch} from {@code writers} closed-loop clients, ~120-byte
 *       documents) to node 1. Every {@code sampleMs} the run records node 1's database file and WAL
 *       sizes; the table gives them over time and at the end, against the live data (the JSON of
 *       the documents the keys hold at the end). Leader mode compacts its log at the default
 *       threshold ({@code storage.compaction-entries} 100,000); dynamo mode prunes its oplog by
 *       age, run here with {@code --oplog-retention} {@code retention} (the default is 7 days, so a
 *       dynamo node keeps a week of writes).
 *   <li><b>Catch-up.</b> Two 3-node leader clusters, one at the default compaction threshold and
 *       one that never compacts: node 3 is stopped, {@code catchUpPuts} puts go to node 1, node 3
 *       is started again, and the run times how long until node 3 has applied what node 1 had when
 *       it came back, and reports that as entries per second: by snapshot install on the first
 *       cluster, by the log on the second, in the same run.
 * </ol>
 *
 * <p>Every process is started through {@link LocalCluster} and stopped in a {@code finally} block;
 * every phase is bounded by its count and a deadline.
 *
 * <pre>
 * java -cp skein-bench/target/skein-benchmarks.jar io.skein.bench.CompactionBench [--quick]
 *   [--puts 2000000] [--keys 100000] [--catch-up-puts 1000000] [--batch 500] [--writers 4]
 *   [--sample-ms 5000] [--retention 30s] [--compaction-entries 100000] [--node-jar PATH]
 *   [--dir PATH]
 * </pre>
 *
 * {@code --quick} divides the counts (and the compaction threshold) by 20.
 */
public final class CompactionBench {
  private CompactionBench() {}

  private static final Duration PHASE_TIMEOUT = Duration.ofMinutes(20);

  record Settings(
      long puts,
      long keys,
      long catchUpPuts,
      int batch,
      int writers,
      long sampleMs,
      String retention,
      long compactionEntries,
      Path nodeJar,
      Path dir) {}

  /** Runs the benchmark; prints Markdown to stdout and progress to stderr. */
  public static void main(String[] args) throws Exception {
    Settings settings = Arguments.parseOrExit("CompactionBench", args, CompactionBench::parse);
    run(settings, System.out);
  }

  static Settings parse(String[] args) {
    Arguments a =
        Arguments.parse(
            args,
            Set.of("--quick"),
            Set.of(
                "--puts",
                "--keys",
                "--catch-up-puts",
                "--batch",
                "--writers",
                "--sample-ms",
                "--retention",
                "--compaction-entries",
                "--node-jar",
                "--dir"));
    long scale = a.flag("--quick") ? 20 : 1;
    return new Settings(
        a.positive("--puts", 2_000_000 / scale),
        a.positive("--keys", 100_000 / scale),
        a.positive("--catch-up-puts", 1_000_000 / scale),
        Arguments.intOf(a.positive("--batch", 500)),
        Arguments.intOf(a.positive("--writers", 4)),
        a.positive("--sample-ms", 5_000 / scale),
        a.text("--retention", "30s"),
        a.positive("--compaction-entries", 100_000 / scale),
        Path.of(a.text("--node-jar", Arguments.defaultNodeJar())),
        Path.of(a.text("--dir", "skein-bench/target/bench-data")));
  }

  static void run(Settings s, PrintStream out) throws Exception {
    Files.createDirectories(s.dir());
    Path runDir = Files.createTempDirectory(s.dir(), "compaction-");
    System.err.println("CompactionBench: logs and data in " + runDir);
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    out.printf(
        "### Footprint: %,d puts over %,d keys, 3 nodes, batches of %d from %d clients%n%n",
        s.puts(), s.keys(), s.batch(), s.writers());
    List<String> compaction = List.of("--compaction-entries", Long.toString(s.compactionEntries()));
    Footprint leader = footprint(s, http, runDir.resolve("leader"), "leader", compaction);
    Footprint dynamo =
        footprint(
            s,
            http,
            runDir.resolve("dynamo"),
            "dynamo",
            List.of("--oplog-retention", s.retention()));
    out.println("| mode | puts | elapsed | database | WAL | database ÷ live data |");
    out.println("|---|---:|---:|---:|---:|---:|");
    for (Footprint f : List.of(leader, dynamo)) {
      for (Sample sample : f.samples()) {
        out.printf(
            "| %s | %,d | %.0f s | %s | %s | %.1f× |%n",
            f.mode(),
            sample.puts(),
            sample.elapsedMs() / 1_000.0,
            mb(sample.dbBytes()),
            mb(sample.walBytes()),
            (double) sample.dbBytes() / f.liveBytes());
      }
    }
    out.println();
    for (Footprint f : List.of(leader, dynamo)) {
      Sample end = f.samples().get(f.samples().size() - 1);
      long maxDb = f.samples().stream().mapToLong(Sample::dbBytes).max().orElse(0);
      long maxWal = f.samples().stream().mapToLong(Sample::walBytes).max().orElse(0);
      out.printf(
          "- %s: live data %s (the documents' JSON); largest database %s (%.1f× live), largest"
              + " WAL %s; at the end %s (%.1f×), %,.0f puts/s%n",
          f.mode(),
          mb(f.liveBytes()),
          mb(maxDb),
          (double) maxDb / f.liveBytes(),
          mb(maxWal),
          mb(end.dbBytes()),
          (double) end.dbBytes() / f.liveBytes(),
          s.puts() * 1_000.0 / Math.max(1, end.elapsedMs()));
    }
    out.println();

    out.printf("### Catch-up: node 3 down for %,d puts, then started again%n%n", s.catchUpPuts());
    CatchUp bySnapshot = catchUp(s, http, runDir.resolve("snapshot"), compaction);
    CatchUp byLog =
        catchUp(s, http, runDir.resolve("log"), List.of("--compaction-entries", "1000000000"));
    out.println("| how | entries behind | catch-up time | entries/s | snapshots installed |");
    out.println("|---|---:|---:|---:|---:|");
    for (CatchUp c : List.of(bySnapshot, byLog)) {
      out.printf(
          "| %s | %,d | %.2f s | %,.0f | %d |%n",
          c.how(),
          c.behind(),
          c.millis() / 1_000.0,
          c.behind() * 1_000.0 / Math.max(1, c.millis()),
          c.snapshots());
    }
    out.printf(
        "%nBy snapshot against by the log, same run: %.2f× the time.%n%n",
        (double) bySnapshot.millis() / Math.max(1, byLog.millis()));
  }

  record Sample(long elapsedMs, long puts, long dbBytes, long walBytes) {}

  record Footprint(String mode, List<Sample> samples, long liveBytes) {}

  record CatchUp(String how, long behind, long millis, long snapshots) {}

  private static List<List<String>> roles(String mode, List<String> extra) {
    List<List<String>> args = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      List<String> a = new ArrayList<>(extra);
      if (mode.equals("leader")) {
        a.addAll(List.of("--role", i == 1 ? "primary" : "secondary"));
      }
      args.add(a);
    }
    return args;
  }

  private static Footprint footprint(
      Settings s, HttpClient http, Path dir, String mode, List<String> extra) throws Exception {
    System.err.printf("footprint: %s mode%n", mode);
    try (LocalCluster cluster = LocalCluster.start(s.nodeJar(), dir, mode, roles(mode, extra))) {
      if (mode.equals("leader")) {
        awaitPrimary(cluster);
      }
      URI base = cluster.member(0).baseUrl();
      Path db = cluster.member(0).dataDir().resolve("node-1.db");
      Path wal = cluster.member(0).dataDir().resolve("node-1.db-wal");
      List<Sample> samples = new ArrayList<>();
      AtomicLong done = new AtomicLong();
      long start = System.nanoTime();
      List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
      Thread[] writers = startWriters(s, http, base, s.puts(), done, failures);
      long deadline = System.nanoTime() + PHASE_TIMEOUT.toNanos();
      while (anyAlive(writers)) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("footprint phase over " + PHASE_TIMEOUT);
        }
        Thread.sleep(s.sampleMs());
        samples.add(
            new Sample((System.nanoTime() - start) / 1_000_000, done.get(), size(db), size(wal)));
      }
      if (!failures.isEmpty()) {
        throw new IllegalStateException("a writer failed", failures.get(0));
      }
      samples.add(
          new Sample((System.nanoTime() - start) / 1_000_000, done.get(), size(db), size(wal)));
      // Every key holds its last document: the live data is their JSON.
      long live = s.keys() * document(0, s.keys()).length();
      return new Footprint(mode, downsample(samples, 12), live);
    }
  }

  /**
   * Starts {@code s.writers()} closed-loop clients that together send {@code puts} puts over the
   * keys in batches, counting them in {@code done}; a client that fails adds its exception to
   * {@code failures} and stops.
   */
  private static Thread[] startWriters(
      Settings s, HttpClient http, URI base, long puts, AtomicLong done, List<Throwable> failures) {
    Thread[] writers = new Thread[s.writers()];
    long perWriter = puts / s.writers();
    for (int w = 0; w < writers.length; w++) {
      long offset = w * perWriter;
      writers[w] =
          Thread.ofPlatform()
              .name("writer-" + w)
              .start(
                  () -> {
                    try {
                      for (long i = 0; i < perWriter; i += s.batch()) {
                        int n = (int) Math.min(s.batch(), perWriter - i);
                        batch(http, base, offset + i, n, s.keys());
                        done.addAndGet(n);
                      }
                    } catch (Exception e) {
                      failures.add(e);
                    }
                  });
    }
    return writers;
  }

  private static boolean anyAlive(Thread[] threads) {
    for (Thread t : threads) {
      if (t.isAlive()) {
        return true;
      }
    }
    return false;
  }

  private static List<Sample> downsample(List<Sample> samples, int max) {
    if (samples.size() <= max) {
      return samples;
    }
    List<Sample> kept = new ArrayList<>();
    for (int i = 0; i < max; i++) {
      kept.add(samples.get((int) ((long) i * (samples.size() - 1) / (max - 1))));
    }
    return kept;
  }

  private static long size(Path file) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      return 0;
    }
  }

  private static String mb(long bytes) {
    return String.format("%.1f MB", bytes / 1e6);
  }

  /** A ~120-byte document: the put number and padding. */
  private static String document(long n, long keys) {
    String number = String.format("%012d", n);
    return "{\"n\":\""
        + number
        + "\",\"key\":\""
        + String.format("%08d", n % keys)
        + "\",\"pad\":\""
        + "p".repeat(70)
        + "\"}";
  }

  private static void batch(HttpClient http, URI base, long first, int n, long keys)
      throws IOException, InterruptedException {
    StringBuilder body = new StringBuilder("{\"ops\":[");
    for (int i = 0; i < n; i++) {
      long put = first + i;
      if (i > 0) {
        body.append(',');
      }
      body.append("{\"op\":\"put\",\"collection\":\"bench\",\"id\":\"k")
          .append(put % keys)
          .append("\",\"doc\":")
          .append(document(put, keys))
          .append('}');
    }
    body.append("]}");
    HttpRequest request =
        HttpRequest.newBuilder(base.resolve("/v1/batch"))
            .timeout(Duration.ofSeconds(60))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
            .build();
    for (int attempt = 0; ; attempt++) {
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() == 200) {
        return;
      }
      if (attempt >= 20 || (response.statusCode() != 503 && response.statusCode() != 429)) {
        throw new IOException("batch answered " + response.statusCode() + ": " + response.body());
      }
      Thread.sleep(100); // overloaded: back off and send it again
    }
  }

  private static void awaitPrimary(LocalCluster cluster) throws InterruptedException {
    long found =
        LocalCluster.await(
            Duration.ofSeconds(30),
            () -> {
              JsonNode status = cluster.status(0);
              return status != null && status.path("role").asText().equals("primary");
            });
    if (found < 0) {
      throw new IllegalStateException("node 1 did not become primary");
    }
  }

  private static long applied(LocalCluster cluster, int index) throws InterruptedException {
    JsonNode status = cluster.status(index);
    return status == null ? -1 : status.path("appliedIndex").asLong(-1);
  }

  private static CatchUp catchUp(Settings s, HttpClient http, Path dir, List<String> extra)
      throws Exception {
    String how = extra.contains("1000000000") ? "the log (never compacted)" : "snapshot install";
    System.err.printf("catch-up by %s%n", how);
    try (LocalCluster cluster =
        LocalCluster.start(s.nodeJar(), dir, "leader", roles("leader", extra))) {
      awaitPrimary(cluster);
      URI base = cluster.member(0).baseUrl();
      batch(http, base, 0, 1, s.keys()); // node 3 holds something before it stops
      LocalCluster.await(Duration.ofSeconds(30), () -> applied(cluster, 2) >= applied(cluster, 0));
      cluster.stopNode(2);
      long before = applied(cluster, 0);
      List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
      Thread[] writers = startWriters(s, http, base, s.catchUpPuts(), new AtomicLong(), failures);
      for (Thread t : writers) {
        t.join(PHASE_TIMEOUT.toMillis());
      }
      if (!failures.isEmpty()) {
        throw new IllegalStateException("a writer failed", failures.get(0));
      }
      long target = applied(cluster, 0);
      long start = System.nanoTime();
      cluster.startNode(2);
      long waited = LocalCluster.await(PHASE_TIMEOUT, () -> applied(cluster, 2) >= target);
      if (waited < 0) {
        throw new IllegalStateException("node 3 did not catch up within " + PHASE_TIMEOUT);
      }
      long millis = (System.nanoTime() - start) / 1_000_000;
      long snapshots =
          metric(
              http, cluster.member(2).baseUrl(), "skein_storage_leader_snapshots_installed_total");
      return new CatchUp(how, target - before, millis, snapshots);
    }
  }

  private static long metric(HttpClient http, URI base, String name)
      throws IOException, InterruptedException {
    HttpResponse<String> response =
        http.send(
            HttpRequest.newBuilder(base.resolve("/metrics")).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    return (long) io.skein.testkit.PrometheusText.value(response.body(), name);
  }
}
