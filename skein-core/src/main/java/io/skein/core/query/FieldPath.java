package io.skein.core.query;

import java.util.List;
import java.util.regex.Pattern;

/**
 * A dotted path into nested JSON objects, such as {@code address.city}: 1 to {@value #SEGMENTS_MAX}
 * segments, each 1 to {@value #SEGMENT_CHARS_MAX} characters from {@code [A-Za-z0-9_-]}. Because
 * segments never contain quotes, dots or backslashes, a path can be written into SQL text as a
 * literal without escaping (see {@code SqlQueryTranslator}).
 *
 * @param segments the object keys from the outermost inwards, validated
 */
public record FieldPath(List<String> segments) {
  /** The most segments in one path. */
  public static final int SEGMENTS_MAX = 16;

  /** The longest segment, in characters. */
  public static final int SEGMENT_CHARS_MAX = 128;

  private static final Pattern SEGMENT =
      Pattern.compile("[A-Za-z0-9_-]{1," + SEGMENT_CHARS_MAX + "}");

  /**
   * Validates and copies the segments.
   *
   * @throws InvalidQueryException with code {@code invalid_field} if there are no segments, more
   *     than {@value #SEGMENTS_MAX}, or a segment does not match {@code [A-Za-z0-9_-]{1,128}}
   */
  public FieldPath {
    segments = List.copyOf(segments);
    String text = String.join(".", segments);
    if (text.isEmpty()) {
      throw invalid(text, "it is empty");
    }
    if (segments.size() > SEGMENTS_MAX) {
      throw invalid(text, "it has more than " + SEGMENTS_MAX + " segments");
    }
    for (String segment : segments) {
      if (!SEGMENT.matcher(segment).matches()) {
        throw invalid(
            text,
            "each dot-separated segment must be 1 to "
                + SEGMENT_CHARS_MAX
                + " characters from [A-Za-z0-9_-], and '"
                + abbreviate(segment)
                + "' is not");
      }
    }
  }

  /**
   * Parses a dotted path such as {@code a.b.c}.
   *
   * @throws InvalidQueryException with code {@code invalid_field} if the path breaks the rules
   */
  public static FieldPath parse(String dotted) {
    // The limit -1 keeps empty segments ("a..b", "a."), so that they are refused, not dropped.
    return new FieldPath(List.of(dotted.split("\\.", -1)));
  }

  /**
   * Returns this path followed by the segments of a dotted path: {@code a.b} append {@code c.d} is
   * {@code a.b.c.d}.
   *
   * @throws InvalidQueryException with code {@code invalid_field} if the result breaks the rules
   */
  public FieldPath append(String dotted) {
    List<String> joined = new java.util.ArrayList<>(segments);
    joined.addAll(parse(dotted).segments());
    return new FieldPath(joined);
  }

  private static InvalidQueryException invalid(String text, String problem) {
    return new InvalidQueryException(
        "invalid_field", "field '" + abbreviate(text) + "' is invalid: " + problem);
  }

  private static String abbreviate(String text) {
    return text.length() > 80 ? text.substring(0, 80) + "..." : text;
  }

  /** Returns the dotted form, which {@link #parse} reads back. */
  @Override
  public String toString() {
    return String.join(".", segments);
  }
}
