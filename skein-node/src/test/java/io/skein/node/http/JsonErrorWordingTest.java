package io.skein.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A body that is not strict JSON gets {@code 400 invalid_json} saying what is wrong and where, in
 * the API's words: the parser's own messages name its classes and the features that would accept
 * the input ("enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow"), which are no part of
 * the API. Nothing is written.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JsonErrorWordingTest {
  private static final String[] INTERNAL = {
    "Feature",
    "feature",
    "com.fasterxml",
    "enable",
    "StreamReadConstraints",
    "Jackson",
    "`",
    "java."
  };

  private RawHttp node;

  @BeforeAll
  void start() throws Exception {
    node = RawHttp.start("skein-json-wording-test");
  }

  @AfterAll
  void stop() {
    node.close();
  }

  @Test
  void aBodyThatIsNotStrictJsonIsRefusedNamingTheProblemInTheApisWords() throws Exception {
    int deep = io.skein.internal.json.Json.NESTING_DEPTH_MAX + 1;
    // Each body, and what the message must say about it.
    Map<String, String> bodies = new LinkedHashMap<>();
    bodies.put("{'a':1}", "line 1, column 2");
    bodies.put("{\"a\":'x'}", "line 1, column 6");
    bodies.put("{a:1}", "double-quote to start field name");
    bodies.put("{\"a\":01}", "leading zeroes");
    bodies.put("{\"a\":-00.5}", "leading zeroes");
    bodies.put("{\"a\":\"x\u0001y\"}", "has to be escaped");
    bodies.put("{\"a\":\"tab\there\"}", "has to be escaped");
    bodies.put("{\"a\":NaN}", "NaN");
    bodies.put("{\"a\":-Infinity}", "Infinity");
    bodies.put("{\"a\":Infinity}", "Infinity");
    bodies.put("{\"a\":+1}", "plus sign");
    bodies.put("{\"a\":1 /* note */}", "comments");
    bodies.put("{\"a\":[1, // note\n2]}", "comments");
    bodies.put("{\"a\":1}\u001e", "white space");
    bodies.put("{\"a\":\"\\x\"}", "escape");
    bodies.put("{\"a\":1,}", "line 1, column 8");
    bodies.put("{\"a\":" + "[".repeat(deep) + "]".repeat(deep) + "}", "deeper than 64 levels");
    bodies.put("{\"a\":" + "1".repeat(1_001) + "}", "longer than 1000 characters");
    bodies.put("{\"a\":0." + "5".repeat(1_001) + "}", "longer than 1000 characters");
    int i = 0;
    for (Map.Entry<String, String> body : bodies.entrySet()) {
      String id = "w" + i++;
      RawHttp.Answer answer =
          node.send(
              "PUT /v1/collections/wording/docs/"
                  + id
                  + " HTTP/1.1\r\n"
                  + node.host()
                  + "Content-Type: application/json\r\nContent-Length: "
                  + body.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8).length
                  + "\r\n",
              body.getKey());
      String shown = body.getKey().length() > 40 ? body.getKey().substring(0, 40) : body.getKey();
      assertThat(answer.status()).as(shown + " -> " + answer.body()).isEqualTo(400);
      assertThat(answer.code()).as(answer.body()).isEqualTo("invalid_json");
      String message = answer.message();
      assertThat(message)
          .as(shown)
          .startsWith("the body is not valid JSON")
          .containsIgnoringCase(body.getValue());
      for (String internal : INTERNAL) {
        assertThat(answer.body()).as(shown).doesNotContain(internal);
      }
      assertThat(node.get("/v1/collections/wording/docs/" + id).status()).as(shown).isEqualTo(404);
    }
  }
}
