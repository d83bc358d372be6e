package io.skein.internal.json;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.skein.InvalidRequestException;
import io.skein.TooLargeException;
import io.skein.core.model.UnicodeText;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The one JSON configuration of Skein. Parsing is strict: duplicate keys are an error (not "last
 * wins"), trailing tokens are an error, numbers keep their exact decimal value, and nesting is
 * bounded ({@value #NESTING_DEPTH_MAX} levels).
 *
 * <p>What is acknowledged is what was sent: a value is refused, never altered, when it cannot be
 * stored exactly. A string or key holding an unpaired surrogate ({@code "\ud800"}, legal JSON
 * syntax that UTF-8 cannot encode) is refused wherever it appears; a document key holding U+0000 is
 * refused because SQLite reads JSON keys and paths as C strings, so that key would be read as its
 * prefix (A45 in docs/ARCHITECTURE.md). A number whose exponent does not fit a 32-bit scale is
 * refused instead of failing later. Messages describe the problem in the API's words, never in the
 * parser's settings.
 */
public final class Json {
  /** The deepest nesting accepted in a document. */
  public static final int NESTING_DEPTH_MAX = 64;

  /**
   * The longest number, in characters; longer ones are refused (a number that long carries no
   * meaning SQLite keeps, and parsing huge ones is slow).
   */
  public static final int NUMBER_CHARS_MAX = 1_000;

  /**
   * The longest string or key, in characters: the largest request body allows no longer one, so the
   * body and document limits, not the parser, decide.
   */
  private static final int STRING_CHARS_MAX = 64 << 20;

  private static final Pattern QUOTED_VALUE = Pattern.compile("Value \"([^\"]{0,40})");

  /** Jackson's "Non-standard token 'NaN': enable `JsonReadFeature...` to allow". */
  private static final Pattern NON_STANDARD_TOKEN =
      Pattern.compile("^Non-standard token '([^']{0,40})'.*", Pattern.DOTALL);

  /** Jackson's "maybe a (non-standard) comment? (not recognized as one since Feature ...)". */
  private static final Pattern COMMENT_HINT =
      Pattern.compile("maybe a \\(non-standard\\) comment\\?.*$", Pattern.DOTALL);

  /**
   * Jackson's hints naming the setting that would accept the input, at the end of a message: ":
   * enable `JsonReadFeature.X` to allow" and " (consider enabling `JsonReadFeature.X` to ...)".
   */
  private static final Pattern FEATURE_HINT =
      Pattern.compile(
          ":?\\s*enable `[^`]*` to allow$|\\s*\\((?:consider )?enabl(?:e|ing) `.*\\)$",
          Pattern.DOTALL);

  /** Text quoted from the input, which may say anything ('...'). */
  private static final Pattern QUOTED = Pattern.compile("'[^']*'");

  /** Words of the parser's internals that no message may carry once quoted input is removed. */
  private static final Pattern INTERNALS =
      Pattern.compile(
          "(?i:feature|fasterxml|jackson|enabl|streamread|constraint|java\\.|`)|\\bJson[A-Z]\\w*");

  /** The shared mapper; thread-safe once configured. */
  public static final ObjectMapper MAPPER = createMapper();

  private Json() {}

  private static ObjectMapper createMapper() {
    JsonMapper mapper =
        JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
            .build();
    mapper
        .getFactory()
        .setStreamReadConstraints(
            StreamReadConstraints.builder()
                .maxNestingDepth(NESTING_DEPTH_MAX)
                .maxNumberLength(NUMBER_CHARS_MAX)
                .maxStringLength(STRING_CHARS_MAX)
                .maxNameLength(STRING_CHARS_MAX)
                .build());
    return mapper;
  }

  /**
   * Decodes a request body as UTF-8 (RFC 8259 §8.1: JSON exchanged between systems is UTF-8),
   * whatever charset a client declared.
   *
   * @throws InvalidRequestException with code {@code invalid_json} if the bytes are not UTF-8
   */
  public static String decodeUtf8(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      throw new InvalidRequestException(
          "invalid_json", "the body is not valid UTF-8 (JSON must be UTF-8)", e);
    }
  }

  /**
   * Parses any JSON value.
   *
   * @throws InvalidRequestException with code {@code invalid_json} naming the problem: the text is
   *     not JSON, breaks the strict rules above, or holds a string or key that cannot be stored
   *     exactly (an unpaired surrogate, or a number out of range)
   */
  public static JsonNode parse(String text) {
    JsonNode node;
    try {
      node = MAPPER.readTree(text);
    } catch (JsonProcessingException e) {
      throw new InvalidRequestException("invalid_json", describe(e), e);
    } catch (NumberFormatException e) {
      // Jackson builds a BigDecimal lazily; an exponent beyond a 32-bit scale fails there.
      throw new InvalidRequestException("invalid_json", numberOutOfRange(e), e);
    }
    if (node == null || node.isMissingNode()) {
      throw new InvalidRequestException("invalid_json", "the body is empty: expected JSON");
    }
    Unstorable problem = unstorable(node, false);
    if (problem != null) {
      throw problem.exception("the body");
    }
    return node;
  }

  private static String numberOutOfRange(NumberFormatException e) {
    Matcher quoted = QUOTED_VALUE.matcher(String.valueOf(e.getMessage()));
    String number = quoted.find() ? " " + quoted.group(1) : "";
    return "the body is not valid JSON: the number"
        + number
        + " is out of range (its exponent must be within -2147483648 and 2147483647 of its"
        + " digits)";
  }

  /** Says what is wrong with the JSON and where, without the parser's internal vocabulary. */
  static String describe(JsonProcessingException e) {
    String detail = String.valueOf(e.getOriginalMessage());
    if (e instanceof StreamConstraintsException) {
      detail = constraint(detail);
    }
    if (detail.startsWith("Trailing token")) {
      detail = "unexpected content after the JSON value";
    }
    int cut = detail.indexOf(" (start marker at");
    if (cut >= 0) {
      detail = detail.substring(0, cut);
    }
    cut = detail.indexOf('\n');
    if (cut >= 0) {
      detail = detail.substring(0, cut);
    }
    detail = sanitized(detail);
    JsonLocation location = e.getLocation();
    String where =
        location == null
            ? ""
            : " at line " + location.getLineNr() + ", column " + location.getColumnNr();
    return "the body is not valid JSON" + where + ": " + detail;
  }

  /**
   * Returns a parser message without the parser's vocabulary: Jackson names the settings that would
   * accept the input ("enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow"), which the API
   * does not have. The useful part (what is wrong) is kept; a message that still names the parser's
   * internals once the input it quotes is set aside is replaced whole.
   */
  static String sanitized(String detail) {
    Matcher token = NON_STANDARD_TOKEN.matcher(detail);
    if (token.matches()) {
      return "'" + token.group(1) + "' is not a JSON value: JSON numbers have no NaN or Infinity";
    }
    String text =
        detail.replace(
            "JSON spec does not allow numbers to have plus signs",
            "JSON numbers may not start with a plus sign");
    text = COMMENT_HINT.matcher(text).replaceFirst("JSON has no comments");
    text = FEATURE_HINT.matcher(text).replaceFirst("");
    if (INTERNALS.matcher(QUOTED.matcher(text).replaceAll("''")).find()) {
      return "unexpected input at this point";
    }
    return text;
  }

  /** Restates a parser limit in the API's words (Jackson's names its own settings). */
  private static String constraint(String detail) {
    if (detail.startsWith("Document nesting depth")) {
      return "it nests deeper than " + NESTING_DEPTH_MAX + " levels";
    }
    if (detail.startsWith("Number value length")) {
      return "a number is longer than " + NUMBER_CHARS_MAX + " characters";
    }
    if (detail.startsWith("String value length") || detail.startsWith("Name length")) {
      return "a string or key is longer than " + STRING_CHARS_MAX + " characters";
    }
    return "it is over a size limit of the parser";
  }

  /**
   * What in a JSON tree cannot be stored exactly.
   *
   * @param code the error code: {@code invalid_json} or {@code invalid_key}
   * @param message what and where, the place named as a JSON Pointer (RFC 6901)
   */
  record Unstorable(String code, String message) {
    InvalidRequestException exception(String what) {
      return new InvalidRequestException(code, what + " cannot be stored as sent: " + message);
    }
  }

  /**
   * Returns what in a JSON tree cannot be stored exactly, or {@code null}: a string or key with an
   * unpaired surrogate, and, when {@code document} is true, a key holding U+0000.
   */
  static @Nullable Unstorable unstorable(JsonNode root, boolean document) {
    // Iterative, so that a deep tree built in code cannot overflow the stack. The pointer of a
    // node and the message are built only for the node that fails: every request's body goes
    // through here once or twice, and most strings and keys are fine.
    Deque<Frame> pending = new ArrayDeque<>();
    pending.push(new Frame(root, null, null, 0));
    while (!pending.isEmpty()) {
      Frame frame = pending.pop();
      JsonNode node = frame.node();
      if (node.isTextual()) {
        String text = node.textValue();
        if (UnicodeText.unpairedSurrogateIndex(text) >= 0) {
          return surrogate("the string at " + shown(frame.pointer()), text);
        }
      } else if (node.isArray()) {
        for (int i = node.size() - 1; i >= 0; i--) {
          pending.push(new Frame(node.get(i), frame, null, i));
        }
      } else if (node.isObject()) {
        for (Map.Entry<String, JsonNode> field : node.properties()) {
          String key = field.getKey();
          Frame child = new Frame(field.getValue(), frame, key, -1);
          if (UnicodeText.unpairedSurrogateIndex(key) >= 0) {
            return surrogate("the key at " + shown(child.pointer()), key);
          }
          if (document && key.indexOf('\0') >= 0) {
            return new Unstorable(
                "invalid_key",
                "the key at "
                    + shown(child.pointer())
                    + " holds U+0000, which document keys may not hold: SQLite reads keys as C"
                    + " strings, so queries would read it as another key");
          }
          pending.push(child);
        }
      }
    }
    return null;
  }

  /** A node of a tree being checked, with the way to it (a key, or an index if key is null). */
  private record Frame(JsonNode node, @Nullable Frame parent, @Nullable String key, int index) {
    /** The JSON pointer of the node (RFC 6901), built iteratively. */
    String pointer() {
      List<String> tokens = new ArrayList<>();
      for (Frame f = this; f.parent() != null; f = f.parent()) {
        String key = f.key();
        tokens.add(key != null ? pointerToken(key) : Integer.toString(f.index()));
      }
      StringBuilder pointer = new StringBuilder();
      for (int i = tokens.size() - 1; i >= 0; i--) {
        pointer.append('/').append(tokens.get(i));
      }
      return pointer.toString();
    }
  }

  private static @Nullable Unstorable surrogate(String where, String text) {
    int index = UnicodeText.unpairedSurrogateIndex(text);
    if (index < 0) {
      return null;
    }
    return new Unstorable(
        "invalid_json",
        where
            + " holds an unpaired surrogate ("
            + UnicodeText.escape(text.charAt(index))
            + ") at index "
            + index
            + ", which UTF-8 cannot encode");
  }

  private static String pointerToken(String key) {
    return key.replace("~", "~0").replace("/", "~1");
  }

  private static String shown(String pointer) {
    String text = pointer.isEmpty() ? "/" : pointer;
    return "'" + (text.length() > 80 ? text.substring(0, 80) + "..." : text) + "'";
  }

  /**
   * Parses a JSON object.
   *
   * @throws InvalidRequestException with code {@code invalid_json} or {@code not_an_object}
   */
  public static ObjectNode parseObject(String text, String what) {
    JsonNode node = parse(text);
    if (!node.isObject()) {
      throw new InvalidRequestException(
          "not_an_object", what + " must be a JSON object, got " + typeName(node));
    }
    return (ObjectNode) node;
  }

  /**
   * Returns the compact text of a document, checking its size and that it can be stored exactly.
   *
   * @throws TooLargeException with code {@code document_too_large} if it is over {@code bytesMax}
   * @throws InvalidRequestException with code {@code invalid_json} if a string or key holds an
   *     unpaired surrogate, or {@code invalid_key} if a key holds U+0000
   */
  public static String compactDocument(JsonNode document, int bytesMax) {
    Unstorable problem = unstorable(document, true);
    if (problem != null) {
      throw problem.exception("the document");
    }
    String text;
    try {
      text = MAPPER.writeValueAsString(document);
    } catch (JsonProcessingException e) {
      // Only a tree built in code gets here: one nested beyond what the writer accepts.
      throw new InvalidRequestException(
          "invalid_json", "the document cannot be written as JSON: it nests too deep", e);
    }
    int bytes = utf8Length(text);
    if (bytes > bytesMax) {
      throw new TooLargeException(
          "document_too_large",
          "the document is " + bytes + " bytes of compact JSON; the limit is " + bytesMax);
    }
    return text;
  }

  /**
   * The length in UTF-8 of a string without unpaired surrogates, counted without encoding it (the
   * document was checked for those first).
   */
  static int utf8Length(String text) {
    int bytes = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < 0x80) {
        bytes++;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c)) {
        bytes += 4; // with the low surrogate that follows
        i++;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }

  /** Returns a short name of a node's JSON type, for messages. */
  public static String typeName(JsonNode node) {
    return switch (node.getNodeType()) {
      case ARRAY -> "an array";
      case BOOLEAN -> "a boolean";
      case NULL -> "null";
      case NUMBER -> "a number";
      case STRING -> "a string";
      case OBJECT -> "an object";
      default -> node.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
    };
  }
}
