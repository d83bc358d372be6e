package io.skein.core.oplog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.skein.core.hlc.Hlc;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.NodeId;
import org.junit.jupiter.api.Test;

class OplogEntryTest {
  private static OplogEntry put(String body) {
    return OplogEntry.create(
        NodeId.of("1"),
        1,
        new Hlc(1000, 0),
        Operation.PUT,
        CollectionName.user("c"),
        DocumentId.of("d"),
        body);
  }

  @Test
  void checksumCoversEveryField() {
    OplogEntry entry = put("{\"a\":1}");
    assertThat(entry.isIntact()).isTrue();
    OplogEntry tampered =
        new OplogEntry(
            entry.origin(),
            entry.sequence(),
            entry.hlc(),
            entry.operation(),
            entry.collection(),
            entry.id(),
            "{\"a\":2}",
            entry.epoch(),
            entry.index(),
            entry.checksum());
    assertThat(tampered.isIntact()).isFalse();
    OplogEntry otherSequence =
        new OplogEntry(
            entry.origin(),
            2,
            entry.hlc(),
            entry.operation(),
            entry.collection(),
            entry.id(),
            entry.document(),
            entry.epoch(),
            entry.index(),
            entry.checksum());
    assertThat(otherSequence.isIntact()).isFalse();
  }

  @Test
  void fieldBoundariesCannotBeShifted() {
    // "ab"+"c" and "a"+"bc" must not collide: fields are length-prefixed.
    int one =
        OplogEntry.computeChecksum(
            NodeId.of("1"),
            1,
            Hlc.ZERO,
            Operation.PUT,
            CollectionName.user("ab"),
            DocumentId.of("c"),
            "{}",
            0,
            0);
    int two =
        OplogEntry.computeChecksum(
            NodeId.of("1"),
            1,
            Hlc.ZERO,
            Operation.PUT,
            CollectionName.user("a"),
            DocumentId.of("bc"),
            "{}",
            0,
            0);
    assertThat(one).isNotEqualTo(two);
  }

  @Test
  void shapeInvariantsAreChecked() {
    assertThatThrownBy(
            () ->
                OplogEntry.create(
                    NodeId.of("1"),
                    0,
                    Hlc.ZERO,
                    Operation.PUT,
                    CollectionName.user("c"),
                    DocumentId.of("d"),
                    "{}"))
        .hasMessageContaining("sequence");
    assertThatThrownBy(
            () ->
                OplogEntry.create(
                    NodeId.of("1"),
                    1,
                    Hlc.ZERO,
                    Operation.DELETE,
                    CollectionName.user("c"),
                    DocumentId.of("d"),
                    "{}"))
        .hasMessageContaining("delete");
    assertThatThrownBy(
            () ->
                OplogEntry.create(
                    NodeId.of("1"),
                    1,
                    Hlc.ZERO,
                    Operation.PUT,
                    CollectionName.user("c"),
                    DocumentId.of("d"),
                    null))
        .hasMessageContaining("put");
  }

  @Test
  void versionTextRoundTripsAndOrdersByHlcThenOrigin() {
    Version v = new Version(new Hlc(1_763_860_068_000L, 3), NodeId.of("node-a"));
    assertThat(v.toString()).isEqualTo("1763860068000.3@node-a");
    assertThat(Version.parse(v.toString())).isEqualTo(v);
    Version lowerOrigin = new Version(v.hlc(), NodeId.of("2"));
    assertThat(v.supersedes(lowerOrigin)).isTrue();
    assertThat(new Version(new Hlc(1, 0), NodeId.of("z")).supersedes(lowerOrigin)).isFalse();
    assertThatThrownBy(() -> Version.parse("garbage")).isInstanceOf(IllegalArgumentException.class);
  }
}
