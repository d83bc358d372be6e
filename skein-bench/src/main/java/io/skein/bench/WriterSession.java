package io.skein.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * One writer thread's puts against a {@link PutTarget}: it numbers its documents and hands them to
 * the target's writer. Shared by the plain runners and the JMH benchmarks. Not thread-safe.
 */
final class WriterSession implements ClosedLoop.Operation {
  private final PutTarget.Writer writer;
  private final int index;
  private final int batchSize;
  private long sequence;

  /**
   * Creates the session of writer {@code index}.
   *
   * @param batchSize 1 for single puts, more for one transaction of that many puts per call
   */
  WriterSession(PutTarget target, int index, int batchSize) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batchSize must be >= 1, was " + batchSize);
    }
    this.writer = target.newWriter(index);
    this.index = index;
    this.batchSize = batchSize;
  }

  /** Does one single put or one batch; returns the number of puts. */
  @Override
  public int run() {
    return batchSize == 1 ? putOne() : putBatch();
  }

  /** Puts the next document in its own transaction; returns 1. */
  int putOne() {
    long s = sequence++;
    writer.put(Documents.id(index, s), Documents.body(s));
    return 1;
  }

  /** Puts the next {@code batchSize} documents in one transaction; returns {@code batchSize}. */
  int putBatch() {
    List<PutTarget.Put> puts = new ArrayList<>(batchSize);
    for (int i = 0; i < batchSize; i++) {
      long s = sequence++;
      puts.add(new PutTarget.Put(Documents.id(index, s), Documents.body(s)));
    }
    writer.putAll(puts);
    return batchSize;
  }

  @Override
  public void close() {
    writer.close();
  }
}
