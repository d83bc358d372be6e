package io.skein.node.http;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import org.jspecify.annotations.Nullable;

/**
 * Checks the percent-encoding (RFC 3986 §2.1) of a path or query string as sent: every {@code %}
 * starts an escape of two hex digits, and the escaped bytes decode to UTF-8. Javalin decodes query
 * parameters leniently, dropping a parameter with a bad escape and reading bytes that are not UTF-8
 * as U+FFFD, so a request could act on other parameters than the ones sent.
 */
final class PercentEncoding {
  private PercentEncoding() {}

  /**
   * Returns what is wrong with the percent-encoding of {@code raw}, or {@code null} if nothing is.
   *
   * @param raw the path or query string as sent, still encoded
   * @param where what {@code raw} is, starting the message ("the query string")
   */
  static @Nullable String problem(@Nullable String raw, String where) {
    if (raw == null || raw.isEmpty()) {
      return null;
    }
    // The bytes raw stands for, and the character of raw each byte came from.
    byte[] bytes = new byte[raw.length() * 4];
    int[] from = new int[bytes.length];
    int count = 0;
    int i = 0;
    while (i < raw.length()) {
      char c = raw.charAt(i);
      if (c == '%') {
        int high = i + 1 < raw.length() ? Character.digit(raw.charAt(i + 1), 16) : -1;
        int low = i + 2 < raw.length() ? Character.digit(raw.charAt(i + 2), 16) : -1;
        if (high < 0 || low < 0) {
          return where
              + " has a bad percent-escape at character "
              + (i + 1)
              + ": '"
              + excerpt(raw, i, 3)
              + "' (a '%' must be followed by two hex digits; '%25' stands for '%' itself)";
        }
        bytes[count] = (byte) (high * 16 + low);
        from[count++] = i;
        i += 3;
      } else {
        int codePoint = raw.codePointAt(i);
        for (byte b : Character.toString(codePoint).getBytes(StandardCharsets.UTF_8)) {
          bytes[count] = b;
          from[count++] = i;
        }
        i += Character.charCount(codePoint);
      }
    }
    CharsetDecoder decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(bytes, 0, count);
    CoderResult result = decoder.decode(in, CharBuffer.allocate(count), true);
    if (!result.isError()) {
      return null;
    }
    int first = from[in.position()];
    int last = from[Math.min(count - 1, in.position() + result.length() - 1)];
    int width = Math.max(3, last - first + (raw.charAt(last) == '%' ? 3 : 1));
    return where
        + " has percent-escapes that are not UTF-8 at character "
        + (first + 1)
        + ": '"
        + excerpt(raw, first, width)
        + "' (escaped bytes must be UTF-8, as in '%C3%A9' for U+00E9)";
  }

  private static String excerpt(String raw, int start, int width) {
    int end = Math.min(raw.length(), start + Math.min(width, 24));
    return raw.substring(start, end);
  }
}
