package io.skein.core.query;

import java.util.List;

/**
 * A parsed query: which documents ({@link #selector}), in which order ({@link #sort}, then the
 * document id ascending), which page ({@link #skip}, {@link #limit}) and which parts of each
 * document ({@link #fields}). {@link QueryParser} reads it from JSON and defines its meaning.
 *
 * @param selector which documents match
 * @param sort the sort keys, at most {@value #SORT_KEYS_MAX}, all in one direction; the document id
 *     breaks ties, in the same direction, so an empty list orders by id; documents without a sort
 *     field are left out
 * @param skip how many matching documents to pass over, at least 0
 * @param limit how many documents to return at most, 1 to {@value #LIMIT_MAX}
 * @param fields the paths to keep in each result document, at most {@value #FIELDS_MAX}; an empty
 *     list keeps the whole document
 */
public record Query(
    Selector selector, List<SortKey> sort, int skip, int limit, List<FieldPath> fields) {
  /** The {@code limit} of a query that gives none. */
  public static final int LIMIT_DEFAULT = 25;

  /** The largest {@code limit}. */
  public static final int LIMIT_MAX = 10_000;

  /** The most sort keys. */
  public static final int SORT_KEYS_MAX = 8;

  /** The most paths in {@code fields}. */
  public static final int FIELDS_MAX = 100;

  /** The most values in one {@code $in} or {@code $nin} array. */
  public static final int IN_VALUES_MAX = 1_000;

  /** The deepest nesting of objects in a selector. */
  public static final int SELECTOR_DEPTH_MAX = 32;

  /**
   * The most nodes in a parsed selector: combinators and field predicates, each {@code $in}
   * counting as one. It bounds the size of the SQL a selector becomes.
   */
  public static final int SELECTOR_NODES_MAX = 256;

  /** The most operand values in one selector, {@code $in} elements included. */
  public static final int OPERANDS_MAX = 10_000;

  /**
   * Checks the bounds and copies the lists.
   *
   * @throws InvalidQueryException with code {@code invalid_query} if {@code skip} is negative,
   *     {@code limit} is outside 1 to {@value #LIMIT_MAX}, or a list is too long
   */
  public Query {
    sort = List.copyOf(sort);
    fields = List.copyOf(fields);
    if (skip < 0) {
      throw invalid("skip must be 0 or more, got " + skip);
    }
    if (limit < 1 || limit > LIMIT_MAX) {
      throw invalid("limit must be from 1 to " + LIMIT_MAX + ", got " + limit);
    }
    if (sort.stream().map(SortKey::descending).distinct().count() > 1) {
      throw invalid("sort keys must all be ascending or all descending");
    }
    if (sort.size() > SORT_KEYS_MAX) {
      throw invalid("sort has " + sort.size() + " keys; at most " + SORT_KEYS_MAX + " are allowed");
    }
    if (fields.size() > FIELDS_MAX) {
      throw invalid(
          "fields has " + fields.size() + " paths; at most " + FIELDS_MAX + " are allowed");
    }
  }

  /** Returns the query for the selector with the defaults: by id, no skip, the default limit. */
  public static Query of(Selector selector) {
    return new Query(selector, List.of(), 0, LIMIT_DEFAULT, List.of());
  }

  private static InvalidQueryException invalid(String message) {
    return new InvalidQueryException("invalid_query", message);
  }
}
