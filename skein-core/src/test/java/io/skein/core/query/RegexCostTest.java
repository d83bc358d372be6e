package io.skein.core.query;

import static io.skein.core.query.QueryParserTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class RegexCostTest {
  @Test
  void countedRepetitionsMultiply() {
    assertThat(RegexCost.programSize("abc")).isEqualTo(3);
    assertThat(RegexCost.programSize("a{100}")).isEqualTo(100);
    assertThat(RegexCost.programSize("(a{100}){100}")).isEqualTo(10_000);
    assertThat(RegexCost.programSize("((a{100}){100}){100}")).isEqualTo(1_000_000);
    assertThat(RegexCost.programSize("[a-z]{1,64}@[a-z]{1,255}")).isEqualTo(637);
    assertThat(RegexCost.programSize("a{0,1000}")).isEqualTo(2000);
    assertThat(RegexCost.programSize("(ab){3,}")).isEqualTo(8);
    assertThat(RegexCost.programSize("\\{100}")).isEqualTo(5);
    assertThat(RegexCost.programSize("[{]{5}")).isEqualTo(5);
    assertThat(RegexCost.programSize("a{x}")).isEqualTo(4);
    assertThat(RegexCost.programSize("(x+x+)+y")).isEqualTo(6);
    // Brackets inside literal text, POSIX classes and escapes are not groups.
    assertThat(RegexCost.programSize("(a{100}\\Q)(\\E){100}")).isGreaterThanOrEqualTo(10_000);
    assertThat(RegexCost.programSize("((a{100}\\Q)(\\E){100}\\Q)(\\E){100}"))
        .isGreaterThanOrEqualTo(1_000_000);
    assertThat(RegexCost.programSize("(.{0,100}[[:alpha:])(]){50}b"))
        .isGreaterThanOrEqualTo(10_000);
    assertThat(RegexCost.programSize("(a\\p{Greek}){100}")).isEqualTo(200);
    assertThat(RegexCost.programSize("((((a{999999999}){999999999}){999999999}))"))
        .isEqualTo(Long.MAX_VALUE / 2);
  }

  @Test
  void theParserRefusesPatternsThatExpandTooFar() {
    assertThat(QueryParser.parseSelector(json("{'a': {'$regex': '(a{50}){100}'}}")))
        .isInstanceOf(Selector.Field.class);
    assertThatThrownBy(() -> QueryParser.parseSelector(json("{'a': {'$regex': '(a{100}){100}'}}")))
        .isInstanceOf(InvalidQueryException.class)
        .hasMessageContaining("expands to about 10000 instructions");
  }

  @Test
  void theEvaluationRefusesAStringTooLongForThePattern() {
    Query query = Query.of(QueryParser.parseSelector(json("{'a': {'$regex': '(a{50}){20}b'}}")));
    String ok = "a".repeat(1_000);
    assertThat(InMemoryQuery.run(query, Map.of("d", json("{'a': '" + ok + "'}")))).isEmpty();
    String tooLong = "a".repeat(20_000);
    assertThatThrownBy(
            () -> InMemoryQuery.run(query, Map.of("d", json("{'a': '" + tooLong + "'}"))))
        .isInstanceOf(InvalidQueryException.class)
        .hasMessageContaining("too costly for a string of 20000 characters");
    // An ordinary pattern runs over long strings.
    Query simple = Query.of(QueryParser.parseSelector(json("{'a': {'$regex': 'b$'}}")));
    assertThat(
            InMemoryQuery.run(simple, Map.of("d", json("{'a': '" + "a".repeat(1_000_000) + "b'}"))))
        .containsExactly("d");
  }
}
