package io.skein.core.query;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.core.model.DocumentId;
import java.math.BigDecimal;

/**
 * How queries read JSON numbers and strings, shared by {@link Collation} and the SQLite
 * translation, so that an index range and the evaluation agree.
 *
 * <p>Design notes. Numbers follow SQLite, which stores documents as JSON text and reads a number as
 * a 64-bit integer when it is written without a fraction or exponent and fits, and otherwise as the
 * nearest IEEE-754 double. {@link #sqliteNumber} makes the same conversion, and {@link
 * #compareNumbers} compares the results exactly (an integer and a double compare by their true
 * values, as SQLite does), so that {@code 1 == 1.0} and {@code 9007199254740993 >
 * 9007199254740992.0}. Strings compare by Unicode code point, which is the byte order of UTF-8 and
 * so SQLite's {@code BINARY} collation.
 */
public final class JsonValues {
  private JsonValues() {}

  /**
   * Returns a JSON number as SQLite reads it: a {@link Long} if it is an integer that fits in 64
   * bits, otherwise the nearest {@link Double} (possibly infinite).
   *
   * @throws IllegalArgumentException if the node is not a number
   */
  public static Number sqliteNumber(JsonNode number) {
    if (!number.isNumber()) {
      throw new IllegalArgumentException("not a number: " + number.getNodeType());
    }
    if (number.isIntegralNumber() && number.canConvertToLong()) {
      return number.longValue();
    }
    return number.doubleValue();
  }

  /**
   * Compares two JSON numbers by their values as SQLite reads them ({@link #sqliteNumber}).
   *
   * @throws IllegalArgumentException if either node is not a number
   */
  public static int compareNumbers(JsonNode left, JsonNode right) {
    return compareSqliteNumbers(sqliteNumber(left), sqliteNumber(right));
  }

  private static int compareSqliteNumbers(Number left, Number right) {
    if (left instanceof Long a && right instanceof Long b) {
      return Long.compare(a, b);
    }
    double a = left.doubleValue();
    double b = right.doubleValue();
    if (Double.isInfinite(a) || Double.isInfinite(b)) {
      return Double.compare(a, b);
    }
    // Exact: new BigDecimal(double) is the double's true value, and a long converts exactly.
    return exact(left).compareTo(exact(right));
  }

  private static BigDecimal exact(Number number) {
    return number instanceof Long value
        ? BigDecimal.valueOf(value)
        : new BigDecimal(number.doubleValue());
  }

  /** Compares two strings by Unicode code point, as SQLite's {@code BINARY} collation does. */
  public static int compareStrings(String left, String right) {
    return DocumentId.compareCodePoints(left, right);
  }

  /** Returns a short name of a node's JSON type, for messages. */
  static String typeName(JsonNode node) {
    return switch (node.getNodeType()) {
      case ARRAY -> node.isEmpty() ? "an empty array" : "an array";
      case OBJECT -> "an object";
      case BOOLEAN -> "a boolean";
      case NULL -> "null";
      case NUMBER -> "a number";
      case STRING -> "a string";
      case MISSING, BINARY, POJO -> "a non-JSON value";
    };
  }
}
