package io.skein.core.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.skein.core.query.Selector.All;
import io.skein.core.query.Selector.AllMatch;
import io.skein.core.query.Selector.And;
import io.skein.core.query.Selector.BeginsWith;
import io.skein.core.query.Selector.Compare;
import io.skein.core.query.Selector.ElemMatch;
import io.skein.core.query.Selector.Exists;
import io.skein.core.query.Selector.Field;
import io.skein.core.query.Selector.In;
import io.skein.core.query.Selector.KeyMapMatch;
import io.skein.core.query.Selector.Mod;
import io.skein.core.query.Selector.Operator;
import io.skein.core.query.Selector.Or;
import io.skein.core.query.Selector.Regex;
import io.skein.core.query.Selector.Size;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class QueryParserTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final FieldPath A = FieldPath.parse("a");
  private static final FieldPath B = FieldPath.parse("b");

  /** Parses JSON written with single quotes, which are easier to read in Java strings. */
  static JsonNode json(String text) {
    try {
      return MAPPER.readTree(text.replace('\'', '"'));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(text, e);
    }
  }

  private static Selector selector(String text) {
    return QueryParser.parseSelector(json(text));
  }

  private static Field compare(FieldPath path, Operator operator, JsonNode value) {
    return new Field(path, new Compare(operator, value));
  }

  // ---------------------------------------------------------------------------------------------
  // Operators and CouchDB's normal form.

  @Test
  void anyValueThatIsNotAnOperatorObjectMeansEq() {
    assertThat(selector("{'a': 5}")).isEqualTo(compare(A, Operator.EQ, IntNode.valueOf(5)));
    assertThat(selector("{'a': null}")).isEqualTo(compare(A, Operator.EQ, NullNode.instance));
    assertThat(selector("{'a': [1, 2]}")).isEqualTo(compare(A, Operator.EQ, json("[1, 2]")));
    assertThat(selector("{'a': {}}")).isEqualTo(compare(A, Operator.EQ, json("{}")));
    assertThat(selector("{'a': {'$eq': {'b': 1}}}"))
        .isEqualTo(compare(A, Operator.EQ, json("{'b': 1}")));
  }

  @Test
  void nestedObjectsArePaths() {
    FieldPath ab = FieldPath.parse("a.b");
    assertThat(selector("{'a': {'b': 1}}")).isEqualTo(compare(ab, Operator.EQ, IntNode.valueOf(1)));
    assertThat(selector("{'a': {'b': {'$gt': 1}}}"))
        .isEqualTo(compare(ab, Operator.GT, IntNode.valueOf(1)));
    assertThat(selector("{'a': {'$gt': 1, 'b': 2}}"))
        .isEqualTo(
            new And(
                List.of(
                    compare(A, Operator.GT, IntNode.valueOf(1)),
                    compare(ab, Operator.EQ, IntNode.valueOf(2)))));
    assertThat(selector("{'a': {'b.c': 1}}"))
        .isEqualTo(compare(FieldPath.parse("a.b.c"), Operator.EQ, IntNode.valueOf(1)));
  }

  @ParameterizedTest
  @CsvSource({"$eq,EQ", "$ne,NE", "$gt,GT", "$gte,GTE", "$lt,LT", "$lte,LTE"})
  void comparisonsTakeAnyJson(String name, Operator operator) {
    for (String operand : List.of("2.5", "'m'", "null", "true", "[1]", "{'x': 1}")) {
      assertThat(selector("{'a': {'" + name + "': " + operand + "}}"))
          .isEqualTo(compare(A, operator, json(operand)));
    }
  }

  @Test
  void negationsArePushedToTheConditions() {
    assertThat(selector("{'a': {'$not': {'$gt': 5}}}"))
        .isEqualTo(compare(A, Operator.LTE, IntNode.valueOf(5)));
    assertThat(selector("{'$not': {'a': {'$eq': 1}}}"))
        .isEqualTo(compare(A, Operator.NE, IntNode.valueOf(1)));
    assertThat(selector("{'$not': {'$not': {'a': {'$lt': 1}}}}"))
        .isEqualTo(compare(A, Operator.LT, IntNode.valueOf(1)));
    assertThat(selector("{'$not': {'a': 1, 'b': 2}}"))
        .isEqualTo(
            new Or(
                List.of(
                    compare(A, Operator.NE, IntNode.valueOf(1)),
                    compare(B, Operator.NE, IntNode.valueOf(2)))));
    assertThat(selector("{'$nor': [{'a': 1}, {'b': {'$in': [2]}}]}"))
        .isEqualTo(
            new And(
                List.of(
                    compare(A, Operator.NE, IntNode.valueOf(1)),
                    new Field(B, new In(List.of(IntNode.valueOf(2)), true)))));
    assertThat(selector("{'a': {'$not': {'$exists': false}}}"))
        .isEqualTo(new Field(A, new Exists(true)));
    assertThat(selector("{'a': {'$not': {'$size': 2}}}"))
        .isEqualTo(new Field(A, new Selector.Not(new Size(2))));
    assertThat(selector("{'a': {'$not': {'$not': {'$size': 2}}}}"))
        .isEqualTo(new Field(A, new Size(2)));
  }

  @Test
  void inAndNin() {
    List<JsonNode> values = List.of(IntNode.valueOf(1), TextNode.valueOf("x"), json("[2]"));
    assertThat(selector("{'a': {'$in': [1, 'x', [2]]}}"))
        .isEqualTo(new Field(A, new In(values, false)));
    assertThat(selector("{'a': {'$nin': [1, 'x', [2]]}}"))
        .isEqualTo(new Field(A, new In(values, true)));
    assertThat(selector("{'a': {'$in': []}}")).isEqualTo(new Field(A, new In(List.of(), false)));
  }

  @Test
  void fieldOperators() {
    assertThat(selector("{'a': {'$exists': true}}")).isEqualTo(new Field(A, new Exists(true)));
    assertThat(selector("{'a': {'$type': 'array'}}"))
        .isEqualTo(new Field(A, new Selector.Type("array")));
    assertThat(selector("{'a': {'$size': 0}}")).isEqualTo(new Field(A, new Size(0)));
    assertThat(selector("{'a': {'$mod': [-3, 1]}}")).isEqualTo(new Field(A, new Mod(-3, 1)));
    assertThat(selector("{'a': {'$beginsWith': 'ab'}}"))
        .isEqualTo(new Field(A, new BeginsWith("ab")));
    assertThat(selector("{'a': {'$all': [1, 2]}}"))
        .isEqualTo(new Field(A, new All(List.of(IntNode.valueOf(1), IntNode.valueOf(2)))));
    assertThat(selector("{'a': {'$regex': '^x+$'}}"))
        .isInstanceOfSatisfying(
            Field.class,
            field ->
                assertThat(field.condition())
                    .isInstanceOfSatisfying(
                        Regex.class, regex -> assertThat(regex.source()).isEqualTo("^x+$")));
  }

  @Test
  void elementSelectorsApplyOperatorsToTheElement() {
    assertThat(selector("{'a': {'$elemMatch': {'$gt': 1, 'b': 2}}}"))
        .isEqualTo(
            new Field(
                A,
                new ElemMatch(
                    new And(
                        List.of(
                            new Field(null, new Compare(Operator.GT, IntNode.valueOf(1))),
                            compare(B, Operator.EQ, IntNode.valueOf(2)))))));
    assertThat(selector("{'a': {'$allMatch': {'$not': {'$eq': 1}}}}"))
        .isEqualTo(
            new Field(
                A, new AllMatch(new Field(null, new Compare(Operator.NE, IntNode.valueOf(1))))));
    assertThat(selector("{'a': {'$keyMapMatch': {'$eq': 'k'}}}"))
        .isEqualTo(
            new Field(
                A,
                new KeyMapMatch(new Field(null, new Compare(Operator.EQ, TextNode.valueOf("k"))))));
  }

  @Test
  void combinators() {
    Field a1 = compare(A, Operator.EQ, IntNode.valueOf(1));
    Field b2 = compare(B, Operator.EQ, IntNode.valueOf(2));
    assertThat(selector("{'$and': [{'a': 1}, {'b': 2}]}")).isEqualTo(new And(List.of(a1, b2)));
    assertThat(selector("{'$or': [{'a': 1}, {'b': 2}]}")).isEqualTo(new Or(List.of(a1, b2)));
    assertThat(selector("{'$or': [{'a': 1}]}")).isEqualTo(new Or(List.of(a1)));
    assertThat(selector("{'$or': []}")).isEqualTo(new Or(List.of()));
    assertThat(selector("{'$and': []}")).isEqualTo(new And(List.of()));
    // Under a field, the operands may be values (CouchDB's norm_fields).
    assertThat(selector("{'a': {'$or': [1, {'$gt': 5}]}}"))
        .isEqualTo(new Or(List.of(a1, compare(A, Operator.GT, IntNode.valueOf(5)))));
  }

  @Test
  void severalKeysAreAnImplicitAnd() {
    assertThat(selector("{'a': 1, 'b': 2}"))
        .isEqualTo(
            new And(
                List.of(
                    compare(A, Operator.EQ, IntNode.valueOf(1)),
                    compare(B, Operator.EQ, IntNode.valueOf(2)))));
    assertThat(selector("{'a': {'$gte': 1, '$lt': 5}}"))
        .isEqualTo(
            new And(
                List.of(
                    compare(A, Operator.GTE, IntNode.valueOf(1)),
                    compare(A, Operator.LT, IntNode.valueOf(5)))));
  }

  @Test
  void emptySelectorMatchesAll() {
    assertThat(selector("{}")).isEqualTo(Selector.all());
  }

  @Test
  void dottedPaths() {
    assertThat(selector("{'a.b-c.D_9': 1}"))
        .isEqualTo(
            compare(new FieldPath(List.of("a", "b-c", "D_9")), Operator.EQ, IntNode.valueOf(1)));
    assertThat(FieldPath.parse("a.b.c").toString()).isEqualTo("a.b.c");
    assertThat(selector("{'_id': {'$gt': null}}"))
        .isEqualTo(compare(FieldPath.parse("_id"), Operator.GT, NullNode.instance));
  }

  // ---------------------------------------------------------------------------------------------
  // The query body.

  @Test
  void queryDefaults() {
    Query query = QueryParser.parse(json("{'selector': {}}"));
    assertThat(query).isEqualTo(Query.of(Selector.all()));
    assertThat(query.limit()).isEqualTo(Query.LIMIT_DEFAULT).isEqualTo(25);
    assertThat(query.skip()).isZero();
    assertThat(query.sort()).isEmpty();
    assertThat(query.fields()).isEmpty();
    assertThat(QueryParser.parse(json("{'selector': {}, 'limit': null, 'sort': null}")))
        .isEqualTo(query);
  }

  @Test
  void couchDbHintsAreIgnored() {
    assertThat(
            QueryParser.parse(
                json(
                    "{'selector': {}, 'use_index': ['ddoc', 'ix'], 'r': 1, 'conflicts': false,"
                        + " 'update': true, 'stable': false, 'stale': 'ok',"
                        + " 'execution_stats': true}")))
        .isEqualTo(Query.of(Selector.all()));
  }

  @Test
  void queryWithEverything() {
    Query query =
        QueryParser.parse(
            json(
                "{'selector': {'a': 1}, 'sort': [{'a': 'desc'}, {'b.c': 'desc'}, {'d': 'desc'}],"
                    + " 'skip': 3, 'limit': 10000, 'fields': ['a', 'b.c']}"));
    assertThat(query.sort())
        .containsExactly(
            SortKey.descending(A),
            SortKey.descending(FieldPath.parse("b.c")),
            SortKey.descending(FieldPath.parse("d")));
    assertThat(query.skip()).isEqualTo(3);
    assertThat(query.limit()).isEqualTo(Query.LIMIT_MAX);
    assertThat(query.fields()).containsExactly(A, FieldPath.parse("b.c"));
  }

  // ---------------------------------------------------------------------------------------------
  // Errors, each with its code.

  private static void assertSelectorError(String selector, String code, String... messageParts) {
    assertThatThrownBy(() -> selector(selector))
        .isInstanceOf(InvalidQueryException.class)
        .hasMessageContainingAll(messageParts)
        .extracting(e -> ((InvalidQueryException) e).code())
        .isEqualTo(code);
  }

  private static void assertQueryError(String body, String code, String... messageParts) {
    assertThatThrownBy(() -> QueryParser.parse(json(body)))
        .isInstanceOf(InvalidQueryException.class)
        .hasMessageContainingAll(messageParts)
        .extracting(e -> ((InvalidQueryException) e).code())
        .isEqualTo(code);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "{'a..b': 1}|a..b",
        "{'a.': 1}|a.",
        "{'.a': 1}|.a",
        "{'': 1}|''",
        "{'a b': 1}|a b",
        "{'é': 1}|é",
        "{'a/b': 1}|a/b",
        "{'a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q': 1}|more than 16 segments",
      })
  void invalidFields(String selector, String named) {
    assertSelectorError(selector, "invalid_field", named.equals("''") ? "is empty" : named);
  }

  @Test
  void tooLongSegment() {
    String segment = "x".repeat(FieldPath.SEGMENT_CHARS_MAX + 1);
    assertSelectorError("{'" + segment + "': 1}", "invalid_field", "1 to 128 characters");
    assertThat(FieldPath.parse("x".repeat(FieldPath.SEGMENT_CHARS_MAX)).segments()).hasSize(1);
  }

  @Test
  void unknownOperators() {
    for (String selector :
        List.of(
            "{'a': {'$text': 'x'}}",
            "{'a': {'$where': 'x'}}",
            "{'$where': 'x'}",
            "{'a': {'$not': {'$near': 1}}}",
            "{'a': {'$elemMatch': {'$foo': 1}}}")) {
      assertSelectorError(selector, "unknown_operator", "is not supported", "$eq, $ne, $gt");
    }
    assertSelectorError("{'a': {'$regexp': 'x'}}", "unknown_operator", "'$regexp'");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{'a': '\\ud800'}",
        "{'a': {'$gt': 'x\\udc00'}}",
        "{'a': {'$in': ['ok', '\\udbff']}}",
        "{'a': {'$nin': ['\\ud800']}}",
        "{'a': {'$eq': {'k': ['\\ud800']}}}",
        "{'a': {'$regex': '\\ud800'}}",
        "{'$or': [{'b': 1}, {'a': {'$not': {'$eq': '\\ud800'}}}]}",
      })
  void stringOperandsWithAnUnpairedSurrogateAreRefused(String selector) {
    // UTF-8 has no encoding for them: SQLite would compare with '?', a value nobody sent.
    assertSelectorError(selector, "unsupported_operand", "field 'a'", "unpaired surrogate");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "{'$or': {'a': 1}}|Bad argument for operator $or",
        "{'$and': 1}|Bad argument for operator $and",
        "{'$nor': 'x'}|Bad argument for operator $nor",
        "{'$and': [1]}|expected an array of selector objects",
        "{'$or': [{'a': 1}, 'x']}|expected an array of selector objects",
        "{'$not': [{'a': 1}]}|Bad argument for operator $not",
        "{'$not': {}}|a non-empty selector object",
        "{'$nor': [{'a': 1}, {}]}|non-empty selector objects",
        "{'a': {'$not': 5}}|Bad argument for operator $not on field 'a'",
        "{'a': {'$in': 5}}|Bad argument for operator $in on field 'a'",
        "{'a': {'$nin': 'x'}}|Bad argument for operator $nin",
        "{'a': {'$all': {}}}|Bad argument for operator $all",
        "{'a': {'$exists': 1}}|Bad argument for operator $exists",
        "{'a': {'$type': 'int'}}|Bad argument for operator $type",
        "{'a': {'$type': 1}}|Bad argument for operator $type",
        "{'a': {'$size': -1}}|Bad argument for operator $size",
        "{'a': {'$size': 1.5}}|Bad argument for operator $size",
        "{'a': {'$mod': [0, 1]}}|the divisor not 0",
        "{'a': {'$mod': [2]}}|Bad argument for operator $mod",
        "{'a': {'$mod': [2.5, 1]}}|Bad argument for operator $mod",
        "{'a': {'$mod': [2, 1, 0]}}|Bad argument for operator $mod",
        "{'a': {'$regex': 5}}|Bad argument for operator $regex",
        "{'a': {'$regex': '(a'}}|Bad argument for operator $regex",
        "{'a': {'$regex': '(a)\\\\1'}}|RE2 syntax",
        "{'a': {'$regex': '(?=a)'}}|RE2 syntax",
        "{'a': {'$beginsWith': 1}}|Bad argument for operator $beginsWith",
        "{'a': {'$elemMatch': 1}}|Bad argument for operator $elemMatch",
        "{'a': {'$allMatch': []}}|Bad argument for operator $allMatch",
        "{'a': {'$keyMapMatch': 'k'}}|Bad argument for operator $keyMapMatch",
        "{'$gt': 5}|applies to a field",
        "{'$exists': true}|applies to a field",
      })
  void invalidSelectors(String selector, String messagePart) {
    assertSelectorError(selector, "invalid_selector", messagePart);
  }

  @Test
  void regexPatternsAreBounded() {
    String longest = "a".repeat(QueryParser.REGEX_CHARS_MAX);
    assertThat(selector("{'a': {'$regex': '" + longest + "'}}")).isInstanceOf(Field.class);
    assertSelectorError(
        "{'a': {'$regex': '" + longest + "a'}}", "invalid_selector", "at most 1000");
  }

  @Test
  void selectorMustBeAnObject() {
    assertThatThrownBy(() -> QueryParser.parseSelector(json("[1]")))
        .isInstanceOf(InvalidQueryException.class)
        .extracting(e -> ((InvalidQueryException) e).code())
        .isEqualTo("invalid_selector");
  }

  @Test
  void inHasAtMostAThousandValues() {
    String thousand = "1,".repeat(Query.IN_VALUES_MAX - 1) + "1";
    assertThat(selector("{'a': {'$in': [" + thousand + "]}}")).isInstanceOf(Field.class);
    assertSelectorError(
        "{'a': {'$in': [" + thousand + ", 1]}}", "invalid_selector", "at most 1000 are allowed");
  }

  @Test
  void selectorSizeIsBounded() {
    String deep = "{'a': 1}";
    for (int i = 0; i < Query.SELECTOR_DEPTH_MAX - 1; i++) {
      deep = "{'$not': " + deep + "}";
    }
    assertThat(selector(deep)).isInstanceOf(Field.class);
    assertSelectorError("{'$not': " + deep + "}", "invalid_selector", "nests more than 32");

    StringBuilder wide = new StringBuilder("{'$or': [");
    for (int i = 0; i < Query.SELECTOR_NODES_MAX; i++) {
      wide.append("{'a': ").append(i).append("},");
    }
    wide.append("{'a': -1}]}");
    assertSelectorError(wide.toString(), "invalid_selector", "more than 256");

    StringBuilder operands = new StringBuilder("{'$or': [");
    for (int i = 0; i < 11; i++) {
      operands.append("{'a': {'$in': [").append("1,".repeat(999)).append("1]}},");
    }
    operands.append("{'a': 1}]}");
    assertSelectorError(operands.toString(), "invalid_selector", "more than 10000 operands");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "[]|must be a JSON object",
        "{}|needs a selector",
        "{'selector': null}|needs a selector",
        "{'selector': {}, 'filter': {}}|unknown query key 'filter'",
        "{'selector': {}, 'bookmark': 'g1AAAA'}|bookmark is not supported",
        "{'selector': {}, 'sort': 'a'}|sort must be an array",
        "{'selector': {}, 'sort': [1]}|a sort key must be",
        "{'selector': {}, 'sort': [{'a': 'up'}]}|must be \"asc\" or \"desc\"",
        "{'selector': {}, 'sort': [{'a': 'asc', 'b': 'asc'}]}|a sort key must be",
        "{'selector': {}, 'sort': ['a','b','c','d','e','f','g','h','i']}|at most 8",
        "{'selector': {}, 'sort': ['a', {'b': 'desc'}]}|ascending or all descending",
        "{'selector': {}, 'skip': -1}|skip must be 0 or more",
        "{'selector': {}, 'skip': 1.5}|skip must be an integer",
        "{'selector': {}, 'skip': '1'}|skip must be an integer",
        "{'selector': {}, 'skip': 99999999999}|skip must be an integer",
        "{'selector': {}, 'limit': 0}|limit must be from 1 to 10000",
        "{'selector': {}, 'limit': 10001}|limit must be from 1 to 10000",
        "{'selector': {}, 'limit': true}|limit must be an integer",
        "{'selector': {}, 'fields': []}|non-empty array",
        "{'selector': {}, 'fields': 'a'}|non-empty array",
        "{'selector': {}, 'fields': [1]}|fields must hold strings",
      })
  void invalidQueries(String body, String messagePart) {
    assertQueryError(body, "invalid_query", messagePart);
  }

  @Test
  void queryErrorsFromPartsKeepTheirCodes() {
    assertQueryError("{'selector': 5}", "invalid_selector", "a number");
    assertQueryError("{'selector': {'a': {'$sizes': 1}}}", "unknown_operator", "$sizes");
    assertQueryError("{'selector': {}, 'sort': ['a..b']}", "invalid_field", "a..b");
    assertQueryError("{'selector': {}, 'fields': ['a b']}", "invalid_field", "a b");
  }
}
