package io.skein.internal.query;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BigIntegerNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.skein.core.query.FieldPath;
import io.skein.core.query.InMemoryQuery;
import io.skein.core.query.IndexSpec;
import io.skein.core.query.Query;
import io.skein.core.query.QueryParser;
import io.skein.internal.storage.Schema;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;
import org.jspecify.annotations.Nullable;

/**
 * The SQLite translation of queries gives exactly the answers of the in-memory oracle: for random
 * documents (with tombstones and a second collection that must never leak in) and random queries
 * over every operator, nested up to three levels, with sort, skip and limit, the ids that {@link
 * SqlQueryTranslator#select} returns equal {@link InMemoryQuery#run}, in order.
 *
 * <p>Values are chosen to hit the traps of the translation: JSON null versus a missing field,
 * booleans (which {@code json_extract} returns as 1 and 0), {@code 1} versus {@code 1.0}, integers
 * beyond 2^53 and 2^63, strings that spell numbers, booleans, null or an array, strings outside the
 * Basic Multilingual Plane (UTF-16 order differs from code point order), a NUL character, arrays,
 * objects, and paths through non-objects. A failing try prints the query, the SQL, its parameters
 * and the documents; jqwik prints the seed to replay it with {@code @Property(seed = "...")}.
 */
class SqlQueryMatchesOracleProperties {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final String COLLECTION = "c";
  private static final int DEPTH_MAX = 3;

  private static final List<String> PATHS =
      List.of("a", "a", "a", "b", "b", "c", "n", "n.x", "n.x", "n.y", "a.x", "n.x.y", "zz");

  /** Ids that order differently by UTF-16 unit and by code point, and plain ones. */
  private static final List<String> DOCUMENT_IDS = documentIds();

  private static final List<String> TOMBSTONE_IDS = List.of("t0", "t1", "t2", "\u00e90");

  private static List<String> documentIds() {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      ids.add("d" + i);
    }
    ids.addAll(
        List.of("D", "Z", "_", "a-b", "\u00e9", "\uff21", "\ud834\udd1e", "\ud834\udd1e2", "\uffff"));
    return List.copyOf(ids);
  }

  // ---------------------------------------------------------------------------------------------
  // Values.

  /** Scalars for documents and operands alike; numbers built as the node's JSON parser does. */
  private static Arbitrary<JsonNode> scalars() {
    return Arbitraries.oneOf(
        Arbitraries.of(NullNode.instance, BooleanNode.TRUE, BooleanNode.FALSE),
        numbers(),
        numbers(),
        strings(),
        strings());
  }

  /** Numbers: a few common ones, so that equalities hit, and the traps less often. */
  private static Arbitrary<JsonNode> numbers() {
    Arbitrary<JsonNode> common =
        Arbitraries.of(
            IntNode.valueOf(0),
            IntNode.valueOf(1),
            IntNode.valueOf(2),
            decimal("1.0"),
            decimal("2.5"));
    Arbitrary<JsonNode> traps =
        Arbitraries.of(
            IntNode.valueOf(-1),
            IntNode.valueOf(3),
            IntNode.valueOf(10),
            decimal("-0.5"),
            decimal("0.3"),
            decimal("0.30000000000000004"),
            decimal("1E+1"),
            decimal("9007199254740992.0"),
            LongNode.valueOf(9007199254740993L),
            LongNode.valueOf(Long.MAX_VALUE),
            BigIntegerNode.valueOf(new BigInteger("100000000000000000000")),
            decimal("1E+20"));
    return Arbitraries.frequencyOf(Tuple.of(3, common), Tuple.of(1, traps));
  }

  private static JsonNode decimal(String text) {
    return DecimalNode.valueOf(new BigDecimal(text));
  }

  /** Strings: a few common ones, and the traps less often. */
  private static Arbitrary<JsonNode> strings() {
    Arbitrary<String> common = Arbitraries.of("a", "b", "\u00e9", "\ud834\udd1e");
    Arbitrary<String> traps =
        Arbitraries.of(
            "", "B", "ab", "10", "1", "true", "null", "[1]", "{}", "\uff21", "a\u0000", "m", "z");
    return Arbitraries.frequencyOf(Tuple.of(3, common), Tuple.of(1, traps)).map(TextNode::valueOf);
  }

  /** Values that documents hold: scalars, and some arrays and objects. */
  private static Arbitrary<JsonNode> documentValues() {
    Arbitrary<JsonNode> containers =
        Arbitraries.of(
            json("[]"),
            json("[1]"),
            json("[\"a\"]"),
            json("[null]"),
            json("{}"),
            json("{\"x\":1}"),
            json("{\"x\":\"a\"}"),
            json("{\"x\":{\"y\":true}}"));
    return Arbitraries.frequencyOf(
        Tuple.of(6, scalars()), Tuple.of(1, containers));
  }

  private static Arbitrary<ObjectNode> documents() {
    Arbitrary<JsonNode> nested =
        Combinators.combine(maybe(documentValues()), maybe(documentValues()))
            .as(
                (x, y) -> {
                  ObjectNode n = NODES.objectNode();
                  putIfPresent(n, "x", x);
                  putIfPresent(n, "y", y);
                  return (JsonNode) n;
                });
    Arbitrary<JsonNode> n = Arbitraries.oneOf(nested, nested, nested, documentValues());
    return Combinators.combine(
            maybe(documentValues()), maybe(documentValues()), maybe(documentValues()), maybe(n))
        .as(
            (a, b, c, nValue) -> {
              ObjectNode document = NODES.objectNode();
              putIfPresent(document, "a", a);
              putIfPresent(document, "b", b);
              putIfPresent(document, "c", c);
              putIfPresent(document, "n", nValue);
              return document;
            });
  }

  /** A value, or the missing node (about one time in four) for an absent field. */
  private static Arbitrary<JsonNode> maybe(Arbitrary<JsonNode> values) {
    return Arbitraries.frequencyOf(
        Tuple.of(3, values),
        Tuple.of(1, Arbitraries.just(NODES.missingNode())));
  }

  private static void putIfPresent(ObjectNode target, String key, JsonNode value) {
    if (!value.isMissingNode()) {
      target.set(key, value);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Selectors, written as JSON so that the parser is exercised too.

  private static Arbitrary<ObjectNode> selectors(int depth) {
    Arbitrary<Map.Entry<String, JsonNode>> entry =
        depth >= DEPTH_MAX
            ? fieldEntries(depth)
            : Arbitraries.frequencyOf(
                Tuple.of(3, fieldEntries(depth)),
                Tuple.of(2, combinatorEntries(depth)));
    return entry.list().ofMinSize(0).ofMaxSize(2).map(SqlQueryMatchesOracleProperties::object);
  }

  private static ObjectNode object(List<Map.Entry<String, JsonNode>> entries) {
    ObjectNode object = NODES.objectNode();
    for (Map.Entry<String, JsonNode> entry : entries) {
      object.set(entry.getKey(), entry.getValue());
    }
    return object;
  }

  private static Arbitrary<Map.Entry<String, JsonNode>> combinatorEntries(int depth) {
    Arbitrary<JsonNode> children =
        Arbitraries.lazy(() -> selectors(depth + 1))
            .list()
            .ofMinSize(1)
            .ofMaxSize(3)
            .map(SqlQueryMatchesOracleProperties::array);
    return Arbitraries.oneOf(
        children.map(value -> Map.entry("$and", value)),
        children.map(value -> Map.entry("$or", value)),
        Arbitraries.lazy(() -> selectors(depth + 1)).map(value -> Map.entry("$not", value)));
  }

  private static ArrayNode array(List<? extends JsonNode> elements) {
    ArrayNode array = NODES.arrayNode();
    elements.forEach(array::add);
    return array;
  }

  private static Arbitrary<Map.Entry<String, JsonNode>> fieldEntries(int depth) {
    Arbitrary<JsonNode> condition =
        Arbitraries.frequencyOf(
            Tuple.of(1, scalars()),
            Tuple.of(3, operatorObjects(depth)));
    return Combinators.combine(Arbitraries.of(PATHS), condition).as(Map::entry);
  }

  private static Arbitrary<JsonNode> operatorObjects(int depth) {
    return operators(depth)
        .list()
        .ofMinSize(1)
        .ofMaxSize(2)
        .map(SqlQueryMatchesOracleProperties::object);
  }

  private static Arbitrary<Map.Entry<String, JsonNode>> operators(int depth) {
    Arbitrary<JsonNode> orderable = Arbitraries.oneOf(numbers(), strings());
    Arbitrary<JsonNode> list =
        scalars().list().ofMinSize(0).ofMaxSize(4).map(SqlQueryMatchesOracleProperties::array);
    List<Arbitrary<Map.Entry<String, JsonNode>>> choices = new ArrayList<>();
    choices.add(Combinators.combine(Arbitraries.of("$eq", "$ne"), scalars()).as(Map::entry));
    choices.add(
        Combinators.combine(Arbitraries.of("$gt", "$gte", "$lt", "$lte"), orderable)
            .as(Map::entry));
    choices.add(Combinators.combine(Arbitraries.of("$in", "$nin"), list).as(Map::entry));
    choices.add(
        Arbitraries.of(BooleanNode.TRUE, BooleanNode.FALSE)
            .map(value -> Map.entry("$exists", (JsonNode) value)));
    if (depth < DEPTH_MAX) {
      choices.add(
          Arbitraries.lazy(() -> operatorObjects(depth + 1))
              .map(value -> Map.entry("$not", value)));
    }
    return Arbitraries.oneOf(choices);
  }

  // ---------------------------------------------------------------------------------------------
  // Queries.

  @Provide
  Arbitrary<JsonNode> queries() {
    Arbitrary<JsonNode> sortKey =
        Combinators.combine(Arbitraries.of(PATHS), Arbitraries.of("bare", "asc", "desc"))
            .as(
                (path, form) ->
                    form.equals("bare")
                        ? TextNode.valueOf(path)
                        : (JsonNode) NODES.objectNode().put(path, form));
    Arbitrary<JsonNode> sort =
        sortKey.list().ofMinSize(0).ofMaxSize(3).map(SqlQueryMatchesOracleProperties::array);
    Arbitrary<Integer> skip = Arbitraries.frequency(Tuple.of(3, 0), Tuple.of(1, 1), Tuple.of(1, 3));
    Arbitrary<Integer> limit = Arbitraries.of(1, 2, 5, Query.LIMIT_DEFAULT);
    return Combinators.combine(selectors(0), sort, skip, limit)
        .as(
            (selector, sortKeys, skipCount, limitCount) -> {
              ObjectNode query = NODES.objectNode();
              query.set("selector", selector);
              query.set("sort", sortKeys);
              query.put("skip", skipCount);
              query.put("limit", limitCount);
              return query;
            });
  }

  @Provide
  Arbitrary<Map<String, ObjectNode>> corpora() {
    return Combinators.combine(Arbitraries.of(DOCUMENT_IDS), documents())
        .as(Map::entry)
        .list()
        .ofMinSize(1)
        .ofMaxSize(30)
        .uniqueElements(Map.Entry::getKey)
        .map(
            entries -> {
              Map<String, ObjectNode> corpus = new LinkedHashMap<>();
              entries.forEach(entry -> corpus.put(entry.getKey(), entry.getValue()));
              return corpus;
            });
  }

  @Provide
  Arbitrary<Set<String>> indexedFields() {
    return Arbitraries.of("a", "n.x", "b").set().ofMaxSize(3);
  }

  @Property(tries = 1000)
  void sqlGivesTheOracleAnswer(
      @ForAll("queries") JsonNode body,
      @ForAll("corpora") Map<String, ObjectNode> documents,
      @ForAll("indexedFields") Set<String> indexed)
      throws SQLException {
    Query query = QueryParser.parse(body);
    Map<String, JsonNode> oracleDocuments = new LinkedHashMap<>(documents);
    List<String> expected = InMemoryQuery.run(query, oracleDocuments);
    SqlQuery sql = SqlQueryTranslator.select(COLLECTION, query);

    List<String> actual;
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite::memory:")) {
      load(connection, documents, indexed);
      actual = run(connection, sql);
    }

    Statistics.label("matches").collect(bucket(expected.size(), documents.size()));
    Statistics.label("sorted").collect(!query.sort().isEmpty());
    // Most tries must tell documents apart, or the property would prove little.
    Statistics.label("matches")
        .coverage(coverage -> coverage.check("some").percentage(percent -> percent >= 25.0));
    assertThat(actual)
        .as(
            () ->
                "query "
                    + body
                    + "\nsql "
                    + sql.sql()
                    + "\nparameters "
                    + sql.parameters()
                    + "\nindexes "
                    + indexed
                    + "\ndocuments "
                    + documents)
        .isEqualTo(expected);
  }

  private static String bucket(int matches, int documents) {
    if (documents == 0) {
      return "no documents";
    }
    if (matches == 0) {
      return "none";
    }
    return matches == documents ? "all" : "some";
  }

  // ---------------------------------------------------------------------------------------------
  // SQLite.

  private static void load(
      Connection connection, Map<String, ObjectNode> documents, Set<String> indexed)
      throws SQLException {
    try (Statement statement = connection.createStatement()) {
      for (String ddl : Schema.CREATE) {
        statement.execute(ddl);
      }
      for (String field : indexed) {
        IndexSpec spec = new IndexSpec(List.of(FieldPath.parse(field)));
        statement.execute(SqlQueryTranslator.createIndexSql(COLLECTION, spec));
      }
    }
    try (PreparedStatement insert =
        connection.prepareStatement(
            "INSERT INTO docs (collection, id, body, hlc, origin, origin_key, lsn)"
                + " VALUES (?, ?, ?, 1, '1', '0011', ?)")) {
      int lsn = 0;
      for (Map.Entry<String, ObjectNode> entry : documents.entrySet()) {
        String body = text(entry.getValue());
        // The same rows in another collection: a query that leaks across collections duplicates.
        for (String collection : List.of(COLLECTION, "other")) {
          insert(insert, collection, entry.getKey(), body, ++lsn);
        }
      }
      // Tombstones match every selector that a missing field would, so they must be filtered out.
      for (String id : TOMBSTONE_IDS) {
        insert(insert, COLLECTION, id, null, ++lsn);
      }
    }
  }

  private static void insert(
      PreparedStatement insert, String collection, String id, @Nullable String body, int lsn)
      throws SQLException {
    insert.setString(1, collection);
    insert.setString(2, id);
    insert.setString(3, body);
    insert.setInt(4, lsn);
    insert.executeUpdate();
  }

  private static List<String> run(Connection connection, SqlQuery sql) throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(sql.sql())) {
      for (int i = 0; i < sql.parameters().size(); i++) {
        statement.setObject(i + 1, sql.parameters().get(i));
      }
      List<String> ids = new ArrayList<>();
      try (ResultSet rows = statement.executeQuery()) {
        while (rows.next()) {
          ids.add(rows.getString("id"));
        }
      }
      return ids;
    }
  }

  private static String text(JsonNode document) {
    try {
      return MAPPER.writeValueAsString(document);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode json(String text) {
    try {
      return MAPPER.readTree(text);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(text, e);
    }
  }
}
