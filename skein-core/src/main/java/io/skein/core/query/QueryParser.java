package io.skein.core.query;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.core.query.Selector.And;
import io.skein.core.query.Selector.Compare;
import io.skein.core.query.Selector.Exists;
import io.skein.core.query.Selector.In;
import io.skein.core.query.Selector.Not;
import io.skein.core.query.Selector.Operator;
import io.skein.core.query.Selector.Or;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Reads queries written in Skein's subset of the CouchDB/PouchDB Mango syntax, and defines what
 * they mean. {@link InMemoryQuery} is the reference evaluation of these rules and the SQLite
 * translation must agree with it.
 *
 * <h2>Query body</h2>
 *
 * A JSON object with the keys {@code selector} (required, an object; {@code {}} matches every
 * document), {@code sort}, {@code skip} (an integer, at least 0, default 0), {@code limit} (an
 * integer from 1 to {@value Query#LIMIT_MAX}, default {@value Query#LIMIT_DEFAULT}) and {@code
 * fields}. Any other key is an error. An explicit {@code null} for an optional key means the
 * default.
 *
 * <h2>Selectors</h2>
 *
 * A selector is a JSON object; its keys are an implicit AND. A key is either a combinator or a
 * field:
 *
 * <ul>
 *   <li>{@code {"$and": [sel, ...]}}, {@code {"$or": [sel, ...]}}: a non-empty array of selectors.
 *   <li>{@code {"$not": sel}}: the negation of a selector.
 *   <li>{@code {"a.b": cond}}: a condition on the field at the dotted path {@code a.b} (see {@link
 *       FieldPath}). The field is <em>missing</em> when any segment is absent or its parent is not
 *       an object (paths never index into arrays). A condition is a scalar, meaning {@code {"$eq":
 *       scalar}}, or an object of operators, meaning all of them: {@code {"$gt": 1, "$lt": 5}}.
 * </ul>
 *
 * <p>Field operators, where "v" is an operand. Operands of {@code $eq $ne $gt $gte $lt $lte} and
 * the elements of {@code $in $nin} are JSON scalars (null, boolean, number, string).
 *
 * <ul>
 *   <li>{@code $eq v}: the field is present, of the same type class as v (null, boolean, number,
 *       string, array, object) and equal to it. {@code {"$eq": null}} matches an explicit JSON null
 *       only, not a missing field.
 *   <li>{@code $ne v}: not {@code $eq v}. <b>Decision:</b> like MongoDB (and unlike CouchDB), it
 *       also matches documents where the field is missing.
 *   <li>{@code $gt $gte $lt $lte v}: the field is present, of the same type class as v, and the
 *       comparison holds. Only numbers and strings are ordered operands. A field of another type
 *       class never matches, so {@code {"a": {"$gt": 5}}} does not match {@code {"a": "9"}}.
 *   <li>{@code $in [v, ...]}: {@code $eq} to at least one element (at most {@value
 *       Query#IN_VALUES_MAX}); {@code []} matches nothing. {@code $nin}: not {@code $in}, so it
 *       matches missing fields too.
 *   <li>{@code $exists true|false}: the field is present (even if it is null) / missing.
 *   <li>{@code $not cond}: not the condition, which must be an object of operators: {@code {"a":
 *       {"$not": {"$gt": 5}}}}. It matches missing fields.
 * </ul>
 *
 * <p>Numbers compare numerically ({@code 1 == 1.0}) with SQLite's reading of JSON numbers: an
 * integer that fits in 64 bits exactly, any other number as the nearest double (see {@link
 * JsonValues}). Strings compare by Unicode code point (UTF-8 byte order, SQLite's {@code BINARY}
 * collation).
 *
 * <h2>Sort, skip, limit, fields</h2>
 *
 * {@code sort} is an array of at most {@value Query#SORT_KEYS_MAX} keys, each {@code "field"}
 * (ascending) or {@code {"field": "asc"|"desc"}}. Within a key, values order as: missing and null
 * first (equal to each other), then false, true, numbers, strings, and last arrays and objects (all
 * equal to each other); {@code desc} reverses this for that key. Ties are always broken by the
 * document id, ascending, by code point. {@code skip} then {@code limit} select the page. {@code
 * fields} is a non-empty array of at most {@value Query#FIELDS_MAX} dotted paths; each result keeps
 * only those paths, nested paths keeping their nesting, and missing paths are left out (see {@link
 * InMemoryQuery#project}).
 *
 * <h2>Errors and limits</h2>
 *
 * Every error is an {@link InvalidQueryException}: {@code invalid_query} for the body, {@code
 * invalid_selector} for the shape of a selector (an operand of the wrong kind for {@code $and $or
 * $not $in $nin $exists}, an operator object mixing {@code $} keys with field names, a nested
 * object without operators such as {@code {"a": {"b": 1}}}, which must be written {@code {"a.b":
 * 1}}), {@code invalid_field} for a bad path, {@code unknown_operator} for any other {@code $} key
 * (such as {@code $regex} or {@code $elemMatch}), and {@code unsupported_operand} for an array or
 * object operand, or a null or boolean operand of an ordering operator. A selector nests at most
 * {@value Query#SELECTOR_DEPTH_MAX} objects deep, has at most {@value Query#SELECTOR_NODES_MAX}
 * combinators and field predicates and at most {@value Query#OPERANDS_MAX} operand values.
 *
 * <p>Thread-safety: stateless; every method may be called from any thread.
 */
public final class QueryParser {
  private QueryParser() {}

  private static final Set<String> QUERY_KEYS =
      Set.of("selector", "sort", "skip", "limit", "fields");

  private static final String SUPPORTED =
      "$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $and, $or, $not";

  /**
   * Parses a query body.
   *
   * @throws InvalidQueryException if the body breaks the rules above; its code says which
   */
  public static Query parse(JsonNode body) {
    if (!body.isObject()) {
      throw invalidQuery("the query must be a JSON object, got " + JsonValues.typeName(body));
    }
    for (Map.Entry<String, JsonNode> entry : body.properties()) {
      if (!QUERY_KEYS.contains(entry.getKey())) {
        throw invalidQuery(
            "unknown query key '"
                + abbreviate(entry.getKey())
                + "': expected selector, sort, skip, limit or fields");
      }
    }
    JsonNode selector = body.get("selector");
    if (selector == null || selector.isNull()) {
      throw invalidQuery("the query needs a selector; use {} to match every document");
    }
    return new Query(
        parseSelector(selector),
        sort(body.get("sort")),
        integer(body.get("skip"), "skip", 0),
        integer(body.get("limit"), "limit", Query.LIMIT_DEFAULT),
        fields(body.get("fields")));
  }

  /**
   * Parses a selector.
   *
   * @throws InvalidQueryException if the selector breaks the rules above; its code says which
   */
  public static Selector parseSelector(JsonNode selector) {
    return new SelectorReader().selector(selector, 1);
  }

  private static List<SortKey> sort(@Nullable JsonNode sort) {
    if (sort == null || sort.isNull()) {
      return List.of();
    }
    if (!sort.isArray()) {
      throw invalidQuery("sort must be an array of fields, got " + JsonValues.typeName(sort));
    }
    if (sort.size() > Query.SORT_KEYS_MAX) {
      throw invalidQuery(
          "sort has " + sort.size() + " keys; at most " + Query.SORT_KEYS_MAX + " are allowed");
    }
    List<SortKey> keys = new ArrayList<>();
    for (JsonNode key : sort) {
      keys.add(sortKey(key));
    }
    return keys;
  }

  private static SortKey sortKey(JsonNode key) {
    if (key.isTextual()) {
      return SortKey.ascending(FieldPath.parse(key.textValue()));
    }
    if (key.isObject() && key.size() == 1) {
      Map.Entry<String, JsonNode> entry = key.properties().iterator().next();
      FieldPath path = FieldPath.parse(entry.getKey());
      String direction = entry.getValue().isTextual() ? entry.getValue().textValue() : "";
      return switch (direction) {
        case "asc" -> SortKey.ascending(path);
        case "desc" -> SortKey.descending(path);
        default ->
            throw invalidQuery("the sort direction of '" + path + "' must be \"asc\" or \"desc\"");
      };
    }
    throw invalidQuery(
        "a sort key must be \"field\" or {\"field\": \"asc\"|\"desc\"}, got "
            + abbreviate(key.toString()));
  }

  private static int integer(@Nullable JsonNode value, String name, int absent) {
    if (value == null || value.isNull()) {
      return absent;
    }
    if (!value.isIntegralNumber() || !value.canConvertToInt()) {
      throw invalidQuery(name + " must be an integer, got " + abbreviate(value.toString()));
    }
    // The range (skip >= 0, 1 <= limit <= LIMIT_MAX) is checked by the Query constructor.
    return value.intValue();
  }

  private static List<FieldPath> fields(@Nullable JsonNode fields) {
    if (fields == null || fields.isNull()) {
      return List.of();
    }
    if (!fields.isArray() || fields.isEmpty()) {
      throw invalidQuery(
          "fields must be a non-empty array of field paths (leave it out to get whole documents)");
    }
    if (fields.size() > Query.FIELDS_MAX) {
      throw invalidQuery(
          "fields has " + fields.size() + " paths; at most " + Query.FIELDS_MAX + " are allowed");
    }
    List<FieldPath> paths = new ArrayList<>();
    for (JsonNode field : fields) {
      if (!field.isTextual()) {
        throw invalidQuery("fields must hold strings, got " + JsonValues.typeName(field));
      }
      paths.add(FieldPath.parse(field.textValue()));
    }
    return paths;
  }

  /**
   * Reads one selector, counting its nodes and operands against the limits. Not thread-safe: one
   * reader per selector.
   */
  private static final class SelectorReader {
    private int nodes;
    private int operands;

    Selector selector(JsonNode selector, int depth) {
      if (!selector.isObject()) {
        throw invalidSelector(
            "a selector must be a JSON object, got " + JsonValues.typeName(selector));
      }
      checkDepth(depth);
      List<Selector> terms = new ArrayList<>();
      for (Map.Entry<String, JsonNode> entry : selector.properties()) {
        String key = entry.getKey();
        terms.add(
            key.startsWith("$")
                ? combinator(key, entry.getValue(), depth)
                : condition(FieldPath.parse(key), entry.getValue(), depth));
      }
      return conjunction(terms);
    }

    private Selector combinator(String operator, JsonNode operand, int depth) {
      return switch (operator) {
        case "$and" -> count(new And(selectors(operator, operand, depth)));
        case "$or" -> count(new Or(selectors(operator, operand, depth)));
        case "$not" -> count(new Not(selector(operand, depth + 1)));
        case "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists" ->
            throw invalidSelector(
                "operator "
                    + operator
                    + " applies to a field, as in {\"field\": {\""
                    + operator
                    + "\": ...}}, not to a whole selector");
        default -> throw unknownOperator(operator);
      };
    }

    private List<Selector> selectors(String operator, JsonNode operand, int depth) {
      if (!operand.isArray() || operand.isEmpty()) {
        throw invalidSelector(
            operator
                + " needs a non-empty array of selectors, got "
                + JsonValues.typeName(operand));
      }
      List<Selector> selectors = new ArrayList<>();
      for (JsonNode element : operand) {
        selectors.add(selector(element, depth + 1));
      }
      return selectors;
    }

    /** Reads the condition on one field: a scalar (implicit $eq) or an object of operators. */
    private Selector condition(FieldPath path, JsonNode condition, int depth) {
      if (!condition.isObject()) {
        return compare(path, Operator.EQ, condition);
      }
      checkDepth(depth + 1);
      checkOperatorObject(path, condition);
      List<Selector> terms = new ArrayList<>();
      for (Map.Entry<String, JsonNode> entry : condition.properties()) {
        terms.add(operator(path, entry.getKey(), entry.getValue(), depth + 1));
      }
      return conjunction(terms);
    }

    private static void checkOperatorObject(FieldPath path, JsonNode condition) {
      if (condition.isEmpty()) {
        throw invalidSelector(
            "the condition on field '" + path + "' is an empty object: give operators");
      }
      int operators = 0;
      String fieldName = "";
      for (Map.Entry<String, JsonNode> entry : condition.properties()) {
        if (entry.getKey().startsWith("$")) {
          operators++;
        } else {
          fieldName = entry.getKey();
        }
      }
      if (operators == 0) {
        throw invalidSelector(
            "field '"
                + path
                + "' is matched against an object without operators; nested objects are not"
                + " matched as values: use a dotted path such as {\""
                + path
                + "."
                + abbreviate(fieldName)
                + "\": ...}");
      }
      if (operators != condition.size()) {
        throw invalidSelector(
            "the condition on field '"
                + path
                + "' mixes operators with the key '"
                + abbreviate(fieldName)
                + "': an operator object may hold only $ keys");
      }
    }

    private Selector operator(FieldPath path, String operator, JsonNode operand, int depth) {
      return switch (operator) {
        case "$eq" -> compare(path, Operator.EQ, operand);
        case "$ne" -> count(new Not(compare(path, Operator.EQ, operand)));
        case "$gt" -> compare(path, Operator.GT, operand);
        case "$gte" -> compare(path, Operator.GTE, operand);
        case "$lt" -> compare(path, Operator.LT, operand);
        case "$lte" -> compare(path, Operator.LTE, operand);
        case "$in" -> in(path, operator, operand);
        case "$nin" -> count(new Not(in(path, operator, operand)));
        case "$exists" -> exists(path, operand);
        case "$not" -> count(new Not(negatedCondition(path, operand, depth)));
        case "$and", "$or" ->
            throw invalidSelector(
                operator
                    + " combines selectors and cannot be applied to field '"
                    + path
                    + "': write {\""
                    + operator
                    + "\": [{\""
                    + path
                    + "\": ...}, ...]}");
        default -> throw unknownOperator(operator);
      };
    }

    private Selector negatedCondition(FieldPath path, JsonNode operand, int depth) {
      if (!operand.isObject()) {
        throw invalidSelector(
            "$not on field '"
                + path
                + "' needs an object of operators, as in {\"$not\": {\"$gt\": 5}}, got "
                + JsonValues.typeName(operand));
      }
      return condition(path, operand, depth);
    }

    private Selector compare(FieldPath path, Operator operator, JsonNode operand) {
      countOperands(1);
      return count(new Compare(path, operator, operand));
    }

    private Selector in(FieldPath path, String operator, JsonNode operand) {
      if (!operand.isArray()) {
        throw invalidSelector(
            operator
                + " on field '"
                + path
                + "' needs an array, got "
                + JsonValues.typeName(operand));
      }
      if (operand.size() > Query.IN_VALUES_MAX) {
        throw invalidSelector(
            operator
                + " on field '"
                + path
                + "' has "
                + operand.size()
                + " values; at most "
                + Query.IN_VALUES_MAX
                + " are allowed");
      }
      countOperands(operand.size());
      List<JsonNode> values = new ArrayList<>();
      operand.forEach(values::add);
      return count(new In(path, values));
    }

    private Selector exists(FieldPath path, JsonNode operand) {
      if (!operand.isBoolean()) {
        throw invalidSelector(
            "$exists on field '"
                + path
                + "' needs true or false, got "
                + JsonValues.typeName(operand));
      }
      Selector exists = count(new Exists(path));
      return operand.booleanValue() ? exists : count(new Not(exists));
    }

    private Selector conjunction(List<Selector> terms) {
      return terms.size() == 1 ? terms.get(0) : count(new And(terms));
    }

    private Selector count(Selector node) {
      nodes++;
      if (nodes > Query.SELECTOR_NODES_MAX) {
        throw invalidSelector(
            "the selector is too large: it has more than "
                + Query.SELECTOR_NODES_MAX
                + " combinators and conditions");
      }
      return node;
    }

    private void countOperands(int added) {
      operands += added;
      if (operands > Query.OPERANDS_MAX) {
        throw invalidSelector(
            "the selector is too large: it has more than " + Query.OPERANDS_MAX + " operands");
      }
    }

    private static void checkDepth(int depth) {
      if (depth > Query.SELECTOR_DEPTH_MAX) {
        throw invalidSelector(
            "the selector nests more than " + Query.SELECTOR_DEPTH_MAX + " objects deep");
      }
    }
  }

  private static InvalidQueryException unknownOperator(String operator) {
    return new InvalidQueryException(
        "unknown_operator",
        "operator '"
            + abbreviate(operator)
            + "' is not supported; the supported ones are "
            + SUPPORTED);
  }

  private static InvalidQueryException invalidSelector(String message) {
    return new InvalidQueryException("invalid_selector", message);
  }

  private static InvalidQueryException invalidQuery(String message) {
    return new InvalidQueryException("invalid_query", message);
  }

  private static String abbreviate(String text) {
    return text.length() > 80 ? text.substring(0, 80) + "..." : text;
  }
}
