package io.skein;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SkeinTest {
  @TempDir Path dir;

  private Skein open() {
    return Skein.open(SkeinConfig.builder(dir, "1").durability(Durability.BUFFERED).build());
  }

  @Test
  void putGetDeleteRoundTrip() {
    try (Skein skein = open()) {
      DocumentCollection users = skein.collection("users");
      String v1 = users.put("ada", "{\"name\":\"Ada\",\"n\":1.10}");
      Document ada = users.get("ada").orElseThrow();
      assertThat(ada.version()).isEqualTo(v1);
      assertThat(ada.json()).isEqualTo("{\"name\":\"Ada\",\"n\":1.10}");
      String v2 = users.put("ada", "{\"name\":\"Ada Lovelace\"}");
      assertThat(v2).isNotEqualTo(v1);
      assertThat(users.delete("ada")).isPresent();
      assertThat(users.get("ada")).isEmpty();
      assertThat(users.delete("ada")).isEmpty();
    }
  }

  @Test
  void dataSurvivesReopen() {
    try (Skein skein = open()) {
      skein.collection("c").put("k", "{\"a\":1}");
    }
    try (Skein skein = open()) {
      assertThat(skein.collection("c").get("k").orElseThrow().json()).isEqualTo("{\"a\":1}");
      String version = skein.collection("c").put("k2", "{}");
      assertThat(version).endsWith("@1");
    }
  }

  @Test
  void theClockNeverRegressesAcrossARestartEvenIfWallTimeWentBack() {
    java.time.Instant late = java.time.Instant.ofEpochMilli(2_000_000_000_000L);
    String before;
    try (Skein skein = Skein.open(SkeinConfig.builder(dir, "1").clock(() -> late).build())) {
      before = skein.collection("c").put("a", "{}");
    }
    java.time.Instant early = late.minusSeconds(3_600);
    try (Skein skein = Skein.open(SkeinConfig.builder(dir, "1").clock(() -> early).build())) {
      String after = skein.collection("c").put("a", "{\"v\":2}");
      assertThat(io.skein.core.oplog.Version.parse(after))
          .isGreaterThan(io.skein.core.oplog.Version.parse(before));
      assertThat(skein.collection("c").get("a").orElseThrow().version()).isEqualTo(after);
    }
  }

  @Test
  void typedExceptionsNameTheProblem() {
    try (Skein skein = open()) {
      assertThatThrownBy(() -> skein.collection("_system_rollback"))
          .isInstanceOf(InvalidRequestException.class)
          .extracting(e -> ((SkeinException) e).code())
          .isEqualTo("reserved_collection_name");
      DocumentCollection c = skein.collection("c");
      assertThatThrownBy(() -> c.put("a/b", "{}"))
          .isInstanceOf(InvalidRequestException.class)
          .hasMessageContaining("'/'");
      assertThatThrownBy(() -> c.put("x", "[1,2]"))
          .isInstanceOf(InvalidRequestException.class)
          .extracting(e -> ((SkeinException) e).code())
          .isEqualTo("not_an_object");
      assertThatThrownBy(() -> c.put("x", "{\"a\":1,\"a\":2}"))
          .isInstanceOf(InvalidRequestException.class)
          .hasMessageContaining("Duplicate field");
      assertThatThrownBy(() -> c.put("x", "{\"a\":\"" + "y".repeat(1 << 20) + "\"}"))
          .isInstanceOf(TooLargeException.class)
          .extracting(e -> ((SkeinException) e).code())
          .isEqualTo("document_too_large");
      assertThatThrownBy(() -> c.query("{\"selector\":{\"a\":{\"$where\":1}}}"))
          .isInstanceOf(InvalidRequestException.class)
          .extracting(e -> ((SkeinException) e).code())
          .isEqualTo("unknown_operator");
      assertThat(c.get("x")).isEmpty();
    }
  }

  @Test
  void aBatchIsAtomicAndValidatesBeforeWriting() {
    try (Skein skein = open()) {
      skein.collection("c").put("gone", "{}");
      List<String> versions =
          skein.batch().put("c", "a", "{}").put("d", "b", "{}").delete("c", "gone").commit();
      assertThat(versions).hasSize(3);
      assertThat(skein.collection("c").get("gone")).isEmpty();
      Batch bad = skein.batch().put("c", "x", "{}");
      assertThatThrownBy(() -> bad.put("c", "y", "not json"))
          .isInstanceOf(InvalidRequestException.class);
      assertThat(skein.collection("c").get("x")).isEmpty();
    }
  }

  @Test
  void listPagesInIdOrder() {
    try (Skein skein = open()) {
      DocumentCollection c = skein.collection("c");
      for (String id : List.of("d", "a", "c", "b", "e")) {
        c.put(id, "{}");
      }
      DocumentPage first = c.list(null, 2);
      assertThat(first.documents()).extracting(Document::id).containsExactly("a", "b");
      DocumentPage second = c.list(first.next(), 2);
      assertThat(second.documents()).extracting(Document::id).containsExactly("c", "d");
      DocumentPage last = c.list(second.next(), 2);
      assertThat(last.documents()).extracting(Document::id).containsExactly("e");
      assertThat(last.next()).isNull();
    }
  }

  @Test
  void queryWithIndexSortAndProjection() {
    try (Skein skein = open()) {
      DocumentCollection c = skein.collection("people");
      c.createIndex("age");
      c.put("a", "{\"age\":30,\"name\":\"A\",\"x\":{\"y\":1}}");
      c.put("b", "{\"age\":20,\"name\":\"B\"}");
      c.put("c", "{\"age\":40,\"name\":\"C\"}");
      List<Document> docs =
          c.query(
              "{\"selector\":{\"age\":{\"$gte\":25}},\"sort\":[{\"age\":\"desc\"}],"
                  + "\"fields\":[\"name\"]}");
      assertThat(docs).extracting(Document::id).containsExactly("c", "a");
      assertThat(docs.get(1).json()).isEqualTo("{\"name\":\"A\"}");
      assertThat(c.indexes()).containsExactly(List.of("age"));
    }
  }

  @Test
  void concurrentWritersAllLand() throws Exception {
    try (Skein skein = open();
        ExecutorService pool = Executors.newFixedThreadPool(16)) {
      DocumentCollection c = skein.collection("c");
      List<Future<String>> futures = new ArrayList<>();
      for (int i = 0; i < 400; i++) {
        String id = "d" + i;
        futures.add(pool.submit(() -> c.put(id, "{}")));
      }
      ConcurrentHashMap<String, Boolean> versions = new ConcurrentHashMap<>();
      for (Future<String> f : futures) {
        versions.put(f.get(30, TimeUnit.SECONDS), true);
      }
      assertThat(versions).hasSize(400);
      assertThat(c.list(null, 1000).documents()).hasSize(400);
    }
  }

  @Test
  void subscriptionsDeliverInOrderAndResumeFromAToken() throws Exception {
    try (Skein skein = open()) {
      DocumentCollection c = skein.collection("c");
      c.put("a", "{}");
      List<ChangeEvent> seen = new CopyOnWriteArrayList<>();
      try (Subscription sub = skein.subscribe(null, seen::add)) {
        c.put("b", "{}");
        c.delete("a");
        awaitSize(seen, 3);
        assertThat(sub.position()).isEqualTo("3");
      }
      assertThat(seen).extracting(ChangeEvent::id).containsExactly("a", "b", "a");
      assertThat(seen.get(2).operation()).isEqualTo("delete");
      ChangeFeedPage page = skein.changes(seen.get(0).token(), 10);
      assertThat(page.changes()).extracting(ChangeEvent::id).containsExactly("b", "a");
      assertThatThrownBy(() -> skein.changes("999", 10))
          .isInstanceOf(InvalidRequestException.class)
          .hasMessageContaining("not a token");
    }
  }

  @Test
  void closedStoreRefusesWithATypedError() {
    Skein skein = open();
    skein.close();
    assertThatThrownBy(() -> skein.collection("c").put("a", "{}"))
        .isInstanceOf(ClosedException.class);
    skein.close();
  }

  private static void awaitSize(List<?> list, int size) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (list.size() < size && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(list).hasSize(size);
  }
}
