package io.skein.internal.query;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.core.model.CollectionName;
import io.skein.core.query.Collation;
import io.skein.core.query.FieldPath;
import io.skein.core.query.InMemoryQuery;
import io.skein.core.query.IndexSpec;
import io.skein.core.query.JsonValues;
import io.skein.core.query.Query;
import io.skein.core.query.Selector;
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
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * Narrows a query's candidates in SQLite: {@link #select} turns a selector into a WHERE clause over
 * the {@code docs} table ({@link io.skein.internal.storage.Schema}) that holds for <em>every</em>
 * document the selector matches, and for as few others as it can. The store then evaluates each
 * candidate with {@link io.skein.core.query.InMemoryQuery#matches} and orders, skips and limits in
 * Java ({@link ResultWindow}), so SQL never decides a result; it only saves reading documents.
 * Mango's collation across types and its array rules do not map onto SQL exactly; a superset does.
 *
 * <p>Design notes.
 *
 * <ul>
 *   <li>Fields are read with the JSON1 functions {@code json_type(body, P)} (NULL when the path is
 *       missing, else {@code 'null' 'true' 'false' 'integer' 'real' 'text' 'array' 'object'}) and
 *       {@code json_extract(body, P)}, which gives NULL for a JSON null, 0 and 1 for the booleans,
 *       the number, the string, or the minified JSON text of an array ({@code [...}) or an object
 *       ({@code {...}}). SQLite orders NULL before numbers before text, and text by bytes (UTF-8,
 *       so by code point, as {@link io.skein.core.query.Collation} orders strings). Each
 *       translation below is checked against that: numbers, then booleans read as 0 and 1, then
 *       arrays and objects read as text.
 *   <li>Paths go into the SQL text as literals {@code '$."a"."b"'}, each key a quoted label whose
 *       characters outside {@code [A-Za-z0-9_-]} are JSON escapes ({@link #jsonPathLiteral}). A
 *       segment of decimal digits may index an array in Mango but names a key in SQLite, so a
 *       condition on such a path is not narrowed at all. {@code _id} is the {@code id} column.
 *   <li>A condition is written {@code json_extract(body, P) op ?} wherever that is a superset, so
 *       that an expression index on {@code (collection, json_extract(body, P))} built by {@link
 *       #createIndexSql} from the same {@link #extractExpression} can serve it: {@code $eq}, {@code
 *       $gt}, {@code $gte} on numbers and strings, {@code $lt}, {@code $lte} ({@code IS NULL OR
 *       <}), {@code $in} (with the text range of arrays, since an array field matches by its
 *       elements), {@code $beginsWith}, and the array operators (the text range from {@code [} to
 *       the next character). The planner chooses by cost: it needs statistics ({@code ANALYZE} or
 *       {@code PRAGMA optimize}) to prefer a non-covering index over the primary key.
 *   <li>No translation uses NOT: negations are already pushed into the conditions, so a NULL from a
 *       comparison only ever counts as false under AND and OR, never turns true.
 * </ul>
 *
 * <p>Thread-safety: stateless; every method may be called from any thread.
 */
public final class SqlQueryTranslator {
  private SqlQueryTranslator() {}

  private static final String NUMBER_TYPES = "('integer', 'real')";

  /**
   * Returns the statement that reads the candidates of a query over the live documents of a
   * collection: {@code SELECT id, body, hlc, origin FROM docs WHERE collection = ? AND body IS NOT
   * NULL AND (filter)}, ordered by id when the query has no sort, so that a page can stop early.
   * Every document the selector matches is a candidate; the caller evaluates each one.
   */
  public static SqlQuery select(String collection, Query query) {
    List<Object> parameters = new ArrayList<>();
    parameters.add(collection);
    String filter = filter(query.selector(), parameters);
    String sql =
        "SELECT id, body, hlc, origin FROM docs WHERE collection = ? AND body IS NOT NULL"
            + (filter == null ? "" : " AND " + filter)
            + (query.sort().isEmpty() ? " ORDER BY id" : "");
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

  /**
   * Returns a condition that every document the selector matches meets, appending its parameters,
   * or {@code null} when nothing narrows it.
   */
  static @Nullable String filter(Selector selector, List<Object> parameters) {
    return switch (selector) {
      case And and -> {
        List<String> terms = new ArrayList<>();
        for (Selector operand : and.operands()) {
          String term = filter(operand, parameters);
          if (term != null) {
            terms.add(term);
          }
        }
        yield terms.isEmpty() ? null : "(" + String.join(" AND ", terms) + ")";
      }
      case Or or -> {
        List<Object> added = new ArrayList<>();
        List<String> terms = new ArrayList<>();
        for (Selector operand : or.operands()) {
          String term = filter(operand, added);
          if (term == null) {
            yield null;
          }
          terms.add(term);
        }
        if (terms.isEmpty()) {
          yield null; // An empty $or matches every document.
        }
        parameters.addAll(added);
        yield "(" + String.join(" OR ", terms) + ")";
      }
      case Field field -> field(field, parameters);
    };
  }

  private static @Nullable String field(Field field, List<Object> parameters) {
    FieldPath path = field.path();
    if (path == null) {
      return null;
    }
    List<String> segments = path.segments();
    if (segments.get(0).equals(InMemoryQuery.ID_FIELD)) {
      return segments.size() == 1 ? id(field.condition(), parameters) : null;
    }
    for (String segment : segments) {
      if (segment.chars().allMatch(c -> c >= '0' && c <= '9')) {
        return null; // Mango may read an array element here; SQLite reads a key.
      }
    }
    return condition(path, field.condition(), parameters);
  }

  /** The filter of a condition on a field of the body. */
  private static String condition(FieldPath path, Condition condition, List<Object> parameters) {
    String type = typeExpression(path);
    String value = extractExpression(path);
    String present = type + " IS NOT NULL";
    String array = "(" + value + " >= '[' AND " + value + " < '\\')";
    return switch (condition) {
      case Exists exists -> exists.present() ? present : type + " IS NULL";
      case Compare compare -> compare(compare, type, value, parameters);
      case In in -> {
        if (in.negated()) {
          yield present;
        }
        if (in.values().isEmpty()) {
          yield "0";
        }
        // Strings in one IN list; numbers as ranges one ulp wide (below); null, booleans, arrays
        // and objects each once: a thousand of them as separate ORs would pass SQLite's
        // expression depth. An array field matches by its elements, so arrays always qualify.
        List<String> strings = new ArrayList<>();
        List<JsonNode> numbers = new ArrayList<>();
        java.util.Set<String> shapes = new java.util.LinkedHashSet<>();
        for (JsonNode operand : in.values()) {
          if (operand.isTextual()) {
            strings.add(operand.textValue());
          } else if (operand.isNumber()) {
            numbers.add(operand);
          } else if (!operand.isArray()) {
            shapes.add(equal(operand, type, value, new ArrayList<>()));
          }
        }
        List<String> alternatives = new ArrayList<>();
        if (!strings.isEmpty()) {
          parameters.addAll(strings);
          alternatives.add(value + " IN (" + String.join(", ", nCopies(strings.size())) + ")");
        }
        if (numbers.size() <= NUMBER_RANGES_MAX) {
          for (JsonNode number : numbers) {
            alternatives.add(numberRange(number, number, value, parameters));
          }
        } else {
          JsonNode low = numbers.stream().min(JsonValues::compareNumbers).orElseThrow();
          JsonNode high = numbers.stream().max(JsonValues::compareNumbers).orElseThrow();
          alternatives.add(numberRange(low, high, value, parameters));
        }
        alternatives.addAll(shapes);
        alternatives.add(array);
        yield "(" + String.join(" OR ", alternatives) + ")";
      }
      case Selector.Type typeCondition ->
          switch (typeCondition.type()) {
            case "null" -> type + " IS 'null'";
            case "boolean" -> "ifnull(" + type + ", '') IN ('true', 'false')";
            case "number" -> "ifnull(" + type + ", '') IN " + NUMBER_TYPES;
            case "string" -> type + " IS 'text'";
            case "array" -> type + " IS 'array'";
            default -> type + " IS 'object'";
          };
      case Size size -> {
        parameters.add(size.size());
        yield "(" + array + " AND json_array_length(body, " + jsonPath(path) + ") = ?)";
      }
      // Integers beyond 64 bits read as 'real' in SQLite.
      case Mod mod -> "ifnull(" + type + ", '') IN " + NUMBER_TYPES;
      case Regex regex -> type + " IS 'text'";
      case BeginsWith begins -> {
        String upper = successor(begins.prefix());
        if (upper == null) {
          yield type + " IS 'text'";
        }
        parameters.add(begins.prefix());
        parameters.add(upper);
        yield "(" + value + " >= ? AND " + value + " < ? AND " + type + " IS 'text')";
      }
      case All all -> array;
      case ElemMatch elemMatch -> array;
      case AllMatch allMatch -> array;
      case KeyMapMatch keyMapMatch -> type + " IS 'object'";
      case Selector.Not not -> present;
    };
  }

  private static String compare(
      Compare compare, String type, String value, List<Object> parameters) {
    JsonNode operand = compare.value();
    int rank = Collation.rank(operand);
    return switch (compare.operator()) {
      case EQ -> equal(operand, type, value, parameters);
      case NE -> type + " IS NOT NULL";
      case GT, GTE -> {
        if (operand.isNumber()) {
          // Numbers above, and all text (strings, arrays, objects); booleans read 0 and 1 and are
          // only ever extra. One ulp lower: SQLite may read a long decimal one ulp off.
          parameters.add(Math.nextDown(operand.doubleValue()));
          yield value + " >= ?";
        }
        if (operand.isTextual()) {
          // Strings from the operand up, then arrays ('[') and objects ('{') as text.
          String text = operand.textValue();
          parameters.add(JsonValues.compareStrings(text, "[") < 0 ? text : "[");
          yield value + " >= ?";
        }
        if (operand.isArray()) {
          yield value + " >= '['";
        }
        if (operand.isObject()) {
          yield type + " IS 'object'";
        }
        yield compare.operator() == Operator.GT && rank == 0
            ? "ifnull(" + type + ", 'null') != 'null'"
            : type + " IS NOT NULL";
      }
      case LT, LTE -> {
        boolean strict = compare.operator() == Operator.LT;
        if (operand.isNumber()) {
          // JSON null reads NULL, the booleans 0 and 1; one ulp higher, as for $gt.
          parameters.add(Math.nextUp(operand.doubleValue()));
          yield "(" + value + " IS NULL OR " + value + " <= ? OR " + value + " IN (0, 1))";
        }
        if (operand.isTextual()) {
          // JSON null reads NULL; the booleans (0 and 1) and numbers sort before text.
          parameters.add(operand.textValue());
          yield "(" + value + " IS NULL OR " + value + (strict ? " < ?" : " <= ?") + ")";
        }
        if (rank <= 2) {
          List<String> types =
              List.of("'null'", "'false'", "'true'").subList(0, strict ? rank : rank + 1);
          yield types.isEmpty()
              ? "0"
              : "ifnull(" + type + ", '') IN (" + String.join(", ", types) + ")";
        }
        yield type + " IS NOT NULL";
      }
    };
  }

  /**
   * The filter of {@code $eq operand}, in forms an index on the field can serve: JSON null reads
   * NULL (as a missing field does), true and false read 1 and 0 (as those numbers do), and an array
   * or object reads as its JSON text, which starts with {@code [} or <code>{</code>.
   */
  private static String equal(
      JsonNode operand, String type, String value, List<Object> parameters) {
    return switch (operand.getNodeType()) {
      case NULL -> value + " IS NULL";
      case BOOLEAN -> value + (operand.booleanValue() ? " = 1" : " = 0");
      case NUMBER -> numberRange(operand, operand, value, parameters);
      case STRING -> {
        parameters.add(operand.textValue());
        yield value + " = ?";
      }
      case ARRAY -> "(" + value + " >= '[' AND " + value + " < '\\')";
      default -> "(" + value + " >= '{' AND " + value + " < '|')";
    };
  }

  /** The filter of a condition on {@code _id}, which is the id column (a string). */
  private static @Nullable String id(Condition condition, List<Object> parameters) {
    return switch (condition) {
      case Exists exists -> exists.present() ? null : "0";
      case Compare compare -> {
        JsonNode operand = compare.value();
        if (compare.operator() == Operator.NE) {
          yield null;
        }
        if (!operand.isTextual()) {
          // _id compares in raw term order, where an id is above every non-string (A80).
          yield compare.operator() == Operator.GT || compare.operator() == Operator.GTE
              ? null
              : "0";
        }
        parameters.add(operand.textValue());
        yield switch (compare.operator()) {
          case EQ -> "id = ?";
          case GT -> "id > ?";
          case GTE -> "id >= ?";
          case LT -> "id < ?";
          default -> "id <= ?";
        };
      }
      case In in -> {
        if (in.negated()) {
          yield null;
        }
        List<String> placeholders = new ArrayList<>();
        for (JsonNode operand : in.values()) {
          if (operand.isTextual()) {
            parameters.add(operand.textValue());
            placeholders.add("?");
          }
        }
        yield placeholders.isEmpty() ? "0" : "id IN (" + String.join(", ", placeholders) + ")";
      }
      case BeginsWith begins -> {
        String upper = successor(begins.prefix());
        if (upper == null) {
          yield null;
        }
        parameters.add(begins.prefix());
        parameters.add(upper);
        yield "(id >= ? AND id < ?)";
      }
      default -> null;
    };
  }

  /**
   * Returns the least string above every string that starts with {@code prefix}, by code point, or
   * {@code null} if there is none (an empty prefix, or one of U+10FFFF only).
   */
  static @Nullable String successor(String prefix) {
    int[] codePoints = prefix.codePoints().toArray();
    for (int i = codePoints.length - 1; i >= 0; i--) {
      int next = codePoints[i] + 1;
      if (next == Character.MIN_SURROGATE) {
        next = Character.MAX_SURROGATE + 1;
      }
      if (next <= Character.MAX_CODE_POINT) {
        codePoints[i] = next;
        return new String(codePoints, 0, i + 1);
      }
    }
    return null;
  }

  /** The most numbers of one {@code $in} given their own range; more share one. */
  private static final int NUMBER_RANGES_MAX = 50;

  /**
   * Returns {@code json_extract(...) BETWEEN ? AND ?} over the numbers from {@code low} to {@code
   * high}, widened by one ulp each way: SQLite reads a decimal of more than 19 significant digits,
   * or an integer beyond 64 bits, truncated, which can land one ulp from the correctly rounded
   * double that Java reads. The evaluation decides exactly; the range only has to hold every match.
   */
  private static String numberRange(
      JsonNode low, JsonNode high, String value, List<Object> parameters) {
    parameters.add(Math.nextDown(low.doubleValue()));
    parameters.add(Math.nextUp(high.doubleValue()));
    return value + " BETWEEN ? AND ?";
  }

  private static List<String> nCopies(int count) {
    return java.util.Collections.nCopies(count, "?");
  }
}
