package io.skein.node;

import static io.skein.node.ItSupport.JSON;
import static io.skein.node.ItSupport.awaitCondition;
import static io.skein.node.ItSupport.etag;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.core.hlc.Hlc;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.Operation;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.oplog.Version;
import io.skein.internal.storage.Schema;
import io.skein.node.ItSupport.WriteLoad;
import io.skein.testkit.HttpJson;
import io.skein.testkit.NodeProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteConfig;

/**
 * Crash safety of one node with {@code --durability fsync}: a write the node acknowledged survives
 * a SIGKILL of the node, whatever the node was doing.
 *
 * <p>The scenario: a node runs under write load from {@value #CLIENTS} clients; once enough writes
 * are acknowledged it is killed with SIGKILL mid-load, restarted on the same data directory, and
 * checked over HTTP: every acknowledged write is there with its version and its whole body, a write
 * that was not acknowledged is either absent or whole, a write seen absent stays absent, and the
 * listing holds exactly the documents found. This runs {@value #CRASH_CYCLES} times; then the node
 * is stopped with SIGTERM under load (it must drain and exit 0 in time), and its database file is
 * opened read-only and checked: integrity, dense sequences, every document equal to its winning
 * oplog entry, every oplog entry intact, every acknowledged write present.
 *
 * <p>Every wait has a deadline; the temporary directory (data and node logs) is kept when the test
 * fails.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class CrashSafetyIT {
  private static final String NODE_ID = "1";
  private static final String COLLECTION = "crash";
  private static final int CRASH_CYCLES = 2;
  private static final int CLIENTS = 8;

  /** How many writes of a phase must be acknowledged before the node is killed (or stopped). */
  private static final int[] ACKNOWLEDGED_BEFORE_END = {500, 1500, 500};

  private static final int WRITES_PER_PHASE_MAX = 20_000;
  private static final Duration PHASE_DURATION_MAX = Duration.ofSeconds(15);
  private static final Duration ACKNOWLEDGED_WAIT = Duration.ofSeconds(15);
  private static final Duration CLIENTS_FINISH_WAIT = Duration.ofSeconds(20);
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(20);
  private static final Duration VERIFY_TIMEOUT = Duration.ofSeconds(60);
  private static final int LIST_PAGE_LIMIT = 1000;
  private static final int EXIT_STATUS_SIGKILL = 128 + 9;
  private static final int PROBLEMS_SHOWN_MAX = 20;
  private static final String PAD = "Skein crash safety \u2713 \u00e9 \u6f22\u5b57 ".repeat(8);

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path tempDir;

  /** Id to body of every write any client started, over all phases. */
  private final Map<String, String> attempted = new HashMap<>();

  /** Id to version of every write that must be present: acknowledged, or seen after a restart. */
  private final Map<String, String> expected = new HashMap<>();

  /** Ids of unacknowledged writes found absent after a restart: they must stay absent. */
  private final Set<String> absent = new HashSet<>();

  private final List<String> report = new ArrayList<>();

  @Test
  void acknowledgedWritesSurviveSigkillAndTheFileStaysConsistent() throws Exception {
    long startNanos = System.nanoTime();
    Path dataDir = tempDir.resolve("data");
    try {
      for (int cycle = 1; cycle <= CRASH_CYCLES; cycle++) {
        crashUnderLoad(dataDir, cycle);
      }
      GracefulStop stop = stopUnderLoad(dataDir, CRASH_CYCLES + 1);
      // The file is checked before the exit status, so that one run reports both.
      checkDatabaseFile(dataDir.resolve("node-" + NODE_ID + ".db"));
      assertThat(stop.status())
          .as("exit status after SIGTERM (a clean shutdown exits 0)%s", stop.logTail())
          .isZero();
    } finally {
      report.add("total " + msSince(startNanos) + " ms; files in " + tempDir);
      System.out.println(String.join(System.lineSeparator(), report));
    }
  }

  /** Runs a node (checking it after the previous crash), loads it and kills it with SIGKILL. */
  private void crashUnderLoad(Path dataDir, int cycle) throws Exception {
    try (NodeProcess node = startNode(dataDir, cycle);
        HttpJson http = new HttpJson(node.baseUrl(), REQUEST_TIMEOUT)) {
      if (cycle > 1) {
        verifyOverHttp(http, "after crash " + (cycle - 1));
      }
      WriteLoad load = startLoad(http, "c" + cycle, ACKNOWLEDGED_BEFORE_END[cycle - 1]);
      load.nodeEnding();
      int status = node.kill();
      finishLoad(load, "crash " + cycle);
      reportLog(node);
      assertThat(status).as("exit status of the SIGKILLed node").isEqualTo(EXIT_STATUS_SIGKILL);
    }
  }

  /** How a node answered SIGTERM. */
  private record GracefulStop(int status, String logTail) {}

  /** Runs a node (checking it after the last crash), loads it and stops it with SIGTERM. */
  private GracefulStop stopUnderLoad(Path dataDir, int run) throws Exception {
    try (NodeProcess node = startNode(dataDir, run);
        HttpJson http = new HttpJson(node.baseUrl(), REQUEST_TIMEOUT)) {
      verifyOverHttp(http, "after crash " + (run - 1));
      WriteLoad load = startLoad(http, "graceful", ACKNOWLEDGED_BEFORE_END[run - 1]);
      load.nodeEnding();
      long stopNanos = System.nanoTime();
      int status = node.stop(STOP_TIMEOUT);
      report.add(
          "SIGTERM under load: exit status " + status + " after " + msSince(stopNanos) + " ms");
      finishLoad(load, "graceful stop");
      reportLog(node);
      return new GracefulStop(status, System.lineSeparator() + node.logTail(40));
    }
  }

  private NodeProcess startNode(Path dataDir, int run) {
    long startNanos = System.nanoTime();
    NodeProcess node =
        NodeProcess.builder(ItSupport.nodeJar())
            .arguments(
                "--node-id", NODE_ID, "--data-dir", dataDir.toString(), "--durability", "fsync")
            .logFile(tempDir.resolve("node-" + NODE_ID + "-run-" + run + ".log"))
            .startTimeout(START_TIMEOUT)
            .start();
    report.add(
        "run "
            + run
            + ": node pid "
            + node.pid()
            + " on port "
            + node.port()
            + " serving after "
            + msSince(startNanos)
            + " ms");
    return node;
  }

  // -----------------------------------------------------------------------------------------------
  // Load.

  /** Starts the load and returns once {@code acknowledgedMin} writes are acknowledged. */
  private WriteLoad startLoad(HttpJson http, String prefix, int acknowledgedMin)
      throws InterruptedException {
    WriteLoad load =
        new WriteLoad(
            http, COLLECTION, prefix, PAD, CLIENTS, WRITES_PER_PHASE_MAX, PHASE_DURATION_MAX);
    long startNanos = System.nanoTime();
    load.start();
    boolean reached =
        awaitCondition(
            ACKNOWLEDGED_WAIT,
            () -> load.acknowledged().size() >= acknowledgedMin || load.clientsDone());
    if (!reached || load.acknowledged().size() < acknowledgedMin) {
      load.stop();
      throw new AssertionError(
          "phase "
              + prefix
              + ": only "
              + load.acknowledged().size()
              + " writes acknowledged, needed "
              + acknowledgedMin
              + "; refused "
              + load.refusedByStatus()
              + "; problems "
              + load.problems());
    }
    report.add(
        "phase "
            + prefix
            + ": "
            + load.acknowledged().size()
            + " writes acknowledged after "
            + msSince(startNanos)
            + " ms of load");
    return load;
  }

  /** Ends the load after the node was killed or stopped, checks it, and records its writes. */
  private void finishLoad(WriteLoad load, String phase) throws InterruptedException {
    load.stop();
    assertThat(load.awaitClients(CLIENTS_FINISH_WAIT))
        .as("the clients of %s end within %s", phase, CLIENTS_FINISH_WAIT)
        .isTrue();
    assertThat(load.problems()).as("failures before the node was ended, " + phase).isEmpty();
    Map<String, String> acknowledged = Map.copyOf(load.acknowledged());
    assertThat(new HashSet<>(acknowledged.values()))
        .as("versions acknowledged in %s are distinct", phase)
        .hasSameSizeAs(acknowledged.values());
    Version newestBefore = newestExpectedVersion();
    if (newestBefore != null) {
      Version oldestNew =
          acknowledged.values().stream().map(Version::parse).min(Comparator.naturalOrder()).get();
      assertThat(oldestNew)
          .as("versions after a restart are newer than every version before it (%s)", phase)
          .isGreaterThan(newestBefore);
    }
    attempted.putAll(load.attempted());
    expected.putAll(acknowledged);
    report.add(
        phase
            + ": "
            + load.attempted().size()
            + " writes attempted, "
            + acknowledged.size()
            + " acknowledged, refused by status "
            + load.refusedByStatus()
            + ", clients ended by transport failures "
            + load.transportFailuresAfterEnd());
  }

  private @Nullable Version newestExpectedVersion() {
    return expected.values().stream()
        .map(Version::parse)
        .max(Comparator.naturalOrder())
        .orElse(null);
  }

  // -----------------------------------------------------------------------------------------------
  // Checks over HTTP after a restart.

  /** One GET of a document. */
  private record Read(int status, String etag, String body) {}

  private void verifyOverHttp(HttpJson http, String when) throws Exception {
    long startNanos = System.nanoTime();
    Map<String, Read> reads = readAll(http, List.copyOf(attempted.keySet()));
    List<String> problems = new ArrayList<>();
    int expectedBefore = expected.size();
    int expectedFound = 0;
    int unacknowledgedPresent = 0;
    int unacknowledgedAbsent = 0;
    for (Map.Entry<String, String> write : new TreeMap<>(attempted).entrySet()) {
      String id = write.getKey();
      Read read = reads.getOrDefault(id, new Read(0, "", "(not read)"));
      String version = expected.get(id);
      if (version != null) {
        checkPresent(id, read, version, write.getValue(), problems);
        expectedFound++;
      } else if (absent.contains(id)) {
        if (read.status() != 404) {
          problems.add(id + ": was absent after an earlier restart, now " + read);
        }
      } else if (read.status() == 404) {
        absent.add(id);
        unacknowledgedAbsent++;
      } else {
        String seen = read.etag().replace("\"", "");
        checkPresent(id, read, seen, write.getValue(), problems);
        expected.put(id, seen);
        unacknowledgedPresent++;
      }
    }
    assertNoProblems(problems, "documents " + when);
    checkListing(http, when);
    report.add(
        when
            + ": "
            + expectedFound
            + " of "
            + expectedBefore
            + " expected documents found (acknowledged, or seen before); unacknowledged writes: "
            + unacknowledgedPresent
            + " present (whole), "
            + unacknowledgedAbsent
            + " absent; checked in "
            + msSince(startNanos)
            + " ms");
  }

  private static void checkPresent(
      String id, Read read, String version, String body, List<String> problems) {
    if (read.status() != 200) {
      problems.add(id + ": expected version " + version + ", got " + read);
    } else if (!read.etag().equals(etag(version))) {
      problems.add(id + ": expected ETag " + etag(version) + ", got " + read.etag());
    } else if (!sameJson(read.body(), body)) {
      problems.add(id + ": body is not the one written: " + read.body());
    }
  }

  private static boolean sameJson(String actual, String written) {
    try {
      JsonNode node = JSON.readTree(actual);
      return node != null && node.equals(JSON.readTree(written));
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean isJson(@Nullable String text) {
    try {
      return text != null && JSON.readTree(text) != null;
    } catch (IOException e) {
      return false;
    }
  }

  /** GETs every id, {@value #CLIENTS} at a time, within {@link #VERIFY_TIMEOUT}. */
  private static Map<String, Read> readAll(HttpJson http, List<String> ids) throws Exception {
    List<Callable<Map<String, Read>>> slices = new ArrayList<>();
    for (int slice = 0; slice < CLIENTS; slice++) {
      List<String> mine = new ArrayList<>();
      for (int i = slice; i < ids.size(); i += CLIENTS) {
        mine.add(ids.get(i));
      }
      slices.add(() -> read(http, mine));
    }
    ExecutorService executor = Executors.newFixedThreadPool(CLIENTS);
    try {
      Map<String, Read> reads = new HashMap<>();
      for (Future<Map<String, Read>> future :
          executor.invokeAll(slices, VERIFY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        reads.putAll(future.get());
      }
      return reads;
    } finally {
      executor.shutdownNow();
    }
  }

  private static Map<String, Read> read(HttpJson http, List<String> ids) throws Exception {
    Map<String, Read> reads = new HashMap<>();
    for (String id : ids) {
      HttpJson.Response response = http.get(docPath(id));
      reads.put(
          id, new Read(response.status(), response.header("ETag").orElse(""), response.body()));
    }
    return reads;
  }

  /** Pages through the collection: it must list exactly the expected documents. */
  private void checkListing(HttpJson http, String when) throws Exception {
    Map<String, String> listed = new HashMap<>();
    String after = "";
    int pagesMax = attempted.size() / LIST_PAGE_LIMIT + 2;
    for (int page = 0; page < pagesMax && after != null; page++) {
      HttpJson.Response response =
          http.get(
              "/v1/collections/"
                  + COLLECTION
                  + "/docs?limit="
                  + LIST_PAGE_LIMIT
                  + "&after="
                  + after);
      assertThat(response.status()).as("listing " + when + ": " + response).isEqualTo(200);
      JsonNode body = JSON.readTree(response.body());
      for (JsonNode doc : body.path("docs")) {
        listed.put(doc.path("id").asText(), doc.path("version").asText());
      }
      after = body.path("next").isTextual() ? body.path("next").asText() : null;
    }
    assertThat(after).as("listing %s ends within %d pages", when, pagesMax).isNull();
    Set<String> missing = new HashSet<>(expected.keySet());
    missing.removeAll(listed.keySet());
    Set<String> extra = new HashSet<>(listed.keySet());
    extra.removeAll(expected.keySet());
    assertThat(missing).as("documents missing from the listing " + when).isEmpty();
    assertThat(extra).as("documents listed but never seen " + when).isEmpty();
    assertThat(listed).as("versions in the listing " + when).isEqualTo(expected);
  }

  // -----------------------------------------------------------------------------------------------
  // Checks of the database file after a graceful stop.

  private record DocRow(
      String id, @Nullable String body, long hlc, String origin, String originKey, long lsn) {
    Version version() {
      return new Version(Hlc.unpack(hlc), NodeId.of(origin));
    }
  }

  private record OplogRow(
      long lsn,
      String origin,
      long seq,
      long hlc,
      int op,
      String collection,
      String id,
      @Nullable String body,
      long epoch,
      long logIndex,
      int checksum,
      boolean won) {
    String key() {
      return collection + "/" + id;
    }

    boolean isIntact() {
      OplogEntry entry =
          new OplogEntry(
              NodeId.of(origin),
              seq,
              Hlc.unpack(hlc),
              op == Schema.OP_PUT ? Operation.PUT : Operation.DELETE,
              new CollectionName(collection),
              DocumentId.of(id),
              body,
              epoch,
              logIndex,
              checksum);
      return entry.isIntact();
    }
  }

  private void checkDatabaseFile(Path file) throws Exception {
    report.add(
        "after the graceful stop: "
            + file.getFileName()
            + " "
            + Files.size(file)
            + " bytes, WAL file left: "
            + Files.exists(file.resolveSibling(file.getFileName() + "-wal")));
    SQLiteConfig config = new SQLiteConfig();
    config.setReadOnly(true);
    try (Connection c = config.createConnection("jdbc:sqlite:" + file)) {
      assertThat(queryText(c, "PRAGMA integrity_check"))
          .as("PRAGMA integrity_check")
          .isEqualTo("ok");
      checkSequences(c);
      Map<String, DocRow> docs = readDocs(c);
      List<OplogRow> oplog = readOplog(c);
      checkDocumentsAgainstOplog(docs, oplog);
      checkExpectedInFile(docs);
      report.add(
          "database: "
              + docs.size()
              + " documents, "
              + oplog.size()
              + " oplog entries, "
              + expected.size()
              + " expected documents all present");
    }
  }

  private static void checkSequences(Connection c) throws SQLException {
    long[] local =
        queryLongs(
            c,
            "SELECT count(*), coalesce(min(seq), 0), coalesce(max(seq), 0) FROM oplog"
                + " WHERE origin = '"
                + NODE_ID
                + "'");
    assertThat(local[0])
        .as("count of local oplog entries == max(seq): dense sequence")
        .isEqualTo(local[2]);
    assertThat(local[1]).as("the local sequence starts at 1").isEqualTo(local[0] == 0 ? 0 : 1);
    long[] lsn = queryLongs(c, "SELECT count(*), coalesce(max(lsn), 0) FROM oplog");
    assertThat(lsn[0]).as("count of oplog entries == max(lsn): dense lsn").isEqualTo(lsn[1]);
    assertThat(queryText(c, "SELECT value FROM meta WHERE key = 'local_sequence'"))
        .as("meta local_sequence")
        .isEqualTo(Long.toString(local[2]));
    long maxHlc = queryLongs(c, "SELECT coalesce(max(hlc), 0) FROM oplog")[0];
    String highWater = queryText(c, "SELECT value FROM meta WHERE key = 'hlc_high_water'");
    assertThat(highWater).as("meta hlc_high_water").isNotNull();
    assertThat(Long.parseLong(highWater))
        .as("meta hlc_high_water >= max(oplog.hlc)")
        .isGreaterThanOrEqualTo(maxHlc);
  }

  /** Every document equals its winning oplog entry; every oplog entry is intact and applied. */
  private static void checkDocumentsAgainstOplog(Map<String, DocRow> docs, List<OplogRow> oplog) {
    List<String> problems = new ArrayList<>();
    Map<String, OplogRow> winners = new HashMap<>();
    Comparator<OplogRow> lastWriteWins =
        Comparator.comparingLong(OplogRow::hlc)
            .thenComparing(row -> NodeId.of(row.origin()).sortKey());
    for (OplogRow row : oplog) {
      if (!row.isIntact()) {
        problems.add("oplog lsn " + row.lsn() + " fails its checksum");
      }
      if (row.op() == Schema.OP_PUT && !isJson(row.body())) {
        problems.add("oplog lsn " + row.lsn() + " body is not JSON: " + row.body());
      }
      if (!docs.containsKey(row.key())) {
        problems.add("oplog lsn " + row.lsn() + " for " + row.key() + " has no document row");
      }
      if (row.won()) {
        winners.merge(row.key(), row, (a, b) -> lastWriteWins.compare(a, b) >= 0 ? a : b);
      }
    }
    for (Map.Entry<String, DocRow> entry : docs.entrySet()) {
      DocRow doc = entry.getValue();
      OplogRow winner = winners.get(entry.getKey());
      if (winner == null) {
        problems.add(entry.getKey() + ": document row without a winning oplog entry");
      } else if (winner.hlc() != doc.hlc()
          || !winner.origin().equals(doc.origin())
          || winner.lsn() != doc.lsn()
          || !Objects.equals(winner.body(), doc.body())) {
        problems.add(entry.getKey() + ": document " + doc + " differs from its winner " + winner);
      }
      if (!doc.originKey().equals(NodeId.of(doc.origin()).sortKey())) {
        problems.add(
            entry.getKey() + ": origin_key " + doc.originKey() + " of origin " + doc.origin());
      }
    }
    assertNoProblems(problems, "documents against the oplog");
  }

  /** Every expected write is in the file; every document in it is whole and was written. */
  private void checkExpectedInFile(Map<String, DocRow> docs) {
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, String> write : new TreeMap<>(expected).entrySet()) {
      DocRow doc = docs.get(COLLECTION + "/" + write.getKey());
      if (doc == null || doc.body() == null) {
        problems.add(write.getKey() + ": expected version " + write.getValue() + ", absent");
      } else if (!doc.version().toString().equals(write.getValue())) {
        problems.add(
            write.getKey() + ": expected version " + write.getValue() + ", found " + doc.version());
      }
    }
    for (DocRow doc : docs.values()) {
      String written = attempted.get(doc.id());
      if (written == null) {
        problems.add(doc.id() + ": in the file but never written");
      } else if (doc.body() == null || !sameJson(doc.body(), written)) {
        problems.add(doc.id() + ": body is not the one written: " + doc.body());
      }
      if (absent.contains(doc.id())) {
        problems.add(doc.id() + ": was absent after a restart, is in the file");
      }
    }
    assertNoProblems(problems, "expected documents in the file");
  }

  private static Map<String, DocRow> readDocs(Connection c) throws SQLException {
    Map<String, DocRow> docs = new LinkedHashMap<>();
    try (Statement s = c.createStatement();
        ResultSet r =
            s.executeQuery("SELECT collection, id, body, hlc, origin, origin_key, lsn FROM docs")) {
      while (r.next()) {
        docs.put(
            r.getString(1) + "/" + r.getString(2),
            new DocRow(
                r.getString(2),
                r.getString(3),
                r.getLong(4),
                r.getString(5),
                r.getString(6),
                r.getLong(7)));
      }
    }
    return docs;
  }

  private static List<OplogRow> readOplog(Connection c) throws SQLException {
    List<OplogRow> rows = new ArrayList<>();
    try (Statement s = c.createStatement();
        ResultSet r =
            s.executeQuery(
                "SELECT lsn, origin, seq, hlc, op, collection, id, body, epoch, log_index, checksum,"
                    + " won FROM oplog ORDER BY lsn")) {
      while (r.next()) {
        rows.add(
            new OplogRow(
                r.getLong(1),
                r.getString(2),
                r.getLong(3),
                r.getLong(4),
                r.getInt(5),
                r.getString(6),
                r.getString(7),
                r.getString(8),
                r.getLong(9),
                r.getLong(10),
                r.getInt(11),
                r.getInt(12) == 1));
      }
    }
    return rows;
  }

  private static long[] queryLongs(Connection c, String sql) throws SQLException {
    try (PreparedStatement p = c.prepareStatement(sql);
        ResultSet r = p.executeQuery()) {
      assertThat(r.next()).as(sql).isTrue();
      long[] values = new long[r.getMetaData().getColumnCount()];
      for (int i = 0; i < values.length; i++) {
        values[i] = r.getLong(i + 1);
      }
      return values;
    }
  }

  private static @Nullable String queryText(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet r = s.executeQuery(sql)) {
      return r.next() ? r.getString(1) : null;
    }
  }

  // -----------------------------------------------------------------------------------------------

  private static String docPath(String id) {
    return "/v1/collections/" + COLLECTION + "/docs/" + id;
  }

  private void reportLog(NodeProcess node) throws IOException {
    List<String> lines = ItSupport.warningsAndErrors(node);
    report.add(node.logFile().getFileName() + ": " + lines.size() + " WARN/ERROR lines");
    lines.stream().limit(PROBLEMS_SHOWN_MAX).forEach(line -> report.add("  " + line));
    assertThat(lines)
        .as("ERROR lines in %s", node.logFile())
        .noneMatch(line -> line.contains(" ERROR "));
  }

  /** Fails with the count and the first problems only, so that a mass failure stays readable. */
  private static void assertNoProblems(List<String> problems, String what) {
    if (!problems.isEmpty()) {
      throw new AssertionError(
          what
              + ": "
              + problems.size()
              + " problems; the first "
              + Math.min(PROBLEMS_SHOWN_MAX, problems.size())
              + ":"
              + System.lineSeparator()
              + String.join(
                  System.lineSeparator(),
                  problems.subList(0, Math.min(PROBLEMS_SHOWN_MAX, problems.size()))));
    }
  }

  private static long msSince(long startNanos) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
  }
}
