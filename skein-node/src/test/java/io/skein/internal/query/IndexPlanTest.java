package io.skein.internal.query;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.skein.core.query.FieldPath;
import io.skein.core.query.IndexSpec;
import io.skein.core.query.Query;
import io.skein.core.query.QueryParser;
import io.skein.internal.storage.Schema;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * SQLite uses the expression indexes of {@link SqlQueryTranslator#createIndexSql} for the WHERE
 * clauses of {@link SqlQueryTranslator#select}: both take their expressions from {@link
 * SqlQueryTranslator#extractExpression}, and a comparison on a field stands as its own AND-term.
 *
 * <p>The planner picks an index by cost, so the database holds a realistic collection (most values
 * of {@code a} and {@code n.x} are outside the ranges queried) and has been analysed, as a node's
 * database is after {@code ANALYZE} or {@code PRAGMA optimize}. The plan is explained with the
 * parameters bound, as they are when the query runs.
 */
class IndexPlanTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final String COLLECTION = "orders.v2";
  private static final int DOCUMENTS = 2_000;
  private static final IndexSpec ON_A = new IndexSpec(List.of(FieldPath.parse("a")));
  private static final IndexSpec ON_N_X = new IndexSpec(List.of(FieldPath.parse("n.x")));

  private static final String INDEX_A = SqlQueryTranslator.indexName(COLLECTION, ON_A);
  private static final String INDEX_N_X = SqlQueryTranslator.indexName(COLLECTION, ON_N_X);

  private static Connection connection;

  @BeforeAll
  static void createDatabase() throws SQLException {
    connection = DriverManager.getConnection("jdbc:sqlite::memory:");
    try (Statement statement = connection.createStatement()) {
      for (String ddl : Schema.CREATE) {
        statement.execute(ddl);
      }
      statement.execute(SqlQueryTranslator.createIndexSql(COLLECTION, ON_A));
      statement.execute(SqlQueryTranslator.createIndexSql(COLLECTION, ON_N_X));
    }
    try (PreparedStatement insert =
        connection.prepareStatement(
            "INSERT INTO docs (collection, id, body, hlc, origin, origin_key, lsn)"
                + " VALUES (?, ?, ?, 1, '1', '0011', ?)")) {
      for (int i = 0; i < DOCUMENTS; i++) {
        // a: mostly negative, so "a > 5" and "a = 3" select few documents; n.x: mostly after "m".
        int a = i % 100 == 0 ? i / 100 : -i;
        String x = (i % 100 == 0 ? "a" : "z") + i;
        insert.setString(1, COLLECTION);
        insert.setString(2, "doc" + i);
        insert.setString(
            3, "{\"a\":" + a + ",\"b\":" + i + ",\"n\":{\"x\":\"" + x + "\"},\"s\":\"v\"}");
        insert.setInt(4, i + 1);
        insert.executeUpdate();
      }
    }
    try (Statement statement = connection.createStatement()) {
      statement.execute("ANALYZE");
    }
  }

  @AfterAll
  static void closeDatabase() throws SQLException {
    connection.close();
  }

  @Test
  void indexNamesAreScopedByCollection() {
    assertThat(SqlQueryTranslator.indexName(COLLECTION, ON_A))
        .isEqualTo("ix_orders.v2_" + ON_A.name())
        .isNotEqualTo(SqlQueryTranslator.indexName("other", ON_A))
        .isNotEqualTo(SqlQueryTranslator.indexName(COLLECTION, ON_N_X));
    assertThat(SqlQueryTranslator.createIndexSql(COLLECTION, ON_N_X))
        .isEqualTo(
            "CREATE INDEX IF NOT EXISTS \"ix_orders.v2_"
                + ON_N_X.name()
                + "\" ON docs(collection, json_extract(body, '$.\"n\".\"x\"'))");
  }

  @Test
  void rangeOnAnIndexedFieldUsesTheIndex() throws SQLException {
    assertThat(plan("{\"a\": {\"$gt\": 5}}"))
        .contains("USING INDEX " + SqlQueryTranslator.indexName(COLLECTION, ON_A));
  }

  @Test
  void equalityOnAnIndexedFieldUsesTheIndex() throws SQLException {
    assertThat(plan("{\"a\": 3}"))
        .contains("USING INDEX " + SqlQueryTranslator.indexName(COLLECTION, ON_A));
  }

  @Test
  void rangeOnANestedIndexedFieldUsesTheIndex() throws SQLException {
    assertThat(plan("{\"n.x\": {\"$lte\": \"m\"}}"))
        .contains("USING INDEX " + SqlQueryTranslator.indexName(COLLECTION, ON_N_X));
  }

  @Test
  void indexedComparisonAlongsideOtherConditionsUsesTheIndex() throws SQLException {
    assertThat(plan("{\"a\": {\"$in\": [3, 7]}, \"s\": {\"$ne\": \"w\"}}"))
        .contains("USING INDEX " + SqlQueryTranslator.indexName(COLLECTION, ON_A));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{\"a\": {\"$gte\": 5, \"$lt\": 9}}",
        "{\"a\": {\"$lt\": -1990}}",
        "{\"a\": {\"$lte\": -1995}}",
        "{\"a\": true}",
        "{\"a\": [1, 2]}",
        "{\"a\": {\"$in\": [3, \"x\", null]}}",
        "{\"a\": {\"$elemMatch\": {\"$gt\": 1}}}",
        "{\"a\": {\"$all\": [1, 2]}}",
        "{\"a\": {\"$size\": 2}}",
        "{\"a\": {\"$not\": {\"$lt\": 5}}}",
        "{\"$nor\": [{\"a\": {\"$lte\": 5}}]}",
        "{\"$or\": [{\"a\": 3}, {\"a\": 7}]}",
        "{\"n.x\": {\"$beginsWith\": \"a1\"}}",
        "{\"n.x\": {\"$gt\": \"a\", \"$lt\": \"a2\"}}",
        "{\"n.x\": \"a100\", \"s\": {\"$regex\": \"^v\"}}",
      })
  void everyOperatorThatCanNarrowUsesTheIndex(String selector) throws SQLException {
    String plan = plan(selector);
    assertThat(plan).as(selector).containsAnyOf(INDEX_A, INDEX_N_X);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{\"a\": {\"$ne\": 3}}",
        "{\"a\": {\"$nin\": [3]}}",
        "{\"a\": {\"$exists\": true}}",
        "{\"a\": {\"$type\": \"number\"}}",
        "{\"a\": {\"$mod\": [2, 0]}}",
        "{\"n.x\": {\"$regex\": \"^a\"}}",
        "{\"a.0\": 3}",
        "{\"$or\": [{\"a\": 3}, {\"b\": 7}]}",
      })
  void conditionsThatCannotNarrowScanTheCollection(String selector) throws SQLException {
    assertThat(plan(selector)).as(selector).doesNotContain(INDEX_A).doesNotContain(INDEX_N_X);
  }

  @Test
  void idConditionsUseThePrimaryKey() throws SQLException {
    assertThat(plan("{\"_id\": {\"$gt\": \"doc5\", \"$lt\": \"doc6\"}}"))
        .contains("USING PRIMARY KEY")
        .contains("id>? AND id<?");
  }

  @Test
  void unindexedFieldDoesNotUseTheIndexes() throws SQLException {
    String plan = plan("{\"b\": {\"$gt\": 1990}}");
    assertThat(plan)
        .doesNotContain(SqlQueryTranslator.indexName(COLLECTION, ON_A))
        .doesNotContain(SqlQueryTranslator.indexName(COLLECTION, ON_N_X));
  }

  /** Returns the detail lines of {@code EXPLAIN QUERY PLAN} for the query, parameters bound. */
  private static String plan(String selector) throws SQLException {
    Query query;
    try {
      query = QueryParser.parse(MAPPER.readTree("{\"selector\": " + selector + "}"));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(selector, e);
    }
    SqlQuery sql = SqlQueryTranslator.select(COLLECTION, query);
    try (PreparedStatement explain =
        connection.prepareStatement("EXPLAIN QUERY PLAN " + sql.sql())) {
      for (int i = 0; i < sql.parameters().size(); i++) {
        explain.setObject(i + 1, sql.parameters().get(i));
      }
      List<String> details = new ArrayList<>();
      try (ResultSet rows = explain.executeQuery()) {
        while (rows.next()) {
          details.add(rows.getString("detail"));
        }
      }
      return String.join("\n", details);
    }
  }
}
