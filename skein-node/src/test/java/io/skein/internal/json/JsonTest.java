package io.skein.internal.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.skein.InvalidRequestException;
import org.junit.jupiter.api.Test;

/** Strict parsing and document compaction: what is acknowledged is what was sent. */
class JsonTest {
  @Test
  void numbersWhoseExponentOverflowsAreRefusedInTheApisWords() {
    for (String number :
        new String[] {"1e-2147483649", "1e99999999999999999999", "-1E-2147483648"}) {
      assertThatThrownBy(() -> Json.parse("{\"a\":" + number + "}"))
          .as(number)
          .isInstanceOf(InvalidRequestException.class)
          .hasMessageContaining("is out of range")
          .hasMessageNotContaining("BigDecimal")
          .hasMessageNotContaining("java.")
          .extracting(e -> ((InvalidRequestException) e).code())
          .isEqualTo("invalid_json");
    }
    // The largest exponents that fit are kept as sent.
    assertThat(Json.compactDocument(Json.parse("{\"a\":1e-2147483647}"), 1 << 20))
        .isEqualTo("{\"a\":1E-2147483647}");
  }

  @Test
  void whatCannotBeStoredIsNamedByItsJsonPointer() {
    ObjectNode doc = JsonNodeFactory.instance.objectNode();
    doc.putArray("a").add("fine").addObject().put("b/c~d", "x\uD800y");
    assertThatThrownBy(() -> Json.compactDocument(doc, 1 << 20))
        .hasMessageContaining("the string at '/a/1/b~1c~0d' holds an unpaired surrogate (\\ud800)")
        .hasMessageContaining("at index 1");
    ObjectNode badKey = JsonNodeFactory.instance.objectNode();
    badKey.putObject("o").putArray("list").addObject().put("k\uDC00", 1);
    assertThatThrownBy(() -> Json.compactDocument(badKey, 1 << 20))
        .hasMessageContaining("the key at '/o/list/0/k\uDC00' holds an unpaired surrogate");
    ObjectNode nul = JsonNodeFactory.instance.objectNode();
    nul.putObject("p").put("x\0y", 1);
    assertThatThrownBy(() -> Json.compactDocument(nul, 1 << 20))
        .extracting(e -> ((InvalidRequestException) e).code())
        .isEqualTo("invalid_key");
    assertThatThrownBy(() -> Json.compactDocument(nul, 1 << 20))
        .hasMessageContaining("the key at '/p/x\0y' holds U+0000");
  }

  @Test
  void theUtf8LengthIsCountedWithoutEncoding() {
    java.util.Random random = new java.util.Random(7);
    for (int i = 0; i < 2_000; i++) {
      StringBuilder text = new StringBuilder();
      for (int j = random.nextInt(40); j > 0; j--) {
        int cp =
            switch (random.nextInt(4)) {
              case 0 -> random.nextInt(0x80);
              case 1 -> 0x80 + random.nextInt(0x780);
              case 2 -> 0x800 + random.nextInt(0xD000 - 0x800);
              default -> 0x10000 + random.nextInt(0x100000);
            };
        text.appendCodePoint(cp);
      }
      String s = text.toString();
      assertThat(Json.utf8Length(s))
          .as(s)
          .isEqualTo(s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
    }
  }

  @Test
  void parserLimitsAreNamedWithoutTheParsersSettings() {
    String deep = "[".repeat(Json.NESTING_DEPTH_MAX + 1) + "]".repeat(Json.NESTING_DEPTH_MAX + 1);
    String longNumber = "{\"a\":" + "1".repeat(Json.NUMBER_CHARS_MAX + 1) + "}";
    for (String text : new String[] {deep, longNumber}) {
      assertThatThrownBy(() -> Json.parse(text))
          .isInstanceOf(InvalidRequestException.class)
          .hasMessageNotContaining("StreamReadConstraints")
          .hasMessageNotContaining("Jackson")
          .hasMessageNotContaining("`");
    }
    assertThatThrownBy(() -> Json.parse(deep)).hasMessageContaining("deeper than 64 levels");
    assertThatThrownBy(() -> Json.parse(longNumber)).hasMessageContaining("longer than 1000");
    // Strings and keys are bounded by the body and document limits, not by the parser.
    String longKey = "k".repeat(60_000);
    assertThat(Json.parse("{\"" + longKey + "\":\"" + "v".repeat(21_000_000) + "\"}").has(longKey))
        .isTrue();
  }

  @Test
  void syntaxErrorsNameNeitherTheParsersFeaturesNorItsClasses() {
    // Jackson says which of its settings would accept each of these; the API has no such settings.
    String[][] cases = {
      {"{\"a\":NaN}", "line 1, column 9: 'NaN' is not a JSON value: JSON numbers have no NaN or"},
      {"[-Infinity]", "'-Infinity' is not a JSON value"},
      {"{\"a\":+1}", "JSON numbers may not start with a plus sign"},
      {"{\"a\":1 /* c */}", "Unexpected character ('/' (code 47)): JSON has no comments"},
      {"[1, // c\n2]", "Unexpected character ('/' (code 47)): JSON has no comments"},
      {"[1]\u001e", "only regular white space (\\r, \\n, \\t) is allowed between tokens"},
      {"{'a':1}", "line 1, column 2: Unexpected character (''' (code 39))"},
      {"{\"a\":01}", "Leading zeroes not allowed"},
    };
    for (String[] c : cases) {
      assertThatThrownBy(() -> Json.parse(c[0]))
          .as(c[0])
          .isInstanceOf(InvalidRequestException.class)
          .hasMessageStartingWith("the body is not valid JSON at line 1, column ")
          .hasMessageContaining(c[1])
          .hasMessageNotContaining("Feature")
          .hasMessageNotContaining("enabl")
          .hasMessageNotContaining("`")
          .hasMessageNotContaining("com.fasterxml");
    }
  }

  @Test
  void aParserMessageThatStillNamesItsInternalsIsReplacedWhole() {
    assertThat(Json.sanitized("Unexpected thing: see `JsonReadFeature.ALLOW_FOO`"))
        .isEqualTo("unexpected input at this point");
    assertThat(Json.sanitized("Cannot use com.fasterxml.jackson.core.Foo here"))
        .isEqualTo("unexpected input at this point");
    // What the client sent is quoted, and may say anything.
    assertThat(Json.sanitized("Unrecognized token 'Feature': was expecting (JSON String)"))
        .isEqualTo("Unrecognized token 'Feature': was expecting (JSON String)");
  }

  @Test
  void unpairedSurrogatesAreRefusedInKeysAndValuesAtAnyDepth() {
    String[] bodies = {
      "{\"a\":\"\\ud800\"}",
      "{\"a\":\"x\\udc00y\"}",
      "{\"\\ud800\":1}",
      "{\"a\":{\"b\":[1,\"\\udbff\"]}}",
      "{\"ops\":[{\"op\":\"put\",\"collection\":\"c\",\"id\":\"1\",\"doc\":{\"k\\ud800\":1}}]}",
      "{\"selector\":{\"a\":{\"$in\":[\"\\ud800\"]}}}",
      "\"\\ud800\"",
    };
    for (String body : bodies) {
      assertThatThrownBy(() -> Json.parse(body))
          .as(body)
          .isInstanceOf(InvalidRequestException.class)
          .hasMessageContaining("surrogate")
          .extracting(e -> ((InvalidRequestException) e).code())
          .isEqualTo("invalid_json");
    }
    assertThatThrownBy(() -> Json.parse("{\"a\":{\"b\":[1,\"\\udbff\"]}}"))
        .hasMessageContaining("'/a/b/1'")
        .hasMessageContaining("\\udbff");
    // Pairs, in either spelling, are kept.
    assertThat(Json.compactDocument(Json.parse("{\"a\":\"\\ud834\\udd1e\"}"), 1024))
        .isEqualTo("{\"a\":\"\ud834\udd1e\"}");
  }

  @Test
  void documentsBuiltInCodeAreCheckedToo() {
    ObjectNode value = JsonNodeFactory.instance.objectNode().put("a", "\ud800");
    assertThatThrownBy(() -> Json.compactDocument(value, 1024))
        .isInstanceOf(InvalidRequestException.class)
        .hasMessageContaining("unpaired surrogate");
    ObjectNode key = JsonNodeFactory.instance.objectNode();
    key.putObject("n").put("x\ud800", 1);
    assertThatThrownBy(() -> Json.compactDocument(key, 1024)).hasMessageContaining("'/n/x");
  }

  @Test
  void documentKeysHoldingNulAreRefusedAnywhereElseTheyParse() {
    for (String document :
        new String[] {
          "{\"a\\u0000b\":1}", "{\"n\":{\"owner\\u0000x\":\"me\"}}", "{\"\\u0000\":1}"
        }) {
      assertThatThrownBy(() -> Json.compactDocument(Json.parse(document), 1024))
          .as(document)
          .isInstanceOf(InvalidRequestException.class)
          .hasMessageContaining("U+0000")
          .extracting(e -> ((InvalidRequestException) e).code())
          .isEqualTo("invalid_key");
    }
    // U+0000 in a value is stored and compared exactly; every other character is fine in keys.
    assertThat(Json.compactDocument(Json.parse("{\"a\":\"x\\u0000y\"}"), 1024))
        .isEqualTo("{\"a\":\"x\\u0000y\"}");
    assertThat(
            Json.compactDocument(
                Json.parse("{\"a.b\":1,\"$c\":2,\"d[0]\":3,\"\\\"\":4,\"\\\\\":5,\"\\u0001\":6}"),
                1024))
        .isEqualTo("{\"a.b\":1,\"$c\":2,\"d[0]\":3,\"\\\"\":4,\"\\\\\":5,\"\\u0001\":6}");
  }
}
