package io.skein.bench;

import java.io.PrintStream;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Leader mode between real {@code datastore-node} processes on 127.0.0.1: what a write costs with
 * {@code w=majority} against {@code w=1}, and how long a client waits for its first acknowledged
 * write after the primary is killed; with an etcd cluster of the same size as the baseline of both,
 * in the same run, when an {@code etcd} binary is there.
 *
 * <p>A Skein cluster of {@code nodes} in leader mode (node 1 {@code --role primary}, the others
 * {@code --role secondary} by default) and, if found, an etcd cluster of as many members run side
 * by side for the whole run, and only one of them is loaded at a time. In order:
 *
 * <ol>
 *   <li><b>Skein failover on a fresh cluster</b>, {@code trials} times. A {@link FailoverProbe}
 *       writes back to back with {@code w=majority} to the primary; after {@code preKillMs} (and at
 *       least one acknowledged write) the primary, whichever node it is, gets SIGKILL. The probe
 *       follows {@code 307} redirects at once and, on any other failure ({@code 503 no_primary}, a
 *       refused connection, a timeout after {@code probeTimeoutMs}), tries the next node after
 *       {@code retryIntervalMs}. The failover time runs from just before the SIGKILL to the first
 *       {@code 200} of a write sent after it. Then the killed node is started again with its own
 *       flags and data directory, and the run waits until the cluster is healthy: every node names
 *       the same leader, which says it is primary, and on it every peer's {@code matchIndex} and
 *       the {@code commitIndex} equal its {@code lastIndex}. Every write the probe saw acknowledged
 *       is then read back from every node (a lost acknowledged write is a bug).
 *   <li><b>Throughput.</b> An untimed window warms this JVM's HTTP client. Then, for each round and
 *       each number of clients: closed-loop HTTP PUTs of new ~150-byte documents to the primary
 *       with {@code w=1}, the same with {@code w=majority}, and etcd v3 JSON-gateway puts ({@code
 *       POST /v3/kv/put}, the same bodies) to etcd's leader. Before each window the run waits for a
 *       healthy cluster and writes to the primary it names; after it, it waits again, and reports
 *       the wait.
 *   <li><b>Skein failover on the loaded cluster</b>, {@code loadedTrials} times, as in 1, now that
 *       the log holds every write of the throughput windows: whether failover depends on the length
 *       of the log.
 *   <li><b>etcd failover</b>, {@code etcdTrials} times, after etcd's throughput windows, the same
 *       way: the leader is killed, the probe puts to the members in turn until one acknowledges,
 *       the member is restarted on its data directory, and the run waits until every member names
 *       the same leader and has applied the same index; every acknowledged key is read back from
 *       every member.
 * </ol>
 *
 * <p>Every window also reads the CPU time of the machine and of the benchmark's own processes
 * ({@link CpuMeter}). All processes are started through {@link LocalCluster} and {@link
 * EtcdCluster}, and stopped in {@code finally} blocks; only those are ever signalled, by their own
 * handles. Every phase is bounded by a count and a deadline. The data directories are deleted after
 * the run; the logs stay in the run's directory, whose path is printed.
 *
 * <pre>
 * java -cp skein-bench/target/skein-benchmarks.jar io.skein.bench.LeaderBench [--quick]
 *   [--nodes 3] [--roles primary,secondary,secondary] [--election-interval 0.5] [--rounds 2]
 *   [--warmup-ms 1500] [--duration-ms 4000] [--clients 1,16,64] [--trials 20] [--loaded-trials 5]
 *   [--etcd-trials 10]
 *   [--pre-kill-ms 200] [--retry-interval-ms 10] [--probe-timeout-ms 250]
 *   [--failover-timeout-ms 10000] [--healthy-timeout-ms 60000] [--durability fsync]
 *   [--etcd auto|none|PATH] [--node-jar skein-node/target/datastore-node.jar] [--dir PATH]
 * </pre>
 *
 * The defaults are the full run (about 4 minutes on 2 CPUs). {@code --quick} (under a minute) runs
 * one round of 0.5 + 1 s windows, 4 + 2 Skein failovers and 3 etcd failovers.
 */
public final class LeaderBench {
  private LeaderBench() {}

  /**
   * The settings of a run.
   *
   * @param nodes nodes in the Skein cluster and members in the etcd cluster, at least 3
   * @param roles each node's {@code --role}, node 1 first, or empty for none
   * @param electionInterval the nodes' {@code --election-interval}, in seconds as the flag takes it
   * @param rounds how many times each throughput window is measured
   * @param warmupMs warm-up of each throughput window, in ms
   * @param durationMs each throughput window, in ms
   * @param clients the client counts of the throughput windows
   * @param trials Skein failover trials on the fresh cluster, before the throughput windows
   * @param loadedTrials Skein failover trials after the throughput windows, on a long log
   * @param etcdTrials etcd failover trials, after the throughput windows
   * @param preKillMs how long the probe writes to the primary before the kill, in ms
   * @param retryIntervalMs the probe's pause after a failed write, in ms
   * @param probeTimeoutMs the timeout of each of the probe's writes, in ms. It bounds how late the
   *     probe can notice a new leader through a write that hangs: an etcd follower holds a put
   *     while it has no leader (until the server's own request timeout), a Skein node answers at
   *     once
   * @param failoverTimeoutMs how long after a kill the probe keeps trying, in ms
   * @param healthyTimeoutMs how long the run waits for a healthy cluster, in ms
   * @param durability the nodes' {@code --durability}
   * @param etcd {@code auto} (the {@code etcd} on the {@code PATH}, if any), {@code none}, or the
   *     path of the binary
   * @param nodeJar the shaded {@code datastore-node.jar}
   * @param dataParent where the run's directory (data and logs) is created
   * @param longLog entries written after the throughput windows before they run again with {@code
   *     w=majority} on the long log (0: not run)
   */
  record Options(
      int nodes,
      List<String> roles,
      String electionInterval,
      int rounds,
      long warmupMs,
      long durationMs,
      List<Integer> clients,
      int trials,
      int loadedTrials,
      int etcdTrials,
      long preKillMs,
      long retryIntervalMs,
      long probeTimeoutMs,
      long failoverTimeoutMs,
      long healthyTimeoutMs,
      String durability,
      String etcd,
      Path nodeJar,
      Path dataParent,
      long longLog,
      long jitWarmupMs) {

    /**
     * Checks the settings.
     *
     * @throws IllegalArgumentException if there are fewer than 3 nodes, the roles do not name one
     *     role per node, the election interval is not a positive number, or the durability is
     *     unknown
     */
    Options {
      if (nodes < 3) {
        throw new IllegalArgumentException(
            "--nodes must be at least 3 (a majority must survive a kill), was " + nodes);
      }
      roles = List.copyOf(roles);
      if (!roles.isEmpty() && roles.size() != nodes) {
        throw new IllegalArgumentException(
            "--roles must name " + nodes + " roles (or be 'none'), was " + roles);
      }
      for (String role : roles) {
        if (!role.equals("primary") && !role.equals("secondary")) {
          throw new IllegalArgumentException(
              "--roles items must be primary or secondary, was '" + role + "'");
        }
      }
      try {
        if (!(Double.parseDouble(electionInterval) > 0)) {
          throw new IllegalArgumentException(
              "--election-interval must be positive, was " + electionInterval);
        }
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "--election-interval must be a number of seconds, was '" + electionInterval + "'", e);
      }
      if (!durability.equals("fsync") && !durability.equals("buffered")) {
        throw new IllegalArgumentException(
            "--durability must be fsync or buffered, was '" + durability + "'");
      }
      clients = List.copyOf(clients);
    }

    /** Returns the {@code datastore-node} arguments of each node, node 1 first. */
    List<List<String>> nodeArguments() {
      List<List<String>> all = new ArrayList<>();
      for (int index = 0; index < nodes; index++) {
        List<String> arguments = new ArrayList<>();
        arguments.addAll(List.of("--durability", durability));
        arguments.addAll(List.of("--election-interval", electionInterval));
        if (!roles.isEmpty()) {
          arguments.addAll(List.of("--role", roles.get(index)));
        }
        all.add(List.copyOf(arguments));
      }
      return all;
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
                  "--roles",
                  "--election-interval",
                  "--rounds",
                  "--warmup-ms",
                  "--duration-ms",
                  "--clients",
                  "--trials",
                  "--loaded-trials",
                  "--etcd-trials",
                  "--pre-kill-ms",
                  "--retry-interval-ms",
                  "--probe-timeout-ms",
                  "--failover-timeout-ms",
                  "--healthy-timeout-ms",
                  "--durability",
                  "--etcd",
                  "--node-jar",
                  "--dir",
                  "--long-log",
                  "--jit-warmup-ms"));
      boolean quick = a.flag("--quick");
      int nodes = Arguments.intOf(a.positive("--nodes", 3));
      return new Options(
          nodes,
          roles(a.words("--roles", defaultRoles(nodes))),
          a.text("--election-interval", "0.5"),
          Arguments.intOf(a.positive("--rounds", quick ? 1 : 2)),
          a.positive("--warmup-ms", quick ? 500 : 1_500),
          a.positive("--duration-ms", quick ? 1_000 : 4_000),
          a.positives("--clients", List.of(1, 16, 64)),
          Arguments.intOf(a.nonNegative("--trials", quick ? 4 : 20)),
          Arguments.intOf(a.nonNegative("--loaded-trials", quick ? 2 : 5)),
          Arguments.intOf(a.nonNegative("--etcd-trials", quick ? 3 : 10)),
          a.positive("--pre-kill-ms", 200),
          a.positive("--retry-interval-ms", 10),
          a.positive("--probe-timeout-ms", 250),
          a.positive("--failover-timeout-ms", 10_000),
          a.positive("--healthy-timeout-ms", 60_000),
          a.text("--durability", "fsync"),
          a.text("--etcd", "auto"),
          Path.of(a.text("--node-jar", Arguments.defaultNodeJar())),
          Path.of(a.text("--dir", TempDirs.defaultParent().toString())),
          a.nonNegative("--long-log", quick ? 0 : 1_000_000),
          a.nonNegative("--jit-warmup-ms", quick ? 0 : 60_000));
    }

    private static List<String> defaultRoles(int nodes) {
      List<String> roles = new ArrayList<>();
      roles.add("primary");
      for (int i = 1; i < nodes; i++) {
        roles.add("secondary");
      }
      return roles;
    }

    private static List<String> roles(List<String> words) {
      return words.equals(List.of("none")) ? List.of() : words;
    }
  }

  /**
   * One throughput window.
   *
   * @param system {@link #SKEIN} or {@link #ETCD}
   * @param writeConcern the {@code w} of every Skein put, "-" for etcd
   * @param clients closed-loop clients
   * @param round the round, from 1
   * @param result what the clients measured
   * @param settleNanos how long after the window until the cluster was healthy and every node held
   *     every entry, or -1 if not within the healthy timeout
   * @param leaderChanged whether the primary (leader) after the window was not the one written to
   * @param cpu what the machine and the benchmark's processes used in the window (its "nodes" are
   *     all the servers: Skein's nodes and etcd's members)
   * @param skeinCpus what Skein's nodes used in the window, in CPUs, or -1 if unknown
   * @param etcdCpus what etcd's members used in the window, in CPUs, or -1 if unknown
   */
  record Throughput(
      String system,
      String writeConcern,
      int clients,
      int round,
      ClosedLoop.Result result,
      long settleNanos,
      boolean leaderChanged,
      CpuMeter.Share cpu,
      double skeinCpus,
      double etcdCpus,
      PutCosts costs) {
    static final String SKEIN = "Skein";
    static final String SKEIN_LONG_LOG = "Skein, long log";
    static final String SKEIN_HEALTH = "Skein GET /health";
    static final String ETCD = "etcd";

    /** Returns what the system under load used, in CPUs, or -1 if unknown. */
    double loadedSystemCpus() {
      return system.equals(ETCD) ? etcdCpus : skeinCpus;
    }
  }

  /**
   * One failover trial.
   *
   * @param system {@link Throughput#SKEIN} or {@link Throughput#ETCD}
   * @param phase {@link #FRESH} (before the throughput windows) or {@link #LOADED} (after them)
   * @param trial the trial, from 1
   * @param logEntriesBefore the primary's last log index before the kill (etcd: its raft index)
   * @param killed the node id (etcd: member number) of the primary killed
   * @param probe what the probe did
   * @param acknowledgedById the node id (member number) that acknowledged the first write after the
   *     kill, or -1
   * @param epochBefore the primary's epoch before the kill (etcd: -1)
   * @param epochAtAcknowledgement the new primary's epoch read right after its acknowledgement, or
   *     -1
   * @param restartNanos from launching the killed node again until it served, or -1
   * @param healthyNanos from launching it until the cluster was healthy, or -1 if not within the
   *     healthy timeout
   * @param leaderAfterRejoinId the node id (member number) of the leader once healthy, or -1
   * @param epochAfterRejoin its epoch then (etcd: -1)
   * @param check the read-back of the probe's acknowledged writes
   */
  record Trial(
      String system,
      String phase,
      int trial,
      long logEntriesBefore,
      int killed,
      FailoverProbe.Result probe,
      int acknowledgedById,
      long epochBefore,
      long epochAtAcknowledgement,
      long restartNanos,
      long healthyNanos,
      int leaderAfterRejoinId,
      long epochAfterRejoin,
      ReadBack check) {
    static final String FRESH = "fresh";
    static final String LOADED = "loaded";
  }

  /**
   * The read-back of acknowledged writes after a trial.
   *
   * @param keys acknowledged keys read
   * @param missingOnLeader of them, not found on the leader
   * @param missingElsewhere the most of them not found on any other node within the read-back's
   *     wait
   */
  record ReadBack(int keys, int missingOnLeader, int missingElsewhere) {}

  /**
   * Everything one run measured.
   *
   * @param etcd the etcd binary's version, or null if etcd was not run
   * @param etcdSkipped why etcd was not run, or null if it was
   * @param notes things that went wrong and cut a phase short
   * @param runDirectory where the logs are
   * @param nodeWarnings the WARN and ERROR lines of the nodes' logs (the expected one aside)
   * @param etcdWarnings the warn and error lines of etcd's logs
   */
  record Results(
      Options options,
      List<Throughput> throughput,
      List<Trial> skeinTrials,
      List<Trial> loadedTrials,
      List<Trial> etcdTrials,
      @Nullable String etcd,
      @Nullable String etcdSkipped,
      List<String> notes,
      Path runDirectory,
      List<String> nodeWarnings,
      List<String> etcdWarnings) {}

  /** Runs the options given on the command line and prints the tables. */
  public static void main(String[] args) throws InterruptedException {
    Options options =
        Arguments.parseOrExit(
            "LeaderBench",
            args,
            a -> {
              Options parsed = Options.parse(a);
              EtcdCluster.find(parsed.etcd());
              return parsed;
            });
    Results results = run(options, System.err);
    Report.print(Report.environment("LeaderBench", args), () -> LeaderReport.markdown(results));
  }

  /**
   * Starts the clusters, runs every phase, and stops the clusters; prints progress lines.
   *
   * @throws IllegalStateException if a cluster does not start or elect a leader
   * @throws io.skein.testkit.NodeProcessException if a node does not start or stop
   * @throws InterruptedException if the thread is interrupted
   */
  static Results run(Options options, PrintStream progress) throws InterruptedException {
    Path runDirectory = TempDirs.create(options.dataParent(), "skein-leader-");
    progress.println("leader bench: logs under " + runDirectory);
    Optional<Path> etcdBinary = EtcdCluster.find(options.etcd());
    String etcdVersion = etcdBinary.isPresent() ? EtcdCluster.version(etcdBinary.get()) : null;
    String etcdSkipped =
        etcdBinary.isPresent()
            ? null
            : options.etcd().equals("none") ? "--etcd none" : "no etcd binary on the PATH";
    Path skeinDirectory = runDirectory.resolve("skein");
    Path etcdDirectory = runDirectory.resolve("etcd");
    LocalCluster cluster = null;
    EtcdCluster etcd = null;
    try (HttpClient client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(LeaderPhases.REQUEST_TIMEOUT)
            .build()) {
      cluster =
          LocalCluster.start(options.nodeJar(), skeinDirectory, "leader", options.nodeArguments());
      if (etcdBinary.isPresent()) {
        progress.println("leader bench: starting etcd (" + etcdVersion + ") ...");
        etcd = EtcdCluster.start(etcdBinary.get(), etcdDirectory, options.nodes());
      }
      try (LeaderPhases phases = new LeaderPhases(client, cluster, etcd, options, progress)) {
        List<Trial> skeinTrials = phases.skeinFailovers(Trial.FRESH, options.trials());
        List<Throughput> throughput = phases.throughput();
        List<Trial> loadedTrials = phases.skeinFailovers(Trial.LOADED, options.loadedTrials());
        List<Trial> etcdTrials = etcd == null ? List.of() : phases.etcdFailovers();
        return new Results(
            options,
            throughput,
            skeinTrials,
            loadedTrials,
            etcdTrials,
            etcdVersion,
            etcdSkipped,
            phases.notes(),
            runDirectory,
            cluster.warningsAndErrors(),
            etcd == null ? List.of() : etcd.warningsAndErrors());
      }
    } finally {
      stopAll(cluster, etcd);
      for (int nodeId = 1; nodeId <= options.nodes(); nodeId++) {
        TempDirs.delete(skeinDirectory.resolve("node-" + nodeId));
        TempDirs.delete(etcdDirectory.resolve("etcd-" + nodeId));
      }
    }
  }

  private static void stopAll(@Nullable LocalCluster cluster, @Nullable EtcdCluster etcd) {
    try {
      if (etcd != null) {
        etcd.close();
      }
    } finally {
      if (cluster != null) {
        cluster.close();
      }
    }
  }

  /** Returns the tally of a probe as "kind × count, ..." for the report. */
  static String tally(Map<String, Integer> tally) {
    List<String> parts = new ArrayList<>();
    tally.forEach((kind, count) -> parts.add(kind + " ×" + count));
    return parts.isEmpty() ? "-" : String.join(", ", parts);
  }
}
