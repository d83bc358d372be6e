package io.skein.internal.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.skein.Durability;
import io.skein.core.hlc.Hlc;
import io.skein.core.merge.DocumentState;
import io.skein.core.merge.InMemoryReplica;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The SQL upsert that applies last-write-wins inside SQLite must agree with the reference {@link
 * InMemoryReplica} for any entries in any order (origins with numeric and non-numeric ids, equal
 * HLCs across origins, deletes), committed in random group sizes.
 */
class StoreMatchesReplicaProperties {
  record Write(String origin, int key, long physicalMs, int logical, boolean delete, int value) {}

  @Property(tries = 60)
  void sqliteStateEqualsTheReferenceReplica(@ForAll("writes") List<Write> writes, @ForAll long seed)
      throws IOException {
    List<OplogEntry> entries = entries(writes);
    Collections.shuffle(entries, new Random(seed));
    InMemoryReplica reference = new InMemoryReplica();
    entries.forEach(reference::apply);

    Path dir = Files.createTempDirectory("skein-prop");
    try (SqliteStore store =
        SqliteStore.open(dir, NodeId.of("x"), Durability.BUFFERED, 1, new SimpleMeterRegistry())) {
      Random random = new Random(seed);
      for (int i = 0; i < entries.size(); ) {
        int group = 1 + random.nextInt(5);
        List<OplogEntry> part = entries.subList(i, Math.min(entries.size(), i + group));
        store.append(part, Hlc.ZERO);
        i += part.size();
      }
      for (Map.Entry<DocumentKey, DocumentState> expected : reference.documents().entrySet()) {
        StoredDocument actual = store.get(expected.getKey()).orElseThrow();
        assertThat(actual.version()).isEqualTo(expected.getValue().version());
        assertThat(actual.body()).isEqualTo(expected.getValue().document());
      }
      assertThat(store.changes(0, null, 10_000).changes()).hasSize(entries.size());
    } finally {
      try (var files = Files.walk(dir)) {
        files.sorted(Collections.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static List<OplogEntry> entries(List<Write> writes) {
    Map<String, Long> sequences = new HashMap<>();
    Map<String, Boolean> versions = new HashMap<>();
    List<OplogEntry> entries = new ArrayList<>();
    for (Write w : writes) {
      String version = w.physicalMs() + "." + w.logical() + "@" + w.origin();
      if (versions.putIfAbsent(version, true) != null) {
        continue; // one origin never issues the same HLC twice
      }
      long sequence = sequences.merge(w.origin(), 1L, Long::sum);
      entries.add(
          OplogEntry.create(
              NodeId.of(w.origin()),
              sequence,
              new Hlc(w.physicalMs(), w.logical()),
              w.delete() ? io.skein.core.oplog.Operation.DELETE : io.skein.core.oplog.Operation.PUT,
              CollectionName.user("c"),
              DocumentId.of("k" + w.key()),
              w.delete() ? null : "{\"v\":" + w.value() + "}"));
    }
    return entries;
  }

  @Provide
  Arbitrary<List<Write>> writes() {
    Arbitrary<Write> write =
        Combinators.combine(
                Arbitraries.of("1", "2", "10", "9", "a", "B", "007"),
                Arbitraries.integers().between(0, 5),
                Arbitraries.longs().between(1_000, 1_004),
                Arbitraries.integers().between(0, 2),
                Arbitraries.of(true, false),
                Arbitraries.integers().between(0, 99))
            .as(Write::new);
    return write.list().ofMinSize(1).ofMaxSize(40);
  }
}
