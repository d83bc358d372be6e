package io.skein.core.model;

import java.nio.charset.StandardCharsets;

/**
 * The id of a document within its collection: 1 to {@value #BYTES_MAX} bytes of UTF-8, with no
 * control characters and no {@code /}, and neither {@code .} nor {@code ..} (so an id is always a
 * single URL path segment). Ids compare by Unicode code point, which is the byte order of SQLite's
 * default collation over UTF-8.
 *
 * @param value the id, validated
 */
public record DocumentId(String value) implements Comparable<DocumentId> {
  /** The longest id, in bytes of UTF-8. */
  public static final int BYTES_MAX = 512;

  /**
   * Validates the id.
   *
   * @throws InvalidNameException if the id is empty, too long, or has a forbidden character
   */
  public DocumentId {
    String problem = problem(value);
    if (problem != null) {
      throw new InvalidNameException(
          "invalid_document_id",
          "document id '" + NodeId.abbreviate(value) + "' is invalid: " + problem);
    }
  }

  /**
   * Returns the document id for the given text.
   *
   * @throws InvalidNameException if the text is not a valid id
   */
  public static DocumentId of(String value) {
    return new DocumentId(value);
  }

  private static @org.jspecify.annotations.Nullable String problem(String value) {
    if (value.isEmpty()) {
      return "it is empty";
    }
    if (value.equals(".") || value.equals("..")) {
      return "'.' and '..' are not ids";
    }
    if (value.getBytes(StandardCharsets.UTF_8).length > BYTES_MAX) {
      return "it is longer than " + BYTES_MAX + " bytes of UTF-8";
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '/') {
        return "it contains '/'";
      }
      if (Character.isISOControl(c)) {
        return "it contains a control character at index " + i;
      }
    }
    int surrogate = UnicodeText.unpairedSurrogateIndex(value);
    return surrogate < 0 ? null : "it contains an unpaired surrogate at index " + surrogate;
  }

  @Override
  public int compareTo(DocumentId other) {
    return compareCodePoints(value, other.value);
  }

  /** Compares two strings by Unicode code point (the order of their UTF-8 bytes). */
  public static int compareCodePoints(String left, String right) {
    int i = 0;
    int j = 0;
    while (i < left.length() && j < right.length()) {
      int a = left.codePointAt(i);
      int b = right.codePointAt(j);
      if (a != b) {
        return Integer.compare(a, b);
      }
      i += Character.charCount(a);
      j += Character.charCount(b);
    }
    return Integer.compare(left.length() - i, right.length() - j);
  }

  @Override
  public String toString() {
    return value;
  }
}
