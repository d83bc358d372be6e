package io.skein.bench;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.skein.DocumentCollection;
import io.skein.Durability;
import io.skein.node.NodeServer;
import io.skein.node.config.ConfigSources;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.jspecify.annotations.Nullable;

/**
 * HTTP put and get throughput of a running node, against its own embedded API in the same run.
 *
 * <p>For each durability and number of clients, a fresh node starts in this JVM on a free loopback
 * port ({@link NodeServer#start}), and five closed loops run one after the other, each with a
 * warm-up and a measured window: embedded puts through the node's own {@link io.skein.Skein}, HTTP
 * {@code PUT /v1/collections/bench/docs/{id}}, embedded gets, HTTP {@code GET} of documents written
 * by the HTTP phase, and HTTP {@code GET /health}, which touches no storage and so gives the floor:
 * the cost of the HTTP client and server alone. Each client is a thread sending one request at a
 * time through one shared {@link HttpClient} (HTTP/1.1, so one connection per client). Before the
 * first measurement, every phase runs once untimed so the JIT has compiled the HTTP paths.
 *
 * <p>It prints two Markdown tables per durability: requests/s with the HTTP ÷ embedded ratios and
 * HTTP p50/p99; then where the time goes: the node's group commits during the put phases, and the
 * mean time per request as the node's own {@code http.server.requests} timer saw it against the
 * mean the client saw (the difference is the client, the loopback and the scheduling between).
 *
 * <pre>
 * java -cp skein-bench/target/skein-benchmarks.jar io.skein.bench.HttpThroughput [--quick]
 *   [--warmup-ms 1500] [--duration-ms 4000] [--clients 1,16,64] [--durability fsync,buffered]
 *   [--dir PATH]
 * </pre>
 */
public final class HttpThroughput {
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
  private static final int GET_IDS_MAX = 100_000;
  private static final int JIT_WARMUP_CLIENTS = 8;

  /** The route tags of the node's {@code http.server.requests} timer. */
  private static final String DOCUMENT_ROUTE = "/v1/collections/{collection}/docs/{id}";

  private static final String HEALTH_ROUTE = "/health";

  private HttpThroughput() {}

  /**
   * The settings of a run.
   *
   * @param warmupMs warm-up of each phase, in ms
   * @param durationMs measured window of each phase, in ms
   * @param clients the client counts
   * @param durabilities the durabilities of the node
   * @param dataParent where the nodes' data directories are created
   */
  record Options(
      long warmupMs,
      long durationMs,
      List<Integer> clients,
      List<Durability> durabilities,
      Path dataParent) {

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
              Set.of("--warmup-ms", "--duration-ms", "--clients", "--durability", "--dir"));
      boolean quick = a.flag("--quick");
      return new Options(
          a.positive("--warmup-ms", quick ? 500 : 1_500),
          a.positive("--duration-ms", quick ? 1_000 : 4_000),
          a.positives("--clients", List.of(1, 16, 64)),
          a.words("--durability", quick ? List.of("fsync") : List.of("fsync", "buffered")).stream()
              .map(PutThroughput::durability)
              .toList(),
          Path.of(a.text("--dir", TempDirs.defaultParent().toString())));
    }
  }

  /**
   * Requests the node served, as its own timer saw them.
   *
   * @param requests requests served
   * @param totalNanos time spent serving them, in ns
   */
  record ServerTime(long requests, long totalNanos) {
    static final ServerTime NONE = new ServerTime(0, 0);

    ServerTime minus(ServerTime earlier) {
      return new ServerTime(requests - earlier.requests, totalNanos - earlier.totalNanos);
    }
  }

  /**
   * One measured phase.
   *
   * @param result what the clients measured
   * @param commits the node's commits in the window
   * @param server the node's own time for the phase's requests in the window (none if embedded)
   */
  record Phase(ClosedLoop.Result result, PutTarget.CommitStats commits, ServerTime server) {}

  /** The five phases measured for one durability and client count. */
  record Row(
      Durability durability,
      int clients,
      Phase embeddedPut,
      Phase httpPut,
      Phase embeddedGet,
      Phase httpGet,
      Phase health) {}

  /** Runs the options given on the command line and prints the tables. */
  public static void main(String[] args) throws InterruptedException {
    Options options = Arguments.parseOrExit("HttpThroughput", args, Options::parse);
    List<Row> rows = run(options, System.err);
    PrintStream out = System.out;
    out.println(Report.environment("HttpThroughput", args));
    for (Durability durability : options.durabilities()) {
      out.println();
      out.println("### " + durability.name().toLowerCase(Locale.ROOT));
      out.println();
      out.print(table(rows, durability));
      out.println();
      out.print(timeTable(rows, durability));
    }
  }

  /**
   * Measures every client count of every durability; prints progress lines.
   *
   * @throws InterruptedException if the thread is interrupted
   */
  static List<Row> run(Options options, PrintStream progress) throws InterruptedException {
    progress.println("warming up the JIT on the HTTP and embedded paths ...");
    long jitWarmupMs = 2 * options.warmupMs();
    measure(Durability.BUFFERED, JIT_WARMUP_CLIENTS, options, jitWarmupMs, jitWarmupMs);
    List<Row> rows = new ArrayList<>();
    for (Durability durability : options.durabilities()) {
      for (int clients : options.clients()) {
        Row row = measure(durability, clients, options, options.warmupMs(), options.durationMs());
        progress.printf(
            Locale.ROOT,
            "%-9s %2d clients: put %,8.0f/s embedded %,8.0f/s; get %,8.0f/s embedded %,8.0f/s%n",
            durability.name().toLowerCase(Locale.ROOT),
            clients,
            row.httpPut().result().unitsPerSecond(),
            row.embeddedPut().result().unitsPerSecond(),
            row.httpGet().result().unitsPerSecond(),
            row.embeddedGet().result().unitsPerSecond());
        rows.add(row);
      }
    }
    return rows;
  }

  private static Row measure(
      Durability durability, int clients, Options options, long warmupMs, long durationMs)
      throws InterruptedException {
    Path dir = TempDirs.create(options.dataParent(), "skein-http-");
    ConfigSources settings =
        ConfigSources.builder()
            .flag("--host", String.valueOf("127.0.0.1"))
            .flag("--port", String.valueOf(0))
            .flag("--data-dir", String.valueOf(dir))
            .flag("--durability", String.valueOf(durability.name().toLowerCase(Locale.ROOT)))
            .build();
    try (NodeServer server = NodeServer.start(settings);
        HttpClient client =
            HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(REQUEST_TIMEOUT)
                .build()) {
      Phases phases = new Phases(server, clients, warmupMs, durationMs);
      return phases.run(client, durability);
    } finally {
      TempDirs.delete(dir);
    }
  }

  /** The phases against one started node. */
  private static final class Phases {
    private final NodeServer server;
    private final MeterRegistry meters;
    private final int clients;
    private final long warmupMs;
    private final long durationMs;

    Phases(NodeServer server, int clients, long warmupMs, long durationMs) {
      this.server = server;
      this.meters = server.skein().config().meters();
      this.clients = clients;
      this.warmupMs = warmupMs;
      this.durationMs = durationMs;
    }

    /** Runs the five phases, one after the other. */
    Row run(HttpClient client, Durability durability) throws InterruptedException {
      String base =
          "http://127.0.0.1:"
              + server.port()
              + "/v1/collections/"
              + Documents.COLLECTION
              + "/docs/";
      DocumentCollection documents = server.skein().collection(Documents.COLLECTION);
      Phase embeddedPut = phase(i -> embeddedPut(documents, i), null, DOCUMENT_ROUTE);
      long[] written = new long[clients];
      Phase httpPut = phase(i -> httpPut(client, base, i, written), "PUT", DOCUMENT_ROUTE);
      List<String> ids = writtenIds(written);
      Phase embeddedGet = phase(i -> embeddedGet(documents, ids), null, DOCUMENT_ROUTE);
      Phase httpGet = phase(i -> httpGet(client, base, ids), "GET", DOCUMENT_ROUTE);
      URI health = URI.create("http://127.0.0.1:" + server.port() + HEALTH_ROUTE);
      Phase healthGet = phase(i -> httpGet(client, health), "GET", HEALTH_ROUTE);
      return new Row(durability, clients, embeddedPut, httpPut, embeddedGet, httpGet, healthGet);
    }

    /** Runs one closed loop; reads the node's meters at the edges of its window. */
    private Phase phase(
        IntFunction<ClosedLoop.Operation> operations, @Nullable String method, String route)
        throws InterruptedException {
      CommitWindow commits = new CommitWindow(() -> SkeinTarget.commitStats(meters));
      ServerTime[] server = {ServerTime.NONE, ServerTime.NONE};
      ClosedLoop.Window window =
          new ClosedLoop.Window() {
            @Override
            public void opening() {
              commits.opening();
              server[0] = serverTime(method, route);
            }

            @Override
            public void closed() {
              commits.closed();
              server[1] = serverTime(method, route);
            }
          };
      ClosedLoop.Result result = ClosedLoop.run(clients, operations, warmupMs, durationMs, window);
      return new Phase(result, commits.counted(), server[1].minus(server[0]));
    }

    /** Sums the node's timer of {@code method} requests to {@code route}; none if embedded. */
    private ServerTime serverTime(@Nullable String method, String route) {
      if (method == null) {
        return ServerTime.NONE;
      }
      long requests = 0;
      long nanos = 0;
      for (Timer timer :
          meters.find("http.server.requests").tag("method", method).tag("route", route).timers()) {
        requests += timer.count();
        nanos += (long) timer.totalTime(TimeUnit.NANOSECONDS);
      }
      return new ServerTime(requests, nanos);
    }
  }

  private static ClosedLoop.Operation embeddedPut(DocumentCollection documents, int client) {
    long[] sequence = {0};
    return () -> {
      long s = sequence[0]++;
      documents.put("e" + Documents.id(client, s), Documents.body(s));
      return 1;
    };
  }

  /** PUTs documents {@code h<client id>}; counts them in {@code written[client]}. */
  private static ClosedLoop.Operation httpPut(
      HttpClient client, String base, int index, long[] written) {
    return () -> {
      long s = written[index];
      HttpRequest request =
          HttpRequest.newBuilder(URI.create(base + "h" + Documents.id(index, s)))
              .timeout(REQUEST_TIMEOUT)
              .header("Content-Type", "application/json")
              .PUT(HttpRequest.BodyPublishers.ofString(Documents.body(s)))
              .build();
      HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
      requireOk(response);
      written[index] = s + 1;
      return 1;
    };
  }

  private static ClosedLoop.Operation embeddedGet(DocumentCollection documents, List<String> ids) {
    return () -> {
      String id = ids.get(ThreadLocalRandom.current().nextInt(ids.size()));
      if (documents.get(id).isEmpty()) {
        throw new IllegalStateException("document " + id + " is missing");
      }
      return 1;
    };
  }

  private static ClosedLoop.Operation httpGet(HttpClient client, URI uri) {
    return () -> {
      HttpRequest request = HttpRequest.newBuilder(uri).timeout(REQUEST_TIMEOUT).GET().build();
      requireOk(client.send(request, HttpResponse.BodyHandlers.ofString()));
      return 1;
    };
  }

  private static ClosedLoop.Operation httpGet(HttpClient client, String base, List<String> ids) {
    return () -> {
      String id = ids.get(ThreadLocalRandom.current().nextInt(ids.size()));
      HttpRequest request =
          HttpRequest.newBuilder(URI.create(base + id)).timeout(REQUEST_TIMEOUT).GET().build();
      requireOk(client.send(request, HttpResponse.BodyHandlers.ofString()));
      return 1;
    };
  }

  private static void requireOk(HttpResponse<String> response) {
    if (response.statusCode() != 200) {
      throw new IllegalStateException(
          response.request().method()
              + " answered "
              + response.statusCode()
              + ": "
              + response.body());
    }
  }

  /** Returns the ids the HTTP put phase wrote (at most {@link #GET_IDS_MAX}). */
  private static List<String> writtenIds(long[] written) {
    List<String> ids = new ArrayList<>();
    for (int client = 0; client < written.length; client++) {
      for (long s = 0; s < written[client] && ids.size() < GET_IDS_MAX; s++) {
        ids.add("h" + Documents.id(client, s));
      }
    }
    if (ids.isEmpty()) {
      throw new IllegalStateException("the HTTP put phase wrote nothing to read back");
    }
    return List.copyOf(ids);
  }

  static String table(List<Row> rows, Durability durability) {
    StringBuilder table = new StringBuilder();
    List<String> header =
        List.of(
            "Clients",
            "embedded put/s",
            "HTTP put/s",
            "HTTP ÷ embedded",
            "HTTP put p50 / p99 ms",
            "embedded get/s",
            "HTTP get/s",
            "HTTP ÷ embedded",
            "HTTP get p50 / p99 ms",
            "GET /health/s",
            "/health p50 / p99 ms");
    Report.line(table, header);
    Report.line(table, header.stream().map(h -> "---:").toList());
    List<String> notes = new ArrayList<>();
    for (Row row : rows) {
      if (row.durability() != durability) {
        continue;
      }
      ClosedLoop.Result embeddedPut = row.embeddedPut().result();
      ClosedLoop.Result httpPut = row.httpPut().result();
      ClosedLoop.Result embeddedGet = row.embeddedGet().result();
      ClosedLoop.Result httpGet = row.httpGet().result();
      ClosedLoop.Result health = row.health().result();
      Report.line(
          table,
          List.of(
              Integer.toString(row.clients()),
              Report.rate(embeddedPut.unitsPerSecond()),
              Report.rate(httpPut.unitsPerSecond()),
              Report.ratio(httpPut.unitsPerSecond(), embeddedPut.unitsPerSecond()),
              Report.latency(httpPut.latencyMicros()),
              Report.rate(embeddedGet.unitsPerSecond()),
              Report.rate(httpGet.unitsPerSecond()),
              Report.ratio(httpGet.unitsPerSecond(), embeddedGet.unitsPerSecond()),
              Report.latency(httpGet.latencyMicros()),
              Report.rate(health.unitsPerSecond()),
              Report.latency(health.latencyMicros())));
      notes.addAll(errorNotes(row));
    }
    notes.forEach(note -> table.append('\n').append(note).append('\n'));
    return table.toString();
  }

  /**
   * Returns where the time goes: the node's group commits in the put phases, and the mean time per
   * request on the node ({@code server}) against the mean the clients saw ({@code client}).
   */
  static String timeTable(List<Row> rows, Durability durability) {
    StringBuilder table = new StringBuilder();
    List<String> header =
        List.of(
            "Clients",
            "embedded put: commits/s",
            "puts per commit",
            "commit ms",
            "HTTP put: commits/s",
            "puts per commit",
            "commit ms",
            "PUT server / client ms",
            "GET server / client ms",
            "/health server / client ms");
    Report.line(table, header);
    Report.line(table, header.stream().map(h -> "---:").toList());
    for (Row row : rows) {
      if (row.durability() != durability) {
        continue;
      }
      List<String> cells = new ArrayList<>();
      cells.add(Integer.toString(row.clients()));
      cells.addAll(commitCells(row.embeddedPut()));
      cells.addAll(commitCells(row.httpPut()));
      cells.add(serverAndClient(row.httpPut()));
      cells.add(serverAndClient(row.httpGet()));
      cells.add(serverAndClient(row.health()));
      Report.line(table, cells);
    }
    return table.toString();
  }

  private static List<String> commitCells(Phase phase) {
    PutTarget.CommitStats commits = phase.commits();
    if (commits.commits() == 0) {
      return List.of("-", "-", "-");
    }
    return List.of(
        Report.rate(commits.commits() * 1e9 / phase.result().elapsedNanos()),
        String.format(Locale.ROOT, "%.1f", (double) commits.entries() / commits.commits()),
        String.format(Locale.ROOT, "%.2f", commits.commitNanos() / 1e6 / commits.commits()));
  }

  private static String serverAndClient(Phase phase) {
    ServerTime server = phase.server();
    String serverMs =
        server.requests() == 0
            ? "-"
            : String.format(Locale.ROOT, "%.2f", server.totalNanos() / 1e6 / server.requests());
    double clientMs = phase.result().latencyMicros().getMean() / 1000;
    return serverMs + " / " + String.format(Locale.ROOT, "%.2f", clientMs);
  }

  private static List<String> errorNotes(Row row) {
    List<String> notes = new ArrayList<>();
    String[] names = {"embedded put", "HTTP put", "embedded get", "HTTP get", "GET /health"};
    Phase[] phases = {
      row.embeddedPut(), row.httpPut(), row.embeddedGet(), row.httpGet(), row.health()
    };
    for (int i = 0; i < names.length; i++) {
      ClosedLoop.Result result = phases[i].result();
      if (result.errors() > 0 || result.firstError() != null) {
        notes.add(
            "Errors: "
                + names[i]
                + ", "
                + row.clients()
                + " clients: "
                + result.errors()
                + " in the window; first: "
                + result.firstError());
      }
    }
    return notes;
  }
}
