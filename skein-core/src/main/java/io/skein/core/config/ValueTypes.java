package io.skein.core.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The standard value types. Numbers and booleans are accepted as JSON values (config files) and as
 * text (flags, variables). Durations are seconds when given as a bare number, as the seed's flags
 * are ({@code --sync-interval 2.0}), or carry a unit ({@code 500ms}, {@code 2s}, {@code 5m}, {@code
 * 1h}, {@code 7d}). Byte sizes are bytes, or carry {@code KiB}, {@code MiB} or {@code GiB}.
 */
public final class ValueTypes {
  private ValueTypes() {}

  private static final Pattern DURATION =
      Pattern.compile("([0-9]+(?:\\.[0-9]+)?)\\s*(ms|s|m|h|d)?", Pattern.CASE_INSENSITIVE);
  private static final Pattern BYTES =
      Pattern.compile("([0-9]+)\\s*(B|KiB|MiB|GiB)?", Pattern.CASE_INSENSITIVE);

  /** An integer from {@code min} to {@code max}. */
  public static ValueType<Integer> integer(int min, int max) {
    return new ValueType<>() {
      @Override
      public String description() {
        return "an integer from " + min + " to " + max;
      }

      @Override
      public Integer parse(JsonNode raw, Context context) throws InvalidValueException {
        long value = wholeNumber(raw, description());
        if (value < min || value > max) {
          throw new InvalidValueException("expected " + description() + ", got " + value);
        }
        return (int) value;
      }

      @Override
      public JsonNode toJson(Integer value) {
        return IntNode.valueOf(value);
      }
    };
  }

  /** A number of requests, bytes or other things per second, from {@code min} to {@code max}. */
  public static ValueType<Double> decimal(double min, double max) {
    return new ValueType<>() {
      @Override
      public String description() {
        return "a number from " + plain(min) + " to " + plain(max);
      }

      @Override
      public boolean measured() {
        return true;
      }

      @Override
      public Double parse(JsonNode raw, Context context) throws InvalidValueException {
        double value = number(raw, description()).doubleValue();
        if (!(value >= min && value <= max)) {
          throw new InvalidValueException("expected " + description() + ", got " + plain(value));
        }
        return value;
      }

      @Override
      public JsonNode toJson(Double value) {
        return JsonNodeFactory.instance.numberNode(new BigDecimal(plain(value)));
      }
    };
  }

  /** {@code true} or {@code false}. */
  public static ValueType<Boolean> bool() {
    return new ValueType<>() {
      @Override
      public String description() {
        return "true or false";
      }

      @Override
      public Boolean parse(JsonNode raw, Context context) throws InvalidValueException {
        if (raw.isBoolean()) {
          return raw.booleanValue();
        }
        if (raw.isTextual()) {
          switch (raw.asText().strip().toLowerCase(Locale.ROOT)) {
            case "true" -> {
              return true;
            }
            case "false" -> {
              return false;
            }
            default -> {}
          }
        }
        throw new InvalidValueException("expected true or false, got " + shown(raw));
      }

      @Override
      public JsonNode toJson(Boolean value) {
        return BooleanNode.valueOf(value);
      }
    };
  }

  /**
   * A duration from {@code min} to {@code max}; a bare number is seconds.
   *
   * @param allowZero whether {@code 0} is accepted below {@code min} (it usually means "off")
   */
  public static ValueType<Duration> duration(Duration min, Duration max, boolean allowZero) {
    return new ValueType<>() {
      @Override
      public String description() {
        return "a duration from "
            + format(min)
            + " to "
            + format(max)
            + (allowZero ? ", or 0" : "")
            + " (seconds, or with a unit: 500ms, 2s, 5m, 1h, 7d)";
      }

      @Override
      public boolean measured() {
        return true;
      }

      @Override
      public Duration parse(JsonNode raw, Context context) throws InvalidValueException {
        Duration value = parseDuration(raw, description());
        if (value.isZero() && allowZero) {
          return value;
        }
        if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
          throw new InvalidValueException("expected " + description() + ", got " + format(value));
        }
        return value;
      }

      @Override
      public JsonNode toJson(Duration value) {
        return TextNode.valueOf(format(value));
      }
    };
  }

  /** A size in bytes from {@code min} to {@code max}; {@code KiB}, {@code MiB}, {@code GiB}. */
  public static ValueType<Long> bytes(long min, long max) {
    return new ValueType<>() {
      @Override
      public String description() {
        return "a size from " + formatBytes(min) + " to " + formatBytes(max);
      }

      @Override
      public boolean measured() {
        return true;
      }

      @Override
      public Long parse(JsonNode raw, Context context) throws InvalidValueException {
        long value = parseBytes(raw, description());
        if (value < min || value > max) {
          throw new InvalidValueException(
              "expected " + description() + ", got " + formatBytes(value));
        }
        return value;
      }

      @Override
      public JsonNode toJson(Long value) {
        return LongNode.valueOf(value);
      }
    };
  }

  /** One of a fixed set of lower-case words. */
  public static ValueType<String> oneOf(String... choices) {
    List<String> accepted = List.of(choices);
    return new ValueType<>() {
      @Override
      public String description() {
        return "one of " + String.join(", ", accepted);
      }

      @Override
      public String parse(JsonNode raw, Context context) throws InvalidValueException {
        if (raw.isTextual() && accepted.contains(raw.asText())) {
          return raw.asText();
        }
        throw new InvalidValueException("expected " + description() + ", got " + shown(raw));
      }

      @Override
      public JsonNode toJson(String value) {
        return TextNode.valueOf(value);
      }
    };
  }

  /**
   * Text that matches {@code valid}.
   *
   * @param description what valid text looks like, for errors
   */
  public static ValueType<String> text(String description, Predicate<String> valid) {
    return new ValueType<>() {
      @Override
      public String description() {
        return description;
      }

      @Override
      public String parse(JsonNode raw, Context context) throws InvalidValueException {
        // Integral numbers are text too: `node-id: 2` in YAML means the id "2".
        String text = raw.isTextual() ? raw.asText() : raw.isIntegralNumber() ? raw.asText() : null;
        if (text == null || !valid.test(text)) {
          throw new InvalidValueException("expected " + description + ", got " + shown(raw));
        }
        return text;
      }

      @Override
      public JsonNode toJson(String value) {
        return TextNode.valueOf(value);
      }
    };
  }

  /**
   * A list of words: a JSON array of strings, or comma-separated text. Each must match {@code
   * valid}; an empty list is allowed.
   */
  public static ValueType<List<String>> words(String description, Predicate<String> valid) {
    return new ValueType<>() {
      @Override
      public String description() {
        return description;
      }

      @Override
      public List<String> parse(JsonNode raw, Context context) throws InvalidValueException {
        List<String> words = new ArrayList<>();
        if (raw.isArray()) {
          for (JsonNode item : raw) {
            if (!item.isTextual()) {
              throw new InvalidValueException("expected " + description + ", got " + shown(raw));
            }
            words.add(item.asText().strip());
          }
        } else if (raw.isTextual()) {
          for (String part : raw.asText().split(",", -1)) {
            if (!part.isBlank() || raw.asText().contains(",")) {
              words.add(part.strip());
            }
          }
        } else {
          throw new InvalidValueException("expected " + description + ", got " + shown(raw));
        }
        for (String word : words) {
          if (!valid.test(word)) {
            throw new InvalidValueException(
                "expected " + description + "; '" + word + "' is not valid");
          }
        }
        return List.copyOf(words);
      }

      @Override
      public JsonNode toJson(List<String> value) {
        ArrayNode array = JsonNodeFactory.instance.arrayNode();
        value.forEach(array::add);
        return array;
      }

      @Override
      public String display(List<String> value) {
        return String.join(",", value);
      }
    };
  }

  /**
   * A secret: a {@code ${ENV_NAME}} reference, resolved when the configuration is resolved, or a
   * literal of at least {@code minLength} characters. Its JSON form is always {@code [REDACTED]}.
   */
  public static ValueType<Secret> secret(int minLength) {
    return new ValueType<>() {
      @Override
      public String description() {
        return "${ENV_NAME}, or a literal of at least " + minLength + " characters";
      }

      @Override
      public Secret parse(JsonNode raw, Context context) throws InvalidValueException {
        if (!raw.isTextual()) {
          throw new InvalidValueException("expected " + description() + " (a string)");
        }
        String text = raw.asText();
        if (text.startsWith("${") && text.endsWith("}")) {
          String name = text.substring(2, text.length() - 1);
          String resolved = context.variable(name);
          if (resolved == null || resolved.isEmpty()) {
            throw new InvalidValueException(
                "it refers to environment variable " + name + ", which is not set");
          }
          return new Secret(resolved);
        }
        if (text.length() < minLength) {
          throw new InvalidValueException("it must be at least " + minLength + " characters");
        }
        return new Secret(text);
      }

      @Override
      public JsonNode toJson(Secret value) {
        return TextNode.valueOf(Secret.REDACTED);
      }
    };
  }

  /** Formats a duration the way the parser reads it back: {@code 500ms}, {@code 2s}. */
  public static String format(Duration value) {
    long ms = value.toMillis();
    return ms % 1000 == 0 ? (ms / 1000) + "s" : ms + "ms";
  }

  /** Formats a byte size the way the parser reads it back: {@code 8MiB}, {@code 1000}. */
  public static String formatBytes(long value) {
    if (value != 0 && value % (1L << 30) == 0) {
      return (value >> 30) + "GiB";
    }
    if (value != 0 && value % (1L << 20) == 0) {
      return (value >> 20) + "MiB";
    }
    if (value != 0 && value % (1L << 10) == 0) {
      return (value >> 10) + "KiB";
    }
    return Long.toString(value);
  }

  private static Duration parseDuration(JsonNode raw, String description)
      throws InvalidValueException {
    if (raw.isNumber()) {
      return seconds(bounded(raw.decimalValue(), raw, description), raw, description);
    }
    if (raw.isTextual()) {
      Matcher m = DURATION.matcher(raw.asText().strip());
      if (m.matches()) {
        BigDecimal amount = new BigDecimal(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2).toLowerCase(Locale.ROOT);
        BigDecimal ms =
            switch (unit) {
              case "ms" -> amount;
              case "m" -> amount.multiply(BigDecimal.valueOf(60_000));
              case "h" -> amount.multiply(BigDecimal.valueOf(3_600_000));
              case "d" -> amount.multiply(BigDecimal.valueOf(86_400_000));
              default -> amount.multiply(BigDecimal.valueOf(1_000));
            };
        return millis(ms, raw, description);
      }
    }
    throw new InvalidValueException("expected " + description + ", got " + shown(raw));
  }

  private static Duration seconds(BigDecimal seconds, JsonNode raw, String description)
      throws InvalidValueException {
    if (seconds.signum() < 0) {
      throw new InvalidValueException("expected " + description + ", got " + shown(raw));
    }
    return millis(seconds.multiply(BigDecimal.valueOf(1_000)), raw, description);
  }

  private static Duration millis(BigDecimal ms, JsonNode raw, String description)
      throws InvalidValueException {
    if (ms.compareTo(BigDecimal.valueOf(100L * 365 * 86_400_000)) > 0) {
      throw new InvalidValueException("expected " + description + ", got " + shown(raw));
    }
    // Sub-millisecond values round to the nearest ms; a positive value never rounds to 0.
    long rounded = ms.setScale(0, java.math.RoundingMode.HALF_UP).longValueExact();
    return Duration.ofMillis(ms.signum() > 0 ? Math.max(1, rounded) : rounded);
  }

  private static long parseBytes(JsonNode raw, String description) throws InvalidValueException {
    if (raw.isIntegralNumber() && raw.canConvertToLong()) {
      return raw.asLong();
    }
    if (raw.isTextual()) {
      Matcher m = BYTES.matcher(raw.asText().strip());
      if (m.matches() && m.group(1).length() <= 15) {
        long amount = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
        int shift =
            switch (unit) {
              case "kib" -> 10;
              case "mib" -> 20;
              case "gib" -> 30;
              default -> 0;
            };
        try {
          return Math.multiplyExact(amount, 1L << shift);
        } catch (ArithmeticException e) {
          throw new InvalidValueException("expected " + description + ", got " + shown(raw));
        }
      }
    }
    throw new InvalidValueException("expected " + description + ", got " + shown(raw));
  }

  private static long wholeNumber(JsonNode raw, String description) throws InvalidValueException {
    BigDecimal value = number(raw, description);
    try {
      return value.longValueExact();
    } catch (ArithmeticException e) {
      throw new InvalidValueException("expected " + description + ", got " + shown(raw));
    }
  }

  private static BigDecimal number(JsonNode raw, String description) throws InvalidValueException {
    if (raw.isNumber()) {
      return bounded(raw.decimalValue(), raw, description);
    }
    if (raw.isTextual()) {
      String text = raw.asText().strip();
      if (text.matches("-?[0-9]{1,18}(\\.[0-9]{1,9})?")) {
        return new BigDecimal(text);
      }
    }
    throw new InvalidValueException("expected " + description + ", got " + shown(raw));
  }

  /**
   * Refuses numbers with absurd exponents ({@code 1e-999999999} in a JSON file) before any
   * arithmetic: scaling them would take a long time or throw.
   */
  private static BigDecimal bounded(BigDecimal value, JsonNode raw, String description)
      throws InvalidValueException {
    BigDecimal stripped = value.stripTrailingZeros();
    if (stripped.scale() > 9 || stripped.scale() < -18 || stripped.precision() > 30) {
      throw new InvalidValueException("expected " + description + ", got " + shown(raw));
    }
    return value;
  }

  private static String plain(double value) {
    return BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
  }

  /** Shows a raw value in an error: text quoted, and cut to 64 characters. */
  static String shown(JsonNode raw) {
    String text = raw.isTextual() ? "'" + raw.asText() + "'" : raw.toString();
    return text.length() > 64 ? text.substring(0, 61) + "..." : text;
  }
}
