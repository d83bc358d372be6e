package io.skein.core.model;

import java.util.regex.Pattern;

/**
 * The identity of a node: 1 to 64 characters from {@code [A-Za-z0-9_.-]}.
 *
 * <p>Node ids are totally ordered, and "lowest" (for elections, DESIGN.md "Node ids") means: ids
 * that are canonical non-negative integers ({@code 0}, {@code 7}, {@code 12}, never {@code 007})
 * come before every other id and compare numerically; the other ids compare ordinally. This fits
 * both the integer ids of the seeds and free-form string ids.
 *
 * @param value the id text, validated
 */
public record NodeId(String value) implements Comparable<NodeId> {
  private static final Pattern VALID = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
  private static final Pattern CANONICAL_INTEGER = Pattern.compile("0|[1-9][0-9]*");

  /**
   * Validates the id.
   *
   * @throws InvalidNameException if the id is empty, too long or has a character outside the set
   */
  public NodeId {
    if (!VALID.matcher(value).matches()) {
      throw new InvalidNameException(
          "invalid_node_id",
          "node id '"
              + abbreviate(value)
              + "' is invalid: it must be 1 to 64 characters from [A-Za-z0-9_.-]");
    }
  }

  /**
   * Returns the node id for the given text.
   *
   * @throws InvalidNameException if the text is not a valid node id
   */
  public static NodeId of(String value) {
    return new NodeId(value);
  }

  /** Returns whether this id is a canonical non-negative integer, which sorts numerically. */
  public boolean isNumeric() {
    return CANONICAL_INTEGER.matcher(value).matches();
  }

  /**
   * Returns a string whose ordinal order is the order of node ids, for storage engines that sort
   * text: numeric ids become {@code "0" + two-digit length + digits}, the others {@code "1" + id}.
   */
  public String sortKey() {
    if (isNumeric()) {
      return "0" + (value.length() < 10 ? "0" : "") + value.length() + value;
    }
    return "1" + value;
  }

  @Override
  public int compareTo(NodeId other) {
    boolean thisNumeric = isNumeric();
    boolean otherNumeric = other.isNumeric();
    if (thisNumeric != otherNumeric) {
      return thisNumeric ? -1 : 1;
    }
    if (thisNumeric && value.length() != other.value.length()) {
      return Integer.compare(value.length(), other.value.length());
    }
    return value.compareTo(other.value);
  }

  @Override
  public String toString() {
    return value;
  }

  static String abbreviate(String text) {
    return text.length() <= 80 ? text : text.substring(0, 77) + "...";
  }
}
