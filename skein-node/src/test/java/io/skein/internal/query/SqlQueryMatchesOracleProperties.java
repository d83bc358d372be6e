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
import io.skein.core.model.UnicodeText;
import io.skein.core.query.Collation;
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
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.statistics.Statistics;
import org.jspecify.annotations.Nullable;

/**
 * The store's way of running queries gives exactly the answers of the in-memory oracle: for random
 * queries over every operator, nested up to {@value #DEPTH_MAX} levels, with sort, skip and limit,
 * the candidates of {@link SqlQueryTranslator#select} fed through a {@link ResultWindow} give the
 * ids of {@link InMemoryQuery#run}, in order; and the candidates always include every document the
 * selector matches (the SQL narrows soundly, whatever the page hides).
 *
 * <p>Two properties share the query generator. One runs each query over its own random documents,
 * with expression indexes on some fields, tombstones (which match what a missing field matches, so
 * must be filtered out) and a copy of every row in another collection (which must never leak in).
 * The other runs each query over one fixed, analysed corpus in which every generated value appears
 * at {@code a} and at {@code n.x}, so that a query meets all of them and the planner may use the
 * indexes.
 *
 * <p>Values are chosen to hit the traps of the translation: JSON null versus a missing field,
 * booleans (which {@code json_extract} returns as 1 and 0), {@code 1} versus {@code 1.0}, integers
 * beyond 2^53 and 2^63, strings that spell a number, a boolean, null or an array, strings outside
 * the Basic Multilingual Plane (whose UTF-16 order differs from code point order), a NUL character,
 * arrays, objects, and paths through non-objects. Numbers are built as the node's JSON parser
 * builds them ({@link BigDecimal} for decimals).
 *
 * <p>Documents also hold keys that a path must never read as another ({@link #TRAP_KEYS}), at the
 * top and inside {@code n}: control characters, quotes, backslashes, dots ({@code "a.x"} and {@code
 * "n.x"} as single keys), {@code $}, brackets, a single quote, non-ASCII text and keys that differ
 * from a queried one only by case or a trailing character. Every document key may hold any of
 * these; only U+0000 is refused at write time (A45), so the generators never produce it. A failing
 * try prints the query, the SQL, its parameters and the documents; jqwik prints the seed, which
 * {@code @Property(seed = "...")} replays.
 */
class SqlQueryMatchesOracleProperties {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final String COLLECTION = "c";
  private static final int DEPTH_MAX = 3;

  /** Paths, the most useful ones repeated to weigh them: "zz" is never present. */
  private static final List<String> PATHS =
      List.of(
          "a", "a", "a", "b", "b", "c_d-1", "n", "n.x", "n.x", "n.y", "a.x", "n.x.y", "zz", "_id",
          "a.0", "a.1", "n.x.0", "a.0.x");

  private static final List<String> INDEXABLE = List.of("a", "n.x", "b");

  /** Keys that no queried path may read: none equals a segment of {@link #PATHS}. */
  private static final List<String> TRAP_KEYS =
      List.of(
          "a\u0001",
          "a\u001f",
          "a\u007f",
          "a\n",
          "a\"",
          "\"",
          "a\\",
          "\\",
          "a.x",
          "n.x",
          "a.",
          ".a",
          "$a",
          "$",
          "a[0]",
          "[0]",
          "a]",
          "a'",
          "'",
          "A",
          "a ",
          " a",
          "\u00e9",
          "a\u00e9",
          "\ud834\udd1e",
          "x\u00a0",
          "y\ufeff",
          "");

  private static final List<JsonNode> LITERALS =
      List.of(NullNode.instance, BooleanNode.TRUE, BooleanNode.FALSE);

  private static final List<JsonNode> COMMON_NUMBERS =
      List.of(
          IntNode.valueOf(0),
          IntNode.valueOf(1),
          IntNode.valueOf(2),
          decimal("1.0"),
          decimal("2.5"));

  private static final List<JsonNode> TRAP_NUMBERS =
      List.of(
          IntNode.valueOf(-1),
          IntNode.valueOf(3),
          IntNode.valueOf(10),
          decimal("-0.5"),
          decimal("0.3"),
          decimal("0.30000000000000004"),
          decimal("1E+1"));

  /** Numbers that a double cannot tell apart, or that SQLite reads as a double. */
  private static final List<JsonNode> PRECISION_NUMBERS =
      List.of(
          decimal("9007199254740992.0"),
          LongNode.valueOf(9007199254740993L),
          LongNode.valueOf(Long.MAX_VALUE),
          BigIntegerNode.valueOf(new BigInteger("100000000000000000000")),
          decimal("1E+20"),
          // SQLite reads these truncated at 19 digits, one ulp from Java's correct rounding.
          decimal("21.537556052060507384"),
          BigIntegerNode.valueOf(new BigInteger("73786976294838214657")),
          BigIntegerNode.valueOf(new BigInteger("73786976294838206464")));

  private static final List<JsonNode> COMMON_STRINGS = texts("a", "b", "\u00e9", "\ud834\udd1e");

  private static final List<JsonNode> TRAP_STRINGS =
      texts("", "B", "ab", "10", "1", "true", "null", "[1]", "{}", "\uff21", "a\u0000", "m", "z");

  private static final List<JsonNode> CONTAINERS =
      List.of(
          json("[]"),
          json("[1]"),
          json("[\"a\"]"),
          json("[null]"),
          json("{}"),
          json("{\"x\":1}"),
          json("{\"x\":\"a\"}"),
          json("{\"x\":{\"y\":true}}"),
          json("{\"y\":1}"),
          json("[1,\"a\",null]"),
          json("[[1],{\"x\":1}]"),
          json("[{\"x\":2},{\"x\":\"a\"}]"),
          json("[3,10,-1]"));

  /** Ids that order differently by UTF-16 unit and by code point, and plain ones. */
  private static final List<String> DOCUMENT_IDS = documentIds();

  private static final List<String> TOMBSTONE_IDS = List.of("t0", "t1", "\u00e9t");

  /** The fixed corpus: every value at {@code a} and at {@code n.x}, by id. */
  private static final Map<String, ObjectNode> CORPUS = corpus();

  private static final Connection CORPUS_DATABASE = corpusDatabase();

  @AfterContainer
  static void closeCorpusDatabase() throws SQLException {
    CORPUS_DATABASE.close();
  }

  // ---------------------------------------------------------------------------------------------
  // The properties.

  @Property(tries = 1000)
  void sqlGivesTheOracleAnswerOverRandomDocuments(
      @ForAll("queries") JsonNode body,
      @ForAll("documentSets") Map<String, ObjectNode> documents,
      @ForAll("indexedFields") Set<String> indexed)
      throws SQLException {
    Query query = QueryParser.parse(body);
    List<String> expected = InMemoryQuery.run(query, new LinkedHashMap<>(documents));
    SqlQuery sql = SqlQueryTranslator.select(COLLECTION, query);
    List<String> actual;
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite::memory:")) {
      load(connection, documents, indexed);
      actual = run(connection, query, sql);
      assertCandidatesCoverMatches(connection, query, sql, documents);
    }
    collectStatistics(query, expected, documents.size(), 10.0);
    assertThat(actual).as(() -> explain(body, sql, documents, indexed)).isEqualTo(expected);
  }

  @Property(tries = 2000)
  void sqlGivesTheOracleAnswerOverEveryValue(@ForAll("queries") JsonNode body) throws SQLException {
    Query query = QueryParser.parse(body);
    List<String> expected = InMemoryQuery.run(query, new LinkedHashMap<>(CORPUS));
    SqlQuery sql = SqlQueryTranslator.select(COLLECTION, query);
    List<String> actual = run(CORPUS_DATABASE, query, sql);
    assertCandidatesCoverMatches(CORPUS_DATABASE, query, sql, CORPUS);
    collectStatistics(query, expected, CORPUS.size(), 45.0);
    assertThat(actual)
        .as(() -> explain(body, sql, CORPUS, Set.copyOf(INDEXABLE)))
        .isEqualTo(expected);
  }

  /**
   * The quoting of paths alone, over any keys a document may hold (anything but U+0000 and unpaired
   * surrogates): in a document holding all of them, at the top and nested, the path of each key
   * reads its value and no other.
   */
  @Property(tries = 300)
  void aQuotedPathReadsExactlyTheKeyItNames(@ForAll("keySets") List<String> keys)
      throws SQLException {
    ObjectNode document = NODES.objectNode();
    ObjectNode nested = document.putObject("n");
    for (int i = 0; i < keys.size(); i++) {
      document.put(keys.get(i), i);
      nested.put(keys.get(i), i);
    }
    String body = text(document);
    try (PreparedStatement read =
        CORPUS_DATABASE.prepareStatement("SELECT json_extract(?, ?), json_extract(?, ?)")) {
      for (int i = 0; i < keys.size(); i++) {
        String top = SqlQueryTranslator.jsonPathLiteral(List.of(keys.get(i)));
        String inner = SqlQueryTranslator.jsonPathLiteral(List.of("n", keys.get(i)));
        read.setString(1, body);
        read.setString(2, top.substring(1, top.length() - 1));
        read.setString(3, body);
        read.setString(4, inner.substring(1, inner.length() - 1));
        try (ResultSet row = read.executeQuery()) {
          row.next();
          assertThat(row.getObject(1)).as(top + " in " + body).isEqualTo(i);
          assertThat(row.getObject(2)).as(inner + " in " + body).isEqualTo(i);
        }
      }
    }
  }

  @Provide
  Arbitrary<List<String>> keySets() {
    Arbitrary<String> any =
        Arbitraries.strings()
            .all()
            .ofMaxLength(6)
            .filter(key -> key.indexOf('\0') < 0 && UnicodeText.unpairedSurrogateIndex(key) < 0);
    Arbitrary<String> key =
        Arbitraries.frequencyOf(Tuple.of(1, Arbitraries.of(TRAP_KEYS)), Tuple.of(3, any));
    return key.list().ofMinSize(1).ofMaxSize(12).uniqueElements().filter(k -> !k.contains("n"));
  }

  /**
   * Labels the try by whether its page holds none, some or all of the documents, and checks that
   * enough tries tell documents apart, or the property would prove little. The thresholds sit well
   * below the observed shares (about 17 % and 45 %), so that the check does not flake.
   */
  private static void collectStatistics(
      Query query, List<String> expected, int documents, double somePercentMin) {
    String matches = expected.isEmpty() ? "none" : expected.size() == documents ? "all" : "some";
    Statistics.label("matches").collect(matches);
    Statistics.label("sorted").collect(!query.sort().isEmpty());
    Statistics.label("matches")
        .coverage(
            coverage -> coverage.check("some").percentage(percent -> percent >= somePercentMin));
  }

  private static String explain(
      JsonNode body, SqlQuery sql, Map<String, ObjectNode> documents, Set<String> indexed) {
    return "query "
        + body
        + "\nsql "
        + sql.sql()
        + "\nparameters "
        + sql.parameters()
        + "\nindexed "
        + indexed
        + "\ndocuments "
        + documents;
  }

  // ---------------------------------------------------------------------------------------------
  // Values.

  private static JsonNode decimal(String text) {
    return DecimalNode.valueOf(new BigDecimal(text));
  }

  private static List<JsonNode> texts(String... values) {
    return List.of(values).stream().map(value -> (JsonNode) TextNode.valueOf(value)).toList();
  }

  private static JsonNode json(String text) {
    try {
      return MAPPER.readTree(text);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(text, e);
    }
  }

  /** Scalars for documents and operands alike, the common ones more often than the traps. */
  private static Arbitrary<JsonNode> scalars() {
    return Arbitraries.frequencyOf(
        Tuple.of(2, Arbitraries.of(LITERALS)), Tuple.of(4, numbers()), Tuple.of(4, strings()));
  }

  private static Arbitrary<JsonNode> numbers() {
    return Arbitraries.frequencyOf(
        Tuple.of(3, Arbitraries.of(COMMON_NUMBERS)),
        Tuple.of(1, Arbitraries.of(TRAP_NUMBERS)),
        Tuple.of(1, Arbitraries.of(PRECISION_NUMBERS)));
  }

  private static Arbitrary<JsonNode> strings() {
    return Arbitraries.frequencyOf(
        Tuple.of(3, Arbitraries.of(COMMON_STRINGS)), Tuple.of(1, Arbitraries.of(TRAP_STRINGS)));
  }

  /** Values that documents hold: scalars, and some arrays and objects. */
  private static Arbitrary<JsonNode> documentValues() {
    return Arbitraries.frequencyOf(Tuple.of(6, scalars()), Tuple.of(1, Arbitraries.of(CONTAINERS)));
  }

  /** A value, or the missing node (one time in five) for an absent field. */
  private static Arbitrary<JsonNode> maybe(Arbitrary<JsonNode> values) {
    return Arbitraries.frequencyOf(
        Tuple.of(4, values), Tuple.of(1, Arbitraries.just(NODES.missingNode())));
  }

  private static Arbitrary<ObjectNode> documents() {
    Arbitrary<JsonNode> nested =
        Combinators.combine(maybe(documentValues()), maybe(documentValues()))
            .as((x, y) -> (JsonNode) object("x", x, "y", y));
    Arbitrary<JsonNode> n =
        Arbitraries.frequencyOf(Tuple.of(3, nested), Tuple.of(1, documentValues()));
    Arbitrary<ObjectNode> plain =
        Combinators.combine(
                maybe(documentValues()), maybe(documentValues()), maybe(documentValues()), maybe(n))
            .as((a, b, c, nValue) -> object("a", a, "b", b, "c_d-1", c, "n", nValue));
    Arbitrary<List<Map.Entry<String, JsonNode>>> traps =
        Combinators.combine(Arbitraries.of(TRAP_KEYS), documentValues())
            .as(Map::entry)
            .list()
            .ofMaxSize(3);
    return Combinators.combine(plain, traps, traps).as(SqlQueryMatchesOracleProperties::withTraps);
  }

  /** Adds trap keys at the top of a document and, when {@code n} is an object, inside it. */
  private static ObjectNode withTraps(
      ObjectNode document,
      List<Map.Entry<String, JsonNode>> top,
      List<Map.Entry<String, JsonNode>> inner) {
    // Copies: the generators share value instances (CONTAINERS), which must not change.
    ObjectNode copy = document.deepCopy();
    top.forEach(trap -> copy.set(trap.getKey(), trap.getValue().deepCopy()));
    if (copy.get("n") instanceof ObjectNode n) {
      inner.forEach(trap -> n.set(trap.getKey(), trap.getValue().deepCopy()));
    }
    return copy;
  }

  /** Returns an object of the (key, value) pairs, leaving out missing values. */
  private static ObjectNode object(Object... keysAndValues) {
    ObjectNode object = NODES.objectNode();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      JsonNode value = (JsonNode) keysAndValues[i + 1];
      if (!value.isMissingNode()) {
        object.set((String) keysAndValues[i], value);
      }
    }
    return object;
  }

  private static List<String> documentIds() {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      ids.add("d" + i);
    }
    ids.addAll(
        List.of(
            "D", "Z", "_", "a-b", "\u00e9", "\uff21", "\ud834\udd1e", "\ud834\udd1e2", "\uffff"));
    return List.copyOf(ids);
  }

  /**
   * Every value at {@code a} and at {@code n.x}, each with a different partner at {@code b} and
   * {@code n.y}, and documents where {@code n} is not an object or {@code a} is missing.
   */
  private static Map<String, ObjectNode> corpus() {
    List<JsonNode> values = new ArrayList<>();
    for (List<JsonNode> group :
        List.of(
            LITERALS,
            COMMON_NUMBERS,
            TRAP_NUMBERS,
            PRECISION_NUMBERS,
            COMMON_STRINGS,
            TRAP_STRINGS,
            CONTAINERS)) {
      values.addAll(group);
    }
    values.add(NODES.missingNode());
    int count = values.size();
    Map<String, ObjectNode> corpus = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      ObjectNode n = object("x", values.get(i), "y", values.get((i * 5 + 1) % count));
      n.set(TRAP_KEYS.get(i % TRAP_KEYS.size()), scalarAt(values, i + 1).deepCopy());
      JsonNode nValue = i % 9 == 4 ? values.get((i * 3) % count) : n;
      ObjectNode document =
          object(
              "a", values.get(i),
              "b", values.get((i * 7 + 3) % count),
              "c_d-1", values.get((i * 11 + 5) % count),
              "n", nValue);
      document.set(TRAP_KEYS.get((i * 7) % TRAP_KEYS.size()), scalarAt(values, i + 2).deepCopy());
      corpus.put(DOCUMENT_IDS.get(i % DOCUMENT_IDS.size()) + (i / DOCUMENT_IDS.size()), document);
    }
    return corpus;
  }

  /** The value at {@code index} (wrapping), or null where that is the missing node. */
  private static JsonNode scalarAt(List<JsonNode> values, int index) {
    JsonNode value = values.get(index % values.size());
    return value.isMissingNode() ? NullNode.instance : value;
  }

  // ---------------------------------------------------------------------------------------------
  // Selectors, written as JSON so that the parser is exercised too.

  private static Arbitrary<ObjectNode> selectors(int depth) {
    Arbitrary<Map.Entry<String, JsonNode>> entry =
        depth >= DEPTH_MAX
            ? fieldEntries(depth)
            : Arbitraries.frequencyOf(
                Tuple.of(3, fieldEntries(depth)), Tuple.of(2, combinatorEntries(depth)));
    // Mostly one key: an implicit AND of several rarely matches anything.
    Arbitrary<Integer> size = Arbitraries.frequency(Tuple.of(1, 0), Tuple.of(6, 1), Tuple.of(2, 2));
    return size.flatMap(
        keys -> entry.list().ofSize(keys).map(SqlQueryMatchesOracleProperties::entriesObject));
  }

  private static ObjectNode entriesObject(List<Map.Entry<String, JsonNode>> entries) {
    ObjectNode object = NODES.objectNode();
    entries.forEach(entry -> object.set(entry.getKey(), entry.getValue()));
    return object;
  }

  private static ArrayNode array(List<? extends JsonNode> elements) {
    ArrayNode array = NODES.arrayNode();
    elements.forEach(array::add);
    return array;
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
        children.map(value -> Map.entry("$or", value)),
        // {"$nor": [{}]} is refused, as {"$not": {}} is.
        Arbitraries.lazy(() -> selectors(depth + 1))
            .filter(value -> !value.isEmpty())
            .list()
            .ofMinSize(1)
            .ofMaxSize(3)
            .map(value -> Map.entry("$nor", (JsonNode) array(value))),
        // {"$not": {}} is refused, as CouchDB refuses it.
        Arbitraries.lazy(() -> selectors(depth + 1))
            .filter(value -> !value.isEmpty())
            .map(value -> Map.entry("$not", value)));
  }

  private static Arbitrary<Map.Entry<String, JsonNode>> fieldEntries(int depth) {
    Arbitrary<JsonNode> condition =
        Arbitraries.frequencyOf(Tuple.of(1, scalars()), Tuple.of(3, operatorObjects(depth)));
    return Combinators.combine(Arbitraries.of(PATHS), condition).as(Map::entry);
  }

  private static Arbitrary<JsonNode> operatorObjects(int depth) {
    Arbitrary<Integer> size = Arbitraries.frequency(Tuple.of(3, 1), Tuple.of(1, 2));
    return size.flatMap(
        operators ->
            operators(depth)
                .list()
                .ofSize(operators)
                .map(SqlQueryMatchesOracleProperties::entriesObject));
  }

  private static Arbitrary<Map.Entry<String, JsonNode>> operators(int depth) {
    Arbitrary<JsonNode> any =
        Arbitraries.frequencyOf(
            Tuple.of(2, numbers()),
            Tuple.of(2, strings()),
            Tuple.of(1, scalars()),
            Tuple.of(1, Arbitraries.of(CONTAINERS)));
    Arbitrary<JsonNode> list =
        any.list().ofMinSize(0).ofMaxSize(4).map(SqlQueryMatchesOracleProperties::array);
    Arbitrary<Map.Entry<String, JsonNode>> equalities =
        Combinators.combine(Arbitraries.of("$eq", "$ne"), any).as(Map::entry);
    Arbitrary<Map.Entry<String, JsonNode>> orderings =
        Combinators.combine(Arbitraries.of("$gt", "$gte", "$lt", "$lte"), any).as(Map::entry);
    Arbitrary<Map.Entry<String, JsonNode>> ins =
        Combinators.combine(Arbitraries.of("$in", "$nin", "$all"), list).as(Map::entry);
    Arbitrary<Map.Entry<String, JsonNode>> exists =
        Arbitraries.of(true, false)
            .map(value -> Map.entry("$exists", (JsonNode) BooleanNode.valueOf(value)));
    Arbitrary<Map.Entry<String, JsonNode>> types =
        Arbitraries.of(Collation.TYPES)
            .map(type -> Map.entry("$type", (JsonNode) TextNode.valueOf(type)));
    Arbitrary<Map.Entry<String, JsonNode>> shapes =
        Arbitraries.oneOf(
            Arbitraries.of(0, 1, 3).map(n -> Map.entry("$size", (JsonNode) IntNode.valueOf(n))),
            Arbitraries.of("[2,0]", "[3,1]", "[-2,1]", "[10,-1]")
                .map(mod -> Map.entry("$mod", json(mod))),
            Arbitraries.of("a", "^1", "(?i)b", "^$", "\\d+", "\ud834\udd1e")
                .map(regex -> Map.entry("$regex", (JsonNode) TextNode.valueOf(regex))),
            Arbitraries.of("a", "1", "", "\ud834\udd1e", "d1", "\uffff")
                .map(prefix -> Map.entry("$beginsWith", (JsonNode) TextNode.valueOf(prefix))));
    // At the deepest level $not and the element selectors would nest too deep: more orderings.
    Arbitrary<Map.Entry<String, JsonNode>> nested =
        depth < DEPTH_MAX
            ? Arbitraries.oneOf(
                Arbitraries.lazy(() -> operatorObjects(depth + 1))
                    .map(value -> Map.entry("$not", value)),
                Arbitraries.lazy(() -> operatorObjects(depth + 1))
                    .map(value -> Map.entry("$elemMatch", value)),
                Arbitraries.lazy(() -> selectors(depth + 1))
                    .map(value -> Map.entry("$elemMatch", value)),
                Arbitraries.lazy(() -> operatorObjects(depth + 1))
                    .map(value -> Map.entry("$allMatch", value)),
                Arbitraries.lazy(() -> operatorObjects(depth + 1))
                    .map(value -> Map.entry("$keyMapMatch", value)))
            : orderings;
    return Arbitraries.frequencyOf(
        Tuple.of(2, equalities),
        Tuple.of(3, orderings),
        Tuple.of(2, ins),
        Tuple.of(1, exists),
        Tuple.of(1, types),
        Tuple.of(1, shapes),
        Tuple.of(2, nested));
  }

  // ---------------------------------------------------------------------------------------------
  // Providers.

  @Provide
  Arbitrary<JsonNode> queries() {
    // All keys of one sort have one direction, as CouchDB requires.
    Arbitrary<JsonNode> sort =
        Arbitraries.of("bare", "asc", "desc")
            .flatMap(
                form ->
                    Arbitraries.of(PATHS)
                        .map(
                            path ->
                                form.equals("bare")
                                    ? TextNode.valueOf(path)
                                    : (JsonNode) NODES.objectNode().put(path, form))
                        .list()
                        .ofMinSize(0)
                        .ofMaxSize(3)
                        .map(SqlQueryMatchesOracleProperties::array));
    // Mostly whole results, so that a wrong document is not hidden beyond the page.
    Arbitrary<Integer> skip = Arbitraries.frequency(Tuple.of(4, 0), Tuple.of(1, 1), Tuple.of(1, 3));
    Arbitrary<Integer> limit =
        Arbitraries.frequency(
            Tuple.of(1, 1), Tuple.of(1, 2), Tuple.of(1, 5), Tuple.of(4, Query.LIMIT_DEFAULT));
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
  Arbitrary<Map<String, ObjectNode>> documentSets() {
    return Combinators.combine(Arbitraries.of(DOCUMENT_IDS), documents())
        .as(Map::entry)
        .list()
        .ofMinSize(1)
        .ofMaxSize(30)
        .uniqueElements(Map.Entry::getKey)
        .map(
            entries -> {
              Map<String, ObjectNode> documents = new LinkedHashMap<>();
              entries.forEach(entry -> documents.put(entry.getKey(), entry.getValue()));
              return documents;
            });
  }

  @Provide
  Arbitrary<Set<String>> indexedFields() {
    return Arbitraries.of(INDEXABLE).set().ofMaxSize(INDEXABLE.size());
  }

  // ---------------------------------------------------------------------------------------------
  // SQLite.

  private static Connection corpusDatabase() {
    try {
      Connection connection = DriverManager.getConnection("jdbc:sqlite::memory:");
      load(connection, CORPUS, Set.copyOf(INDEXABLE));
      try (Statement statement = connection.createStatement()) {
        statement.execute("ANALYZE");
      }
      return connection;
    } catch (SQLException e) {
      throw new IllegalStateException("cannot build the corpus database", e);
    }
  }

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

  /**
   * Runs a query as the store does: the translated statement's candidates, each matched and placed
   * by a {@link ResultWindow}; returns the ids of the page, in order.
   */
  static List<String> run(Connection connection, Query query, SqlQuery sql) throws SQLException {
    ResultWindow<String> window = new ResultWindow<>(query);
    try (PreparedStatement statement = connection.prepareStatement(sql.sql())) {
      for (int i = 0; i < sql.parameters().size(); i++) {
        statement.setObject(i + 1, sql.parameters().get(i));
      }
      try (ResultSet rows = statement.executeQuery()) {
        while (rows.next()) {
          String id = rows.getString("id");
          String body = rows.getString("body");
          if (!window.offer(id, MAPPER.readTree(body), body.length(), () -> id)) {
            break;
          }
        }
      } catch (JsonProcessingException e) {
        throw new SQLException(e);
      }
    }
    return window.page();
  }

  /** Returns the ids of every candidate the translated statement reads. */
  static Set<String> candidates(Connection connection, SqlQuery sql) throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(sql.sql())) {
      for (int i = 0; i < sql.parameters().size(); i++) {
        statement.setObject(i + 1, sql.parameters().get(i));
      }
      Set<String> ids = new java.util.HashSet<>();
      try (ResultSet rows = statement.executeQuery()) {
        while (rows.next()) {
          ids.add(rows.getString("id"));
        }
      }
      return ids;
    }
  }

  /**
   * Checks that the statement narrows soundly: every document of the collection that the selector
   * matches is a candidate, whatever the page.
   */
  static void assertCandidatesCoverMatches(
      Connection connection, Query query, SqlQuery sql, Map<String, ? extends JsonNode> documents)
      throws SQLException {
    Set<String> candidates = candidates(connection, sql);
    List<String> matching = new ArrayList<>();
    documents.forEach(
        (id, document) -> {
          if (InMemoryQuery.matches(query.selector(), document, id)) {
            matching.add(id);
          }
        });
    assertThat(candidates).as(() -> sql.sql() + " " + sql.parameters()).containsAll(matching);
  }

  private static String text(JsonNode document) {
    try {
      return MAPPER.writeValueAsString(document);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
