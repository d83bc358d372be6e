package io.skein.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code datastore-node aot-train}, the training run of {@code bin/datastore-node}'s start-up
 * cache: it must reach a primary and write through the HTTP API (it exits 1 when no write
 * succeeded, which would train the cache on start-up code only), and refuses a nonsensical
 * duration.
 */
class AotTrainingTest {
  private static int run(String... args) {
    return DatastoreNode.run(
        new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()), Map.of(), args);
  }

  @Test
  void aShortTrainingRunWritesThroughAThreeNodeClusterAndExitsCleanly() {
    assertThat(run("aot-train", "--seconds", "3")).isZero();
  }

  @Test
  void aDurationOutOfRangeIsRefused() {
    assertThat(run("aot-train", "--seconds", "0")).isEqualTo(2);
    assertThat(run("aot-train", "--seconds", "601")).isEqualTo(2);
  }
}
