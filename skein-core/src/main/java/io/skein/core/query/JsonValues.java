package io.skein.core.query;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.core.model.DocumentId;
import java.math.BigDecimal;
import org.jspecify.annotations.Nullable;

/**
 * The type classes, equality and order of JSON values in queries, shared by the in-memory oracle
 * ({@link InMemoryQuery}) and the SQLite translation, so that both give the same answers.
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

  /** The type classes of JSON values: values of different classes are never equal. */
  public enum TypeClass {
    /** JSON {@code null}. */
    NULL,
    /** {@code true} and {@code false}. */
    BOOLEAN,
    /** Integers and decimals alike. */
    NUMBER,
    /** Strings. */
    STRING,
    /** Arrays. */
    ARRAY,
    /** Objects. */
    OBJECT
  }

  /**
   * Returns the type class of a JSON value.
   *
   * @throws IllegalArgumentException if the node is not a JSON value (a missing or binary node)
   */
  public static TypeClass typeClass(JsonNode value) {
    return switch (value.getNodeType()) {
      case NULL -> TypeClass.NULL;
      case BOOLEAN -> TypeClass.BOOLEAN;
      case NUMBER -> TypeClass.NUMBER;
      case STRING -> TypeClass.STRING;
      case ARRAY -> TypeClass.ARRAY;
      case OBJECT -> TypeClass.OBJECT;
      case MISSING, BINARY, POJO ->
          throw new IllegalArgumentException("not a JSON value: " + value.getNodeType());
    };
  }

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

  /**
   * Returns whether a field value equals an operand in the sense of {@code $eq}: same type class
   * and equal value, numbers compared numerically. Arrays and objects are compared structurally,
   * although the query syntax never produces them as operands.
   */
  public static boolean equal(JsonNode field, JsonNode operand) {
    TypeClass type = typeClass(field);
    if (type != typeClass(operand)) {
      return false;
    }
    return switch (type) {
      case NULL -> true;
      case BOOLEAN -> field.booleanValue() == operand.booleanValue();
      case NUMBER -> compareNumbers(field, operand) == 0;
      case STRING -> field.textValue().equals(operand.textValue());
      case ARRAY, OBJECT -> field.equals(operand);
    };
  }

  /**
   * Compares two field values in the sort order of queries: missing and {@code null} first, then
   * {@code false}, {@code true}, numbers (numerically), strings (by code point), and last arrays
   * and objects, which are all equal to each other.
   *
   * @param left a value, or {@code null} for a missing field
   * @param right a value, or {@code null} for a missing field
   */
  public static int compareForSort(@Nullable JsonNode left, @Nullable JsonNode right) {
    int byRank = Integer.compare(sortRank(left), sortRank(right));
    if (byRank != 0 || left == null || right == null) {
      return byRank;
    }
    return switch (typeClass(left)) {
      case NUMBER -> compareNumbers(left, right);
      case STRING -> compareStrings(left.textValue(), right.textValue());
      case NULL, BOOLEAN, ARRAY, OBJECT -> 0;
    };
  }

  /**
   * Returns the rank of a value's group in the sort order: 0 missing or null, 1 false, 2 true, 3
   * number, 4 string, 5 array or object.
   *
   * @param value a value, or {@code null} for a missing field
   */
  public static int sortRank(@Nullable JsonNode value) {
    if (value == null) {
      return 0;
    }
    return switch (typeClass(value)) {
      case NULL -> 0;
      case BOOLEAN -> value.booleanValue() ? 2 : 1;
      case NUMBER -> 3;
      case STRING -> 4;
      case ARRAY, OBJECT -> 5;
    };
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
