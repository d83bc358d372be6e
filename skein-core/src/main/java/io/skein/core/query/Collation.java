package io.skein.core.query;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The order of JSON values that Mango comparisons and sorts use, CouchDB's view collation ({@code
 * mango_json:cmp}): null, then false, true, numbers, strings, arrays, objects.
 *
 * <ul>
 *   <li>Numbers by value, exactly ({@link JsonValues#compareNumbers}): {@code 1} equals {@code
 *       1.0}.
 *   <li>Strings by Unicode code point. CouchDB orders strings by ICU's collation (where {@code "a"
 *       < "B"}); this is a documented difference (docs/http-api.md), chosen because it is the order
 *       of SQLite's indexes and of document ids.
 *   <li>Arrays element by element, then the shorter first.
 *   <li>Objects pair by pair in their key order (the key, then the value), then the smaller first;
 *       so {@code {"a":1,"b":2}} and {@code {"b":2,"a":1}} are not equal, as in CouchDB.
 * </ul>
 *
 * <p>Thread-safety: stateless.
 */
public final class Collation {
  private Collation() {}

  /** The names {@code $type} accepts, in collation order. */
  public static final List<String> TYPES =
      List.of("null", "boolean", "number", "string", "array", "object");

  /** Compares two JSON values: negative, zero or positive as {@code left} sorts before. */
  public static int compare(JsonNode left, JsonNode right) {
    int byRank = Integer.compare(rank(left), rank(right));
    if (byRank != 0) {
      return byRank;
    }
    return switch (left.getNodeType()) {
      case NUMBER -> JsonValues.compareNumbers(left, right);
      case STRING -> JsonValues.compareStrings(left.textValue(), right.textValue());
      case ARRAY -> compareArrays(left, right);
      case OBJECT -> compareObjects(left, right);
      default -> 0;
    };
  }

  /** Returns whether two values collate equal: {@code compare(left, right) == 0}. */
  public static boolean equal(JsonNode left, JsonNode right) {
    return compare(left, right) == 0;
  }

  /** Returns the {@code $type} name of a value: one of {@link #TYPES}. */
  public static String type(JsonNode value) {
    return switch (value.getNodeType()) {
      case NULL -> "null";
      case BOOLEAN -> "boolean";
      case NUMBER -> "number";
      case STRING -> "string";
      case ARRAY -> "array";
      case OBJECT -> "object";
      case MISSING, BINARY, POJO ->
          throw new IllegalArgumentException("not a JSON value: " + value.getNodeType());
    };
  }

  /**
   * Returns the collation rank of a value's kind: null 0, false 1, true 2, number 3, string 4,
   * array 5, object 6.
   */
  public static int rank(JsonNode value) {
    return switch (value.getNodeType()) {
      case NULL -> 0;
      case BOOLEAN -> value.booleanValue() ? 2 : 1;
      case NUMBER -> 3;
      case STRING -> 4;
      case ARRAY -> 5;
      case OBJECT -> 6;
      case MISSING, BINARY, POJO ->
          throw new IllegalArgumentException("not a JSON value: " + value.getNodeType());
    };
  }

  private static int compareArrays(JsonNode left, JsonNode right) {
    int common = Math.min(left.size(), right.size());
    for (int i = 0; i < common; i++) {
      int order = compare(left.get(i), right.get(i));
      if (order != 0) {
        return order;
      }
    }
    return Integer.compare(left.size(), right.size());
  }

  private static int compareObjects(JsonNode left, JsonNode right) {
    Iterator<Map.Entry<String, JsonNode>> a = left.properties().iterator();
    Iterator<Map.Entry<String, JsonNode>> b = right.properties().iterator();
    while (a.hasNext() && b.hasNext()) {
      Map.Entry<String, JsonNode> x = a.next();
      Map.Entry<String, JsonNode> y = b.next();
      int order = JsonValues.compareStrings(x.getKey(), y.getKey());
      if (order == 0) {
        order = compare(x.getValue(), y.getValue());
      }
      if (order != 0) {
        return order;
      }
    }
    return Integer.compare(left.size(), right.size());
  }
}
