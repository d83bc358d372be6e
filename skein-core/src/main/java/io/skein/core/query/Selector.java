package io.skein.core.query;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.core.model.UnicodeText;
import java.util.List;

/**
 * A parsed Mango selector: a tree of combinators ({@link And}, {@link Or}, {@link Not}) over field
 * predicates ({@link Compare}, {@link In}, {@link Exists}). {@link QueryParser} defines the syntax
 * and the meaning; {@link InMemoryQuery#matches} is the reference evaluation.
 *
 * <p>The tree is smaller than the syntax: {@code $ne v} is {@code Not(Compare(EQ v))}, {@code $nin}
 * is {@code Not(In)}, and {@code $exists false} is {@code Not(Exists)}. Operands are immutable JSON
 * scalars (null, boolean, number or string), checked when a node is built.
 */
public sealed interface Selector {
  /** The selector that matches every document: {@code {}}, an empty conjunction. */
  static Selector all() {
    return new And(List.of());
  }

  /**
   * Matches when every operand matches; an empty {@code And} matches every document.
   *
   * @param operands the conjuncts
   */
  record And(List<Selector> operands) implements Selector {
    /** Copies the operands. */
    public And {
      operands = List.copyOf(operands);
    }
  }

  /**
   * Matches when at least one operand matches; an empty {@code Or} matches no document.
   *
   * @param operands the disjuncts
   */
  record Or(List<Selector> operands) implements Selector {
    /** Copies the operands. */
    public Or {
      operands = List.copyOf(operands);
    }
  }

  /**
   * Matches when the operand does not match.
   *
   * @param operand the negated selector
   */
  record Not(Selector operand) implements Selector {}

  /** The operators of {@link Compare}. */
  enum Operator {
    /** {@code $eq}: same type class and equal. */
    EQ("$eq"),
    /** {@code $gt}: same type class and greater. */
    GT("$gt"),
    /** {@code $gte}: same type class and greater or equal. */
    GTE("$gte"),
    /** {@code $lt}: same type class and less. */
    LT("$lt"),
    /** {@code $lte}: same type class and less or equal. */
    LTE("$lte");

    private final String mangoName;

    Operator(String mangoName) {
      this.mangoName = mangoName;
    }

    /** Returns the operator as written in a selector, such as {@code $gte}. */
    public String mangoName() {
      return mangoName;
    }

    /** Returns whether the operator orders values (all but {@link #EQ}). */
    public boolean isOrdering() {
      return this != EQ;
    }
  }

  /**
   * Matches when the field is present, has the type class of the value and compares to it as the
   * operator says.
   *
   * @param path the field
   * @param operator the comparison
   * @param value the operand: a scalar, and for an ordering operator a number or a string
   */
  record Compare(FieldPath path, Operator operator, JsonNode value) implements Selector {
    /**
     * Checks the operand.
     *
     * @throws InvalidQueryException with code {@code unsupported_operand} if the value is not a
     *     scalar or is a string with an unpaired surrogate, or if the operator orders and the value
     *     is not a number or a string
     */
    public Compare {
      requireScalar(path, operator.mangoName(), value);
      if (operator.isOrdering() && !value.isNumber() && !value.isTextual()) {
        throw new InvalidQueryException(
            "unsupported_operand",
            "operator "
                + operator.mangoName()
                + " on field '"
                + path
                + "' needs a number or a string, got "
                + JsonValues.typeName(value)
                + ": only numbers and strings are ordered");
      }
    }
  }

  /**
   * Matches when the field is present and {@code $eq} one of the values; an empty list matches no
   * document.
   *
   * @param path the field
   * @param values the scalar operands
   */
  record In(FieldPath path, List<JsonNode> values) implements Selector {
    /**
     * Checks and copies the operands.
     *
     * @throws InvalidQueryException with code {@code unsupported_operand} if a value is not a
     *     scalar or is a string with an unpaired surrogate
     */
    public In {
      values = List.copyOf(values);
      for (JsonNode value : values) {
        requireScalar(path, "$in", value);
      }
    }
  }

  /**
   * Matches when the field is present, whatever its value (JSON {@code null} included).
   *
   * @param path the field
   */
  record Exists(FieldPath path) implements Selector {}

  private static void requireScalar(FieldPath path, String operator, JsonNode value) {
    if (!value.isNull() && !value.isBoolean() && !value.isNumber() && !value.isTextual()) {
      throw new InvalidQueryException(
          "unsupported_operand",
          "operator "
              + operator
              + " on field '"
              + path
              + "' needs null, a boolean, a number or a string, got "
              + JsonValues.typeName(value)
              + ": arrays and objects cannot be matched");
    }
    if (value.isNumber() && Double.isNaN(value.doubleValue())) {
      throw new InvalidQueryException(
          "unsupported_operand",
          "operator " + operator + " on field '" + path + "' got NaN, which is not a JSON number");
    }
    // SQLite would see '?' for an unpaired surrogate: the query would compare with a value nobody
    // sent.
    int surrogate = value.isTextual() ? UnicodeText.unpairedSurrogateIndex(value.textValue()) : -1;
    if (surrogate >= 0) {
      throw new InvalidQueryException(
          "unsupported_operand",
          "operator "
              + operator
              + " on field '"
              + path
              + "' got a string holding an unpaired surrogate ("
              + UnicodeText.escape(value.textValue().charAt(surrogate))
              + ") at index "
              + surrogate
              + ", which UTF-8 cannot encode");
    }
  }
}
