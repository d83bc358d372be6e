package io.skein.core.query;

/**
 * One key of a query's sort order. Within a key, values order by {@link Collation}; a query's keys
 * all have one direction, and {@code descending} reverses the whole order, ties by id included. A
 * document without the field is left out of a sorted result.
 *
 * @param path the field to sort by
 * @param descending whether the order is reversed
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
