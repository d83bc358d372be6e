package io.skein.internal.query;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import io.skein.InvalidRequestException;
import io.skein.core.query.FieldPath;
import io.skein.core.query.InMemoryQuery;
import io.skein.core.query.IndexSpec;
import io.skein.core.query.InvalidQueryException;
import io.skein.core.query.Query;
import io.skein.core.query.QueryParser;
import io.skein.internal.json.Json;
import io.skein.internal.storage.Schema;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes the Mango parser (issue 12, item 9) from raw body bytes. Properties, for any bytes that
 * parse as JSON: {@link QueryParser} either refuses them with an {@link InvalidQueryException}
 * whose code is documented, or returns a query that the SQLite translation runs without error and
 * answers exactly as the in-memory oracle does, over a small corpus with an expression index. In CI
 * this runs on the seed corpus in {@code SelectorFuzzTestInputs}.
 */
class SelectorFuzzTest {
  private static final Set<String> QUERY_CODES =
      Set.of(
          "invalid_query",
          "invalid_selector",
          "invalid_field",
          "unknown_operator",
          "unsupported_operand");

  private static final List<String> DOCUMENTS =
      List.of(
          "{\"a\":1,\"b\":\"x\",\"n\":{\"x\":true,\"y\":null}}",
          "{\"a\":1.0,\"b\":\"\\u00e9\",\"n\":{\"x\":\"1\"}}",
          "{\"a\":\"1\",\"b\":[1,2],\"n\":5}",
          "{\"a\":null,\"b\":{\"c\":1},\"n\":{\"x\":-2.5}}",
          "{\"a\":9007199254740993,\"b\":false,\"a.b\":1,\"$a\":2}",
          "{\"a\":1E+400,\"b\":\"\\ud834\\udd1e\",\"n\":{\"x\":{\"y\":1}}}",
          "{\"b\":true,\"c_d-1\":\"a\\u0000\",\"n\":{\"x\":[]}}",
          "{}");

  private static Map<String, JsonNode> corpus;
  private static Connection database;

  @BeforeAll
  static void load() throws SQLException {
    corpus = new LinkedHashMap<>();
    for (int i = 0; i < DOCUMENTS.size(); i++) {
      corpus.put("d" + i, Json.parse(DOCUMENTS.get(i)));
    }
    database = DriverManager.getConnection("jdbc:sqlite::memory:");
    try (Statement statement = database.createStatement()) {
      for (String ddl : Schema.CREATE) {
        statement.execute(ddl);
      }
      statement.execute(
          SqlQueryTranslator.createIndexSql("c", new IndexSpec(List.of(FieldPath.parse("a")))));
    }
    try (PreparedStatement insert =
        database.prepareStatement(
            "INSERT INTO docs (collection, id, body, hlc, origin, origin_key, lsn)"
                + " VALUES ('c', ?, ?, 1, '1', '0011', ?)")) {
      int lsn = 0;
      for (Map.Entry<String, JsonNode> document : corpus.entrySet()) {
        insert.setString(1, document.getKey());
        insert.setString(2, Json.compactDocument(document.getValue(), 1 << 20));
        insert.setInt(3, ++lsn);
        insert.executeUpdate();
      }
    }
  }

  @AfterAll
  static void close() throws SQLException {
    database.close();
  }

  @FuzzTest(maxDuration = "30s")
  void aQueryIsRefusedWithADocumentedCodeOrAnsweredAsTheOracleAnswers(byte[] body)
      throws SQLException {
    JsonNode json;
    try {
      json = Json.parse(Json.decodeUtf8(body));
    } catch (InvalidRequestException e) {
      return; // RequestBodyFuzzTest covers the parser.
    }
    Query query;
    try {
      query = QueryParser.parse(json);
    } catch (InvalidQueryException e) {
      assertThat(e.code()).as(String.valueOf(e.getMessage())).isIn(QUERY_CODES);
      assertThat(e.getMessage()).isNotBlank();
      return;
    }
    List<String> expected = InMemoryQuery.run(query, corpus);
    SqlQuery sql = SqlQueryTranslator.select("c", query);
    SqlQueryMatchesOracleProperties.assertCandidatesCoverMatches(database, query, sql, corpus);
    assertThat(SqlQueryMatchesOracleProperties.run(database, query, sql))
        .as(() -> json + "\n" + sql.sql() + "\n" + sql.parameters())
        .isEqualTo(expected);
  }
}
