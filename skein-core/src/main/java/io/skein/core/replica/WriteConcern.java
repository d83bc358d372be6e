package io.skein.core.replica;

/**
 * How many replicas must hold a write durably before it is acknowledged (D2).
 *
 * <p>On a single node all three mean "durable on this node". With replication, {@link #MAJORITY}
 * waits for a majority of the configured members and {@link #ALL} for every member.
 */
public enum WriteConcern {
  /** This node only. */
  ONE,
  /** A majority of the configured members, this node included. */
  MAJORITY,
  /** Every configured member. */
  ALL;

  /**
   * Parses the API form: {@code 1}, {@code majority} or {@code all}.
   *
   * @throws IllegalArgumentException naming the accepted values, if the text is none of them
   */
  public static WriteConcern parse(String text) {
    return switch (text) {
      case "1" -> ONE;
      case "majority" -> MAJORITY;
      case "all" -> ALL;
      default ->
          throw new IllegalArgumentException(
              "write concern '" + text + "' is invalid: expected 1, majority or all");
    };
  }

  /** Returns the number of members that must hold a write, out of {@code members}. */
  public int requiredAcks(int members) {
    if (members < 1) {
      throw new IllegalArgumentException("members must be >= 1, was " + members);
    }
    return switch (this) {
      case ONE -> 1;
      case MAJORITY -> members / 2 + 1;
      case ALL -> members;
    };
  }
}
