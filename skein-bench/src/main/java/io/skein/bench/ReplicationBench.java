package io.skein.bench;

import java.io.PrintStream;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;

/**
 * Replication in dynamo mode between real {@code datastore-node} processes on 127.0.0.1: how late a
 * write shows on another node, what replication costs puts against a single node, and how fast a
 * restarted node catches up, all in one run.
 *
 * <p>A single node (no peers) and a cluster of {@code nodes} (node A is node 1, B is node 2) run
 * side by side for the whole run, and only one of them is loaded at a time. In order:
 *
 * <ol>
 *   <li><b>Throughput.</b> An untimed window warms this JVM's HTTP client on the single node. Then,
 *       for each round and each number of clients: closed-loop HTTP PUTs to the single node with
 *       {@code w=1} (the baseline), to A with {@code w=1}, and to A with {@code w=all}. After each
 *       cluster window the run waits until every node holds every entry (equal version vectors), so
 *       that no window starts while the replicas still copy the one before; the wait is reported.
 *       With several rounds the baseline and the cluster alternate, so a slow minute of the disk or
 *       the CPUs hits both.
 *   <li><b>Replication lag</b>, on the now warm cluster. An open-loop writer ({@link
 *       OpenLoopWriter}) PUTs new documents to A at a steady rate with {@code w=1}, while a reader
 *       ({@link ChangeStreamReader}) holds an SSE change stream open on B. The lag of a write is
 *       when its event was read from B's stream minus when A's 200 was read, both on this JVM's
 *       clock. A negative lag (B's event before A's answer) is recorded as 0 and counted. The first
 *       {@code lagWarmupMs} of writes are not recorded, but every write must show on B.
 *   <li><b>Catch-up.</b> B is stopped with SIGTERM; {@code catchUpDocuments} documents are written
 *       to A through {@code POST /v1/batch}; B is started again, and the run polls B's {@code GET
 *       /v1/cluster} until its version vector holds as many of A's entries as A does.
 * </ol>
 *
 * <p>Every window also reads the CPU time of the machine and of the benchmark's own processes
 * ({@link CpuMeter}), so the tables show when something else was using the CPUs.
 *
 * <p>All processes are started through {@link LocalCluster} and stopped in {@code finally} blocks;
 * every phase is bounded by a count and a deadline. The nodes' data directories are deleted after
 * the run; their logs stay in the run's directory, whose path is printed.
 *
 * <pre>
 * java -cp skein-bench/target/skein-benchmarks.jar io.skein.bench.ReplicationBench [--quick]
 *   [--nodes 3] [--rate 1000] [--lag-warmup-ms 3000] [--lag-duration-ms 30000] [--senders 128]
 *   [--lag-drain-ms 10000] [--catch-up-docs 100000] [--batch-size 1000]
 *   [--catch-up-timeout-ms 300000] [--rounds 2] [--warmup-ms 2000] [--duration-ms 6000]
 *   [--clients 16,64] [--durability fsync] [--node-jar skein-node/target/datastore-node.jar]
 *   [--dir PATH]
 * </pre>
 *
 * The defaults are the full run (about 3 minutes on 2 CPUs). {@code --quick} (about 35 s, most of
 * it starting JVMs) writes for 1 + 4 s in the lag phase, copies 5,000 entries in the catch-up
 * phase, and runs one round of 0.5 + 1 s throughput windows.
 */
public final class ReplicationBench {
  private ReplicationBench() {}

  /**
   * The settings of a run.
   *
   * @param nodes nodes in the cluster, at least 2
   * @param ratePerSecond writes per second of the lag phase
   * @param lagWarmupMs writes of the lag phase not recorded, in ms of writes
   * @param lagDurationMs writes of the lag phase recorded, in ms of writes
   * @param senders sender threads of the lag phase's open-loop writer (the most writes in flight)
   * @param lagDrainMs how long the lag phase waits, after its last write, for B to show every one
   * @param catchUpDocuments documents written to A while B is down
   * @param batchSize puts per {@code POST /v1/batch} of the catch-up phase (at most 10,000)
   * @param catchUpTimeoutMs how long B may take to catch up, in ms
   * @param rounds how many times each throughput window is measured
   * @param warmupMs warm-up of each throughput window, in ms
   * @param durationMs each throughput window, in ms
   * @param clients the client counts of the throughput windows
   * @param durability the nodes' {@code --durability}
   * @param nodeJar the shaded {@code datastore-node.jar}
   * @param dataParent where the run's directory (data and logs) is created
   */
  record Options(
      int nodes,
      int ratePerSecond,
      long lagWarmupMs,
      long lagDurationMs,
      int senders,
      long lagDrainMs,
      int catchUpDocuments,
      int batchSize,
      long catchUpTimeoutMs,
      int rounds,
      long warmupMs,
      long durationMs,
      List<Integer> clients,
      String durability,
      Path nodeJar,
      Path dataParent) {

    /**
     * Checks the settings.
     *
     * @throws IllegalArgumentException if there are fewer than 2 nodes, a batch is over 10,000
     *     puts, the durability is unknown, or the lag phase has more than {@link Integer#MAX_VALUE}
     *     writes
     */
    Options {
      if (nodes < 2) {
        throw new IllegalArgumentException("--nodes must be at least 2 (A and B), was " + nodes);
      }
      if (batchSize > 10_000) {
        throw new IllegalArgumentException("--batch-size must be at most 10000, was " + batchSize);
      }
      if (!durability.equals("fsync") && !durability.equals("buffered")) {
        throw new IllegalArgumentException(
            "--durability must be fsync or buffered, was '" + durability + "'");
      }
      if ((lagWarmupMs + lagDurationMs) * ratePerSecond / 1_000 > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("the lag phase has too many writes");
      }
      clients = List.copyOf(clients);
    }

    /** Writes of the lag phase, warm-up included. */
    int lagWrites() {
      return (int) ((lagWarmupMs + lagDurationMs) * ratePerSecond / 1_000);
    }

    /** The first lag write whose lag is recorded. */
    int lagMeasuredFrom() {
      return (int) (lagWarmupMs * ratePerSecond / 1_000);
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
                  "--nodes",
                  "--rate",
                  "--lag-warmup-ms",
                  "--lag-duration-ms",
                  "--senders",
                  "--lag-drain-ms",
                  "--catch-up-docs",
                  "--batch-size",
                  "--catch-up-timeout-ms",
                  "--rounds",
                  "--warmup-ms",
                  "--duration-ms",
                  "--clients",
                  "--durability",
                  "--node-jar",
                  "--dir"));
      boolean quick = a.flag("--quick");
      return new Options(
          Arguments.intOf(a.positive("--nodes", 3)),
          Arguments.intOf(a.positive("--rate", 1_000)),
          a.positive("--lag-warmup-ms", quick ? 1_000 : 3_000),
          a.positive("--lag-duration-ms", quick ? 4_000 : 30_000),
          Arguments.intOf(a.positive("--senders", 128)),
          a.positive("--lag-drain-ms", 10_000),
          Arguments.intOf(a.positive("--catch-up-docs", quick ? 5_000 : 100_000)),
          Arguments.intOf(a.positive("--batch-size", 1_000)),
          a.positive("--catch-up-timeout-ms", quick ? 20_000 : 300_000),
          Arguments.intOf(a.positive("--rounds", quick ? 1 : 2)),
          a.positive("--warmup-ms", quick ? 500 : 2_000),
          a.positive("--duration-ms", quick ? 1_000 : 6_000),
          a.positives("--clients", List.of(16, 64)),
          a.text("--durability", "fsync"),
          Path.of(a.text("--node-jar", Arguments.defaultNodeJar())),
          Path.of(a.text("--dir", TempDirs.defaultParent().toString())));
    }
  }

  /**
   * The lag phase.
   *
   * @param writes what the open-loop writer did
   * @param measuredFrom the first write whose lag is recorded
   * @param seen writes whose event B's stream delivered
   * @param missing acknowledged writes whose event B's stream never delivered
   * @param negative recorded writes whose event came before A's answer (recorded as 0)
   * @param repeats events B's stream delivered twice for one id
   * @param streamReopenings how many times B ended its stream and the reader opened a new one
   * @param firstStreamEnding why the first stream B ended ended, or null if none did
   * @param streamFailure why the reader gave up on B's stream, or null
   * @param replayed recorded writes A acknowledged before the reopened stream that delivered their
   *     event had opened (so their lag includes the reopening)
   * @param lagMicros A's answer to B's event, per recorded write, in µs
   * @param liveLagMicros the same without the replayed writes
   * @param visibleMicros when the write was due to B's event, per recorded write, in µs
   * @param cpu what the machine and the benchmark's processes used while the writes ran
   */
  record Lag(
      OpenLoopWriter.Result writes,
      int measuredFrom,
      int seen,
      int missing,
      long negative,
      long repeats,
      int streamReopenings,
      @Nullable String firstStreamEnding,
      @Nullable String streamFailure,
      long replayed,
      Histogram lagMicros,
      Histogram liveLagMicros,
      Histogram visibleMicros,
      CpuMeter.Share cpu) {}

  /**
   * One throughput window.
   *
   * @param setup {@link #SINGLE_NODE} or "N nodes"
   * @param writeConcern the {@code w} of every put
   * @param clients closed-loop clients
   * @param round the round, from 1
   * @param result what the clients measured
   * @param settleNanos how long after the window until every node held every entry; 0 for a single
   *     node, -1 if it did not happen within the settle timeout
   * @param cpu what the machine and the benchmark's processes used in the window
   */
  record Throughput(
      String setup,
      String writeConcern,
      int clients,
      int round,
      ClosedLoop.Result result,
      long settleNanos,
      CpuMeter.Share cpu) {
    static final String SINGLE_NODE = "single node";
  }

  /**
   * The catch-up phase.
   *
   * @param documents documents written to A while B was down
   * @param loadNanos how long writing them took
   * @param target A's count of its own entries before the writes, plus one per document
   * @param originReportedAfterLoad A's count of its own entries in {@code GET /v1/cluster}, read
   *     right after the last batch's 200
   * @param originVectorWaitNanos how long after that read A's count took to reach the target, or -1
   *     if it did not within the settle timeout
   * @param beforeStop B's count of A's entries when it was stopped
   * @param atHealthy B's count of A's entries when it first answered after the restart
   * @param reached B's count of A's entries at the end
   * @param startNanos from launching B to its first 200 on {@code /health}
   * @param firstEntryNanos from that 200 until B's count was first seen to grow, or -1
   * @param caughtUpNanos from that 200 until B's count reached the target, or -1 if it did not
   *     within the timeout
   */
  record CatchUp(
      int documents,
      long loadNanos,
      long target,
      long originReportedAfterLoad,
      long originVectorWaitNanos,
      long beforeStop,
      long atHealthy,
      long reached,
      long startNanos,
      long firstEntryNanos,
      long caughtUpNanos) {

    /** Returns whether B held all of A's entries before the timeout. */
    boolean caughtUp() {
      return caughtUpNanos >= 0;
    }

    /** Returns the entries B copied after it answered, per second from that answer. */
    double entriesPerSecond() {
      return caughtUpNanos <= 0 ? 0 : (target - atHealthy) * 1e9 / caughtUpNanos;
    }

    /**
     * Returns the entries B copied after it answered, per second from when the first of them was
     * seen (to within one poll): the copy without the wait before it starts; 0 if unknown.
     */
    double copyEntriesPerSecond() {
      long copyNanos = caughtUpNanos - firstEntryNanos;
      return firstEntryNanos < 0 || caughtUpNanos < 0 || copyNanos <= 0
          ? 0
          : (target - atHealthy) * 1e9 / copyNanos;
    }
  }

  /**
   * Everything one run measured.
   *
   * @param runDirectory where the nodes' logs are
   * @param nodeWarnings the WARN and ERROR lines of the nodes' logs (the expected one aside)
   */
  record Results(
      Options options,
      List<Throughput> throughput,
      Lag lag,
      CatchUp catchUp,
      Path runDirectory,
      List<String> nodeWarnings) {}

  /** Runs the options given on the command line and prints the tables. */
  public static void main(String[] args) throws InterruptedException {
    Options options = Arguments.parseOrExit("ReplicationBench", args, Options::parse);
    Results results = run(options, System.err);
    Report.print(
        Report.environment("ReplicationBench", args), () -> ReplicationReport.markdown(results));
  }

  /**
   * Starts the nodes, runs every phase, and stops the nodes; prints progress lines.
   *
   * @throws IllegalStateException if the cluster does not connect, or a phase cannot go on
   * @throws io.skein.testkit.NodeProcessException if a node does not start or stop
   * @throws InterruptedException if the thread is interrupted
   */
  static Results run(Options options, PrintStream progress) throws InterruptedException {
    Path runDirectory = TempDirs.create(options.dataParent(), "skein-replication-");
    progress.println("replication bench: node logs under " + runDirectory);
    List<String> nodeArguments = List.of("--durability", options.durability());
    Path singleDirectory = runDirectory.resolve("single");
    Path clusterDirectory = runDirectory.resolve("cluster");
    try (HttpClient client =
            HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(ReplicationPhases.REQUEST_TIMEOUT)
                .build();
        LocalCluster single =
            LocalCluster.start(options.nodeJar(), singleDirectory, 1, nodeArguments);
        LocalCluster cluster =
            LocalCluster.start(
                options.nodeJar(), clusterDirectory, options.nodes(), nodeArguments)) {
      ReplicationPhases phases = new ReplicationPhases(client, single, cluster, options, progress);
      List<Throughput> throughput = phases.throughput();
      Lag lag = phases.lag();
      CatchUp catchUp = phases.catchUp();
      List<String> warnings = new java.util.ArrayList<>(single.warningsAndErrors());
      warnings.addAll(cluster.warningsAndErrors());
      return new Results(options, throughput, lag, catchUp, runDirectory, warnings);
    } finally {
      TempDirs.delete(singleDirectory.resolve("node-1"));
      for (int nodeId = 1; nodeId <= options.nodes(); nodeId++) {
        TempDirs.delete(clusterDirectory.resolve("node-" + nodeId));
      }
    }
  }
}
