package io.skein.bench;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.skein.Batch;
import io.skein.DocumentCollection;
import io.skein.Durability;
import io.skein.Skein;
import io.skein.SkeinConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Skein's embedded API as a {@link PutTarget}: {@link DocumentCollection#put(String, String)} for
 * one put and a {@link Batch} for many. All writers share one {@link Skein}, as threads of an
 * application would, so their puts meet in its group commit.
 */
final class SkeinTarget implements PutTarget {
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final Skein skein;
  private final DocumentCollection documents;

  private SkeinTarget(Path dataDir, Durability durability) {
    this.skein =
        Skein.open(SkeinConfig.builder(dataDir, "1").durability(durability).meters(meters).build());
    this.documents = skein.collection(Documents.COLLECTION);
  }

  /** Opens a store in {@code dataDir} with the default settings and the given durability. */
  static SkeinTarget open(Path dataDir, Durability durability) {
    return new SkeinTarget(dataDir, durability);
  }

  @Override
  public String name() {
    return "skein";
  }

  @Override
  public Writer newWriter(int index) {
    return new Writer() {
      @Override
      public void put(String id, String body) {
        documents.put(id, body);
      }

      @Override
      public void putAll(List<Put> puts) {
        Batch batch = skein.batch();
        for (Put put : puts) {
          batch.put(Documents.COLLECTION, put.id(), put.body());
        }
        batch.commit();
      }
    };
  }

  @Override
  public CommitStats commitStats() {
    return commitStats(meters);
  }

  /** Reads the commit counters of the Skein store that registers its meters in {@code meters}. */
  static CommitStats commitStats(MeterRegistry meters) {
    return new CommitStats(
        (long) meters.get("skein.storage.commits").counter().count(),
        (long) meters.get("skein.storage.commit").timer().totalTime(TimeUnit.NANOSECONDS),
        (long) meters.get("skein.storage.commit.entries").summary().totalAmount());
  }

  @Override
  public void close() {
    skein.close();
    meters.close();
  }
}
