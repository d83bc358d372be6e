package io.skein.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class NodeIdTest {
  @Test
  void numericIdsComeFirstAndCompareNumerically() {
    List<NodeId> ids = new ArrayList<>();
    for (String s : List.of("b", "10", "2", "A", "007", "1", "0", "a-1", "9")) {
      ids.add(NodeId.of(s));
    }
    Collections.sort(ids);
    assertThat(ids.stream().map(NodeId::value))
        .containsExactly("0", "1", "2", "9", "10", "007", "A", "a-1", "b");
  }

  @Test
  void leadingZerosAreNotCanonicalIntegers() {
    assertThat(NodeId.of("007").isNumeric()).isFalse();
    assertThat(NodeId.of("0").isNumeric()).isTrue();
    assertThat(NodeId.of("70").isNumeric()).isTrue();
  }

  @Test
  void rejectsInvalidIds() {
    for (String bad : List.of("", "a b", "x/y", "é", "a".repeat(65))) {
      assertThatThrownBy(() -> NodeId.of(bad))
          .isInstanceOf(InvalidNameException.class)
          .hasMessageContaining("node id")
          .extracting(e -> ((InvalidNameException) e).code())
          .isEqualTo("invalid_node_id");
    }
    assertThat(NodeId.of("a".repeat(64)).value()).hasSize(64);
  }

  @Property(tries = 2000)
  void sortKeyOrderIsTheIdOrder(@ForAll("ids") String a, @ForAll("ids") String b) {
    NodeId x = NodeId.of(a);
    NodeId y = NodeId.of(b);
    assertThat(Integer.signum(x.sortKey().compareTo(y.sortKey())))
        .isEqualTo(Integer.signum(x.compareTo(y)));
    assertThat(x.compareTo(y) == 0).isEqualTo(x.equals(y));
  }

  @Provide
  Arbitrary<String> ids() {
    Arbitrary<String> numeric =
        Arbitraries.longs().between(0, Long.MAX_VALUE).map(n -> Long.toString(n));
    Arbitrary<String> big = Arbitraries.strings().numeric().ofMinLength(1).ofMaxLength(64);
    Arbitrary<String> text =
        Arbitraries.strings().withChars("abAB09_.-").ofMinLength(1).ofMaxLength(12);
    return Arbitraries.oneOf(numeric, big, text);
  }
}
