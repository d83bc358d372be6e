package io.skein.core.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.skein.core.query.Selector.And;
import io.skein.core.query.Selector.Compare;
import io.skein.core.query.Selector.Exists;
import io.skein.core.query.Selector.In;
import io.skein.core.query.Selector.Not;
import io.skein.core.query.Selector.Operator;
import io.skein.core.query.Selector.Or;
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

  private static Compare compare(FieldPath path, Operator operator, JsonNode value) {
    return new Compare(path, operator, value);
  }

  // ---------------------------------------------------------------------------------------------
  // Operators.

  @Test
  void aScalarMeansEq() {
    assertThat(selector("{'a': 5}")).isEqualTo(compare(A, Operator.EQ, IntNode.valueOf(5)));
    assertThat(selector("{'a': null}")).isEqualTo(compare(A, Operator.EQ, NullNode.instance));
    assertThat(selector("{'a': {'$eq': 'x'}}"))
        .isEqualTo(compare(A, Operator.EQ, TextNode.valueOf("x")));
  }

  @Test
  void neIsNotEq() {
    assertThat(selector("{'a': {'$ne': true}}"))
        .isEqualTo(new Not(compare(A, Operator.EQ, BooleanNode.TRUE)));
  }

  @ParameterizedTest
  @CsvSource({"$gt,GT", "$gte,GTE", "$lt,LT", "$lte,LTE"})
  void orderingOperators(String name, Operator operator) {
    assertThat(selector("{'a': {'" + name + "': 2.5}}"))
        .isEqualTo(compare(A, operator, json("2.5")));
    assertThat(selector("{'a': {'" + name + "': 'm'}}"))
        .isEqualTo(compare(A, operator, TextNode.valueOf("m")));
  }

  @Test
  void inAndNin() {
    In in = new In(A, List.of(IntNode.valueOf(1), TextNode.valueOf("x"), NullNode.instance));
    assertThat(selector("{'a': {'$in': [1, 'x', null]}}")).isEqualTo(in);
    assertThat(selector("{'a': {'$nin': [1, 'x', null]}}")).isEqualTo(new Not(in));
    assertThat(selector("{'a': {'$in': []}}")).isEqualTo(new In(A, List.of()));
  }

  @Test
  void exists() {
    assertThat(selector("{'a': {'$exists': true}}")).isEqualTo(new Exists(A));
    assertThat(selector("{'a': {'$exists': false}}")).isEqualTo(new Not(new Exists(A)));
  }

  @Test
  void combinators() {
    Compare a1 = compare(A, Operator.EQ, IntNode.valueOf(1));
    Compare b2 = compare(B, Operator.EQ, IntNode.valueOf(2));
    assertThat(selector("{'$and': [{'a': 1}, {'b': 2}]}")).isEqualTo(new And(List.of(a1, b2)));
    assertThat(selector("{'$or': [{'a': 1}, {'b': 2}]}")).isEqualTo(new Or(List.of(a1, b2)));
    assertThat(selector("{'$or': [{'a': 1}]}")).isEqualTo(new Or(List.of(a1)));
    assertThat(selector("{'$not': {'a': 1}}")).isEqualTo(new Not(a1));
    assertThat(selector("{'$not': {}}")).isEqualTo(new Not(Selector.all()));
  }

  @Test
  void notOnAField() {
    assertThat(selector("{'a': {'$not': {'$gt': 5}}}"))
        .isEqualTo(new Not(compare(A, Operator.GT, IntNode.valueOf(5))));
    assertThat(selector("{'a': {'$not': {'$gt': 1, '$lt': 5}}}"))
        .isEqualTo(
            new Not(
                new And(
                    List.of(
                        compare(A, Operator.GT, IntNode.valueOf(1)),
                        compare(A, Operator.LT, IntNode.valueOf(5))))));
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
  }

  // ---------------------------------------------------------------------------------------------
  // The query body.

  @Test
  void queryDefaults() {
    Query query = QueryParser.parse(json("{'selector': {}}"));
    assertThat(query).isEqualTo(Query.of(Selector.all()));
    assertThat(query.limit()).isEqualTo(Query.LIMIT_DEFAULT);
    assertThat(query.skip()).isZero();
    assertThat(query.sort()).isEmpty();
    assertThat(query.fields()).isEmpty();
    assertThat(QueryParser.parse(json("{'selector': {}, 'limit': null, 'sort': null}")))
        .isEqualTo(query);
  }

  @Test
  void queryWithEverything() {
    Query query =
        QueryParser.parse(
            json(
                "{'selector': {'a': 1}, 'sort': ['a', {'b.c': 'desc'}, {'d': 'asc'}],"
                    + " 'skip': 3, 'limit': 10000, 'fields': ['a', 'b.c']}"));
    assertThat(query.sort())
        .containsExactly(
            SortKey.ascending(A),
            SortKey.descending(FieldPath.parse("b.c")),
            SortKey.ascending(FieldPath.parse("d")));
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
            "{'a': {'$regex': 'x'}}",
            "{'a': {'$elemMatch': {'$gt': 1}}}",
            "{'$where': 'x'}",
            "{'a': {'$not': {'$size': 1}}}",
            "{'$nor': [{'a': 1}]}")) {
      assertSelectorError(selector, "unknown_operator", "is not supported", "$eq, $ne, $gt");
    }
    assertSelectorError("{'a': {'$regex': 'x'}}", "unknown_operator", "'$regex'");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "{'a': [1, 2]}|an array",
        "{'a': {'$eq': {'$gt': 1}}}|an object",
        "{'a': {'$ne': []}}|an empty array",
        "{'a': {'$in': [1, [2]]}}|an array",
        "{'a': {'$nin': [{}]}}|an object",
        "{'a': {'$gt': true}}|a boolean",
        "{'a': {'$gte': null}}|null",
        "{'a': {'$lt': [1]}}|an array",
        "{'a': {'$lte': false}}|a boolean",
      })
  void unsupportedOperands(String selector, String got) {
    assertSelectorError(selector, "unsupported_operand", "field 'a'", got);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{'a': '\\ud800'}",
        "{'a': {'$gt': 'x\\udc00'}}",
        "{'a': {'$in': ['ok', '\\udbff']}}",
        "{'a': {'$nin': ['\\ud800']}}",
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
        "{'a': {'b': 1}}|use a dotted path such as {\"a.b\"",
        "{'a': {'$gt': 1, 'b': 1}}|mixes operators",
        "{'a': {}}|empty object",
        "{'$and': []}|non-empty array",
        "{'$or': {'a': 1}}|non-empty array",
        "{'$and': [1]}|must be a JSON object",
        "{'$or': [{'a': 1}, 'x']}|must be a JSON object",
        "{'$not': [{'a': 1}]}|must be a JSON object",
        "{'a': {'$not': 5}}|needs an object of operators",
        "{'a': {'$not': {'b': 5}}}|dotted path",
        "{'a': {'$in': 5}}|needs an array",
        "{'a': {'$nin': 'x'}}|needs an array",
        "{'a': {'$exists': 1}}|needs true or false",
        "{'$gt': 5}|applies to a field",
        "{'$exists': true}|applies to a field",
        "{'a': {'$or': [{'$gt': 1}]}}|cannot be applied to field 'a'",
        "{'a': {'$and': []}}|cannot be applied to field 'a'",
      })
  void invalidSelectors(String selector, String messagePart) {
    assertSelectorError(selector, "invalid_selector", messagePart);
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
    assertThat(selector("{'a': {'$in': [" + thousand + "]}}")).isInstanceOf(In.class);
    assertSelectorError(
        "{'a': {'$in': [" + thousand + ", 1]}}", "invalid_selector", "at most 1000 are allowed");
  }

  @Test
  void selectorSizeIsBounded() {
    String deep = "{'a': 1}";
    for (int i = 0; i < Query.SELECTOR_DEPTH_MAX - 1; i++) {
      deep = "{'$not': " + deep + "}";
    }
    assertThat(selector(deep)).isInstanceOf(Not.class);
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
        "{'selector': {}, 'sort': 'a'}|sort must be an array",
        "{'selector': {}, 'sort': [1]}|a sort key must be",
        "{'selector': {}, 'sort': [{'a': 'up'}]}|must be \"asc\" or \"desc\"",
        "{'selector': {}, 'sort': [{'a': 'asc', 'b': 'asc'}]}|a sort key must be",
        "{'selector': {}, 'sort': ['a','b','c','d','e','f','g','h','i']}|at most 8",
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
    assertQueryError("{'selector': {'a': {'$size': 1}}}", "unknown_operator", "$size");
    assertQueryError("{'selector': {}, 'sort': ['a..b']}", "invalid_field", "a..b");
    assertQueryError("{'selector': {}, 'fields': ['a b']}", "invalid_field", "a b");
  }
}
