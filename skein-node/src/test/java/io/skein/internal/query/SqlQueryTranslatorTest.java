package io.skein.internal.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.skein.core.model.InvalidNameException;
import io.skein.core.query.FieldPath;
import io.skein.core.query.IndexSpec;
import io.skein.core.query.QueryParser;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The shape of the SQL text; {@link SqlQueryMatchesOracleProperties} checks its meaning. */
class SqlQueryTranslatorTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private static SqlQuery select(String body) {
    try {
      return SqlQueryTranslator.select("c", QueryParser.parse(MAPPER.readTree(body)));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(body, e);
    }
  }

  @Test
  void extractExpressionQuotesEverySegment() {
    assertThat(SqlQueryTranslator.extractExpression(FieldPath.parse("a.b-c.d_1")))
        .isEqualTo("json_extract(body, '$.\"a\".\"b-c\".\"d_1\"')");
  }

  /**
   * Every key a document may hold is read by its own quoted path and by no other: each of these
   * keys sits in one document beside the others, and the path of each reads only its value.
   */
  @Test
  void quotedPathsReadExactlyTheKeyTheyName() throws SQLException {
    List<String> keys =
        List.of(
            "a",
            "A",
            "a.b",
            "a\"",
            "\"",
            "a\\",
            "\\",
            "$",
            "$a",
            "a[0]",
            "[0]",
            "a]",
            "a'",
            "'",
            "a\u0001",
            "\u001f",
            "a\u007f",
            "a\n",
            "\u00e9",
            "a\u00e9",
            "\ud834\udd1e",
            "\uffff",
            "a b",
            " a",
            "",
            "a\\u0062",
            "*",
            "#",
            "a\u00a0");
    ObjectNode document = MAPPER.createObjectNode();
    ObjectNode nested = MAPPER.createObjectNode();
    for (int i = 0; i < keys.size(); i++) {
      document.put(keys.get(i), i);
      nested.put(keys.get(i), i);
    }
    document.set("n", nested);
    String body = document.toString();
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite::memory:")) {
      for (int i = 0; i < keys.size(); i++) {
        String top = SqlQueryTranslator.jsonPathLiteral(List.of(keys.get(i)));
        String inner = SqlQueryTranslator.jsonPathLiteral(List.of("n", keys.get(i)));
        assertThat(top).startsWith("'$.\"").endsWith("\"'");
        assertThat(top.substring(1, top.length() - 1)).doesNotContain("'");
        try (PreparedStatement read =
            connection.prepareStatement(
                "SELECT json_extract(?, " + top + "), json_extract(?, " + inner + ")")) {
          read.setString(1, body);
          read.setString(2, body);
          try (ResultSet row = read.executeQuery()) {
            row.next();
            assertThat(row.getObject(1)).as("key #" + i + " " + top).isEqualTo(i);
            assertThat(row.getObject(2)).as("n.key #" + i + " " + inner).isEqualTo(i);
          }
        }
      }
    }
    assertThatThrownBy(() -> SqlQueryTranslator.jsonPathLiteral(List.of("a\u0000b")))
        .isInstanceOf(IllegalArgumentException.class);
  }

  /**
   * Why documents may not hold U+0000 in a key (A45): SQLite compares a key and a path label as C
   * strings, so the key {@code a\u0000b} is read by {@code $."a"} (and the path {@code
   * $."a\u0000b"} reads {@code a}). If this starts failing, SQLite changed and the rule could go.
   */
  @Test
  void sqliteReadsAKeyHoldingNulAsItsPrefix() throws SQLException {
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite::memory:");
        PreparedStatement read = connection.prepareStatement("SELECT json_extract(?, '$.\"a\"')")) {
      read.setString(1, "{\"a\\u0000b\":1}");
      try (ResultSet row = read.executeQuery()) {
        row.next();
        assertThat(row.getObject(1)).isEqualTo(1);
      }
    }
  }

  @Test
  void emptySelectorReadsTheCollectionInIdOrder() {
    SqlQuery sql = select("{\"selector\": {}}");
    assertThat(sql.sql())
        .isEqualTo(
            "SELECT id, body, hlc, origin FROM docs WHERE collection = ? AND body IS NOT NULL"
                + " ORDER BY id");
    assertThat(sql.parameters()).containsExactly("c");
  }

  @Test
  void aSortedQueryIsOrderedInJava() {
    assertThat(select("{\"selector\": {}, \"sort\": [{\"n.x\": \"desc\"}]}").sql())
        .doesNotContain("ORDER BY");
  }

  @Test
  void comparisonStandsAsItsOwnIndexableTerm() {
    SqlQuery sql = select("{\"selector\": {\"a\": {\"$gt\": 5}}, \"skip\": 2, \"limit\": 7}");
    assertThat(sql.sql()).contains("AND json_extract(body, '$.\"a\"') >= ? ORDER BY id");
    assertThat(sql.parameters()).containsExactly("c", Math.nextDown(5.0));
  }

  @Test
  void rangesWidenToTheTypesTheyCollateWith() {
    // $lt a number also takes null, false and true.
    assertThat(select("{\"selector\": {\"a\": {\"$lt\": 0}}}").sql())
        .contains(
            "(json_extract(body, '$.\"a\"') IS NULL OR json_extract(body, '$.\"a\"') <= ?"
                + " OR json_extract(body, '$.\"a\"') IN (0, 1))");
    // $gt a string also takes arrays and objects, whose text starts at '['.
    SqlQuery sql = select("{\"selector\": {\"a\": {\"$gt\": \"z\"}}}");
    assertThat(sql.sql()).contains("json_extract(body, '$.\"a\"') >= ?");
    assertThat(sql.parameters()).containsExactly("c", "[");
  }

  @Test
  void numbersAreBoundAsRangesOneUlpWide() {
    SqlQuery sql =
        select(
            "{\"selector\": {\"a\": {\"$in\": [2.5, \"x\", 9007199254740993,"
                + " 100000000000000000000, true, null, false, [1], {}]}}}");
    assertThat(sql.parameters())
        .containsExactly(
            "c",
            "x",
            Math.nextDown(2.5),
            Math.nextUp(2.5),
            Math.nextDown(9007199254740993.0),
            Math.nextUp(9007199254740993.0),
            Math.nextDown(1e20),
            Math.nextUp(1e20));
    assertThat(sql.sql())
        .contains("json_extract(body, '$.\"a\"') IN (?)")
        .contains("json_extract(body, '$.\"a\"') BETWEEN ? AND ?")
        .contains("json_extract(body, '$.\"a\"') = 1")
        .contains("json_extract(body, '$.\"a\"') = 0")
        .contains("json_extract(body, '$.\"a\"') IS NULL")
        .contains(
            "(json_extract(body, '$.\"a\"') >= '[' AND json_extract(body, '$.\"a\"') < '\\')");
  }

  @Test
  void aThousandLiteralsInAnInShareOneTerm() {
    String many = "null, true, false, {}, [1], ".repeat(199);
    String sql = select("{\"selector\": {\"a\": {\"$in\": [" + many + "1]}}}").sql();
    assertThat(sql.split(" OR ")).hasSizeLessThan(8);
  }

  @Test
  void emptyInMatchesNothing() {
    assertThat(select("{\"selector\": {\"a\": {\"$in\": []}}}").sql()).contains("AND 0 ORDER");
  }

  @Test
  void idIsTheIdColumn() {
    SqlQuery sql = select("{\"selector\": {\"_id\": {\"$gt\": \"k\"}}}");
    assertThat(sql.sql()).contains("AND id > ? ORDER BY id");
    assertThat(sql.parameters()).containsExactly("c", "k");
    assertThat(select("{\"selector\": {\"_id\": {\"$gt\": null}}}").sql()).doesNotContain("AND id");
  }

  @Test
  void arrayIndexPathsAreNotNarrowed() {
    assertThat(select("{\"selector\": {\"a.0\": 1}}").sql()).doesNotContain("json_");
  }

  @Test
  void beginsWithIsARange() {
    SqlQuery sql = select("{\"selector\": {\"a\": {\"$beginsWith\": \"ab\"}}}");
    assertThat(sql.parameters()).containsExactly("c", "ab", "ac");
    assertThat(SqlQueryTranslator.successor("a\uD7FF")).isEqualTo("a\uE000");
    assertThat(SqlQueryTranslator.successor("a\uDBFF\uDFFF")).isEqualTo("b");
    assertThat(SqlQueryTranslator.successor("\uDBFF\uDFFF")).isNull();
    assertThat(SqlQueryTranslator.successor("")).isNull();
  }

  @Test
  void indexDefinitionsUseTheSameExpressions() {
    IndexSpec spec = new IndexSpec(List.of(FieldPath.parse("a"), FieldPath.parse("n.x")));
    assertThat(SqlQueryTranslator.createIndexSql("c", spec))
        .isEqualTo(
            "CREATE INDEX IF NOT EXISTS \"ix_c_"
                + spec.name()
                + "\" ON docs(collection, "
                + SqlQueryTranslator.extractExpression(FieldPath.parse("a"))
                + ", "
                + SqlQueryTranslator.extractExpression(FieldPath.parse("n.x"))
                + ")");
  }

  @Test
  void indexNamesRefuseInvalidCollections() {
    IndexSpec spec = new IndexSpec(List.of(FieldPath.parse("a")));
    assertThatThrownBy(() -> SqlQueryTranslator.createIndexSql("c\" ON x", spec))
        .isInstanceOf(InvalidNameException.class);
  }
}
