package io.skein.core.query;

import static io.skein.core.query.QueryParserTest.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ValueSetTest {
  /** Values that collate equal in several spellings, and near misses. */
  private static final List<String> VALUES =
      List.of(
          "null",
          "false",
          "true",
          "0",
          "-0.0",
          "0.0",
          "1",
          "1.0",
          "1e0",
          "10",
          "1E+1",
          "-1",
          "9007199254740992",
          "9007199254740992.0",
          "9007199254740993",
          "9223372036854775807",
          "9223372036854775808",
          "100000000000000000000",
          "1E+20",
          "0.1",
          "0.30000000000000004",
          "1e400",
          "-1e400",
          "\"\"",
          "\"1\"",
          "\"true\"",
          "\"null\"",
          "\"a\"",
          "\"A\"",
          "[]",
          "[1]",
          "[1.0]",
          "[[1]]",
          "{}",
          "{\"a\":1}",
          "{\"a\":1.0}",
          "{\"b\":1}");

  @Test
  void membershipIsCollationEquality() {
    for (ObjectMapper mapper :
        List.of(
            new ObjectMapper(),
            JsonMapper.builder()
                .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
                .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
                .build())) {
      List<JsonNode> nodes = new ArrayList<>();
      for (String text : VALUES) {
        nodes.add(parse(mapper, text));
      }
      for (JsonNode member : nodes) {
        ValueSet set = ValueSet.of(List.of(member));
        for (JsonNode probe : nodes) {
          assertThat(set.contains(probe))
              .as(member + " contains " + probe)
              .isEqualTo(Collation.equal(member, probe));
        }
      }
    }
  }

  @Test
  void setsOfManyValues() {
    ValueSet set = ValueSet.of(List.of(json("1"), json("'x'"), json("[2]"), json("null")));
    assertThat(set.contains(json("1.0"))).isTrue();
    assertThat(set.contains(json("'x'"))).isTrue();
    assertThat(set.contains(json("[2.0]"))).isTrue();
    assertThat(set.contains(json("null"))).isTrue();
    assertThat(set.contains(json("'1'"))).isFalse();
    assertThat(set.contains(json("[2, 3]"))).isFalse();
    assertThat(set.contains(json("false"))).isFalse();
    assertThat(ValueSet.of(List.of()).contains(json("null"))).isFalse();
  }

  private static JsonNode parse(ObjectMapper mapper, String text) {
    try {
      return mapper.readTree(text);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException(text, e);
    }
  }
}
