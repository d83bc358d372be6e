package io.skein.core.merge;

import static org.assertj.core.api.Assertions.assertThat;

import io.skein.core.hlc.Hlc;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.Operation;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.oplog.Version;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Last-write-wins is a join on a total order: any permutation, duplication or interleaving of the
 * same entries leaves every replica with the same documents, and each document is the entry with
 * the greatest version for its key (the oracle).
 */
class LastWriteWinsProperties {
  record Write(int origin, int key, long physicalMs, int logical, boolean delete, int value) {}

  @Property(tries = 500)
  void anyOrderAnyDuplicationSameState(
      @ForAll("writes") List<Write> writes, @ForAll long shuffleSeed) {
    List<OplogEntry> entries = entries(writes);
    InMemoryReplica inOrder = replicaOf(entries);

    List<OplogEntry> shuffled = new ArrayList<>(entries);
    Random random = new Random(shuffleSeed);
    for (int i = 0; i < entries.size() / 2; i++) {
      shuffled.add(entries.get(random.nextInt(entries.size())));
    }
    Collections.shuffle(shuffled, random);
    InMemoryReplica permuted = replicaOf(shuffled);

    assertThat(permuted.documents()).isEqualTo(inOrder.documents());
    assertThat(inOrder.documents()).isEqualTo(oracle(entries));
  }

  @Property(tries = 300)
  void interleavingAcrossReplicasConverges(
      @ForAll("writes") List<Write> writes, @ForAll long splitSeed) {
    List<OplogEntry> entries = entries(writes);
    Random random = new Random(splitSeed);
    List<List<OplogEntry>> parts = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
    for (OplogEntry entry : entries) {
      parts.get(random.nextInt(3)).add(entry);
    }
    // (A then B) then C on one replica; C then (B then A) on another, each part reversed.
    InMemoryReplica left = new InMemoryReplica();
    parts.forEach(part -> part.forEach(left::apply));
    InMemoryReplica right = new InMemoryReplica();
    for (int p = 2; p >= 0; p--) {
      List<OplogEntry> part = new ArrayList<>(parts.get(p));
      Collections.reverse(part);
      part.forEach(right::apply);
    }
    assertThat(left.documents()).isEqualTo(right.documents());
    assertThat(left.documents()).isEqualTo(oracle(entries));
  }

  @Property(tries = 200)
  void reapplyingIsANoOp(@ForAll("writes") List<Write> writes) {
    List<OplogEntry> entries = entries(writes);
    InMemoryReplica replica = replicaOf(entries);
    Map<DocumentKey, DocumentState> before = Map.copyOf(replica.documents());
    for (OplogEntry entry : entries) {
      assertThat(replica.apply(entry)).isFalse();
    }
    assertThat(replica.documents()).isEqualTo(before);
  }

  private static InMemoryReplica replicaOf(List<OplogEntry> entries) {
    InMemoryReplica replica = new InMemoryReplica();
    entries.forEach(replica::apply);
    return replica;
  }

  /** The specification: per key, the entry with the greatest version, by a plain scan. */
  private static Map<DocumentKey, DocumentState> oracle(List<OplogEntry> entries) {
    Map<DocumentKey, List<OplogEntry>> byKey = new HashMap<>();
    for (OplogEntry entry : entries) {
      byKey.computeIfAbsent(entry.key(), k -> new ArrayList<>()).add(entry);
    }
    Map<DocumentKey, DocumentState> expected = new HashMap<>();
    byKey.forEach(
        (key, list) -> {
          Optional<OplogEntry> winner =
              list.stream().max(Comparator.comparing(OplogEntry::version));
          expected.put(key, DocumentState.of(winner.orElseThrow()));
        });
    return expected;
  }

  /** Turns writes into entries with dense per-origin sequences, as origins would number them. */
  private static List<OplogEntry> entries(List<Write> writes) {
    Map<Integer, Long> sequences = new HashMap<>();
    List<OplogEntry> entries = new ArrayList<>();
    for (Write w : writes) {
      long sequence = sequences.merge(w.origin(), 1L, Long::sum);
      entries.add(
          OplogEntry.create(
              NodeId.of(Integer.toString(w.origin())),
              sequence,
              new Hlc(w.physicalMs(), w.logical()),
              w.delete() ? Operation.DELETE : Operation.PUT,
              CollectionName.user("c"),
              DocumentId.of("k" + w.key()),
              w.delete() ? null : "{\"v\":" + w.value() + "}"));
    }
    // Ties on (HLC, origin) between different entries cannot happen in a real cluster (one origin
    // never reuses an HLC); drop them so the oracle's max is unique.
    Map<Version, OplogEntry> unique = new HashMap<>();
    List<OplogEntry> result = new ArrayList<>();
    for (OplogEntry entry : entries) {
      if (unique.putIfAbsent(entry.version(), entry) == null) {
        result.add(entry);
      }
    }
    return result;
  }

  @Provide
  Arbitrary<List<Write>> writes() {
    Arbitrary<Write> write =
        Combinators.combine(
                Arbitraries.integers().between(1, 3),
                Arbitraries.integers().between(0, 4),
                Arbitraries.longs().between(1_000, 1_010),
                Arbitraries.integers().between(0, 2),
                Arbitraries.of(true, false),
                Arbitraries.integers().between(0, 99))
            .as(Write::new);
    return write.list().ofMinSize(1).ofMaxSize(60);
  }
}
