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

  /** Returns the ids of the documents that match, sorted by id. */
  private static List<String> ids(String selector) {
    return matching(selector);
  }

  @Test
  void eqComparesByCollationAcrossTypes() {
    assertThat(ids("{'a': 1}")).containsExactly("int1", "real1");
    assertThat(ids("{'a': 1.0}")).containsExactly("int1", "real1");
    assertThat(ids("{'a': '10'}")).containsExactly("str10");
    assertThat(ids("{'a': true}")).containsExactly("true");
    assertThat(ids("{'a': null}")).containsExactly("null");
    assertThat(ids("{'a': [1]}")).containsExactly("array");
    assertThat(ids("{'a': [1.0]}")).containsExactly("array");
    assertThat(ids("{'a': {'$eq': {'x': 1}}}")).containsExactly("object");
    assertThat(ids("{'a': '[1]'}")).isEmpty();
  }

  @Test
  void rangesCollateAcrossTypes() {
    // null < false < true < numbers < strings < arrays < objects (CouchDB's collation).
    assertThat(ids("{'a': {'$gt': 2}}"))
        .containsExactly(
            "array", "int10", "nested", "object", "real2.5", "str10", "strB", "strClef", "strE",
            "strFull", "stra");
    assertThat(ids("{'a': {'$lt': 1}}")).containsExactly("false", "null", "true");
    assertThat(ids("{'a': {'$lte': 1}}")).containsExactly("false", "int1", "null", "real1", "true");
    assertThat(ids("{'a': {'$gt': null}}")).doesNotContain("null", "missing").hasSize(15);
    assertThat(ids("{'a': {'$gte': 'a', '$lt': []}}"))
        .containsExactly("strClef", "strE", "strFull", "stra");
    assertThat(ids("{'a': {'$gte': []}}")).containsExactly("array", "nested", "object");
  }

  @Test
  void stringsCompareByCodePoint() {
    // 'B' (U+0042) < 'a' < 'é' (U+00E9) < 'Ａ' (U+FF21) < the clef (U+1D11E).
    assertThat(ids("{'a': {'$gt': 'B', '$lt': 'z'}}")).containsExactly("stra");
    assertThat(ids("{'a': {'$gt': '\uff21', '$lt': []}}")).containsExactly("strClef");
  }

  @Test
  void aMissingFieldFailsEveryConditionButExistsFalse() {
    for (String condition :
        List.of(
            "{'$ne': 1}",
            "{'$nin': [1]}",
            "{'$not': {'$eq': 1}}",
            "{'$not': {'$type': 'string'}}",
            "{'$lt': {}}",
            "{'$gte': null}",
            "{'$not': {'$size': 1}}")) {
      assertThat(ids("{'a': " + condition + "}")).as(condition).doesNotContain("missing");
    }
    assertThat(ids("{'a': {'$exists': false}}")).containsExactly("missing");
    assertThat(ids("{'a': {'$not': {'$exists': true}}}")).containsExactly("missing");
    assertThat(ids("{'$not': {'a': {'$exists': true}}}")).containsExactly("missing");
    assertThat(ids("{'a': {'$exists': true}}")).doesNotContain("missing").hasSize(16);
    assertThat(ids("{'a': {'$ne': 1}}")).doesNotContain("missing", "int1", "real1").hasSize(14);
    assertThat(ids("{'$nor': [{'a': 1}]}")).isEqualTo(ids("{'a': {'$ne': 1}}"));
  }

  @Test
  void pathsReadArrayElementsByIndex() {
    Map<String, JsonNode> documents = new LinkedHashMap<>();
    documents.put("t", json("{'tags': ['x', 'y', {'k': 1}], 's': 'xyz'}"));
    documents.put("u", json("{'tags': {'0': 'x'}}"));
    assertThat(run("{'tags.0': 'x'}", documents)).containsExactly("t", "u");
    assertThat(run("{'tags.1': 'y'}", documents)).containsExactly("t");
    assertThat(run("{'tags.2.k': 1}", documents)).containsExactly("t");
    assertThat(run("{'tags.3': {'$exists': false}}", documents)).containsExactly("t", "u");
    assertThat(run("{'tags.x': {'$exists': true}}", documents)).isEmpty();
    // A string is not an array of characters.
    assertThat(run("{'s.0': {'$exists': true}}", documents)).isEmpty();
  }

  @Test
  void inAndNinMatchArrayElements() {
    Map<String, JsonNode> documents = new LinkedHashMap<>();
    documents.put("list", json("{'a': [1, 'x', [2]]}"));
    documents.put("one", json("{'a': 1}"));
    documents.put("null", json("{'a': null}"));
    documents.put("none", json("{'b': 1}"));
    assertThat(run("{'a': {'$in': [1]}}", documents)).containsExactly("list", "one");
    assertThat(run("{'a': {'$in': ['x', null]}}", documents)).containsExactly("list", "null");
    assertThat(run("{'a': {'$in': [[2]]}}", documents)).containsExactly("list");
    assertThat(run("{'a': {'$in': [[1, 'x', [2]]]}}", documents)).isEmpty();
    assertThat(run("{'a': {'$in': []}}", documents)).isEmpty();
    assertThat(run("{'a': {'$nin': [1]}}", documents)).containsExactly("null");
    assertThat(run("{'a': {'$nin': []}}", documents)).containsExactly("list", "null", "one");
  }

  @Test
  void idIsTheDocumentId() {
    assertThat(ids("{'_id': 'int1'}")).containsExactly("int1");
    assertThat(ids("{'_id': {'$gt': null}}")).hasSize(DOCUMENTS.size());
    // Raw term order, as CouchDB: an id is above every non-string, arrays and objects included.
    assertThat(ids("{'_id': {'$gte': {}}}")).hasSize(DOCUMENTS.size());
    assertThat(ids("{'_id': {'$lte': ['a']}}")).isEmpty();
    assertThat(ids("{'_id': {'$ne': 5}}")).hasSize(DOCUMENTS.size());
    assertThat(ids("{'_id': {'$beginsWith': 'str'}}")).hasSize(6);
    assertThat(ids("{'_id': {'$in': ['true', 'nope']}}")).containsExactly("true");
    Map<String, JsonNode> documents = Map.of("real", json("{'_id': 'fake'}"));
    assertThat(run("{'_id': 'fake'}", documents)).isEmpty();
    assertThat(run("{'_id': 'real'}", documents)).containsExactly("real");
  }

  @Test
  void typeSizeModRegexBeginsWith() {
    assertThat(ids("{'a': {'$type': 'number'}}"))
        .containsExactly("int1", "int10", "real1", "real2.5");
    assertThat(ids("{'a': {'$type': 'null'}}")).containsExactly("null");
    assertThat(ids("{'a': {'$type': 'boolean'}}")).containsExactly("false", "true");
    assertThat(ids("{'a': {'$type': 'object'}}")).containsExactly("nested", "object");
    assertThat(ids("{'a': {'$size': 1}}")).containsExactly("array");
    assertThat(ids("{'a': {'$size': 0}}")).isEmpty();
    assertThat(ids("{'a': {'$mod': [3, 1]}}")).containsExactly("int1", "int10");
    assertThat(ids("{'a': {'$mod': [5, 0]}}")).containsExactly("int10");
    assertThat(ids("{'a': {'$regex': '^[0-9]+$'}}")).containsExactly("str10");
    assertThat(ids("{'a': {'$regex': '(?i)b'}}")).containsExactly("strB");
    assertThat(ids("{'a': {'$not': {'$regex': '0'}}}")).doesNotContain("str10", "missing");
    assertThat(ids("{'a': {'$beginsWith': '1'}}")).containsExactly("str10");
    Map<String, JsonNode> documents = new LinkedHashMap<>();
    documents.put("neg", json("{'n': -7}"));
    documents.put("pos", json("{'n': 7}"));
    documents.put("frac", json("{'n': 7.0}"));
    // The remainder keeps the sign of the field, as Erlang's rem.
    assertThat(run("{'n': {'$mod': [2, -1]}}", documents)).containsExactly("neg");
    assertThat(run("{'n': {'$mod': [-2, 1]}}", documents)).containsExactly("pos");
  }

  @Test
  void arrayOperators() {
    Map<String, JsonNode> documents = new LinkedHashMap<>();
    documents.put("nums", json("{'a': [1, 5, 9]}"));
    documents.put("objs", json("{'a': [{'k': 1}, {'k': 7}]}"));
    documents.put("empty", json("{'a': []}"));
    documents.put("nested", json("{'a': [[1, 5]]}"));
    documents.put("scalar", json("{'a': 5}"));
    assertThat(run("{'a': {'$all': [5, 1]}}", documents)).containsExactly("nums");
    assertThat(run("{'a': {'$all': [[1, 5]]}}", documents)).containsExactly("nested");
    assertThat(run("{'a': {'$all': [[1, 5, 9]]}}", documents)).containsExactly("nums");
    assertThat(run("{'a': {'$all': []}}", documents)).isEmpty();
    // Arrays and objects collate above numbers.
    assertThat(run("{'a': {'$elemMatch': {'$gt': 8}}}", documents))
        .containsExactly("nested", "nums", "objs");
    assertThat(run("{'a': {'$elemMatch': {'$gt': 8, '$type': 'number'}}}", documents))
        .containsExactly("nums");
    assertThat(run("{'a': {'$elemMatch': {'k': {'$gt': 5}}}}", documents)).containsExactly("objs");
    assertThat(run("{'a': {'$elemMatch': {'$size': 2}}}", documents)).containsExactly("nested");
    assertThat(run("{'a': {'$allMatch': {'$gt': 0}}}", documents))
        .containsExactly("nested", "nums", "objs");
    assertThat(run("{'a': {'$allMatch': {'k': {'$lt': 9}}}}", documents)).containsExactly("objs");
    assertThat(run("{'a': {'$not': {'$elemMatch': {'$eq': 5}}}}", documents))
        .containsExactly("empty", "nested", "objs", "scalar");
  }

  @Test
  void keyMapMatchTestsTheKeys() {
    Map<String, JsonNode> documents = new LinkedHashMap<>();
    documents.put("cams", json("{'c': {'front': 1, 'rear': 2}}"));
    documents.put("none", json("{'c': {}}"));
    documents.put("list", json("{'c': ['front']}"));
    assertThat(run("{'c': {'$keyMapMatch': {'$eq': 'rear'}}}", documents)).containsExactly("cams");
    assertThat(run("{'c': {'$keyMapMatch': {'$beginsWith': 'f'}}}", documents))
        .containsExactly("cams");
    assertThat(run("{'c': {'$keyMapMatch': {'$eq': 'x'}}}", documents)).isEmpty();
  }

  @Test
  void combinators() {
    assertThat(ids("{'$or': [{'a': 1}, {'a': true}]}")).containsExactly("int1", "real1", "true");
    assertThat(ids("{'$or': []}")).hasSize(DOCUMENTS.size());
    assertThat(ids("{'$not': {'$or': []}}")).hasSize(DOCUMENTS.size());
    assertThat(ids("{'$and': []}")).hasSize(DOCUMENTS.size());
    assertThat(ids("{'$and': [{'a': {'$gt': 1}}, {'a': {'$lt': 3}}]}")).containsExactly("real2.5");
    // De Morgan, then negated leaves that need their fields.
    assertThat(ids("{'$not': {'$or': [{'a': {'$type': 'string'}}, {'n.x': 3}]}}"))
        .doesNotContain("missing")
        .doesNotContain("stra");
    assertThat(ids("{'a.b.c': 'deep', 'n': {'x': 3}}")).containsExactly("nested");
  }

  @Test
  void sortLeavesOutDocumentsWithoutTheField() {
    Map<String, JsonNode> documents = new LinkedHashMap<>();
    documents.put("d1", json("{'a': 'x'}"));
    documents.put("d2", json("{'a': 2}"));
    documents.put("d3", json("{'b': 1}"));
    documents.put("d4", json("{'a': null}"));
    documents.put("d5", json("{'a': [0]}"));
    documents.put("d0", json("{'a': 2}"));
    Selector all = Selector.all();
    List<SortKey> ascending = List.of(SortKey.ascending(FieldPath.parse("a")));
    assertThat(InMemoryQuery.run(new Query(all, ascending, 0, 100, List.of()), documents))
        .containsExactly("d4", "d0", "d2", "d1", "d5");
    List<SortKey> descending = List.of(SortKey.descending(FieldPath.parse("a")));
    // The exact reverse, ties by id included.
    assertThat(InMemoryQuery.run(new Query(all, descending, 0, 100, List.of()), documents))
        .containsExactly("d5", "d1", "d2", "d0", "d4");
    assertThat(InMemoryQuery.run(new Query(all, descending, 1, 2, List.of()), documents))
        .containsExactly("d1", "d2");
    List<SortKey> byId = List.of(SortKey.descending(FieldPath.parse("_id")));
    assertThat(InMemoryQuery.run(new Query(all, byId, 0, 2, List.of()), documents))
        .containsExactly("d5", "d4");
  }

  @Test
  void withoutSortResultsAreInIdOrder() {
    Query query = new Query(Selector.all(), List.of(), 2, 3, List.of());
    assertThat(InMemoryQuery.run(query, DOCUMENTS)).containsExactly("int1", "int10", "missing");
  }

  private static List<String> run(String selector, Map<String, JsonNode> documents) {
    return InMemoryQuery.run(
        new Query(QueryParser.parseSelector(json(selector)), List.of(), 0, 10_000, List.of()),
        documents);
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
    assertThat(InMemoryQuery.project(document, "id", List.of(FieldPath.parse("a.b"))))
        .isEqualTo(json("{'a': {'b': 1}}"));
    assertThat(
            InMemoryQuery.project(
                document,
                "id",
                List.of(FieldPath.parse("d"), FieldPath.parse("x.y"), FieldPath.parse("e"))))
        .isEqualTo(json("{'d': 3, 'e': null}"));
    assertThat(InMemoryQuery.project(document, "id", List.of(FieldPath.parse("d.z")))).isEmpty();
    assertThat(InMemoryQuery.project(document, "id", List.of()))
        .isEqualTo(document)
        .isNotSameAs(document);
  }

  @Test
  void projectGivesTheUnionOfOverlappingPaths() {
    JsonNode document = json("{'a': {'b': 1, 'c': 2, 'd': {'e': 3, 'f': 4}}}");
    JsonNode whole = json("{'a': {'b': 1, 'c': 2, 'd': {'e': 3, 'f': 4}}}");
    assertThat(
            InMemoryQuery.project(
                document, "id", List.of(FieldPath.parse("a.b"), FieldPath.parse("a"))))
        .isEqualTo(whole);
    assertThat(
            InMemoryQuery.project(
                document, "id", List.of(FieldPath.parse("a"), FieldPath.parse("a.b"))))
        .isEqualTo(whole);
    assertThat(
            InMemoryQuery.project(
                document, "id", List.of(FieldPath.parse("a.d.e"), FieldPath.parse("a.c"))))
        .isEqualTo(json("{'a': {'d': {'e': 3}, 'c': 2}}"));
  }

  @Test
  void projectGivesTheIdAndArrayElementsUnderKeys() {
    JsonNode document = json("{'t': ['x', 'y'], 'n': 1}");
    assertThat(
            InMemoryQuery.project(
                document, "doc-1", List.of(FieldPath.parse("_id"), FieldPath.parse("t.1"))))
        .isEqualTo(json("{'_id': 'doc-1', 't': {'1': 'y'}}"));
    // Overlapping paths give their union in either order.
    assertThat(
            InMemoryQuery.project(
                document, "doc-1", List.of(FieldPath.parse("t.0"), FieldPath.parse("t"))))
        .isEqualTo(json("{'t': ['x', 'y']}"));
    assertThat(
            InMemoryQuery.project(
                document, "doc-1", List.of(FieldPath.parse("t"), FieldPath.parse("t.0"))))
        .isEqualTo(json("{'t': ['x', 'y']}"));
  }

  @Test
  void projectCopiesValues() {
    JsonNode document = json("{'a': {'b': [1]}}");
    JsonNode projected = InMemoryQuery.project(document, "id", List.of(FieldPath.parse("a.b")));
    ((com.fasterxml.jackson.databind.node.ArrayNode) projected.get("a").get("b")).add(2);
    assertThat(document).isEqualTo(json("{'a': {'b': [1]}}"));
  }
}
