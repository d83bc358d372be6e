package io.skein.core.query;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * A declared index: the fields, in order, of an index that speeds up queries on them. The node
 * builds it as a SQLite expression index on the same {@code json_extract} expressions its queries
 * use.
 *
 * @param fields 1 to {@value #FIELDS_MAX} distinct paths
 */
public record IndexSpec(List<FieldPath> fields) {
  /** The most fields in one index. */
  public static final int FIELDS_MAX = 8;

  /**
   * Checks and copies the fields.
   *
   * @throws InvalidQueryException with code {@code invalid_index} if there are no fields, more than
   *     {@value #FIELDS_MAX}, or a field appears twice
   */
  public IndexSpec {
    fields = List.copyOf(fields);
    if (fields.isEmpty() || fields.size() > FIELDS_MAX) {
      throw invalid("an index needs 1 to " + FIELDS_MAX + " fields, got " + fields.size());
    }
    if (new HashSet<>(fields).size() != fields.size()) {
      throw invalid("an index lists a field twice: " + fields);
    }
  }

  /**
   * Parses an index definition, {@code {"fields": ["a.b", "c"]}}.
   *
   * @throws InvalidQueryException with code {@code invalid_index} if the body is not such an object
   *     or has other keys, or {@code invalid_field} if a path is invalid
   */
  public static IndexSpec parse(JsonNode body) {
    if (!body.isObject()) {
      throw invalid("an index definition must be a JSON object, got " + JsonValues.typeName(body));
    }
    for (Map.Entry<String, JsonNode> entry : body.properties()) {
      if (!entry.getKey().equals("fields")) {
        throw invalid("unknown index key '" + entry.getKey() + "': expected fields");
      }
    }
    JsonNode fields = body.get("fields");
    if (fields == null || !fields.isArray()) {
      throw invalid("an index definition needs \"fields\": an array of field paths");
    }
    if (fields.size() > FIELDS_MAX) {
      throw invalid("an index needs 1 to " + FIELDS_MAX + " fields, got " + fields.size());
    }
    List<FieldPath> paths = new ArrayList<>();
    for (JsonNode field : fields) {
      if (!field.isTextual()) {
        throw invalid("index fields must be strings, got " + JsonValues.typeName(field));
      }
      paths.add(FieldPath.parse(field.textValue()));
    }
    return new IndexSpec(paths);
  }

  /**
   * Returns the stable name of this index: {@code idx_} and 16 hex digits of the SHA-256 of the
   * fields written as {@code a.b,c}. The same fields in the same order always give the same name,
   * on every node and run; different field lists give different names (barring a 64-bit hash
   * collision).
   */
  public String name() {
    // ',' never occurs in a path and '.' only between segments, so the text is injective.
    String text = String.join(",", fields.stream().map(FieldPath::toString).toList());
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return "idx_" + HexFormat.of().formatHex(digest, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform provides SHA-256", e);
    }
  }

  private static InvalidQueryException invalid(String message) {
    return new InvalidQueryException("invalid_index", message);
  }
}
