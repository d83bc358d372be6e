package io.skein.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class NamesTest {
  @Test
  void collectionNamesFollowTheCharacterRule() {
    assertThat(CollectionName.user("users.v2-x_1").value()).isEqualTo("users.v2-x_1");
    assertThatThrownBy(() -> CollectionName.user("a b"))
        .isInstanceOf(InvalidNameException.class)
        .hasMessageContaining("[A-Za-z0-9_.-]");
    assertThatThrownBy(() -> CollectionName.user("x".repeat(129)))
        .isInstanceOf(InvalidNameException.class);
    assertThatThrownBy(() -> CollectionName.user("")).isInstanceOf(InvalidNameException.class);
  }

  @Test
  void dotAndDotDotAreNotCollectionNames() {
    for (String bad : new String[] {".", ".."}) {
      assertThatThrownBy(() -> CollectionName.user(bad))
          .as(bad)
          .isInstanceOf(InvalidNameException.class)
          .hasMessageContaining("'.' and '..'")
          .extracting(e -> ((InvalidNameException) e).code())
          .isEqualTo("invalid_collection_name");
    }
    assertThat(CollectionName.user("...").value()).isEqualTo("...");
    assertThat(CollectionName.user(".hidden").value()).isEqualTo(".hidden");
    // Names already stored, or sent by a peer of an earlier version, still read.
    assertThat(new CollectionName("..").value()).isEqualTo("..");
  }

  @Test
  void systemPrefixIsReserved() {
    assertThatThrownBy(() -> CollectionName.user("_system_remote_peers"))
        .isInstanceOf(InvalidNameException.class)
        .extracting(e -> ((InvalidNameException) e).code())
        .isEqualTo("reserved_collection_name");
    assertThat(CollectionName.system("_system_rollback").isSystem()).isTrue();
    assertThatThrownBy(() -> CollectionName.system("users"))
        .isInstanceOf(InvalidNameException.class);
  }

  @Test
  void documentIdsAreOnePathSegmentOfBoundedLength() {
    assertThat(DocumentId.of("ada@example.com #1 é 𝄞").value()).contains("𝄞");
    for (String bad : new String[] {"", ".", "..", "a/b", "tab\there", "x".repeat(513)}) {
      assertThatThrownBy(() -> DocumentId.of(bad))
          .as(bad)
          .isInstanceOf(InvalidNameException.class)
          .extracting(e -> ((InvalidNameException) e).code())
          .isEqualTo("invalid_document_id");
    }
    assertThatThrownBy(() -> DocumentId.of("bad\uD800")).hasMessageContaining("unpaired surrogate");
    // 512 bytes is allowed even when it is fewer characters.
    assertThat(DocumentId.of("é".repeat(256)).value()).hasSize(256);
    assertThatThrownBy(() -> DocumentId.of("é".repeat(257))).hasMessageContaining("512 bytes");
  }

  @Test
  void documentIdsCompareByCodePoint() {
    // U+FF21 is above the surrogate range in UTF-16 but below U+1D11E by code point.
    assertThat(DocumentId.of("\uFF21").compareTo(DocumentId.of("𝄞"))).isNegative();
    assertThat(DocumentId.of("a").compareTo(DocumentId.of("ab"))).isNegative();
    assertThat(DocumentId.compareCodePoints("b", "ab")).isPositive();
  }
}
