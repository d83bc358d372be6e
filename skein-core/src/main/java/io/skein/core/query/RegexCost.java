package io.skein.core.query;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * An upper estimate of the size of the program an RE2 pattern compiles to, counting counted
 * repetitions expanded: {@code (a{100}){100}} is about 10,000 instructions though it is 12
 * characters long. RE2 matches in time proportional to the program's size times the input's length,
 * so this bounds what one {@code $regex} can cost: the parser refuses a pattern above {@link
 * QueryParser#REGEX_PROGRAM_MAX}, and the evaluation refuses to run a program on a string whose
 * product with it passes {@link InMemoryQuery#REGEX_STEPS_MAX}.
 *
 * <p>The estimate walks the pattern once: every literal, escape, class or dot counts 1; a group
 * counts what it holds; {@code {n}}, {@code {n,}} and {@code {n,m}} multiply the atom before them
 * by {@code n}, {@code n + 1} and {@code n + 2(m - n)}. {@code \Q...\E} is literal text, and
 * escapes ({@code \p{Greek}}) and classes ({@code [[:alpha:])(]}) are single atoms, so brackets
 * inside them are not groups. The refusals in the parser do not rely on it alone: {@code
 * QueryParser} also bounds the pattern's length.
 *
 * <p>Thread-safety: stateless.
 */
public final class RegexCost {
  private RegexCost() {}

  /** Returns the estimated program size of a pattern; saturates at {@link Long#MAX_VALUE} / 2. */
  public static long programSize(String pattern) {
    Deque<long[]> groups = new ArrayDeque<>();
    long[] current = {0};
    long last = 0;
    int i = 0;
    while (i < pattern.length()) {
      char c = pattern.charAt(i);
      if (c == '\\' && pattern.startsWith("Q", i + 1)) {
        // \Q...\E: every character up to \E (or the end) is a literal.
        int end = pattern.indexOf("\\E", i + 2);
        int stop = end < 0 ? pattern.length() : end;
        current[0] = add(current[0], Math.max(1, stop - (i + 2)));
        last = 1;
        i = end < 0 ? pattern.length() : end + 2;
      } else if (c == '\\') {
        last = 1;
        current[0] = add(current[0], 1);
        i = escapeEnd(pattern, i);
      } else if (c == '[') {
        i = classEnd(pattern, i);
        last = 1;
        current[0] = add(current[0], 1);
      } else if (c == '(') {
        groups.push(current);
        current = new long[] {0};
        i++;
      } else if (c == ')') {
        last = Math.max(1, current[0]);
        current = groups.isEmpty() ? current : groups.pop();
        current[0] = add(current[0], last);
        i++;
      } else if (c == '{' && repetitionEnd(pattern, i) > 0) {
        int end = repetitionEnd(pattern, i);
        long bound = bound(pattern.substring(i + 1, end));
        current[0] = add(current[0], multiply(last, bound - 1));
        last = multiply(last, bound);
        i = end + 1;
      } else {
        last = c == '|' || c == '*' || c == '+' || c == '?' ? last : 1;
        current[0] = add(current[0], 1);
        i++;
      }
    }
    while (!groups.isEmpty()) {
      long[] outer = groups.pop();
      outer[0] = add(outer[0], current[0]);
      current = outer;
    }
    return current[0];
  }

  /**
   * Returns the index just after the escape at {@code start}: two characters, or for {@code \p},
   * {@code \P} and {@code \x} followed by a brace, up to the closing brace.
   */
  private static int escapeEnd(String pattern, int start) {
    if (start + 2 < pattern.length()
        && "pPx".indexOf(pattern.charAt(start + 1)) >= 0
        && pattern.charAt(start + 2) == '{') {
      int close = pattern.indexOf('}', start + 3);
      return close < 0 ? pattern.length() : close + 1;
    }
    return start + 2;
  }

  /**
   * Returns the index just after the class that starts at {@code start}, skipping escapes and POSIX
   * classes such as {@code [:alpha:]} inside it.
   */
  private static int classEnd(String pattern, int start) {
    int i = start + 1;
    if (i < pattern.length() && pattern.charAt(i) == '^') {
      i++;
    }
    if (i < pattern.length() && pattern.charAt(i) == ']') {
      i++;
    }
    while (i < pattern.length() && pattern.charAt(i) != ']') {
      if (pattern.charAt(i) == '\\') {
        i = escapeEnd(pattern, i);
      } else if (pattern.startsWith("[:", i) && pattern.indexOf(":]", i + 2) > 0) {
        i = pattern.indexOf(":]", i + 2) + 2;
      } else {
        i++;
      }
    }
    return i + 1;
  }

  /** Returns the index of the {@code }} closing a repetition at {@code start}, or -1. */
  private static int repetitionEnd(String pattern, int start) {
    int end = pattern.indexOf('}', start);
    if (end < 0) {
      return -1;
    }
    String inside = pattern.substring(start + 1, end);
    return inside.matches("[0-9]{1,9}(,[0-9]{0,9})?") ? end : -1;
  }

  private static long bound(String inside) {
    int comma = inside.indexOf(',');
    if (comma < 0) {
      return Long.parseLong(inside);
    }
    long low = Long.parseLong(inside.substring(0, comma));
    String high = inside.substring(comma + 1);
    // RE2 compiles x{n,m} as n copies and m - n nested optional ones, each about twice the size.
    return high.isEmpty() ? low + 1 : low + 2 * Math.max(0, Long.parseLong(high) - low);
  }

  private static final long CAP = Long.MAX_VALUE / 2;

  private static long add(long a, long b) {
    return Math.min(CAP, a + b);
  }

  private static long multiply(long a, long b) {
    if (a == 0 || b == 0) {
      return 0;
    }
    return a > CAP / b ? CAP : a * b;
  }
}
