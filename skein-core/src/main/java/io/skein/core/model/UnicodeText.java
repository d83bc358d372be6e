package io.skein.core.model;

/**
 * Checks on Java strings that must cross into UTF-8 unchanged. A Java string is UTF-16 and may hold
 * a surrogate that is not part of a pair (JSON lets a client write one as {@code "\ud800"}); UTF-8
 * has no encoding for it, so the JDK and SQLite would silently store {@code ?} instead. Every text
 * that Skein stores or compares is checked with {@link #unpairedSurrogateIndex} first.
 */
public final class UnicodeText {
  private UnicodeText() {}

  /** Returns the index of the first unpaired surrogate in {@code text}, or -1 if there is none. */
  public static int unpairedSurrogateIndex(String text) {
    int i = 0;
    while (i < text.length()) {
      char c = text.charAt(i);
      if (Character.isSurrogate(c)) {
        boolean paired =
            Character.isHighSurrogate(c)
                && i + 1 < text.length()
                && Character.isLowSurrogate(text.charAt(i + 1));
        if (!paired) {
          return i;
        }
        i++;
      }
      i++;
    }
    return -1;
  }

  /** Returns a surrogate as its JSON escape, such as {@code \ud800}, for messages. */
  public static String escape(char c) {
    return String.format(java.util.Locale.ROOT, "\\u%04x", (int) c);
  }
}
