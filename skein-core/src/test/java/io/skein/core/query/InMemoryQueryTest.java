package io.skein.core.query;

import static io.skein.core.query.QueryParserTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class InMemoryQueryTest {
  /** Documents keyed by id, each with a different kind of value at {@code a}. */
  private static final Map<String, JsonNode> DOCUMENTS = documents();

  private static Map<String, JsonNode> documents() {
    Map<String, JsonNode> documents = new LinkedHashMap<>();
    documents.put("missing", json("{'b': 1}"));
    documents.put("null", json("{'a': null}"));
    documents.put("false", json("{'a': false}"));
    documents.put("true", json("{'a': true}"));
    documents.put("int1", json("{'a': 1}"));
    documents.put("real1", json("{'a': 1.0}"));
    documents.put("real2.5", json("{'a': 2.5}"));
    documents.put("int10", json("{'a': 10}"));
    documents.put("str10", json("{'a': '10'}"));
    documents.put("strB", json("{'a': 'B'}"));
    documents.put("stra", json("{'a': 'a'}"));
    documents.put("strE", json("{'a': '\u00e9'}"));
    documents.put("strClef", json("{'a': '\ud834\udd1e'}"));
    documents.put("strFull", json("{'a': '\uff21'}"));
    documents.put("array", json("{'a': [1]}"));
    documents.put("object", json("{'a': {'x': 1}}"));
    documents.put("nested", json("{'a': {'b': {'c': 'deep'}}, 'n': {'x': 3}}"));
    return documents;
  }

  /** Returns the ids of the documents that match, in id order. */
  private static List<String> matching(String selector) {
    Query query =
        new Query(QueryParser.parseSelector(json(selector)), List.of(), 0, 10_000, List.of());
    return InMemoryQuery.run(query, DOCUMENTS);
  }

  @Test
  void eqMatchesSameTypeClassAndValue() {
    assertThat(matching("{'a': 1}")).containsExactly("int1", "real1");
    assertThat(matching("{'a': 1.0}")).containsExactly("int1", "real1");
    assertThat(matching("{'a': '10'}")).containsExactly("str10");
    assertThat(matching("{'a': 10}")).containsExactly("int10");
    assertThat(matching("{'a': true}")).containsExactly("true");
    assertThat(matching("{'a': false}")).containsExactly("false");
    assertThat(matching("{'a': '[1]'}")).isEmpty();
  }

  @Test
  void eqNullMatchesOnlyExplicitNull() {
    assertThat(matching("{'a': null}")).containsExactly("null");
  }

  @Test
  void neMatchesMissingFieldsToo() {
    assertThat(matching("{'a': {'$ne': 1}}"))
        .hasSize(DOCUMENTS.size() - 2)
        .contains("missing", "null", "array", "object")
        .doesNotContain("int1", "real1");
    assertThat(matching("{'a': {'$ne': null}}")).contains("missing").doesNotContain("null");
  }

  @Test
  void orderingOperatorsStayInTheirTypeClass() {
    assertThat(matching("{'a': {'$gt': 1}}")).containsExactly("int10", "real2.5");
    assertThat(matching("{'a': {'$gte': 1}}")).containsExactly("int1", "int10", "real1", "real2.5");
    assertThat(matching("{'a': {'$lt': 2.5}}")).containsExactly("int1", "real1");
    assertThat(matching("{'a': {'$lte': 2.5}}")).containsExactly("int1", "real1", "real2.5");
    // Strings by code point: "10" < "B" < "a" < "é" (U+E9) < "Ａ" (U+FF21) < "𝄞" (U+1D11E).
    assertThat(matching("{'a': {'$gt': 'a'}}")).containsExactly("strClef", "strE", "strFull");
    assertThat(matching("{'a': {'$lt': '\uff21'}}"))
        .containsExactly("str10", "strB", "strE", "stra");
    assertThat(matching("{'a': {'$gte': '\ud834\udd1e'}}")).containsExactly("strClef");
    assertThat(matching("{'a': {'$lte': '10'}}")).containsExactly("str10");
  }

  @Test
  void inAndNin() {
    assertThat(matching("{'a': {'$in': [null, true, 2.5, 'B']}}"))
        .containsExactly("null", "real2.5", "strB", "true");
    assertThat(matching("{'a': {'$in': []}}")).isEmpty();
    assertThat(matching("{'a': {'$nin': [1, 'a', false]}}"))
        .hasSize(DOCUMENTS.size() - 4)
        .contains("missing");
    assertThat(matching("{'a': {'$nin': []}}")).hasSize(DOCUMENTS.size());
  }

  @Test
  void exists() {
    assertThat(matching("{'a': {'$exists': false}}")).containsExactly("missing");
    assertThat(matching("{'a': {'$exists': true}}")).hasSize(DOCUMENTS.size() - 1);
    assertThat(matching("{'a.b.c': {'$exists': true}}")).containsExactly("nested");
    assertThat(matching("{'a.x': {'$exists': true}}")).containsExactly("object");
  }

  @Test
  void dottedPathsNeverIndexIntoArraysOrScalars() {
    assertThat(matching("{'a.b.c': 'deep'}")).containsExactly("nested");
    assertThat(matching("{'a.0': 1}")).isEmpty();
    assertThat(matching("{'a.x': {'$ne': 1}}")).doesNotContain("object").contains("array");
  }

  @Test
  void combinators() {
    assertThat(matching("{'$or': [{'a': true}, {'n.x': 3}]}")).containsExactly("nested", "true");
    assertThat(matching("{'$and': [{'a': {'$gte': 1}}, {'a': {'$lt': 10}}]}"))
        .containsExactly("int1", "real1", "real2.5");
    assertThat(matching("{'a': {'$gte': 1, '$lt': 10}}"))
        .containsExactly("int1", "real1", "real2.5");
    assertThat(matching("{'$not': {'a': {'$exists': true}}}")).containsExactly("missing");
    assertThat(matching("{'a': {'$not': {'$gt': 1}}}"))
        .hasSize(DOCUMENTS.size() - 2)
        .contains("missing", "int1", "str10");
    assertThat(matching("{}")).hasSize(DOCUMENTS.size());
    assertThat(matching("{'$not': {}}")).isEmpty();
  }

  @Test
  void sortOrderAcrossTypeClasses() {
    Query ascending = QueryParser.parse(json("{'selector': {}, 'sort': ['a'], 'limit': 100}"));
    assertThat(InMemoryQuery.run(ascending, DOCUMENTS))
        .containsExactly(
            // Missing and null are equal, so the id breaks the tie.
            "missing",
            "null",
            "false",
            "true",
            // 1 and 1.0 are equal: by id.
            "int1",
            "real1",
            "real2.5",
            "int10",
            "str10",
            "strB",
            "stra",
            "strE",
            "strFull",
            "strClef",
            // Arrays and objects are all equal: by id.
            "array",
            "nested",
            "object");
    Query descending = QueryParser.parse(json("{'selector': {}, 'sort': [{'a': 'desc'}]}"));
    assertThat(InMemoryQuery.run(descending, DOCUMENTS))
        .containsExactly(
            "array", "nested", "object", "strClef", "strFull", "strE", "stra", "strB", "str10",
            "int10", "real2.5", "int1", "real1", "true", "false", "missing", "null");
  }

  @Test
  void secondSortKeyBreaksTiesOfTheFirst() {
    Map<String, JsonNode> documents = new LinkedHashMap<>();
    documents.put("d1", json("{'a': 1, 'b': 'x'}"));
    documents.put("d2", json("{'a': 1, 'b': 'y'}"));
    documents.put("d3", json("{'a': 0, 'b': 'z'}"));
    documents.put("d4", json("{'a': 1}"));
    Query query = QueryParser.parse(json("{'selector': {}, 'sort': ['a', {'b': 'desc'}]}"));
    assertThat(InMemoryQuery.run(query, documents)).containsExactly("d3", "d2", "d1", "d4");
  }

  @Test
  void idsBreakTiesByCodePoint() {
    Map<String, JsonNode> documents = new LinkedHashMap<>();
    for (String id : List.of("\ud834\udd1e", "\uff21", "b", "B", "\u00e9")) {
      documents.put(id, json("{}"));
    }
    assertThat(InMemoryQuery.run(Query.of(Selector.all()), documents))
        .containsExactly("B", "b", "\u00e9", "\uff21", "\ud834\udd1e");
  }

  @Test
  void skipAndLimit() {
    Query query =
        QueryParser.parse(json("{'selector': {'a': {'$gte': 1}}, 'skip': 1, 'limit': 2}"));
    assertThat(InMemoryQuery.run(query, DOCUMENTS)).containsExactly("int10", "real1");
    Query past = QueryParser.parse(json("{'selector': {}, 'skip': 100}"));
    assertThat(InMemoryQuery.run(past, DOCUMENTS)).isEmpty();
  }

  @Test
  void numbersCompareAsSqliteReadsThem() {
    Map<String, JsonNode> documents = new LinkedHashMap<>();
    documents.put("big", json("{'a': 9007199254740993}"));
    documents.put("huge", json("{'a': 100000000000000000000}"));
    assertThat(InMemoryQuery.run(Query.of(selector("{'a': 9007199254740992.0}")), documents))
        .isEmpty();
    assertThat(
            InMemoryQuery.run(Query.of(selector("{'a': {'$gt': 9007199254740992.0}}")), documents))
        .containsExactly("big", "huge");
    assertThat(InMemoryQuery.run(Query.of(selector("{'a': 1e20}")), documents))
        .containsExactly("huge");
  }

  private static Selector selector(String text) {
    return QueryParser.parseSelector(json(text));
  }

  @Test
  void projectKeepsNestedPaths() {
    JsonNode document = json("{'a': {'b': 1, 'c': 2}, 'd': 3, 'e': null}");
    assertThat(InMemoryQuery.project(document, List.of(FieldPath.parse("a.b"))))
        .isEqualTo(json("{'a': {'b': 1}}"));
    assertThat(
            InMemoryQuery.project(
                document,
                List.of(FieldPath.parse("d"), FieldPath.parse("x.y"), FieldPath.parse("e"))))
        .isEqualTo(json("{'d': 3, 'e': null}"));
    assertThat(InMemoryQuery.project(document, List.of(FieldPath.parse("d.z")))).isEmpty();
    assertThat(InMemoryQuery.project(document, List.of()))
        .isEqualTo(document)
        .isNotSameAs(document);
  }

  @Test
  void projectGivesTheUnionOfOverlappingPaths() {
    JsonNode document = json("{'a': {'b': 1, 'c': 2, 'd': {'e': 3, 'f': 4}}}");
    JsonNode whole = json("{'a': {'b': 1, 'c': 2, 'd': {'e': 3, 'f': 4}}}");
    assertThat(
            InMemoryQuery.project(document, List.of(FieldPath.parse("a.b"), FieldPath.parse("a"))))
        .isEqualTo(whole);
    assertThat(
            InMemoryQuery.project(document, List.of(FieldPath.parse("a"), FieldPath.parse("a.b"))))
        .isEqualTo(whole);
    assertThat(
            InMemoryQuery.project(
                document, List.of(FieldPath.parse("a.d.e"), FieldPath.parse("a.c"))))
        .isEqualTo(json("{'a': {'d': {'e': 3}, 'c': 2}}"));
  }

  @Test
  void projectCopiesValues() {
    JsonNode document = json("{'a': {'b': [1]}}");
    JsonNode projected = InMemoryQuery.project(document, List.of(FieldPath.parse("a.b")));
    ((com.fasterxml.jackson.databind.node.ArrayNode) projected.get("a").get("b")).add(2);
    assertThat(document).isEqualTo(json("{'a': {'b': [1]}}"));
  }
}
