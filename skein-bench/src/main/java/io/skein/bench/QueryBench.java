package io.skein.bench;

import io.skein.Batch;
import io.skein.DocumentCollection;
import io.skein.Durability;
import io.skein.Skein;
import io.skein.SkeinConfig;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.HdrHistogram.Histogram;

/**
 * Query latency: Skein's queries (CouchDB semantics: SQLite narrows the candidates, Java matches,
 * sorts and pages them) against raw SQLite running the equivalent single SQL statement over the
 * same file, in the same run. The raw statement is the floor: it is what a query costs when SQLite
 * decides everything, as Skein's earlier type-bracketed translation did.
 *
 * <p>The collection holds {@code --documents} documents {@code {"n": i % 1000, "g": i % 10, "s":
 * "name-<i>", "tags": [...], "pad": "..."}} (about 250 bytes each), with an index on {@code n}.
 * Every query is run {@code --rounds} times after as many warm-up runs; the table gives the median
 * and the 99th percentile.
 *
 * <p>Usage: {@code QueryBench --dir DIR [--documents N] [--rounds N] [--quick]}.
 */
public final class QueryBench {
  private QueryBench() {}

  private record Case(String name, String mango, String sql) {}

  private static final String N = "json_extract(body, '$.\"n\"')";
  private static final String G = "json_extract(body, '$.\"g\"')";
  private static final String S = "json_extract(body, '$.\"s\"')";
  private static final String FROM =
      "SELECT id, body FROM docs WHERE collection = 'bench' AND body IS NOT NULL AND ";

  private static final List<Case> CASES =
      List.of(
          new Case(
              "indexed `$eq`, 25 of 0.1 %",
              "{\"selector\":{\"n\":500}}", FROM + N + " = 500 ORDER BY id LIMIT 25"),
          new Case(
              "indexed range, sorted by it",
              "{\"selector\":{\"n\":{\"$gte\":990}},\"sort\":[\"n\"]}",
              FROM + N + " >= 990 ORDER BY " + N + ", id LIMIT 25"),
          new Case(
              "indexed `$in` of 3",
              "{\"selector\":{\"n\":{\"$in\":[1,2,3]}}}",
              FROM + N + " IN (1, 2, 3) ORDER BY id LIMIT 25"),
          new Case(
              "scan, one match",
              "{\"selector\":{\"s\":\"name-4242\"}}",
              FROM + S + " = 'name-4242' ORDER BY id LIMIT 25"),
          new Case(
              "scan, 10 %, sorted by another field",
              "{\"selector\":{\"g\":3},\"sort\":[\"s\"]}",
              FROM + G + " = 3 ORDER BY " + S + ", id LIMIT 25"),
          new Case(
              "scan, 40 %, first 1,000",
              "{\"selector\":{\"g\":{\"$gt\":5}},\"limit\":1000}",
              FROM + G + " > 5 ORDER BY id LIMIT 1000"),
          new Case(
              "`$elemMatch` on an array, scan",
              "{\"selector\":{\"tags\":{\"$elemMatch\":{\"$eq\":\"t7\"}}}}",
              FROM
                  + "EXISTS (SELECT 1 FROM json_each(body, '$.\"tags\"') WHERE value = 't7')"
                  + " ORDER BY id LIMIT 25"));

  /** Runs the benchmark and prints a Markdown table. */
  public static void main(String[] args) throws Exception {
    Arguments arguments =
        Arguments.parse(args, Set.of("--quick"), Set.of("--dir", "--documents", "--rounds"));
    boolean quick = arguments.flag("--quick");
    int documents = Integer.parseInt(arguments.text("--documents", quick ? "20000" : "200000"));
    int rounds = Integer.parseInt(arguments.text("--rounds", quick ? "100" : "30"));
    Path dir = TempDirs.create(Path.of(arguments.text("--dir", "target/bench-data")), "query-");
    load(dir, documents);
    System.out.printf(
        Locale.ROOT,
        "%,d documents, an index on `n`; %d runs of each query after as many warm-up runs.%n%n",
        documents,
        rounds);
    System.out.println(
        "| Query | Skein median | Skein p99 | raw SQLite median | raw SQLite p99 | Skein ÷ raw"
            + " (median) | documents answered |");
    System.out.println("|---|---|---|---|---|---|---|");
    try (Skein skein = open(dir);
        Connection raw =
            DriverManager.getConnection(
                "jdbc:sqlite:" + dir.resolve("data").resolve("node-1.db") + "?open_mode=1")) {
      DocumentCollection collection = skein.collection("bench");
      for (Case query : CASES) {
        int[] answered = new int[2];
        Histogram skeinMicros =
            measure(rounds, () -> answered[0] = collection.query(query.mango()).size());
        Histogram rawMicros = measure(rounds, () -> answered[1] = rawQuery(raw, query.sql()));
        if (answered[0] != answered[1]) {
          throw new IllegalStateException(
              query.name() + ": Skein answered " + answered[0] + ", SQL " + answered[1]);
        }
        double skeinMedian = skeinMicros.getValueAtPercentile(50) / 1000.0;
        double rawMedian = rawMicros.getValueAtPercentile(50) / 1000.0;
        System.out.printf(
            Locale.ROOT,
            "| %s | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.2f× | %d |%n",
            query.name(),
            skeinMedian,
            skeinMicros.getValueAtPercentile(99) / 1000.0,
            rawMedian,
            rawMicros.getValueAtPercentile(99) / 1000.0,
            skeinMedian / rawMedian,
            answered[0]);
      }
    }
  }

  private interface Work {
    void run() throws Exception;
  }

  private static Histogram measure(int rounds, Work work) throws Exception {
    // As many warm-up runs as measured ones, so that the JIT has compiled the matching path.
    for (int i = 0; i < rounds; i++) {
      work.run();
    }
    Histogram micros = new Histogram(3);
    for (int i = 0; i < rounds; i++) {
      long start = System.nanoTime();
      work.run();
      micros.recordValue(Math.max(1, (System.nanoTime() - start) / 1_000));
    }
    return micros;
  }

  private static int rawQuery(Connection raw, String sql) throws SQLException {
    int count = 0;
    try (PreparedStatement statement = raw.prepareStatement(sql);
        ResultSet rows = statement.executeQuery()) {
      while (rows.next()) {
        rows.getString(2);
        count++;
      }
    }
    return count;
  }

  private static Skein open(Path dir) {
    return Skein.open(
        SkeinConfig.builder(dir.resolve("data"), "1").durability(Durability.BUFFERED).build());
  }

  private static void load(Path dir, int documents) {
    try (Skein skein = open(dir)) {
      DocumentCollection collection = skein.collection("bench");
      Batch batch = skein.batch();
      for (int i = 0; i < documents; i++) {
        String id = String.format(Locale.ROOT, "d%07d", i);
        batch.put(
            "bench",
            id,
            String.format(
                Locale.ROOT,
                "{\"n\":%d,\"g\":%d,\"s\":\"name-%d\",\"tags\":[\"t%d\",\"t%d\"],\"pad\":\"%s\"}",
                i % 1000,
                i % 10,
                i,
                i % 13,
                i % 17,
                "x".repeat(150)));
        if (batch.size() == 1000) {
          batch.commit();
          batch = skein.batch();
        }
      }
      if (batch.size() > 0) {
        batch.commit();
      }
      // Declared over the loaded documents, so that it is built and analysed with them.
      collection.createIndex("n");
    }
  }
}
