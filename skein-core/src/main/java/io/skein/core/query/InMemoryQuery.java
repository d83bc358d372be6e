package io.skein.core.query;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.skein.core.query.Selector.And;
import io.skein.core.query.Selector.Compare;
import io.skein.core.query.Selector.Exists;
import io.skein.core.query.Selector.In;
import io.skein.core.query.Selector.Not;
import io.skein.core.query.Selector.Or;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The reference evaluation of queries: the rules of {@link QueryParser} written as plainly as
 * possible, over documents held in memory. The SQLite translation is tested against it, and
 * production code uses {@link #project} for {@code fields}.
 *
 * <p>Thread-safety: stateless; every method may be called from any thread, provided the documents
 * are not modified meanwhile.
 */
public final class InMemoryQuery {
  private InMemoryQuery() {}

  /**
   * Returns the value at a path in a document, or {@code null} when the field is missing: a segment
   * is absent, or its parent is not an object. A JSON null is returned as a null node.
   */
  public static @Nullable JsonNode resolve(JsonNode document, FieldPath path) {
    JsonNode current = document;
    for (String segment : path.segments()) {
      if (!current.isObject()) {
        return null;
      }
      JsonNode child = current.get(segment);
      if (child == null) {
        return null;
      }
      current = child;
    }
    return current;
  }

  /** Returns whether the document matches the selector, as {@link QueryParser} defines it. */
  public static boolean matches(Selector selector, JsonNode document) {
    return switch (selector) {
      case And and -> and.operands().stream().allMatch(operand -> matches(operand, document));
      case Or or -> or.operands().stream().anyMatch(operand -> matches(operand, document));
      case Not not -> !matches(not.operand(), document);
      case Compare compare -> compare(compare, resolve(document, compare.path()));
      case In in -> in(in, resolve(document, in.path()));
      case Exists exists -> resolve(document, exists.path()) != null;
    };
  }

  private static boolean compare(Compare compare, @Nullable JsonNode field) {
    JsonNode value = compare.value();
    if (field == null || JsonValues.typeClass(field) != JsonValues.typeClass(value)) {
      return false;
    }
    if (!compare.operator().isOrdering()) {
      return JsonValues.equal(field, value);
    }
    int order =
        value.isNumber()
            ? JsonValues.compareNumbers(field, value)
            : JsonValues.compareStrings(field.textValue(), value.textValue());
    return switch (compare.operator()) {
      case GT -> order > 0;
      case GTE -> order >= 0;
      case LT -> order < 0;
      case LTE -> order <= 0;
      case EQ -> throw new AssertionError("EQ is not an ordering operator");
    };
  }

  private static boolean in(In in, @Nullable JsonNode field) {
    return field != null && in.values().stream().anyMatch(value -> JsonValues.equal(field, value));
  }

  /**
   * Returns the order of one sort key over documents: {@link JsonValues#compareForSort} on the
   * key's field, reversed when the key is descending. It does not break ties.
   */
  public static Comparator<JsonNode> keyOrder(SortKey key) {
    Comparator<JsonNode> ascending =
        (left, right) ->
            JsonValues.compareForSort(resolve(left, key.path()), resolve(right, key.path()));
    return key.descending() ? ascending.reversed() : ascending;
  }

  /**
   * Returns the result order of a query over (id, document) entries: the sort keys in turn, then
   * the id ascending by code point. It is a total order over entries with distinct ids.
   */
  public static Comparator<Map.Entry<String, JsonNode>> resultOrder(List<SortKey> sort) {
    Comparator<Map.Entry<String, JsonNode>> order =
        Map.Entry.comparingByKey(JsonValues::compareStrings);
    for (SortKey key : sort.reversed()) {
      // Built from the last key outwards, so that each key only breaks the ties of the one before.
      order = Map.Entry.<String, JsonNode>comparingByValue(keyOrder(key)).thenComparing(order);
    }
    return order;
  }

  /**
   * Runs a query over documents: the ids of the matching documents in result order, after {@code
   * skip} and {@code limit}. It does not apply {@code fields}.
   *
   * @param documentsById the live documents of one collection, by id
   */
  public static List<String> run(Query query, Map<String, JsonNode> documentsById) {
    return documentsById.entrySet().stream()
        .filter(entry -> matches(query.selector(), entry.getValue()))
        .sorted(resultOrder(query.sort()))
        .skip(query.skip())
        .limit(query.limit())
        .map(Map.Entry::getKey)
        .toList();
  }

  /**
   * Returns a new object that keeps only the given paths of the document, with their nesting: the
   * fields {@code ["a.b"]} of {@code {"a":{"b":1,"c":2},"d":3}} give {@code {"a":{"b":1}}}. Missing
   * paths are left out; overlapping paths give their union. Keys appear in the order of {@code
   * fields}. An empty {@code fields} returns a copy of the whole document.
   *
   * @throws IllegalArgumentException if {@code fields} is empty and the document is not an object
   */
  public static ObjectNode project(JsonNode document, List<FieldPath> fields) {
    if (fields.isEmpty()) {
      if (!document.isObject()) {
        throw new IllegalArgumentException("a document must be an object");
      }
      return ((ObjectNode) document).deepCopy();
    }
    ObjectNode result = JsonNodeFactory.instance.objectNode();
    for (FieldPath path : fields) {
      JsonNode value = resolve(document, path);
      if (value != null) {
        put(result, path.segments(), value);
      }
    }
    return result;
  }

  private static void put(ObjectNode target, List<String> segments, JsonNode value) {
    ObjectNode parent = target;
    for (String segment : segments.subList(0, segments.size() - 1)) {
      // Every parent on a resolved path is an object in the source, so what is already here is
      // either a partial projection of it or a full copy of it: descending keeps both right.
      JsonNode child = parent.get(segment);
      parent = child instanceof ObjectNode object ? object : parent.putObject(segment);
    }
    // A full copy replaces a partial projection of the same value, which it contains.
    parent.set(segments.get(segments.size() - 1), value.deepCopy());
  }
}
