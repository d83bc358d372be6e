package io.skein.core.oplog;

/** What an oplog entry does to its document. */
public enum Operation {
  /** Writes the whole document (create or replace). */
  PUT,
  /** Deletes the document, leaving a tombstone so the delete replicates and wins (D5). */
  DELETE;

  /** Returns the lower-case wire and API name: {@code put} or {@code delete}. */
  public String wireName() {
    return this == PUT ? "put" : "delete";
  }

  /**
   * Parses the wire name.
   *
   * @throws IllegalArgumentException if the name is neither {@code put} nor {@code delete}
   */
  public static Operation fromWireName(String name) {
    return switch (name) {
      case "put" -> PUT;
      case "delete" -> DELETE;
      default ->
          throw new IllegalArgumentException(
              "unknown operation '" + name + "': expected 'put' or 'delete'");
    };
  }
}
