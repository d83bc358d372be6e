package io.skein.core.query;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.re2j.Pattern;
import com.google.re2j.PatternSyntaxException;
import io.skein.core.model.UnicodeText;
import io.skein.core.query.Selector.All;
import io.skein.core.query.Selector.AllMatch;
import io.skein.core.query.Selector.And;
import io.skein.core.query.Selector.BeginsWith;
import io.skein.core.query.Selector.Compare;
import io.skein.core.query.Selector.Condition;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Reads Mango queries with CouchDB 3's meaning ({@code mango_selector.erl}), and normalizes their
 * selectors the way CouchDB does. {@link InMemoryQuery} evaluates them; the SQLite store narrows
 * the candidates with an index or a filter and then evaluates every candidate with it, so there is
 * one definition of what a selector means. docs/http-api.md is the user's guide, with the
 * differences from CouchDB and PouchDB and the reason for each.
 *
 * <h2>Query body</h2>
 *
 * A JSON object with the keys {@code selector} (required, an object; {@code {}} matches every
 * document), {@code sort}, {@code skip} (an integer, at least 0, default 0), {@code limit} (an
 * integer from 1 to {@value Query#LIMIT_MAX}, default {@value Query#LIMIT_DEFAULT}, as CouchDB) and
 * {@code fields}. Any other key is an error. An explicit {@code null} for an optional key means the
 * default.
 *
 * <h2>Selectors</h2>
 *
 * A selector is a JSON object; its keys are an implicit {@code $and}. A key is a combinator, an
 * operator on the field named by the keys above it, or a field name (a dotted path, see {@link
 * FieldPath}). A field whose value is a non-empty object holds more of the selector, so {@code
 * {"a": {"b": 1}}} is {@code {"a.b": 1}}, and {@code {"a": {"$gt": 1, "b": 2}}} is both; any other
 * value (a scalar, an array, {@code {}}) means {@code $eq} that value.
 *
 * <ul>
 *   <li>Fields: a path segment reads an object's key; on an array, a segment that is a decimal
 *       integer reads that element ({@code tags.0}). {@code _id} at the top is the document id. A
 *       field is <em>missing</em> when a segment finds nothing; a missing field fails every
 *       condition except {@code $exists: false}.
 *   <li>{@code $eq $ne $gt $gte $lt $lte}, any JSON operand: compare by {@link Collation}, across
 *       types (null &lt; false &lt; true &lt; numbers &lt; strings &lt; arrays &lt; objects).
 *   <li>{@code $in}, {@code $nin}: an array; the field equals an element, or, if the field is an
 *       array, one of its elements equals one; {@code $nin} is the opposite.
 *   <li>{@code $exists} (a boolean), {@code $type} (one of {@link Collation#TYPES}), {@code $size}
 *       (an integer, at least 0), {@code $mod} ({@code [divisor, remainder]}, integers, the divisor
 *       not 0; the field must be an integer), {@code $regex} (a string, RE2 syntax, see {@link
 *       #REGEX_CHARS_MAX}), {@code $beginsWith} (a string), {@code $all} (an array), {@code
 *       $elemMatch}, {@code $allMatch} and {@code $keyMapMatch} (a selector over the elements, or
 *       the keys; an operator there applies to the element itself).
 *   <li>{@code $and}, {@code $or}, {@code $nor}: an array of selectors (or, under a field, of
 *       values meaning {@code $eq}); {@code $not}: a selector. Negations are pushed down to the
 *       conditions (CouchDB's {@code norm_negations}): {@code {"$not": {"a": {"$gt": 5}}}} is
 *       {@code {"a": {"$lte": 5}}}, so it needs {@code a} to be present.
 * </ul>
 *
 * <h2>Sort, skip, limit, fields</h2>
 *
 * {@code sort} is an array of at most {@value Query#SORT_KEYS_MAX} keys, each {@code "field"}
 * (ascending) or {@code {"field": "asc"|"desc"}}, all in one direction (as CouchDB). Documents
 * without a sort field are left out, as CouchDB's indexes leave them out. The order is the
 * collation of the keys, then the id; {@code desc} is the exact reverse. {@code fields} is a
 * non-empty array of at most {@value Query#FIELDS_MAX} paths; each result keeps only those, with
 * their nesting (see {@link InMemoryQuery#project}).
 *
 * <h2>Errors and limits</h2>
 *
 * Every error is an {@link InvalidQueryException}: {@code invalid_query} for the body, {@code
 * invalid_selector} for the shape of a selector or an operator's operand ("bad argument"), {@code
 * invalid_field} for a bad path, and {@code unknown_operator} for an operator CouchDB does not
 * have, or Skein does not support ({@code $text}, {@code $where}, the geo operators). A selector
 * nests at most {@value Query#SELECTOR_DEPTH_MAX} objects deep, has at most {@value
 * Query#SELECTOR_NODES_MAX} combinators and conditions and at most {@value Query#OPERANDS_MAX}
 * operand values.
 *
 * <p>Thread-safety: stateless; every method may be called from any thread.
 */
public final class QueryParser {
  private QueryParser() {}

  private static final Set<String> QUERY_KEYS =
      Set.of("selector", "sort", "skip", "limit", "fields");

  /**
   * CouchDB query keys that are hints or read options which cannot change a Skein answer: a query
   * brought from CouchDB may keep them, and they are ignored.
   */
  private static final Set<String> IGNORED_KEYS =
      Set.of("use_index", "r", "conflicts", "update", "stable", "stale", "execution_stats");

  /** The longest {@code $regex} pattern, in characters. */
  public static final int REGEX_CHARS_MAX = 1_000;

  /**
   * The largest estimated program of a {@code $regex} pattern ({@link RegexCost}), counted
   * repetitions expanded: {@code (a{100}){100}} is refused.
   */
  public static final long REGEX_PROGRAM_MAX = 5_000;

  private static final Set<String> FIELD_OPERATORS =
      Set.of(
          "$eq",
          "$ne",
          "$gt",
          "$gte",
          "$lt",
          "$lte",
          "$in",
          "$nin",
          "$exists",
          "$type",
          "$size",
          "$mod",
          "$regex",
          "$beginsWith",
          "$all",
          "$elemMatch",
          "$allMatch",
          "$keyMapMatch");

  private static final String SUPPORTED =
      "$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $exists, $type, $size, $mod, $regex,"
          + " $beginsWith, $all, $elemMatch, $allMatch, $keyMapMatch, $and, $or, $nor, $not";

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
      if (entry.getKey().equals("bookmark")) {
        throw invalidQuery(
            "bookmark is not supported: page with skip and limit, or with a range on the sort"
                + " field");
      }
      if (!QUERY_KEYS.contains(entry.getKey()) && !IGNORED_KEYS.contains(entry.getKey())) {
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
    return new SelectorReader().selector(selector, null, false, 1);
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
    if (keys.stream().map(SortKey::descending).distinct().count() > 1) {
      throw invalidQuery(
          "sort keys must all be ascending or all descending, as in CouchDB; got "
              + abbreviate(sort.toString()));
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
   * Reads one selector into CouchDB's normal form, counting its nodes and operands against the
   * limits. Not thread-safe: one reader per selector.
   */
  private static final class SelectorReader {
    private int nodes;
    private int operands;

    /**
     * Reads a selector object.
     *
     * @param prefix the field the keys of this object are under; {@code null} at the top of a
     *     document or of an element
     * @param element whether a {@code null} prefix is an element of {@code $elemMatch}, {@code
     *     $allMatch} or {@code $keyMapMatch} (operators then apply to the element itself)
     */
    Selector selector(JsonNode selector, @Nullable FieldPath prefix, boolean element, int depth) {
      if (!selector.isObject()) {
        throw invalidSelector(
            "a selector must be a JSON object, got " + JsonValues.typeName(selector));
      }
      checkDepth(depth);
      List<Selector> terms = new ArrayList<>();
      for (Map.Entry<String, JsonNode> entry : selector.properties()) {
        String key = entry.getKey();
        JsonNode value = entry.getValue();
        if (key.startsWith("$")) {
          terms.add(operator(key, value, prefix, element, depth));
        } else {
          FieldPath path = prefix == null ? FieldPath.parse(key) : prefix.append(key);
          terms.add(
              value.isObject() && !value.isEmpty()
                  ? selector(value, path, element, depth + 1)
                  : field(path, compare(Operator.EQ, value, path)));
        }
      }
      return terms.size() == 1 ? terms.get(0) : count(new And(terms));
    }

    private Selector operator(
        String operator, JsonNode operand, @Nullable FieldPath prefix, boolean element, int depth) {
      if (operator.equals("$and") || operator.equals("$or") || operator.equals("$nor")) {
        List<Selector> operands = operands(operator, operand, prefix, element, depth);
        return count(
            switch (operator) {
              case "$and" -> new And(operands);
              case "$or" -> new Or(operands);
              default -> new And(operands.stream().map(SelectorReader::negate).toList());
            });
      }
      if (operator.equals("$not")) {
        if (!operand.isObject() || operand.isEmpty()) {
          throw badArgument(operator, prefix, "a non-empty selector object", operand);
        }
        return negate(selector(operand, prefix, element, depth + 1));
      }
      if (prefix == null && !element) {
        if (!isFieldOperator(operator)) {
          throw unknownOperator(operator);
        }
        throw invalidSelector(
            "operator "
                + operator
                + " applies to a field, as in {\"field\": {\""
                + operator
                + "\": ...}}, not to a whole selector");
      }
      return field(prefix, condition(operator, operand, prefix, depth));
    }

    /** Reads the operands of $and, $or, $nor: selectors, or under a field values meaning $eq. */
    private List<Selector> operands(
        String operator, JsonNode operand, @Nullable FieldPath prefix, boolean element, int depth) {
      if (!operand.isArray()) {
        throw badArgument(operator, prefix, "an array of selectors", operand);
      }
      checkDepth(depth + 1);
      List<Selector> selectors = new ArrayList<>();
      for (JsonNode item : operand) {
        if (operator.equals("$nor") && item.isObject() && item.isEmpty()) {
          // The negation of {}, refused as {"$not": {}} is (CouchDB fails on both).
          throw badArgument(operator, prefix, "an array of non-empty selector objects", operand);
        }
        if (item.isObject()) {
          selectors.add(selector(item, prefix, element, depth + 2));
        } else if (prefix != null || element) {
          selectors.add(field(prefix, compare(Operator.EQ, item, prefix)));
        } else {
          throw badArgument(operator, null, "an array of selector objects", item);
        }
      }
      return selectors;
    }

    private Condition condition(
        String operator, JsonNode operand, @Nullable FieldPath field, int depth) {
      return switch (operator) {
        case "$eq" -> compare(Operator.EQ, operand, field);
        case "$ne" -> compare(Operator.NE, operand, field);
        case "$gt" -> compare(Operator.GT, operand, field);
        case "$gte" -> compare(Operator.GTE, operand, field);
        case "$lt" -> compare(Operator.LT, operand, field);
        case "$lte" -> compare(Operator.LTE, operand, field);
        case "$in", "$nin" -> new In(values(operator, operand, field), operator.equals("$nin"));
        case "$all" -> new All(values(operator, operand, field));
        case "$exists" -> {
          if (!operand.isBoolean()) {
            throw badArgument(operator, field, "true or false", operand);
          }
          yield new Exists(operand.booleanValue());
        }
        case "$type" -> {
          if (!operand.isTextual() || !Collation.TYPES.contains(operand.textValue())) {
            throw badArgument(operator, field, "one of " + Collation.TYPES, operand);
          }
          yield new Selector.Type(operand.textValue());
        }
        case "$size" -> {
          if (!operand.isIntegralNumber()
              || !operand.canConvertToLong()
              || operand.longValue() < 0) {
            throw badArgument(operator, field, "an integer, 0 or more", operand);
          }
          yield new Size(operand.longValue());
        }
        case "$mod" -> mod(operand, field);
        case "$regex" -> regex(operand, field);
        case "$beginsWith" -> {
          if (!operand.isTextual()) {
            throw badArgument(operator, field, "a string", operand);
          }
          countOperands(1);
          checkText(operator, field, operand.textValue());
          yield new BeginsWith(operand.textValue());
        }
        case "$elemMatch", "$allMatch", "$keyMapMatch" -> {
          if (!operand.isObject()) {
            throw badArgument(operator, field, "a selector object", operand);
          }
          Selector selector = selector(operand, null, true, depth + 1);
          yield switch (operator) {
            case "$elemMatch" -> new ElemMatch(selector);
            case "$allMatch" -> new AllMatch(selector);
            default -> new KeyMapMatch(selector);
          };
        }
        default -> throw unknownOperator(operator);
      };
    }

    private Condition compare(Operator operator, JsonNode operand, @Nullable FieldPath field) {
      countOperands(checkValue(operator.mangoName(), field, operand));
      return new Compare(operator, operand);
    }

    private List<JsonNode> values(String operator, JsonNode operand, @Nullable FieldPath field) {
      if (!operand.isArray()) {
        throw badArgument(operator, field, "an array of values", operand);
      }
      if (operand.size() > Query.IN_VALUES_MAX) {
        throw invalidSelector(
            operator
                + " on "
                + where(field)
                + " has "
                + operand.size()
                + " values; at most "
                + Query.IN_VALUES_MAX
                + " are allowed");
      }
      List<JsonNode> values = new ArrayList<>();
      for (JsonNode value : operand) {
        countOperands(checkValue(operator, field, value));
        values.add(value);
      }
      return values;
    }

    private Condition mod(JsonNode operand, @Nullable FieldPath field) {
      boolean integers =
          operand.isArray()
              && operand.size() == 2
              && operand.get(0).isIntegralNumber()
              && operand.get(0).canConvertToLong()
              && operand.get(1).isIntegralNumber()
              && operand.get(1).canConvertToLong();
      if (!integers || operand.get(0).longValue() == 0) {
        throw badArgument(
            "$mod", field, "[divisor, remainder], two integers, the divisor not 0", operand);
      }
      countOperands(2);
      return new Mod(operand.get(0).longValue(), operand.get(1).longValue());
    }

    private Condition regex(JsonNode operand, @Nullable FieldPath field) {
      if (!operand.isTextual()) {
        throw badArgument("$regex", field, "a string", operand);
      }
      String source = operand.textValue();
      if (source.length() > REGEX_CHARS_MAX) {
        throw invalidSelector(
            "Bad argument for operator $regex on "
                + where(field)
                + ": the pattern has "
                + source.length()
                + " characters; at most "
                + REGEX_CHARS_MAX
                + " are allowed");
      }
      checkText("$regex", field, source);
      countOperands(1);
      long programSize = RegexCost.programSize(source);
      if (programSize > REGEX_PROGRAM_MAX) {
        throw invalidSelector(
            "Bad argument for operator $regex on "
                + where(field)
                + ": the pattern expands to about "
                + programSize
                + " instructions (counted repetitions multiplied out); at most "
                + REGEX_PROGRAM_MAX
                + " are allowed");
      }
      try {
        return new Regex(source, Pattern.compile(source), programSize);
      } catch (PatternSyntaxException e) {
        throw invalidSelector(
            "Bad argument for operator $regex on "
                + where(field)
                + ": "
                + e.getMessage()
                + " (patterns use RE2 syntax: no backreferences or lookaround)");
      }
    }

    /** Checks a JSON operand and returns how many values it holds. */
    private static int checkValue(String operator, @Nullable FieldPath field, JsonNode value) {
      int count = 1;
      if (value.isNumber() && Double.isNaN(value.doubleValue())) {
        throw invalidSelector(
            "operator "
                + operator
                + " on "
                + where(field)
                + " got NaN, which is not a JSON number");
      }
      if (value.isTextual()) {
        checkText(operator, field, value.textValue());
      }
      for (Map.Entry<String, JsonNode> entry : value.properties()) {
        checkText(operator, field, entry.getKey());
        count += checkValue(operator, field, entry.getValue());
      }
      if (value.isArray()) {
        for (JsonNode element : value) {
          count += checkValue(operator, field, element);
        }
      }
      return count;
    }

    private static void checkText(String operator, @Nullable FieldPath field, String text) {
      // SQLite would see '?' for an unpaired surrogate: a filter would compare with a value nobody
      // sent.
      int surrogate = UnicodeText.unpairedSurrogateIndex(text);
      if (surrogate >= 0) {
        throw new InvalidQueryException(
            "unsupported_operand",
            "operator "
                + operator
                + " on "
                + where(field)
                + " got a string holding an unpaired surrogate ("
                + UnicodeText.escape(text.charAt(surrogate))
                + ") at index "
                + surrogate
                + ", which UTF-8 cannot encode");
      }
    }

    private Selector field(@Nullable FieldPath path, Condition condition) {
      return count(new Field(path, condition));
    }

    /** Negates a normalized selector as CouchDB's {@code negate/1} does. */
    private static Selector negate(Selector selector) {
      return switch (selector) {
        case And and -> new Or(and.operands().stream().map(SelectorReader::negate).toList());
        case Or or -> new And(or.operands().stream().map(SelectorReader::negate).toList());
        case Field field -> new Field(field.path(), negate(field.condition()));
      };
    }

    private static Condition negate(Condition condition) {
      return switch (condition) {
        case Compare compare -> new Compare(compare.operator().negated(), compare.value());
        case In in -> new In(in.set(), !in.negated());
        case Exists exists -> new Exists(!exists.present());
        case Selector.Not not -> not.condition();
        default -> new Selector.Not(condition);
      };
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

  private static boolean isFieldOperator(String operator) {
    return FIELD_OPERATORS.contains(operator);
  }

  private static String where(@Nullable FieldPath field) {
    return field == null ? "the element" : "field '" + field + "'";
  }

  private static InvalidQueryException badArgument(
      String operator, @Nullable FieldPath field, String expected, JsonNode got) {
    return invalidSelector(
        "Bad argument for operator "
            + operator
            + (field == null ? "" : " on field '" + field + "'")
            + ": expected "
            + expected
            + ", got "
            + abbreviate(got.toString()));
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
