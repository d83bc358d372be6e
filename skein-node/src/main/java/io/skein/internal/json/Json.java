package io.skein.internal.json;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.skein.InvalidRequestException;
import io.skein.TooLargeException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The one JSON configuration of Skein. Parsing is strict: duplicate keys are an error (not "last
 * wins"), trailing tokens are an error, numbers keep their exact decimal value, and nesting is
 * bounded ({@value #NESTING_DEPTH_MAX} levels).
 */
public final class Json {
  /** The deepest nesting accepted in a document. */
  public static final int NESTING_DEPTH_MAX = 64;

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
            StreamReadConstraints.builder().maxNestingDepth(NESTING_DEPTH_MAX).build());
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
   * @throws InvalidRequestException with code {@code invalid_json} naming the problem
   */
  public static JsonNode parse(String text) {
    try {
      JsonNode node = MAPPER.readTree(text);
      if (node == null || node.isMissingNode()) {
        throw new InvalidRequestException("invalid_json", "the body is empty: expected JSON");
      }
      return node;
    } catch (JsonProcessingException e) {
      throw new InvalidRequestException("invalid_json", describe(e), e);
    }
  }

  /** Says what is wrong with the JSON and where, without the parser's internal vocabulary. */
  static String describe(JsonProcessingException e) {
    String detail = String.valueOf(e.getOriginalMessage());
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
    JsonLocation location = e.getLocation();
    String where =
        location == null
            ? ""
            : " at line " + location.getLineNr() + ", column " + location.getColumnNr();
    return "the body is not valid JSON" + where + ": " + detail;
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
   * Returns the compact text of a document, checking its size.
   *
   * @throws TooLargeException with code {@code document_too_large} if it is over {@code bytesMax}
   */
  public static String compactDocument(JsonNode document, int bytesMax) {
    String text;
    try {
      text = MAPPER.writeValueAsString(document);
    } catch (JsonProcessingException e) {
      throw new InvalidRequestException("invalid_json", "cannot serialize document: " + e, e);
    }
    int bytes = text.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > bytesMax) {
      throw new TooLargeException(
          "document_too_large",
          "the document is " + bytes + " bytes of compact JSON; the limit is " + bytesMax);
    }
    return text;
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
