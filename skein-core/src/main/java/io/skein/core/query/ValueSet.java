package io.skein.core.query;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A set of JSON values under {@link Collation} equality ({@code 1} equals {@code 1.0}), the operand
 * of {@code $in}, {@code $nin} and {@code $all}. Scalars are found by hash in constant time, so
 * that a thousand operands against a field holding a large array cost the array's length, not the
 * product; arrays and objects, which collate by content, are compared one by one.
 *
 * <p>Immutable; equal when the values are equal, in order.
 */
public final class ValueSet {
  /** The key of JSON null: no other key equals it. */
  private static final Object NULL_KEY = new Object();

  private final List<JsonNode> values;
  private final Set<Object> scalars = new HashSet<>();
  private final List<JsonNode> containers = new ArrayList<>();

  private ValueSet(List<JsonNode> values) {
    this.values = List.copyOf(values);
    for (JsonNode value : this.values) {
      if (value.isContainerNode()) {
        containers.add(value);
      } else {
        scalars.add(key(value));
      }
    }
  }

  /** Returns the set of the values. */
  public static ValueSet of(List<JsonNode> values) {
    return new ValueSet(values);
  }

  /** Returns the values as given. */
  public List<JsonNode> values() {
    return values;
  }

  /** Returns how many of the values are arrays or objects, each compared one by one. */
  public int containerCount() {
    return containers.size();
  }

  /** Returns whether a value collates equal to one of the set's. */
  public boolean contains(JsonNode value) {
    if (!value.isContainerNode()) {
      return scalars.contains(key(value));
    }
    for (JsonNode container : containers) {
      if (Collation.equal(container, value)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Returns a key that equals another scalar's exactly when the two collate equal: numbers by their
   * exact value (as {@link JsonValues#compareNumbers} compares them), strings by their characters,
   * booleans and null by themselves.
   */
  private static Object key(JsonNode scalar) {
    return switch (scalar.getNodeType()) {
      case NULL -> NULL_KEY;
      case BOOLEAN -> scalar.booleanValue();
      case STRING -> scalar.textValue();
      case NUMBER -> {
        Number number = JsonValues.sqliteNumber(scalar);
        if (number instanceof Long integer) {
          yield BigDecimal.valueOf(integer).stripTrailingZeros();
        }
        double real = number.doubleValue();
        yield Double.isInfinite(real) ? real : new BigDecimal(real).stripTrailingZeros();
      }
      default -> throw new IllegalArgumentException("not a scalar: " + scalar.getNodeType());
    };
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof ValueSet set && set.values.equals(values);
  }

  @Override
  public int hashCode() {
    return values.hashCode();
  }

  @Override
  public String toString() {
    return values.toString();
  }
}
