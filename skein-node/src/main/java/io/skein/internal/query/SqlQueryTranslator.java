package io.skein.internal.query;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.core.model.CollectionName;
import io.skein.core.query.FieldPath;
import io.skein.core.query.IndexSpec;
import io.skein.core.query.JsonValues;
import io.skein.core.query.Query;
import io.skein.core.query.Selector;
import io.skein.core.query.Selector.And;
import io.skein.core.query.Selector.Compare;
import io.skein.core.query.Selector.Exists;
import io.skein.core.query.Selector.In;
import io.skein.core.query.Selector.Not;
import io.skein.core.query.Selector.Or;
import io.skein.core.query.SortKey;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Translates queries into SQLite SQL over the {@code docs} table ({@link
 * io.skein.internal.storage.Schema}), with the exact meaning that {@link
 * io.skein.core.query.QueryParser} defines and {@link io.skein.core.query.InMemoryQuery} evaluates.
 *
 * <p>Design notes.
 *
 * <ul>
 *   <li>Fields are read with the JSON1 functions {@code json_type(body, P)} (NULL when the path is
 *       missing, else {@code 'null' 'true' 'false' 'integer' 'real' 'text' 'array' 'object'}) and
 *       {@code json_extract(body, P)}. Paths go into the SQL text as literals {@code '$."a"."b"'},
 *       each key a quoted label whose characters outside {@code [A-Za-z0-9_-]} are JSON escapes
 *       ({@link #jsonPathLiteral}), so a path reads exactly the key it names. Keys holding U+0000
 *       are the exception SQLite cannot quote, and documents may not hold them (A45). Values always
 *       go in {@code ?} parameters.
 *   <li>Type classes come from {@code json_type}, never from {@code json_extract}, which returns 1
 *       and 0 for true and false, NULL for both JSON null and a missing field, and the JSON text of
 *       an array or object (so {@code [1]} would equal the string {@code "[1]"}).
 *   <li>Every predicate the translation emits is 0 or 1, never NULL: type tests use {@code IS} or
 *       {@code ifnull}, and a comparison is only reached (through {@code AND}) when its type test
 *       passed, so its operand is not NULL. That is what makes {@code NOT} exact: in SQL, {@code
 *       NOT NULL} is NULL, which would drop documents that {@code $ne}, {@code $nin} and {@code
 *       $not} must match.
 *   <li>A comparison on a number or string is written {@code (guard AND json_extract(body, P) op
 *       ?)}. SQLite splits the WHERE clause at every AND, so when the comparison is not under OR or
 *       NOT it stands as its own term next to {@code collection = ?}, and the planner can use an
 *       expression index on {@code (collection, json_extract(body, P))} built by {@link
 *       #createIndexSql}, whose expressions come from the same {@link #extractExpression}. Whether
 *       it does is a cost decision: it needs statistics ({@code ANALYZE} or {@code PRAGMA
 *       optimize}) to prefer a non-covering index over the primary key.
 *   <li>Sorting is by a rank per key that mirrors {@link JsonValues#sortRank}, then the value for
 *       numbers and strings, then the id. SQLite compares integers and reals by value and text by
 *       bytes (UTF-8, so by code point), which is the oracle's order.
 * </ul>
 *
 * <p>Thread-safety: stateless; every method may be called from any thread.
 */
public final class SqlQueryTranslator {
  private SqlQueryTranslator() {}

  private static final String NUMBER_TYPES = "('integer', 'real')";

  /**
   * Returns the statement that runs a query over the live documents of a collection: {@code SELECT
   * id, body, hlc, origin FROM docs WHERE collection = ? AND body IS NOT NULL AND (selector) ORDER
   * BY sort, id LIMIT ? OFFSET ?}. The {@code fields} of the query are not applied here (see {@link
   * io.skein.core.query.InMemoryQuery#project}).
   */
  public static SqlQuery select(String collection, Query query) {
    List<Object> parameters = new ArrayList<>();
    parameters.add(collection);
    String where = where(query.selector(), parameters);
    parameters.add(query.limit());
    parameters.add(query.skip());
    String sql =
        "SELECT id, body, hlc, origin FROM docs WHERE collection = ? AND body IS NOT NULL AND ("
            + where
            + ") ORDER BY "
            + orderBy(query.sort())
            + " LIMIT ? OFFSET ?";
    return new SqlQuery(sql, parameters);
  }

  /**
   * Returns the expression that reads a field, {@code json_extract(body, '$."a"."b"')}. It is the
   * one place this text is made, so that queries and index definitions match character for
   * character, as SQLite needs to use an expression index.
   */
  public static String extractExpression(FieldPath path) {
    return "json_extract(body, " + jsonPath(path) + ")";
  }

  /**
   * Returns the name of the SQLite index of a declared index in a collection: {@code ix_}, the
   * collection, {@code _}, and {@link IndexSpec#name()}. Distinct (collection, spec) pairs give
   * distinct names.
   *
   * @throws io.skein.core.model.InvalidNameException if the collection name is invalid
   */
  public static String indexName(String collection, IndexSpec spec) {
    // Validated because the name is written into SQL text as a quoted identifier.
    return "ix_" + new CollectionName(collection).value() + "_" + spec.name();
  }

  /**
   * Returns {@code CREATE INDEX IF NOT EXISTS "name" ON docs(collection, json_extract(...), ...)},
   * with the name from {@link #indexName} and one {@link #extractExpression} per field, in order.
   *
   * @throws io.skein.core.model.InvalidNameException if the collection name is invalid
   */
  public static String createIndexSql(String collection, IndexSpec spec) {
    String expressions =
        spec.fields().stream()
            .map(SqlQueryTranslator::extractExpression)
            .collect(Collectors.joining(", "));
    return "CREATE INDEX IF NOT EXISTS \""
        + indexName(collection, spec)
        + "\" ON docs(collection, "
        + expressions
        + ")";
  }

  private static String jsonPath(FieldPath path) {
    return jsonPathLiteral(path.segments());
  }

  /**
   * Returns a SQLite JSON path that reads exactly the keys {@code segments}, as a SQL string
   * literal: {@code '$."a"."b"'}. Each segment is a quoted label; every character outside {@code
   * [A-Za-z0-9_-]} is written as a six-character JSON unicode escape, which SQLite decodes before
   * it compares a label with a key, so quotes, backslashes, dots, {@code $}, brackets, control
   * characters and non-ASCII text are read as themselves, and the literal never holds a {@code '}.
   * {@link FieldPath} allows none of them today; the quoting does not depend on that.
   *
   * @throws IllegalArgumentException if a segment holds U+0000: SQLite reads a label as a C string,
   *     so no quoting can address that key (A45 in docs/ARCHITECTURE.md: documents may not hold
   *     such keys)
   */
  static String jsonPathLiteral(List<String> segments) {
    StringBuilder text = new StringBuilder("'$");
    for (String segment : segments) {
      text.append(".\"");
      for (int i = 0; i < segment.length(); i++) {
        char c = segment.charAt(i);
        if (c == 0) {
          throw new IllegalArgumentException("a JSON path cannot address a key holding U+0000");
        }
        boolean plain =
            (c >= 'a' && c <= 'z')
                || (c >= 'A' && c <= 'Z')
                || (c >= '0' && c <= '9')
                || c == '_'
                || c == '-';
        if (plain) {
          text.append(c);
        } else {
          text.append(String.format(java.util.Locale.ROOT, "\\u%04x", (int) c));
        }
      }
      text.append('"');
    }
    return text.append('\'').toString();
  }

  private static String typeExpression(FieldPath path) {
    return "json_type(body, " + jsonPath(path) + ")";
  }

  /** Appends the parameters of the predicate to {@code parameters} and returns its SQL. */
  private static String where(Selector selector, List<Object> parameters) {
    return switch (selector) {
      case And and -> combine(and.operands(), " AND ", "1", parameters);
      case Or or -> combine(or.operands(), " OR ", "0", parameters);
      case Not not -> "(NOT " + where(not.operand(), parameters) + ")";
      case Compare compare -> compare(compare, parameters);
      case In in -> in(in, parameters);
      case Exists exists -> "(" + typeExpression(exists.path()) + " IS NOT NULL)";
    };
  }

  private static String combine(
      List<Selector> operands, String operator, String identity, List<Object> parameters) {
    if (operands.isEmpty()) {
      return identity;
    }
    List<String> terms = new ArrayList<>();
    for (Selector operand : operands) {
      terms.add(where(operand, parameters));
    }
    return "(" + String.join(operator, terms) + ")";
  }

  private static String compare(Compare compare, List<Object> parameters) {
    FieldPath path = compare.path();
    JsonNode value = compare.value();
    String operator =
        switch (compare.operator()) {
          case EQ -> "=";
          case GT -> ">";
          case GTE -> ">=";
          case LT -> "<";
          case LTE -> "<=";
        };
    if (value.isNull() || value.isBoolean()) {
      // The parser refuses null and booleans for ordering operators, so this is $eq.
      return "(" + typeExpression(path) + " IS '" + literalType(value) + "')";
    }
    parameters.add(parameter(value));
    return "("
        + typeGuard(path, value)
        + " AND "
        + extractExpression(path)
        + " "
        + operator
        + " ?)";
  }

  private static String in(In in, List<Object> parameters) {
    FieldPath path = in.path();
    List<String> literalTypes = new ArrayList<>();
    List<JsonNode> numbers = new ArrayList<>();
    List<JsonNode> strings = new ArrayList<>();
    for (JsonNode value : in.values()) {
      if (value.isNumber()) {
        numbers.add(value);
      } else if (value.isTextual()) {
        strings.add(value);
      } else if (!literalTypes.contains("'" + literalType(value) + "'")) {
        literalTypes.add("'" + literalType(value) + "'");
      }
    }
    List<String> alternatives = new ArrayList<>();
    if (!literalTypes.isEmpty()) {
      alternatives.add(
          "ifnull(" + typeExpression(path) + ", '') IN (" + String.join(", ", literalTypes) + ")");
    }
    for (List<JsonNode> sameClass : List.of(numbers, strings)) {
      if (!sameClass.isEmpty()) {
        alternatives.add(inList(path, sameClass, parameters));
      }
    }
    return alternatives.isEmpty() ? "0" : "(" + String.join(" OR ", alternatives) + ")";
  }

  /** Returns {@code (guard AND json_extract(...) IN (?, ...))} for values of one type class. */
  private static String inList(FieldPath path, List<JsonNode> values, List<Object> parameters) {
    List<String> placeholders = new ArrayList<>();
    for (JsonNode value : values) {
      parameters.add(parameter(value));
      placeholders.add("?");
    }
    return "("
        + typeGuard(path, values.get(0))
        + " AND "
        + extractExpression(path)
        + " IN ("
        + String.join(", ", placeholders)
        + "))";
  }

  /** Returns a 0-or-1 test that the field has the type class of a number or string value. */
  private static String typeGuard(FieldPath path, JsonNode value) {
    return value.isNumber()
        ? "ifnull(" + typeExpression(path) + ", '') IN " + NUMBER_TYPES
        : typeExpression(path) + " IS 'text'";
  }

  /** Returns the json_type of null, true or false. */
  private static String literalType(JsonNode value) {
    if (value.isNull()) {
      return "null";
    }
    if (value.isBoolean()) {
      return value.booleanValue() ? "true" : "false";
    }
    throw new IllegalArgumentException("not null or a boolean: " + value.getNodeType());
  }

  private static Object parameter(JsonNode value) {
    if (value.isNumber()) {
      return JsonValues.sqliteNumber(value);
    }
    if (value.isTextual()) {
      return value.textValue();
    }
    throw new IllegalArgumentException("not a number or a string: " + value.getNodeType());
  }

  private static String orderBy(List<SortKey> sort) {
    List<String> terms = new ArrayList<>();
    for (SortKey key : sort) {
      String direction = key.descending() ? " DESC" : "";
      terms.add(sortRank(key.path()) + direction);
      terms.add(sortValue(key.path()) + direction);
    }
    terms.add("id");
    return String.join(", ", terms);
  }

  /** Mirrors {@link JsonValues#sortRank}: missing and null, false, true, number, string, other. */
  private static String sortRank(FieldPath path) {
    return "CASE "
        + typeExpression(path)
        + " WHEN 'false' THEN 1 WHEN 'true' THEN 2 WHEN 'integer' THEN 3 WHEN 'real' THEN 3"
        + " WHEN 'text' THEN 4 WHEN 'array' THEN 5 WHEN 'object' THEN 5 ELSE 0 END";
  }

  /** The value that orders numbers and strings within their rank; NULL (all equal) otherwise. */
  private static String sortValue(FieldPath path) {
    return "CASE WHEN "
        + typeExpression(path)
        + " IN ('integer', 'real', 'text') THEN "
        + extractExpression(path)
        + " END";
  }
}
