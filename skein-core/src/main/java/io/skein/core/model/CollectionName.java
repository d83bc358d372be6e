package io.skein.core.model;

import java.util.regex.Pattern;

/**
 * The name of a collection: 1 to 128 characters from {@code [A-Za-z0-9_.-]}. Names that start with
 * {@value #SYSTEM_PREFIX} belong to the system ({@code _system_remote_peers}, {@code
 * _system_rollback}); {@link #user(String)} refuses them, {@link #system(String)} requires them.
 * {@link #user(String)} also refuses {@code .} and {@code ..}, which a URL path cannot carry as a
 * segment (clients and proxies fold them away); the constructor accepts them, so that a name
 * already stored, or sent by a peer of an earlier version, still reads.
 *
 * @param value the name, validated
 */
public record CollectionName(String value) implements Comparable<CollectionName> {
  /** The prefix reserved for system collections. */
  public static final String SYSTEM_PREFIX = "_system_";

  private static final Pattern VALID = Pattern.compile("[A-Za-z0-9_.-]{1,128}");

  /**
   * Validates the characters and length of the name (not the reservation: see {@link #user}).
   *
   * @throws InvalidNameException if the name does not match {@code [A-Za-z0-9_.-]{1,128}}
   */
  public CollectionName {
    if (!VALID.matcher(value).matches()) {
      throw new InvalidNameException(
          "invalid_collection_name",
          "collection name '"
              + NodeId.abbreviate(value)
              + "' is invalid: it must be 1 to 128 characters from [A-Za-z0-9_.-]");
    }
  }

  /**
   * Returns a collection name that an application may write to.
   *
   * @throws InvalidNameException if the name is malformed, is {@code .} or {@code ..}, or starts
   *     with {@value #SYSTEM_PREFIX}
   */
  public static CollectionName user(String value) {
    CollectionName name = new CollectionName(value);
    if (value.equals(".") || value.equals("..")) {
      throw new InvalidNameException(
          "invalid_collection_name",
          "collection name '"
              + value
              + "' is invalid: '.' and '..' are not names (a URL path cannot carry them)");
    }
    if (name.isSystem()) {
      throw new InvalidNameException(
          "reserved_collection_name",
          "collection name '"
              + value
              + "' is reserved: names starting with "
              + SYSTEM_PREFIX
              + " belong to the system");
    }
    return name;
  }

  /**
   * Returns the name of a system collection.
   *
   * @throws InvalidNameException if the name is malformed or lacks the {@value #SYSTEM_PREFIX}
   */
  public static CollectionName system(String value) {
    CollectionName name = new CollectionName(value);
    if (!name.isSystem()) {
      throw new InvalidNameException(
          "invalid_collection_name", "system collection '" + value + "' lacks " + SYSTEM_PREFIX);
    }
    return name;
  }

  /** Returns whether this is a reserved system collection. */
  public boolean isSystem() {
    return value.startsWith(SYSTEM_PREFIX);
  }

  @Override
  public int compareTo(CollectionName other) {
    return value.compareTo(other.value);
  }

  @Override
  public String toString() {
    return value;
  }
}
