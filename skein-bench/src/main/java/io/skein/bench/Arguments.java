package io.skein.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The command line of a runner: {@code --flag} switches and {@code --name value} options, each
 * checked against the names the runner knows.
 */
final class Arguments {
  private final Map<String, String> values;

  private Arguments(Map<String, String> values) {
    this.values = values;
  }

  /**
   * Parses {@code args}.
   *
   * @param flags names that take no value
   * @param options names that take one value
   * @throws IllegalArgumentException naming an unknown argument or a missing value
   */
  static Arguments parse(String[] args, Set<String> flags, Set<String> options) {
    Map<String, String> values = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (flags.contains(arg)) {
        values.put(arg, "true");
      } else if (options.contains(arg)) {
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException(arg + " needs a value");
        }
        values.put(arg, args[++i]);
      } else {
        throw new IllegalArgumentException("unknown argument '" + arg + "'");
      }
    }
    return new Arguments(values);
  }

  boolean flag(String name) {
    return values.containsKey(name);
  }

  String text(String name, String defaultValue) {
    String value = values.get(name);
    return value == null ? defaultValue : value;
  }

  /**
   * Returns a positive number of milliseconds, counts or writers.
   *
   * @throws IllegalArgumentException if the value is not a positive integer
   */
  long positive(String name, long defaultValue) {
    return atLeast(name, defaultValue, 1);
  }

  /**
   * Returns a count that may be 0.
   *
   * @throws IllegalArgumentException if the value is not a non-negative integer
   */
  long nonNegative(String name, long defaultValue) {
    return atLeast(name, defaultValue, 0);
  }

  private long atLeast(String name, long defaultValue, long min) {
    String value = values.get(name);
    if (value == null) {
      return defaultValue;
    }
    try {
      long parsed = Long.parseLong(value);
      if (parsed < min) {
        throw new IllegalArgumentException(name + " must be >= " + min + ", was " + value);
      }
      return parsed;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + " must be an integer, was '" + value + "'", e);
    }
  }

  /**
   * Returns a comma-separated list of positive integers; an empty text is an empty list.
   *
   * @throws IllegalArgumentException if an item is not a positive integer
   */
  List<Integer> positives(String name, List<Integer> defaultValue) {
    String value = values.get(name);
    if (value == null) {
      return defaultValue;
    }
    List<Integer> parsed = new ArrayList<>();
    for (String item : words(value)) {
      try {
        int number = Integer.parseInt(item);
        if (number < 1) {
          throw new IllegalArgumentException(name + " items must be >= 1, was " + item);
        }
        parsed.add(number);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(name + " items must be integers, was '" + item + "'", e);
      }
    }
    return List.copyOf(parsed);
  }

  /** Returns a comma-separated list of words. */
  List<String> words(String name, List<String> defaultValue) {
    String value = values.get(name);
    return value == null ? defaultValue : words(value);
  }

  /**
   * Returns {@code value} as an int.
   *
   * @throws IllegalArgumentException if it is larger than {@link Integer#MAX_VALUE}
   */
  static int intOf(long value) {
    if (value > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("a count is too large: " + value);
    }
    return (int) value;
  }

  /**
   * Returns the default {@code --node-jar} of the runners that start {@code datastore-node}
   * processes: the {@code skein.nodeJar} system property, or skein-node's build output.
   */
  static String defaultNodeJar() {
    return System.getProperty("skein.nodeJar", "skein-node/target/datastore-node.jar");
  }

  /**
   * Returns {@code parse} applied to a runner's command line; if it throws {@link
   * IllegalArgumentException}, prints {@code "<runner>: <message>"} to stderr and exits with status
   * 2.
   */
  static <T> T parseOrExit(String runner, String[] args, Function<String[], T> parse) {
    try {
      return parse.apply(args);
    } catch (IllegalArgumentException e) {
      System.err.println(runner + ": " + e.getMessage());
      System.exit(2);
      throw new AssertionError("System.exit returned", e);
    }
  }

  private static List<String> words(String text) {
    return Arrays.stream(text.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
  }
}
