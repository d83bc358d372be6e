package io.skein.core.query;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.skein.core.query.Selector.All;
import io.skein.core.query.Selector.AllMatch;
import io.skein.core.query.Selector.And;
import io.skein.core.query.Selector.BeginsWith;
import io.skein.core.query.Selector.Compare;
import io.skein.core.query.Selector.Condition;
import io.skein.core.query.Selector.ElemMatch;
import io.skein.core.query.Selector.Exists;
import io.skein.core.query.Selector.Field;
import io.skein.core.query.Selector.In;
import io.skein.core.query.Selector.KeyMapMatch;
import io.skein.core.query.Selector.Mod;
import io.skein.core.query.Selector.Or;
import io.skein.core.query.Selector.Regex;
import io.skein.core.query.Selector.Size;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The evaluation of queries, as {@link QueryParser} defines them: CouchDB's {@code
 * mango_selector:match} over documents held in memory. The SQLite store evaluates every candidate
 * row with {@link #matches} and orders with {@link #resultOrder}, so this is the one definition of
 * a query's result; production code also uses {@link #project} for {@code fields}.
 *
 * <p>Thread-safety: stateless; every method may be called from any thread, provided the documents
 * are not modified meanwhile.
 */
public final class InMemoryQuery {
  private InMemoryQuery() {}

  /**
   * The most work one {@code $regex} may do on one string: its estimated program size times the
   * string's length. RE2/J runs some 30 million of these steps a second.
   */
  public static final long REGEX_STEPS_MAX = 10_000_000;

  /** The path segment that names the document id at the top of a document. */
  public static final String ID_FIELD = "_id";

  /**
   * Returns the value at a path, or {@code null} when the field is missing, as CouchDB's {@code
   * mango_doc:get_field}: a segment reads an object's key, or on an array the element at a decimal
   * index; anything else is missing. A JSON null is returned as a null node.
   *
   * @param id the document id, which {@code _id} at the top reads; {@code null} inside an element
   */
  public static @Nullable JsonNode resolve(
      JsonNode value, @Nullable FieldPath path, @Nullable String id) {
    if (path == null) {
      return value;
    }
    List<String> segments = path.segments();
    JsonNode current = value;
    int start = 0;
    if (id != null && segments.get(0).equals(ID_FIELD)) {
      current = TextNode.valueOf(id);
      start = 1;
    }
    for (int i = start; i < segments.size(); i++) {
      String segment = segments.get(i);
      JsonNode child;
      if (current.isObject()) {
        child = current.get(segment);
      } else if (current.isArray()) {
        int index = arrayIndex(segment);
        child = index >= 0 && index < current.size() ? current.get(index) : null;
      } else {
        child = null;
      }
      if (child == null) {
        return null;
      }
      current = child;
    }
    return current;
  }

  private static boolean isId(@Nullable FieldPath path) {
    return path != null && path.segments().size() == 1 && path.segments().get(0).equals(ID_FIELD);
  }

  /** Returns the element index a segment names (decimal digits), or -1. */
  private static int arrayIndex(String segment) {
    if (segment.length() > 9) {
      // More than an array can hold; also keeps parseInt from overflowing.
      return segment.chars().allMatch(c -> c >= '0' && c <= '9') ? Integer.MAX_VALUE : -1;
    }
    for (int i = 0; i < segment.length(); i++) {
      char c = segment.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
    }
    return Integer.parseInt(segment);
  }

  /**
   * Returns whether the document matches the selector.
   *
   * @param id the document id, for {@code _id}
   */
  public static boolean matches(Selector selector, JsonNode document, @Nullable String id) {
    return matches(selector, document, id, WorkBudget.UNLIMITED);
  }

  /**
   * Returns whether the document matches the selector, charging {@code budget} for the work that
   * grows with the document before doing it.
   *
   * @param id the document id, for {@code _id}
   */
  public static boolean matches(
      Selector selector, JsonNode document, @Nullable String id, WorkBudget budget) {
    return switch (selector) {
      case And and -> {
        for (Selector operand : and.operands()) {
          if (!matches(operand, document, id, budget)) {
            yield false;
          }
        }
        yield true;
      }
      case Or or -> {
        if (or.operands().isEmpty()) {
          yield true; // CouchDB 3.4 and later: an empty $or is always true.
        }
        for (Selector operand : or.operands()) {
          if (matches(operand, document, id, budget)) {
            yield true;
          }
        }
        yield false;
      }
      case Field field -> {
        if (id != null
            && isId(field.path())
            && field.condition() instanceof Compare compare
            && !compare.value().isTextual()) {
          // CouchDB compares _id in Erlang's raw term order, where a string is above every
          // other JSON value (mango_json:cmp_raw), not by the view collation.
          yield compare.operator().holds(1);
        }
        JsonNode value = resolve(document, field.path(), id);
        yield value == null
            ? field.condition() instanceof Exists exists && !exists.present()
            : holds(field.condition(), value, budget);
      }
    };
  }

  /** Returns whether a condition holds for the value of a present field. */
  static boolean holds(Condition condition, JsonNode value, WorkBudget budget) {
    if (value.isContainerNode()) {
      budget.charge(value.size());
    }
    return switch (condition) {
      case Compare compare -> compare.operator().holds(Collation.compare(value, compare.value()));
      case In in -> in(in.set(), value, budget) != in.negated();
      case Exists exists -> exists.present();
      case Selector.Type type -> Collation.type(value).equals(type.type());
      case Size size -> value.isArray() && value.size() == size.size();
      case Mod mod -> mod(mod, value);
      case Regex regex -> value.isTextual() && regex(regex, value.textValue(), budget);
      case BeginsWith begins -> value.isTextual() && value.textValue().startsWith(begins.prefix());
      case All all -> all(all, value, budget);
      case ElemMatch elemMatch -> {
        if (value.isArray()) {
          for (JsonNode element : value) {
            if (matches(elemMatch.selector(), element, null, budget)) {
              yield true;
            }
          }
        }
        yield false;
      }
      case AllMatch allMatch -> {
        if (!value.isArray() || value.isEmpty()) {
          yield false;
        }
        for (JsonNode element : value) {
          if (!matches(allMatch.selector(), element, null, budget)) {
            yield false;
          }
        }
        yield true;
      }
      case KeyMapMatch keyMapMatch -> {
        if (value.isObject()) {
          for (Iterator<String> keys = value.fieldNames(); keys.hasNext(); ) {
            if (matches(keyMapMatch.selector(), TextNode.valueOf(keys.next()), null, budget)) {
              yield true;
            }
          }
        }
        yield false;
      }
      case Selector.Not not -> !holds(not.condition(), value, budget);
    };
  }

  private static boolean in(ValueSet values, JsonNode field, WorkBudget budget) {
    // Each lookup compares with every array or object operand.
    budget.charge((long) (field.isArray() ? field.size() : 1) * values.containerCount());
    if (!field.isArray()) {
      return values.contains(field);
    }
    for (JsonNode element : field) {
      if (values.contains(element)) {
        return true;
      }
    }
    return false;
  }

  private static boolean all(All all, JsonNode field, WorkBudget budget) {
    List<JsonNode> values = all.values();
    if (!field.isArray() || values.isEmpty()) {
      return false; // CouchDB: {"$all": []} is defined to be false.
    }
    if (values.size() == 1 && values.get(0).isArray() && Collation.equal(values.get(0), field)) {
      return true;
    }
    budget.charge((long) values.size() * (1 + field.size() / 64));
    List<JsonNode> elements = new ArrayList<>(field.size());
    field.forEach(elements::add);
    ValueSet present = ValueSet.of(elements);
    for (JsonNode value : values) {
      if (!present.contains(value)) {
        return false;
      }
    }
    return true;
  }

  private static boolean regex(Regex regex, String text, WorkBudget budget) {
    long steps = regex.programSize() * (long) text.length();
    if (steps > REGEX_STEPS_MAX) {
      throw new InvalidQueryException(
          "invalid_selector",
          "the $regex '"
              + (regex.source().length() > 40
                  ? regex.source().substring(0, 40) + "..."
                  : regex.source())
              + "' is too costly for a string of "
              + text.length()
              + " characters: about "
              + regex.programSize()
              + " instructions each (at most "
              + REGEX_STEPS_MAX
              + " steps per string); simplify the pattern or narrow the query first");
    }
    budget.charge(steps);
    return regex.pattern().matcher(text).find();
  }

  private static boolean mod(Mod mod, JsonNode field) {
    if (!field.isIntegralNumber()) {
      return false;
    }
    if (field.canConvertToLong()) {
      // Java's % keeps the dividend's sign, as Erlang's rem does.
      return field.longValue() % mod.divisor() == mod.remainder();
    }
    BigInteger remainder = field.bigIntegerValue().remainder(BigInteger.valueOf(mod.divisor()));
    return remainder.equals(BigInteger.valueOf(mod.remainder()));
  }

  /**
   * Returns the values of the sort keys of a document, or {@code null} if one is missing (such a
   * document is left out of a sorted result, as CouchDB's indexes leave it out).
   */
  public static @Nullable List<JsonNode> sortValues(
      List<SortKey> sort, JsonNode document, String id) {
    List<JsonNode> values = new ArrayList<>(sort.size());
    for (SortKey key : sort) {
      JsonNode value = resolve(document, key.path(), id);
      if (value == null) {
        return null;
      }
      values.add(value);
    }
    return values;
  }

  /**
   * Returns the result order over (sort values, id) pairs: the values of the keys by {@link
   * Collation}, then the id by code point; all reversed when the keys are descending.
   */
  public static Comparator<Map.Entry<List<JsonNode>, String>> resultOrder(List<SortKey> sort) {
    Comparator<Map.Entry<List<JsonNode>, String>> ascending =
        (left, right) -> {
          List<JsonNode> a = left.getKey();
          List<JsonNode> b = right.getKey();
          for (int i = 0; i < a.size(); i++) {
            int order = Collation.compare(a.get(i), b.get(i));
            if (order != 0) {
              return order;
            }
          }
          return JsonValues.compareStrings(left.getValue(), right.getValue());
        };
    boolean descending = !sort.isEmpty() && sort.get(0).descending();
    return descending ? ascending.reversed() : ascending;
  }

  /**
   * Runs a query over documents: the ids of the matching documents in result order, after {@code
   * skip} and {@code limit}. It does not apply {@code fields}.
   *
   * @param documentsById the live documents of one collection, by id
   */
  public static List<String> run(Query query, Map<String, JsonNode> documentsById) {
    List<Map.Entry<List<JsonNode>, String>> hits = new ArrayList<>();
    for (Map.Entry<String, JsonNode> entry : documentsById.entrySet()) {
      if (matches(query.selector(), entry.getValue(), entry.getKey())) {
        List<JsonNode> values = sortValues(query.sort(), entry.getValue(), entry.getKey());
        if (values != null) {
          hits.add(Map.entry(values, entry.getKey()));
        }
      }
    }
    return hits.stream()
        .sorted(resultOrder(query.sort()))
        .skip(query.skip())
        .limit(query.limit())
        .map(Map.Entry::getValue)
        .toList();
  }

  /**
   * Returns a new object that keeps only the given paths of the document, with their nesting, as
   * CouchDB's {@code mango_fields:extract}: the fields {@code ["a.b"]} of {@code
   * {"a":{"b":1,"c":2},"d":3}} give {@code {"a":{"b":1}}}; {@code _id} gives the id; a path through
   * an array element is kept under an object key ({@code "t.0"} gives {@code {"t":{"0":...}}}).
   * Missing paths are left out; overlapping paths give their union. Keys appear in the order of
   * {@code fields}. An empty {@code fields} returns a copy of the whole document.
   *
   * @throws IllegalArgumentException if {@code fields} is empty and the document is not an object
   */
  public static ObjectNode project(JsonNode document, String id, List<FieldPath> fields) {
    if (fields.isEmpty()) {
      if (!document.isObject()) {
        throw new IllegalArgumentException("a document must be an object");
      }
      return ((ObjectNode) document).deepCopy();
    }
    ObjectNode result = JsonNodeFactory.instance.objectNode();
    for (FieldPath path : fields) {
      JsonNode value = resolve(document, path, id);
      if (value != null) {
        put(result, path.segments(), value);
      }
    }
    return result;
  }

  private static void put(ObjectNode target, List<String> segments, JsonNode value) {
    ObjectNode parent = target;
    for (String segment : segments.subList(0, segments.size() - 1)) {
      // What is already here is either a partial projection of the value on the path or a full
      // copy of it: descending keeps both right.
      JsonNode child = parent.get(segment);
      if (child != null && !(child instanceof ObjectNode)) {
        return; // A full copy of an array or scalar on the path already holds this value.
      }
      parent = child instanceof ObjectNode object ? object : parent.putObject(segment);
    }
    // A full copy replaces a partial projection of the same value, which it contains.
    parent.set(segments.get(segments.size() - 1), value.deepCopy());
  }
}
