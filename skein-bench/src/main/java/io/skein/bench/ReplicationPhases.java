package io.skein.bench;

import io.skein.testkit.HttpJson;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * The phases of {@link ReplicationBench} against a started single node and cluster; see there for
 * what each measures. Not thread-safe: one thread runs the phases, one after the other.
 */
final class ReplicationPhases {
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
  static final String LAG_COLLECTION = "lag";
  static final String LAG_ID_PREFIX = "lag-";
  static final String CATCH_UP_COLLECTION = "catchup";

  private static final Duration BATCH_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration STREAM_OPEN_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration SETTLE_TIMEOUT = Duration.ofSeconds(60);
  private static final int JIT_WARMUP_CLIENTS = 8;
  private static final int NODE_A = 0;
  private static final int NODE_B = 1;

  private final HttpClient client;
  private final LocalCluster single;
  private final LocalCluster cluster;
  private final ReplicationBench.Options options;
  private final PrintStream progress;

  ReplicationPhases(
      HttpClient client,
      LocalCluster single,
      LocalCluster cluster,
      ReplicationBench.Options options,
      PrintStream progress) {
    this.client = client;
    this.single = single;
    this.cluster = cluster;
    this.options = options;
    this.progress = progress;
  }

  /**
   * Measures every throughput window: per round and client count, the single node, then A with
   * {@code w=1}, then A with {@code w=all}.
   *
   * @throws IllegalStateException if the cluster's peers do not connect
   * @throws InterruptedException if the thread is interrupted
   */
  List<ReplicationBench.Throughput> throughput() throws InterruptedException {
    if (LocalCluster.await(CONNECT_TIMEOUT, cluster::allConnected) < 0) {
      throw new IllegalStateException(
          "the cluster's peers did not all connect within " + CONNECT_TIMEOUT);
    }
    progress.println("warming up this JVM's HTTP client on the single node ...");
    window(single, "1", JIT_WARMUP_CLIENTS, 0);
    List<ReplicationBench.Throughput> rows = new ArrayList<>();
    for (int round = 1; round <= options.rounds(); round++) {
      for (int clients : options.clients()) {
        rows.add(window(single, "1", clients, round));
        rows.add(window(cluster, "1", clients, round));
        rows.add(window(cluster, "all", clients, round));
      }
    }
    return rows;
  }

  /** Measures one closed-loop window of PUTs to the first node, then waits for the replicas. */
  private ReplicationBench.Throughput window(
      LocalCluster target, String writeConcern, int clients, int round)
      throws InterruptedException {
    String setup =
        target.size() == 1 ? ReplicationBench.Throughput.SINGLE_NODE : target.size() + " nodes";
    String idPrefix = "r" + round + "-n" + target.size() + "-w" + writeConcern + "-c" + clients;
    URI documents = documents(target.member(NODE_A).baseUrl(), Documents.COLLECTION);
    CpuMeter[] cpu = new CpuMeter[2];
    ClosedLoop.Window edges =
        new ClosedLoop.Window() {
          @Override
          public void opening() {
            cpu[0] = CpuMeter.now(nodePids());
          }

          @Override
          public void closed() {
            cpu[1] = CpuMeter.now(nodePids());
          }
        };
    ClosedLoop.Result result =
        ClosedLoop.run(
            clients,
            Documents.httpPuts(client, REQUEST_TIMEOUT, documents, idPrefix, writeConcern),
            options.warmupMs(),
            options.durationMs(),
            edges);
    long settleNanos = target.size() == 1 ? 0 : LocalCluster.await(SETTLE_TIMEOUT, target::settled);
    CpuMeter.Share share = cpu[1].since(cpu[0]);
    progress.printf(
        Locale.ROOT,
        "round %d %-11s w=%-3s %2d clients: %,6.0f puts/s, p50 / p99 %s ms, %d errors,"
            + " CPUs: clients %.2f, nodes %.2f, others %.2f; settled in %s%n",
        round,
        setup,
        writeConcern,
        clients,
        result.unitsPerSecond(),
        Report.latency(result.latencyMicros()),
        result.errors(),
        share.clientCpus(),
        share.nodeCpus(),
        share.otherCpus(),
        settleNanos < 0 ? "(not within " + SETTLE_TIMEOUT + ")" : settleNanos / 1_000_000 + " ms");
    return new ReplicationBench.Throughput(
        setup, writeConcern, clients, round, result, settleNanos, share);
  }

  /** Returns the process ids of every node running. */
  private List<Long> nodePids() {
    List<Long> pids = new ArrayList<>(single.pids());
    pids.addAll(cluster.pids());
    return pids;
  }

  /**
   * Measures the lag phase: open-loop writes to A, read back from B's change stream.
   *
   * @throws IllegalStateException if B's stream does not open
   * @throws InterruptedException if the thread is interrupted
   */
  ReplicationBench.Lag lag() throws InterruptedException {
    int writes = options.lagWrites();
    progress.printf(
        Locale.ROOT,
        "lag: %,d writes to node 1 at %,d/s, reading node 2's change stream ...%n",
        writes,
        options.ratePerSecond());
    if (LocalCluster.await(SETTLE_TIMEOUT, cluster::settled) < 0) {
      progress.println("lag: the replicas had not settled within " + SETTLE_TIMEOUT);
    }
    try (ChangeStreamReader reader =
        ChangeStreamReader.open(
            cluster.member(NODE_B).baseUrl(),
            LAG_COLLECTION,
            LAG_ID_PREFIX,
            writes,
            STREAM_OPEN_TIMEOUT)) {
      CpuMeter start = CpuMeter.now(nodePids());
      OpenLoopWriter.Result result =
          OpenLoopWriter.run(
              client,
              documents(cluster.member(NODE_A).baseUrl(), LAG_COLLECTION),
              "?w=1",
              LAG_ID_PREFIX,
              writes,
              options.lagMeasuredFrom(),
              options.ratePerSecond(),
              options.senders(),
              REQUEST_TIMEOUT);
      CpuMeter.Share cpu = CpuMeter.now(nodePids()).since(start);
      LocalCluster.await(
          Duration.ofMillis(options.lagDrainMs()),
          () -> missing(result, reader) == 0 || reader.failure() != null);
      ReplicationBench.Lag lag = lagOf(result, reader, cpu);
      progress.printf(
          Locale.ROOT,
          "lag: %,d of %,d acknowledged in %.1f s, %,d seen on node 2, p50 %s ms, p99 %s ms,"
              + " max %s ms%n",
          result.acknowledged(),
          writes,
          result.elapsedNanos() / 1e9,
          lag.seen(),
          Report.millis(lag.lagMicros().getValueAtPercentile(50)),
          Report.millis(lag.lagMicros().getValueAtPercentile(99)),
          Report.millis(lag.lagMicros().getMaxValue()));
      return lag;
    }
  }

  /** Returns the acknowledged writes not seen yet on the stream. */
  private static int missing(OpenLoopWriter.Result writes, ChangeStreamReader reader) {
    int missing = 0;
    for (int i = 0; i < writes.writes(); i++) {
      if (writes.acknowledgedNanos().get(i) != OpenLoopWriter.NOT_ACKNOWLEDGED
          && reader.arrivalNanos(i) == ChangeStreamReader.NOT_SEEN) {
        missing++;
      }
    }
    return missing;
  }

  private ReplicationBench.Lag lagOf(
      OpenLoopWriter.Result writes, ChangeStreamReader reader, CpuMeter.Share cpu) {
    int measuredFrom = options.lagMeasuredFrom();
    Histogram lag = ClosedLoop.newHistogram();
    Histogram liveLag = ClosedLoop.newHistogram();
    Histogram visible = ClosedLoop.newHistogram();
    int seen = 0;
    long negative = 0;
    long replayed = 0;
    for (int i = 0; i < writes.writes(); i++) {
      long arrival = reader.arrivalNanos(i);
      long acknowledged = writes.acknowledgedNanos().get(i);
      if (arrival == ChangeStreamReader.NOT_SEEN) {
        continue;
      }
      seen++;
      if (i < measuredFrom || acknowledged == OpenLoopWriter.NOT_ACKNOWLEDGED) {
        continue;
      }
      long lagMicros = TimeUnit.NANOSECONDS.toMicros(arrival - acknowledged);
      if (lagMicros < 0) {
        negative++;
      }
      lag.recordValue(clamp(lagMicros));
      long reopenedStream = reader.reopenedStreamNanos(i);
      if (reopenedStream != ChangeStreamReader.NOT_SEEN && acknowledged < reopenedStream) {
        replayed++;
      } else {
        liveLag.recordValue(clamp(lagMicros));
      }
      visible.recordValue(clamp(TimeUnit.NANOSECONDS.toMicros(arrival - writes.dueNanos(i))));
    }
    return new ReplicationBench.Lag(
        writes,
        measuredFrom,
        seen,
        missing(writes, reader),
        negative,
        reader.repeats(),
        reader.reopenings(),
        reader.firstEnding(),
        reader.failure(),
        replayed,
        lag,
        liveLag,
        visible,
        cpu);
  }

  private static long clamp(long micros) {
    return Math.min(Math.max(micros, 0), ClosedLoop.LATENCY_MICROS_MAX);
  }

  /**
   * Stops B, writes to A, restarts B and times until B holds all of A's entries.
   *
   * @throws IllegalStateException if a batch is refused
   * @throws io.skein.testkit.NodeProcessException if B does not stop or start
   * @throws InterruptedException if the thread is interrupted
   */
  ReplicationBench.CatchUp catchUp() throws InterruptedException {
    int originA = cluster.member(NODE_A).nodeId();
    if (LocalCluster.await(SETTLE_TIMEOUT, cluster::settled) < 0) {
      progress.println("catch-up: the replicas had not settled within " + SETTLE_TIMEOUT);
    }
    long beforeStop = cluster.versionOf(NODE_B, originA);
    long originBefore = cluster.versionOf(NODE_A, originA);
    progress.printf(
        Locale.ROOT, "catch-up: stopping node 2 (it holds %,d of node 1's entries)%n", beforeStop);
    cluster.stopNode(NODE_B);
    Load load = loadOrigin(originA, originBefore);
    long launchNanos = System.nanoTime();
    cluster.startNode(NODE_B);
    long healthyNanos = System.nanoTime();
    long atHealthy = cluster.versionOf(NODE_B, originA);
    CatchUpProgress caught = awaitCatchUp(originA, atHealthy, load.target(), healthyNanos);
    ReplicationBench.CatchUp catchUp =
        new ReplicationBench.CatchUp(
            options.catchUpDocuments(),
            load.loadNanos(),
            load.target(),
            load.reportedAfterLoad(),
            load.vectorWaitNanos(),
            beforeStop,
            atHealthy,
            caught.reached(),
            healthyNanos - launchNanos,
            caught.firstEntryNanos(),
            caught.caughtUpNanos());
    progress.printf(
        Locale.ROOT,
        "catch-up: node 2 %s %,d of %,d entries; %,.0f entries/s%n",
        catchUp.caughtUp() ? "caught up to" : "did NOT catch up: holds",
        catchUp.reached(),
        catchUp.target(),
        catchUp.entriesPerSecond());
    return catchUp;
  }

  /**
   * The writes to A while B is down.
   *
   * @param loadNanos how long the batches took
   * @param target A's count of its own entries once it counts every write it acknowledged
   * @param reportedAfterLoad A's count as first read after the last batch's 200
   * @param vectorWaitNanos how long after that A's count took to include every write, or -1
   */
  private record Load(long loadNanos, long target, long reportedAfterLoad, long vectorWaitNanos) {}

  /**
   * Writes the catch-up documents to A, then waits until A's version vector counts all of them
   * ({@code originBefore} plus one entry per document), bounded by the settle timeout.
   */
  private Load loadOrigin(int originA, long originBefore) throws InterruptedException {
    long loadStartNanos = System.nanoTime();
    writeBatches(cluster.member(NODE_A).baseUrl());
    long loadNanos = System.nanoTime() - loadStartNanos;
    long expected = originBefore + options.catchUpDocuments();
    long reportedAfterLoad = cluster.versionOf(NODE_A, originA);
    long vectorWaitNanos =
        LocalCluster.await(SETTLE_TIMEOUT, () -> cluster.versionOf(NODE_A, originA) >= expected);
    long target = Math.max(expected, cluster.versionOf(NODE_A, originA));
    progress.printf(
        Locale.ROOT,
        "catch-up: wrote %,d documents to node 1 in %.1f s (its version vector said %,d right"
            + " after, %,d expected); restarting node 2 ...%n",
        options.catchUpDocuments(),
        loadNanos / 1e9,
        reportedAfterLoad,
        expected);
    return new Load(loadNanos, target, reportedAfterLoad, vectorWaitNanos);
  }

  /** How far B got; the times count from {@code healthyNanos}, -1 if never. */
  private record CatchUpProgress(long reached, long firstEntryNanos, long caughtUpNanos) {}

  /** Polls B's count of A's entries until it reaches {@code target} or the catch-up timeout. */
  private CatchUpProgress awaitCatchUp(int originA, long atHealthy, long target, long healthyNanos)
      throws InterruptedException {
    long[] firstEntryNanos = {-1};
    long[] caughtUpNanos = {-1};
    long[] reached = {atHealthy};
    LocalCluster.await(
        Duration.ofMillis(options.catchUpTimeoutMs()),
        () -> {
          long now = cluster.versionOf(NODE_B, originA);
          long sinceHealthyNanos = System.nanoTime() - healthyNanos;
          if (now > atHealthy && firstEntryNanos[0] < 0) {
            firstEntryNanos[0] = sinceHealthyNanos;
          }
          reached[0] = Math.max(reached[0], now);
          if (now >= target) {
            caughtUpNanos[0] = sinceHealthyNanos;
          }
          return now >= target;
        });
    return new CatchUpProgress(reached[0], firstEntryNanos[0], caughtUpNanos[0]);
  }

  /**
   * Writes the catch-up documents to {@code node} in batches.
   *
   * @throws IllegalStateException if a batch is not answered 200
   */
  private void writeBatches(URI node) throws InterruptedException {
    try (HttpJson http = new HttpJson(node, BATCH_TIMEOUT)) {
      for (int first = 0; first < options.catchUpDocuments(); first += options.batchSize()) {
        int last = Math.min(options.catchUpDocuments(), first + options.batchSize());
        HttpJson.Response response = http.post("/v1/batch", batch(first, last));
        if (response.status() != 200) {
          throw new IllegalStateException("POST /v1/batch answered " + response);
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("POST /v1/batch to " + node + " failed: " + e, e);
    }
  }

  /** Returns the body of a batch that puts documents {@code c-<first>} to {@code c-<last - 1>}. */
  private static String batch(int first, int last) {
    StringBuilder body = new StringBuilder("{\"ops\":[");
    for (int i = first; i < last; i++) {
      if (i > first) {
        body.append(',');
      }
      body.append("{\"op\":\"put\",\"collection\":\"")
          .append(CATCH_UP_COLLECTION)
          .append("\",\"id\":\"c-")
          .append(i)
          .append("\",\"doc\":")
          .append(Documents.body(i))
          .append('}');
    }
    return body.append("]}").toString();
  }

  private static URI documents(URI node, String collection) {
    return node.resolve("/v1/collections/" + collection + "/docs/");
  }
}
