package io.skein.bench;

import io.skein.DocumentCollection;
import io.skein.Durability;
import io.skein.node.NodeServer;
import io.skein.node.NodeSettings;
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

/**
 * HTTP put and get throughput of a running node, against its own embedded API in the same run.
 *
 * <p>For each durability and number of clients, a fresh node starts in this JVM on a free loopback
 * port ({@link NodeServer#start}), and five closed loops run one after the other, each with a
 * warm-up and a measured window: embedded puts through the node's own {@link io.skein.Skein}, HTTP
 * {@code PUT /v1/collections/bench/docs/{id}}, embedded gets, HTTP {@code GET} of documents written
 * by the HTTP phase, and HTTP {@code GET /health}, which touches no storage and so gives the floor:
 * the cost of the HTTP client and server alone. Each client is a thread sending one request at a
 * time through one shared {@link HttpClient} (HTTP/1.1, so one connection per client). It prints a
 * Markdown table per durability with requests/s, the HTTP ÷ embedded ratios and HTTP p50/p99.
 *
 * <pre>
 * java -cp skein-bench/target/skein-benchmarks.jar io.skein.bench.HttpThroughput [--quick]
 *   [--warmup-ms 2000] [--duration-ms 5000] [--clients 1,16,64] [--durability fsync,buffered]
 *   [--dir PATH]
 * </pre>
 */
public final class HttpThroughput {
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
  private static final int GET_IDS_MAX = 100_000;

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
      String dir = a.textOrNull("--dir");
      return new Options(
          a.positive("--warmup-ms", quick ? 500 : 2_000),
          a.positive("--duration-ms", quick ? 1_000 : 5_000),
          a.positives("--clients", List.of(1, 16, 64)),
          a.words("--durability", quick ? List.of("fsync") : List.of("fsync", "buffered")).stream()
              .map(PutThroughput::durability)
              .toList(),
          dir == null ? TempDirs.defaultParent() : Path.of(dir));
    }
  }

  /** The five phases measured for one durability and client count. */
  record Row(
      Durability durability,
      int clients,
      ClosedLoop.Result embeddedPut,
      ClosedLoop.Result httpPut,
      ClosedLoop.Result embeddedGet,
      ClosedLoop.Result httpGet,
      ClosedLoop.Result httpHealth) {}

  /** Runs the options given on the command line and prints the tables. */
  public static void main(String[] args) throws InterruptedException {
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("HttpThroughput: " + e.getMessage());
      System.exit(2);
      return;
    }
    List<Row> rows = run(options, System.err);
    PrintStream out = System.out;
    out.println(Report.environment("HttpThroughput", args));
    for (Durability durability : options.durabilities()) {
      out.println();
      out.println("### " + durability.name().toLowerCase(Locale.ROOT));
      out.println();
      out.print(table(rows, durability));
    }
  }

  /**
   * Measures every client count of every durability; prints progress lines.
   *
   * @throws InterruptedException if the thread is interrupted
   */
  static List<Row> run(Options options, PrintStream progress) throws InterruptedException {
    List<Row> rows = new ArrayList<>();
    for (Durability durability : options.durabilities()) {
      for (int clients : options.clients()) {
        Row row = measure(durability, clients, options);
        progress.printf(
            Locale.ROOT,
            "%-9s %2d clients: put %,8.0f/s embedded %,8.0f/s; get %,8.0f/s embedded %,8.0f/s%n",
            durability.name().toLowerCase(Locale.ROOT),
            clients,
            row.httpPut().unitsPerSecond(),
            row.embeddedPut().unitsPerSecond(),
            row.httpGet().unitsPerSecond(),
            row.embeddedGet().unitsPerSecond());
        rows.add(row);
      }
    }
    return rows;
  }

  private static Row measure(Durability durability, int clients, Options options)
      throws InterruptedException {
    Path dir = TempDirs.create(options.dataParent(), "skein-http-");
    NodeSettings settings =
        new NodeSettings.Builder()
            .host("127.0.0.1")
            .port(0)
            .dataDir(dir)
            .durability(durability.name().toLowerCase(Locale.ROOT))
            .build();
    try (NodeServer server = NodeServer.start(settings);
        HttpClient client =
            HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(REQUEST_TIMEOUT)
                .build()) {
      String base =
          "http://127.0.0.1:"
              + server.port()
              + "/v1/collections/"
              + Documents.COLLECTION
              + "/docs/";
      DocumentCollection documents = server.skein().collection(Documents.COLLECTION);
      long warmupMs = options.warmupMs();
      long durationMs = options.durationMs();
      ClosedLoop.Result embeddedPut =
          ClosedLoop.run(
              clients,
              i -> embeddedPut(documents, i),
              warmupMs,
              durationMs,
              ClosedLoop.Window.NONE);
      long[] written = new long[clients];
      ClosedLoop.Result httpPut =
          ClosedLoop.run(
              clients,
              i -> httpPut(client, base, i, written),
              warmupMs,
              durationMs,
              ClosedLoop.Window.NONE);
      List<String> ids = writtenIds(written);
      ClosedLoop.Result embeddedGet =
          ClosedLoop.run(
              clients,
              i -> embeddedGet(documents, ids),
              warmupMs,
              durationMs,
              ClosedLoop.Window.NONE);
      ClosedLoop.Result httpGet =
          ClosedLoop.run(
              clients,
              i -> httpGet(client, base, ids),
              warmupMs,
              durationMs,
              ClosedLoop.Window.NONE);
      URI health = URI.create("http://127.0.0.1:" + server.port() + "/health");
      ClosedLoop.Result httpHealth =
          ClosedLoop.run(
              clients, i -> httpGet(client, health), warmupMs, durationMs, ClosedLoop.Window.NONE);
      return new Row(durability, clients, embeddedPut, httpPut, embeddedGet, httpGet, httpHealth);
    } finally {
      TempDirs.delete(dir);
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
      Report.line(
          table,
          List.of(
              Integer.toString(row.clients()),
              Report.rate(row.embeddedPut().unitsPerSecond()),
              Report.rate(row.httpPut().unitsPerSecond()),
              Report.ratio(row.httpPut().unitsPerSecond(), row.embeddedPut().unitsPerSecond()),
              Report.latency(row.httpPut().latencyMicros()),
              Report.rate(row.embeddedGet().unitsPerSecond()),
              Report.rate(row.httpGet().unitsPerSecond()),
              Report.ratio(row.httpGet().unitsPerSecond(), row.embeddedGet().unitsPerSecond()),
              Report.latency(row.httpGet().latencyMicros()),
              Report.rate(row.httpHealth().unitsPerSecond()),
              Report.latency(row.httpHealth().latencyMicros())));
      notes.addAll(errorNotes(row));
    }
    notes.forEach(note -> table.append('\n').append(note).append('\n'));
    return table.toString();
  }

  private static List<String> errorNotes(Row row) {
    List<String> notes = new ArrayList<>();
    String[] names = {"embedded put", "HTTP put", "embedded get", "HTTP get", "GET /health"};
    ClosedLoop.Result[] results = {
      row.embeddedPut(), row.httpPut(), row.embeddedGet(), row.httpGet(), row.httpHealth()
    };
    for (int i = 0; i < names.length; i++) {
      ClosedLoop.Result result = results[i];
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
