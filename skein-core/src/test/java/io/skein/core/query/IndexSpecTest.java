package io.skein.core.query;

import static io.skein.core.query.QueryParserTest.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class IndexSpecTest {
  @Test
  void parsesFieldsInOrder() {
    IndexSpec spec = IndexSpec.parse(json("{'fields': ['a.b', 'c']}"));
    assertThat(spec.fields()).containsExactly(FieldPath.parse("a.b"), FieldPath.parse("c"));
  }

  @Test
  void nameIsStableAndDistinguishesFieldLists() {
    IndexSpec ab = new IndexSpec(List.of(FieldPath.parse("a"), FieldPath.parse("b")));
    // The name is part of the database schema: it must never change between releases.
    assertThat(new IndexSpec(List.of(FieldPath.parse("a"))).name())
        .isEqualTo("idx_ca978112ca1bbdca");
    assertThat(ab.name())
        .matches("idx_[0-9a-f]{16}")
        .isEqualTo(IndexSpec.parse(json("{'fields': ['a', 'b']}")).name());
    assertThat(
            List.of(
                ab.name(),
                new IndexSpec(List.of(FieldPath.parse("b"), FieldPath.parse("a"))).name(),
                new IndexSpec(List.of(FieldPath.parse("a.b"))).name(),
                new IndexSpec(List.of(FieldPath.parse("a_b"))).name(),
                new IndexSpec(List.of(FieldPath.parse("a"))).name()))
        .doesNotHaveDuplicates();
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "[]|must be a JSON object",
        "{}|needs \"fields\"",
        "{'fields': 'a'}|needs \"fields\"",
        "{'fields': []}|1 to 8 fields, got 0",
        "{'fields': ['a','b','c','d','e','f','g','h','i']}|1 to 8 fields, got 9",
        "{'fields': ['a', 'a']}|lists a field twice",
        "{'fields': [1]}|must be strings",
        "{'fields': ['a'], 'unique': true}|unknown index key 'unique'",
      })
  void invalidDefinitions(String body, String messagePart) {
    assertThatThrownBy(() -> IndexSpec.parse(json(body)))
        .isInstanceOf(InvalidQueryException.class)
        .hasMessageContaining(messagePart)
        .extracting(e -> ((InvalidQueryException) e).code())
        .isEqualTo("invalid_index");
  }

  @Test
  void invalidPathsAreInvalidFields() {
    assertThatThrownBy(() -> IndexSpec.parse(json("{'fields': ['a..b']}")))
        .isInstanceOf(InvalidQueryException.class)
        .extracting(e -> ((InvalidQueryException) e).code())
        .isEqualTo("invalid_field");
  }
}
