package io.skein.core.query;

/**
 * One key of a query's sort order. Within a key, values order as {@link JsonValues#compareForSort}
 * says (missing and null first, then false, true, numbers, strings, arrays and objects); {@code
 * descending} reverses that order for this key only.
 *
 * @param path the field to sort by
 * @param descending whether the order of this key is reversed
 */
public record SortKey(FieldPath path, boolean descending) {
  /** Returns an ascending key on the field. */
  public static SortKey ascending(FieldPath path) {
    return new SortKey(path, false);
  }

  /** Returns a descending key on the field. */
  public static SortKey descending(FieldPath path) {
    return new SortKey(path, true);
  }
}
