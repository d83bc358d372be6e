package io.skein.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.skein.testkit.HttpJson;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The phases of {@link LeaderBench} against a started Skein cluster in leader mode and, if there is
 * one, an etcd cluster; see there for what each measures. Not thread-safe: one thread runs the
 * phases, one after the other.
 */
final class LeaderPhases implements AutoCloseable {
  static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
  static final String FAILOVER_COLLECTION = "failover";

  /** How long the read-back of a trial waits for a write to show on every node. */
  private static final Duration READ_BACK_TIMEOUT = Duration.ofSeconds(5);

  /** The most the probe may write before the kill while it waits for its first acknowledgement. */
  private static final Duration FIRST_ACK_TIMEOUT = Duration.ofSeconds(10);

  private static final int JIT_WARMUP_CLIENTS = 8;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Base64.Encoder BASE64 = Base64.getEncoder();

  private final HttpClient client;
  private final LocalCluster cluster;
  private final @Nullable EtcdCluster etcd;
  private final LeaderBench.Options options;
  private final PrintStream progress;
  private final Duration healthyTimeout;
  private final List<HttpJson> skeinReaders = new ArrayList<>();
  private final List<HttpJson> etcdReaders = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();

  LeaderPhases(
      HttpClient client,
      LocalCluster cluster,
      @Nullable EtcdCluster etcd,
      LeaderBench.Options options,
      PrintStream progress) {
    this.client = client;
    this.cluster = cluster;
    this.etcd = etcd;
    this.options = options;
    this.progress = progress;
    this.healthyTimeout = Duration.ofMillis(options.healthyTimeoutMs());
    for (int index = 0; index < cluster.size(); index++) {
      skeinReaders.add(new HttpJson(cluster.member(index).baseUrl(), REQUEST_TIMEOUT));
    }
    if (etcd != null) {
      for (int index = 0; index < etcd.size(); index++) {
        etcdReaders.add(new HttpJson(etcd.member(index).clientUrl(), REQUEST_TIMEOUT));
      }
    }
  }

  /** Returns what went wrong and cut a phase short, for the report. */
  List<String> notes() {
    return List.copyOf(notes);
  }

  // ---------------------------------------------------------------------------------------------
  // Skein's view of the cluster.

  /**
   * What one node says in {@code GET /v1/cluster}.
   *
   * @param leaderNodeId the leader it names, or null
   */
  private record View(
      String nodeId,
      String role,
      long epoch,
      @Nullable String leaderNodeId,
      long commitIndex,
      long lastIndex,
      boolean peersMatch) {

    static View of(JsonNode status) {
      JsonNode leader = status.path("leader");
      String leaderNodeId = leader.isObject() ? leader.path("nodeId").asText(null) : null;
      long lastIndex = status.path("lastIndex").asLong(-1);
      boolean peersMatch = true;
      for (JsonNode peer : status.path("peers")) {
        JsonNode match = peer.path("matchIndex");
        if (!match.isNumber() || match.asLong() != lastIndex) {
          peersMatch = false;
        }
      }
      return new View(
          status.path("nodeId").asText(""),
          status.path("role").asText(""),
          status.path("epoch").asLong(-1),
          leaderNodeId,
          status.path("commitIndex").asLong(-1),
          lastIndex,
          peersMatch);
    }
  }

  private Optional<View> view(int index) throws InterruptedException {
    JsonNode status = cluster.status(index);
    return status == null ? Optional.empty() : Optional.of(View.of(status));
  }

  /**
   * Returns the index of the primary if the cluster is healthy, else -1: every node answers and
   * names the same leader, the leader says it is primary, and on it the commit index and every
   * peer's match index equal its last index.
   */
  private int healthyPrimary() throws InterruptedException {
    String leader = null;
    List<View> views = new ArrayList<>();
    for (int index = 0; index < cluster.size(); index++) {
      Optional<View> view = view(index);
      if (view.isEmpty() || view.get().leaderNodeId() == null) {
        return -1;
      }
      String named = view.get().leaderNodeId();
      if (leader != null && !leader.equals(named)) {
        return -1;
      }
      leader = named;
      views.add(view.get());
    }
    int primary = indexOfNodeId(leader);
    if (primary < 0) {
      return -1;
    }
    View view = views.get(primary);
    boolean healthy =
        view.role().equals("primary")
            && view.commitIndex() == view.lastIndex()
            && view.peersMatch();
    return healthy ? primary : -1;
  }

  private int indexOfNodeId(@Nullable String nodeId) {
    for (int index = 0; index < cluster.size(); index++) {
      if (Integer.toString(cluster.member(index).nodeId()).equals(nodeId)) {
        return index;
      }
    }
    return -1;
  }

  /**
   * Waits for a healthy cluster and returns its primary's index.
   *
   * @throws IllegalStateException if the cluster is not healthy within the healthy timeout
   */
  private int awaitHealthyPrimary(String when) throws InterruptedException {
    int[] primary = {-1};
    long waited = awaitHealthy(primary);
    if (waited < 0) {
      throw new IllegalStateException(
          "the Skein cluster was not healthy within " + healthyTimeout + " " + when);
    }
    return primary[0];
  }

  /**
   * Waits up to the healthy timeout for a healthy cluster, leaving its primary's index (or -1) in
   * {@code primary[0]}; returns how long it waited, or -1 if not within the timeout.
   */
  private long awaitHealthy(int[] primary) throws InterruptedException {
    return LocalCluster.await(
        healthyTimeout,
        () -> {
          primary[0] = healthyPrimary();
          return primary[0] >= 0;
        });
  }

  private int awaitEtcdLeader(EtcdCluster members, String when) throws InterruptedException {
    if (LocalCluster.await(healthyTimeout, members::settled) < 0) {
      throw new IllegalStateException(
          "the etcd cluster was not settled within " + healthyTimeout + " " + when);
    }
    int leader = members.leaderIndex();
    if (leader < 0) {
      throw new IllegalStateException("the etcd cluster lost its leader " + when);
    }
    return leader;
  }

  // ---------------------------------------------------------------------------------------------
  // Throughput.

  /**
   * Measures every throughput window: per round and client count, Skein with {@code w=1}, Skein
   * with {@code w=majority}, then etcd.
   *
   * @throws IllegalStateException if a cluster is not healthy before a window
   * @throws InterruptedException if the thread is interrupted
   */
  List<LeaderBench.Throughput> throughput() throws InterruptedException {
    progress.println("warming up this JVM's HTTP client on the primary ...");
    skeinWindow("1", JIT_WARMUP_CLIENTS, 0);
    if (options.jitWarmupMs() > 0) {
      // The nodes' JIT compilers settle after a minute or two of load (their compiler threads
      // took 0.2-0.4 ms of CPU per put before that): measure the steady state.
      progress.printf(
          Locale.ROOT,
          "warming up the nodes' JIT for %,d ms at 64 clients ...%n",
          options.jitWarmupMs());
      int primary = awaitHealthyPrimary("before the JIT warm-up");
      ClosedLoop.run(
          64,
          Documents.httpPuts(
              client,
              REQUEST_TIMEOUT,
              documents(cluster.member(primary).baseUrl(), Documents.COLLECTION),
              "jit",
              "majority"),
          0,
          options.jitWarmupMs(),
          new ClosedLoop.Window() {
            @Override
            public void opening() {}

            @Override
            public void closed() {}
          });
      awaitHealthy(new int[] {-1});
    }
    List<LeaderBench.Throughput> rows = new ArrayList<>();
    for (int round = 1; round <= options.rounds(); round++) {
      for (int clients : options.clients()) {
        rows.add(skeinWindow("1", clients, round));
        rows.add(skeinWindow("majority", clients, round));
        if (etcd != null) {
          rows.add(etcdWindow(etcd, clients, round));
        }
      }
    }
    // The ceiling the client sets: GET /health, which touches neither storage nor replication.
    for (int clients : options.clients()) {
      rows.add(healthWindow(clients));
    }
    if (options.longLog() > 0) {
      fillLog(options.longLog());
      for (int round = 1; round <= options.rounds(); round++) {
        for (int clients : options.clients()) {
          rows.add(skeinWindow("majority", clients, round, LeaderBench.Throughput.SKEIN_LONG_LOG));
        }
      }
    }
    return rows;
  }

  /**
   * Writes batches of 1,000 puts with {@code w=majority} until the primary's log holds {@code
   * entries} entries, from 4 clients, and waits for a healthy cluster.
   */
  private void fillLog(long entries) throws InterruptedException {
    int primary = awaitHealthyPrimary("before filling the log");
    URI batch = cluster.member(primary).baseUrl().resolve("/v1/batch?w=majority");
    long start = System.nanoTime();
    java.util.concurrent.atomic.AtomicLong next = new java.util.concurrent.atomic.AtomicLong();
    long batches = (entries + 999) / 1_000;
    progress.printf(Locale.ROOT, "filling the log with %,d entries ...%n", entries);
    List<Thread> writers = new ArrayList<>();
    java.util.Queue<String> failure = new java.util.concurrent.ConcurrentLinkedQueue<>();
    for (int w = 0; w < 4; w++) {
      writers.add(
          Thread.ofPlatform()
              .start(
                  () -> {
                    long b;
                    while ((b = next.getAndIncrement()) < batches && failure.isEmpty()) {
                      StringBuilder body = new StringBuilder("{\"ops\":[");
                      for (int i = 0; i < 1_000; i++) {
                        long n = b * 1_000 + i;
                        if (i > 0) {
                          body.append(',');
                        }
                        body.append("{\"op\":\"put\",\"collection\":\"")
                            .append(Documents.COLLECTION)
                            .append("\",\"id\":\"fill-")
                            .append(n % 100_000)
                            .append("\",\"doc\":")
                            .append(Documents.body(n))
                            .append('}');
                      }
                      body.append("]}");
                      try {
                        HttpResponse<String> response =
                            client.send(
                                HttpRequest.newBuilder(batch)
                                    .timeout(Duration.ofSeconds(60))
                                    .header("Content-Type", "application/json")
                                    .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                                    .build(),
                                HttpResponse.BodyHandlers.ofString());
                        if (response.statusCode() != 200) {
                          failure.add(
                              "batch answered " + response.statusCode() + ": " + response.body());
                        }
                      } catch (IOException e) {
                        failure.add(e.toString());
                      } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        failure.add("interrupted");
                      }
                    }
                  }));
    }
    for (Thread t : writers) {
      t.join();
    }
    if (!failure.isEmpty()) {
      throw new IllegalStateException("filling the log failed: " + failure.peek());
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    notes.add(
        String.format(
            Locale.ROOT,
            "The long-log windows ran after %,d more entries were written in batches of 1,000"
                + " with w=majority (%.0f s, %,.0f entries/s).",
            batches * 1_000,
            seconds,
            batches * 1_000 / seconds));
    awaitHealthy(new int[] {-1});
  }

  /** Closed-loop {@code GET /health} on the primary: the client's own ceiling. */
  private LeaderBench.Throughput healthWindow(int clients) throws InterruptedException {
    int primary = awaitHealthyPrimary("before a /health window");
    URI health = cluster.member(primary).baseUrl().resolve("/health");
    CpuMeter[] cpu = new CpuMeter[4];
    PutCosts[] costs = new PutCosts[2];
    ClosedLoop.Result result =
        ClosedLoop.run(
            clients,
            i ->
                () -> {
                  HttpResponse<String> response =
                      client.send(
                          HttpRequest.newBuilder(health).timeout(REQUEST_TIMEOUT).GET().build(),
                          HttpResponse.BodyHandlers.ofString());
                  if (response.statusCode() != 200) {
                    throw new IllegalStateException("/health answered " + response.statusCode());
                  }
                  return 1;
                },
            options.warmupMs(),
            options.durationMs(),
            cpuEdges(cpu, costs, skeinServers()));
    return windowDone(
        LeaderBench.Throughput.SKEIN_HEALTH, "-", clients, 1, result, 0, false, cpu, costs);
  }

  private LeaderBench.Throughput skeinWindow(String writeConcern, int clients, int round)
      throws InterruptedException {
    return skeinWindow(writeConcern, clients, round, LeaderBench.Throughput.SKEIN);
  }

  private LeaderBench.Throughput skeinWindow(
      String writeConcern, int clients, int round, String system) throws InterruptedException {
    int primary = awaitHealthyPrimary("before a throughput window");
    String idPrefix = "r" + round + "-w" + writeConcern + "-c" + clients;
    URI documents = documents(cluster.member(primary).baseUrl(), Documents.COLLECTION);
    CpuMeter[] cpu = new CpuMeter[4];
    PutCosts[] costs = new PutCosts[2];
    ClosedLoop.Result result =
        ClosedLoop.run(
            clients,
            Documents.httpPuts(client, REQUEST_TIMEOUT, documents, idPrefix, writeConcern),
            options.warmupMs(),
            options.durationMs(),
            cpuEdges(cpu, costs, skeinServers()));
    int[] after = {-1};
    long settleNanos = awaitHealthy(after);
    return windowDone(
        system, writeConcern, clients, round, result, settleNanos, after[0] != primary, cpu, costs);
  }

  private LeaderBench.Throughput etcdWindow(EtcdCluster members, int clients, int round)
      throws InterruptedException {
    int leader = awaitEtcdLeader(members, "before a throughput window");
    String keyPrefix = "r" + round + "-c" + clients;
    URI put = members.member(leader).clientUrl().resolve("/v3/kv/put");
    CpuMeter[] cpu = new CpuMeter[4];
    PutCosts[] costs = new PutCosts[2];
    ClosedLoop.Result result =
        ClosedLoop.run(
            clients,
            i -> etcdPut(put, keyPrefix + "-" + i + "-"),
            options.warmupMs(),
            options.durationMs(),
            cpuEdges(cpu, costs, etcdServers(members)));
    long settleNanos = LocalCluster.await(healthyTimeout, members::settled);
    return windowDone(
        LeaderBench.Throughput.ETCD,
        "-",
        clients,
        round,
        result,
        settleNanos,
        members.leaderIndex() != leader,
        cpu,
        costs);
  }

  private LeaderBench.Throughput windowDone(
      String system,
      String writeConcern,
      int clients,
      int round,
      ClosedLoop.Result result,
      long settleNanos,
      boolean leaderChanged,
      CpuMeter[] cpu,
      PutCosts[] costs) {
    CpuMeter.Share share = cpu[1].since(cpu[0]);
    double skeinCpus = cpu[3].since(cpu[2]).nodeCpus();
    double etcdCpus = skeinCpus < 0 || share.nodeCpus() < 0 ? -1 : share.nodeCpus() - skeinCpus;
    progress.printf(
        Locale.ROOT,
        "round %d %-5s w=%-8s %2d clients: %,6.0f puts/s, p50 / p99 %s ms, %d errors,"
            + " CPUs: clients %.2f, Skein %.2f, etcd %.2f, others %.2f; settled in %s%s%n",
        round,
        system,
        writeConcern,
        clients,
        result.unitsPerSecond(),
        Report.latency(result.latencyMicros()),
        result.errors(),
        share.clientCpus(),
        skeinCpus,
        etcdCpus,
        share.otherCpus(),
        settleNanos < 0 ? "(not within " + healthyTimeout + ")" : settleNanos / 1_000_000 + " ms",
        leaderChanged ? "; THE LEADER CHANGED" : "");
    return new LeaderBench.Throughput(
        system,
        writeConcern,
        clients,
        round,
        result,
        settleNanos,
        leaderChanged,
        share,
        skeinCpus,
        etcdCpus,
        costs[1].minus(costs[0]));
  }

  private ClosedLoop.Window cpuEdges(
      CpuMeter[] cpu, PutCosts[] costs, List<PutCosts.Server> servers) {
    return new ClosedLoop.Window() {
      @Override
      public void opening() {
        costs[0] = PutCosts.now(servers);
        cpu[0] = CpuMeter.now(serverPids());
        cpu[2] = CpuMeter.now(cluster.pids());
      }

      @Override
      public void closed() {
        cpu[1] = CpuMeter.now(serverPids());
        cpu[3] = CpuMeter.now(cluster.pids());
        costs[1] = PutCosts.now(servers);
      }
    };
  }

  /** Skein's nodes, for the per-put costs. */
  private List<PutCosts.Server> skeinServers() {
    List<PutCosts.Server> servers = new ArrayList<>();
    for (int i = 0; i < cluster.size(); i++) {
      LocalCluster.Member member = cluster.member(i);
      servers.add(
          new PutCosts.Server(
              "node " + member.nodeId(),
              cluster.pid(i),
              member.baseUrl().resolve("/metrics"),
              false));
    }
    return servers;
  }

  /** etcd's members, for the per-put costs. */
  private static List<PutCosts.Server> etcdServers(EtcdCluster members) {
    List<PutCosts.Server> servers = new ArrayList<>();
    for (int i = 0; i < members.size(); i++) {
      servers.add(
          new PutCosts.Server(
              "etcd " + (i + 1),
              members.pid(i),
              members.member(i).clientUrl().resolve("/metrics"),
              true));
    }
    return servers;
  }

  /** Returns the process ids of every Skein node and etcd member running. */
  private List<Long> serverPids() {
    List<Long> pids = new ArrayList<>(cluster.pids());
    if (etcd != null) {
      pids.addAll(etcd.pids());
    }
    return pids;
  }

  /** Puts keys {@code <keyPrefix><n>} with the documents' bodies through etcd's JSON gateway. */
  private ClosedLoop.Operation etcdPut(URI put, String keyPrefix) {
    long[] sequence = {0};
    return () -> {
      long s = sequence[0]++;
      HttpRequest request =
          HttpRequest.newBuilder(put)
              .timeout(REQUEST_TIMEOUT)
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(etcdPutBody(keyPrefix + s, s)))
              .build();
      HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200 || response.body().contains("\"error\"")) {
        throw new IllegalStateException(
            "etcd put answered " + response.statusCode() + ": " + response.body());
      }
      return 1;
    };
  }

  private static String etcdPutBody(String key, long sequence) {
    return "{\"key\":\""
        + base64(key)
        + "\",\"value\":\""
        + base64(Documents.body(sequence))
        + "\"}";
  }

  private static String base64(String text) {
    return BASE64.encodeToString(text.getBytes(StandardCharsets.UTF_8));
  }

  private static URI documents(URI node, String collection) {
    return node.resolve("/v1/collections/" + collection + "/docs/");
  }

  // ---------------------------------------------------------------------------------------------
  // Failover.

  /**
   * Runs {@code count} Skein failover trials of one phase ({@link LeaderBench.Trial#FRESH} or
   * {@link LeaderBench.Trial#LOADED}). A trial that ends without a healthy cluster ends the phase,
   * with a note.
   *
   * @throws io.skein.testkit.NodeProcessException if a node does not stop or start
   * @throws InterruptedException if the thread is interrupted
   */
  List<LeaderBench.Trial> skeinFailovers(String phase, int count) throws InterruptedException {
    List<LeaderBench.Trial> trials = new ArrayList<>();
    try (HttpClient probeClient = probeClient()) {
      for (int trial = 1; trial <= count; trial++) {
        try {
          trials.add(skeinTrial(probeClient, phase, trial));
        } catch (IllegalStateException e) {
          notes.add(
              "Skein failover trial "
                  + trial
                  + " ("
                  + phase
                  + ") ended the phase: "
                  + e.getMessage());
          progress.println("failover: " + e.getMessage());
          break;
        }
      }
    }
    return trials;
  }

  private HttpClient probeClient() {
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofMillis(options.probeTimeoutMs()))
        .followRedirects(HttpClient.Redirect.NEVER)
        .build();
  }

  private LeaderBench.Trial skeinTrial(HttpClient probeClient, String phase, int trial)
      throws InterruptedException {
    int primary = awaitHealthyPrimary("before failover trial " + trial);
    Optional<View> before = view(primary);
    long epochBefore = before.map(View::epoch).orElse(-1L);
    long logEntriesBefore = before.map(View::lastIndex).orElse(-1L);
    FailoverProbe probe =
        new FailoverProbe(
            (index, key) -> skeinWrite(probeClient, index, key),
            cluster.size(),
            phase + "-t" + trial + "-",
            options.retryIntervalMs(),
            Duration.ofMillis(options.failoverTimeoutMs()));
    FailoverProbe.Result result = probeThroughKill(probe, primary, cluster::killNode);
    int acknowledgedBy = result.acknowledgedBy();
    long epochAtAck = acknowledgedBy < 0 ? -1 : view(acknowledgedBy).map(View::epoch).orElse(-1L);
    long launchNanos = System.nanoTime();
    cluster.startNode(primary);
    long restartNanos = System.nanoTime() - launchNanos;
    int[] leader = {-1};
    awaitHealthy(leader);
    long healthyNanos = leader[0] < 0 ? -1 : System.nanoTime() - launchNanos;
    long epochAfter = leader[0] < 0 ? -1 : view(leader[0]).map(View::epoch).orElse(-1L);
    LeaderBench.ReadBack check =
        leader[0] < 0
            ? new LeaderBench.ReadBack(result.acknowledgedKeys().size(), -1, -1)
            : readBack(result.acknowledgedKeys(), leader[0], skeinReaders, this::skeinHas);
    LeaderBench.Trial done =
        new LeaderBench.Trial(
            LeaderBench.Throughput.SKEIN,
            phase,
            trial,
            logEntriesBefore,
            cluster.member(primary).nodeId(),
            result,
            acknowledgedBy < 0 ? -1 : cluster.member(acknowledgedBy).nodeId(),
            epochBefore,
            epochAtAck,
            restartNanos,
            healthyNanos,
            leader[0] < 0 ? -1 : cluster.member(leader[0]).nodeId(),
            epochAfter,
            check);
    return finish(
        done, "the cluster was not healthy within " + healthyTimeout + " of restarting the node");
  }

  /**
   * Prints a trial and returns it.
   *
   * @throws IllegalStateException with {@code notHealthy} if the system was not healthy again after
   *     the trial within the healthy timeout
   */
  private LeaderBench.Trial finish(LeaderBench.Trial done, String notHealthy) {
    printTrial(done);
    if (done.healthyNanos() < 0) {
      throw new IllegalStateException(notHealthy);
    }
    return done;
  }

  /** Kills one node. */
  @FunctionalInterface
  private interface Killer {
    void kill(int index) throws InterruptedException;
  }

  /**
   * Starts the probe on {@code primary}, waits for {@code preKillMs} and at least one
   * acknowledgement, kills the primary and returns what the probe did.
   *
   * @throws IllegalStateException if the probe saw no acknowledgement before the kill was due
   */
  private FailoverProbe.Result probeThroughKill(FailoverProbe probe, int primary, Killer killer)
      throws InterruptedException {
    probe.start(primary);
    long startNanos = System.nanoTime();
    Thread.sleep(options.preKillMs());
    long waited = LocalCluster.await(FIRST_ACK_TIMEOUT, () -> probe.acknowledgedBeforeKill() > 0);
    if (waited < 0) {
      probe.stop();
      FailoverProbe.Result result = probe.await();
      throw new IllegalStateException(
          "the primary acknowledged no write in "
              + Duration.ofNanos(System.nanoTime() - startNanos)
              + " before the kill: "
              + LeaderBench.tally(result.tally())
              + (result.failure() == null ? "" : " (" + result.failure() + ")"));
    }
    probe.killing();
    killer.kill(primary);
    return probe.await();
  }

  /** One write of the Skein probe. */
  private FailoverProbe.Attempt skeinWrite(HttpClient probeClient, int index, String key)
      throws InterruptedException {
    URI uri =
        documents(cluster.member(index).baseUrl(), FAILOVER_COLLECTION)
            .resolve(key + "?w=majority");
    HttpRequest request =
        HttpRequest.newBuilder(uri)
            .timeout(Duration.ofMillis(options.probeTimeoutMs()))
            .header("Content-Type", "application/json")
            .PUT(HttpRequest.BodyPublishers.ofString(Documents.body(key.hashCode() & 0xff)))
            .build();
    HttpResponse<String> response;
    try {
      response = probeClient.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      return new FailoverProbe.Attempt.Failed(e.getClass().getSimpleName());
    }
    int status = response.statusCode();
    if (status == 200) {
      return new FailoverProbe.Attempt.Acknowledged();
    }
    if (status == 307) {
      Optional<String> location = response.headers().firstValue("Location");
      int target = location.map(l -> cluster.indexOfPort(URI.create(l).getPort())).orElse(-1);
      return target < 0
          ? new FailoverProbe.Attempt.Failed("307 to " + location.orElse("nowhere"))
          : new FailoverProbe.Attempt.Redirected(target);
    }
    return new FailoverProbe.Attempt.Failed(status + " " + errorCode(response.body()));
  }

  private static String errorCode(String body) {
    try {
      return JSON.readTree(body).path("error").path("code").asText("?");
    } catch (IOException e) {
      return "?";
    }
  }

  /** Returns whether node {@code index} holds the failover document {@code key}. */
  private boolean skeinHas(int index, String key) throws InterruptedException {
    try {
      return skeinReaders
              .get(index)
              .get("/v1/collections/" + FAILOVER_COLLECTION + "/docs/" + key)
              .status()
          == 200;
    } catch (IOException e) {
      return false;
    }
  }

  /** Whether one node holds one key. */
  @FunctionalInterface
  private interface Holder {
    boolean has(int index, String key) throws InterruptedException;
  }

  /**
   * Reads every acknowledged key back from every node, each node for up to {@link
   * #READ_BACK_TIMEOUT} (a secondary may apply a little after the primary commits).
   */
  private LeaderBench.ReadBack readBack(
      List<String> keys, int leader, List<HttpJson> readers, Holder holder)
      throws InterruptedException {
    int missingOnLeader = 0;
    int missingElsewhere = 0;
    for (int index = 0; index < readers.size(); index++) {
      int node = index;
      List<String> missing = new ArrayList<>(keys);
      LocalCluster.await(
          READ_BACK_TIMEOUT,
          () -> {
            List<String> still = new ArrayList<>();
            for (String key : missing) {
              if (!holder.has(node, key)) {
                still.add(key);
              }
            }
            missing.retainAll(still);
            return missing.isEmpty();
          });
      if (index == leader) {
        missingOnLeader = missing.size();
      } else {
        missingElsewhere = Math.max(missingElsewhere, missing.size());
      }
    }
    return new LeaderBench.ReadBack(keys.size(), missingOnLeader, missingElsewhere);
  }

  private void printTrial(LeaderBench.Trial trial) {
    FailoverProbe.Result probe = trial.probe();
    progress.printf(
        Locale.ROOT,
        "failover %s %s %2d: %,d log entries, killed %d at %s, %s by %d after %,d attempts (%s); restarted in %.2f s,"
            + " healthy after %s, leader %d, epoch %d -> %d -> %d; read back %d keys, %d missing"
            + " on the leader, %d elsewhere%s%n",
        trial.system(),
        trial.phase(),
        trial.trial(),
        trial.logEntriesBefore(),
        trial.killed(),
        probe.killedAt(),
        probe.acknowledged()
            ? String.format(Locale.ROOT, "acknowledged in %.0f ms", probe.acknowledgedNanos() / 1e6)
            : "NOT acknowledged",
        trial.acknowledgedById(),
        probe.attemptsAfterKill(),
        LeaderBench.tally(probe.tally()),
        trial.restartNanos() / 1e9,
        trial.healthyNanos() < 0
            ? "(not within " + healthyTimeout + ")"
            : String.format(Locale.ROOT, "%.2f s", trial.healthyNanos() / 1e9),
        trial.leaderAfterRejoinId(),
        trial.epochBefore(),
        trial.epochAtAcknowledgement(),
        trial.epochAfterRejoin(),
        trial.check().keys(),
        trial.check().missingOnLeader(),
        trial.check().missingElsewhere(),
        probe.failure() == null ? "" : "; probe: " + probe.failure());
  }

  /**
   * Runs the etcd failover trials. A trial that ends without a settled cluster ends the phase, with
   * a note.
   *
   * @throws IllegalStateException if there is no etcd cluster
   * @throws InterruptedException if the thread is interrupted
   */
  List<LeaderBench.Trial> etcdFailovers() throws InterruptedException {
    EtcdCluster members = etcd;
    if (members == null) {
      throw new IllegalStateException("no etcd cluster");
    }
    List<LeaderBench.Trial> trials = new ArrayList<>();
    try (HttpClient probeClient = probeClient()) {
      for (int trial = 1; trial <= options.etcdTrials(); trial++) {
        try {
          trials.add(etcdTrial(members, probeClient, trial));
        } catch (IllegalStateException e) {
          notes.add("etcd failover trial " + trial + " ended the phase: " + e.getMessage());
          progress.println("etcd failover: " + e.getMessage());
          break;
        }
      }
    }
    return trials;
  }

  private LeaderBench.Trial etcdTrial(EtcdCluster members, HttpClient probeClient, int trial)
      throws InterruptedException {
    int leader = awaitEtcdLeader(members, "before failover trial " + trial);
    EtcdCluster.Status before = members.status(leader);
    long logEntriesBefore = before == null ? -1 : before.raftIndex();
    FailoverProbe probe =
        new FailoverProbe(
            (index, key) -> etcdWrite(members, probeClient, index, key),
            members.size(),
            "failover-t" + trial + "-",
            options.retryIntervalMs(),
            Duration.ofMillis(options.failoverTimeoutMs()));
    FailoverProbe.Result result = probeThroughKill(probe, leader, members::killMember);
    long launchNanos = System.nanoTime();
    members.launch(leader);
    long restartNanos =
        LocalCluster.await(healthyTimeout, () -> members.status(leader) != null) < 0
            ? -1
            : System.nanoTime() - launchNanos;
    long settled = LocalCluster.await(healthyTimeout, members::settled);
    long healthyNanos = settled < 0 ? -1 : System.nanoTime() - launchNanos;
    int leaderAfter = settled < 0 ? -1 : members.leaderIndex();
    LeaderBench.ReadBack check =
        leaderAfter < 0
            ? new LeaderBench.ReadBack(result.acknowledgedKeys().size(), -1, -1)
            : readBack(result.acknowledgedKeys(), leaderAfter, etcdReaders, this::etcdHas);
    LeaderBench.Trial done =
        new LeaderBench.Trial(
            LeaderBench.Throughput.ETCD,
            LeaderBench.Trial.LOADED,
            trial,
            logEntriesBefore,
            leader + 1,
            result,
            result.acknowledgedBy() < 0 ? -1 : result.acknowledgedBy() + 1,
            -1,
            -1,
            restartNanos,
            healthyNanos,
            leaderAfter < 0 ? -1 : leaderAfter + 1,
            -1,
            check);
    return finish(
        done, "etcd was not settled within " + healthyTimeout + " of restarting the member");
  }

  /** One put of the etcd probe. */
  private FailoverProbe.Attempt etcdWrite(
      EtcdCluster members, HttpClient probeClient, int index, String key)
      throws InterruptedException {
    HttpRequest request =
        HttpRequest.newBuilder(members.member(index).clientUrl().resolve("/v3/kv/put"))
            .timeout(Duration.ofMillis(options.probeTimeoutMs()))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(etcdPutBody(key, key.hashCode() & 0xff)))
            .build();
    HttpResponse<String> response;
    try {
      response = probeClient.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      return new FailoverProbe.Attempt.Failed(e.getClass().getSimpleName());
    }
    if (response.statusCode() == 200 && !response.body().contains("\"error\"")) {
      return new FailoverProbe.Attempt.Acknowledged();
    }
    return new FailoverProbe.Attempt.Failed(
        response.statusCode() + " " + etcdError(response.body()));
  }

  private static String etcdError(String body) {
    try {
      JsonNode json = JSON.readTree(body);
      String message = json.path("error").asText(json.path("message").asText("?"));
      return message.length() > 40 ? message.substring(0, 40) : message;
    } catch (IOException e) {
      return "?";
    }
  }

  /** Returns whether member {@code index} holds {@code key} in its own store. */
  private boolean etcdHas(int index, String key) throws InterruptedException {
    try {
      HttpJson.Response response =
          etcdReaders
              .get(index)
              .post(
                  "/v3/kv/range",
                  "{\"key\":\"" + base64(key) + "\",\"serializable\":true,\"count_only\":true}");
      return response.status() == 200
          && JSON.readTree(response.body()).path("count").asLong(0) == 1;
    } catch (IOException e) {
      return false;
    }
  }

  /** Closes the readers' connections. */
  @Override
  public void close() {
    skeinReaders.forEach(HttpJson::close);
    etcdReaders.forEach(HttpJson::close);
  }
}
