package io.skein.bench;

import io.skein.Durability;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH: the baseline of {@link EmbeddedPutBenchmark}, the same puts as plain SQLite inserts into
 * Skein's {@code docs} table ({@link RawSqliteTarget}), one database per trial. Each put is its own
 * transaction; {@code batch100} is 100 inserts in one transaction, scored per put. {@code baseline}
 * picks one connection shared under a lock (the default) or one connection per thread. Run both
 * classes in the same JMH run:
 *
 * <pre>
 * java -jar skein-bench/target/skein-benchmarks.jar 'io.skein.bench.(EmbeddedPut|RawSqliteInsert)'
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1, time = 2)
@Measurement(iterations = 3, time = 3)
@Fork(
    value = 1,
    jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
public class RawSqliteInsertBenchmark {
  /** Fsync or buffered commits. */
  @Param({"FSYNC", "BUFFERED"})
  public Durability durability = Durability.FSYNC;

  private final AtomicInteger writers = new AtomicInteger();

  @SuppressWarnings("NullAway.Init")
  private Path dir;

  /**
   * How the threads reach the database: {@code raw}, one connection shared under a lock, or {@code
   * raw-per-conn}, one connection per thread (see {@link RawSqliteTarget.Sharing}).
   */
  @Param({"raw"})
  public String baseline = "raw";

  @SuppressWarnings("NullAway.Init")
  private PutTarget target;

  /** Creates a fresh database. */
  @Setup(Level.Trial)
  public void open() {
    dir = TempDirs.create(TempDirs.defaultParent(), "skein-jmh-");
    if (!baseline.startsWith("raw")) {
      throw new IllegalArgumentException("baseline must be raw or raw-per-conn, was " + baseline);
    }
    target = PutThroughput.open(baseline, dir, durability);
  }

  /** Closes and deletes the database. */
  @TearDown(Level.Trial)
  public void close() {
    target.close();
    TempDirs.delete(dir);
  }

  /** One JMH thread's writer. */
  @State(Scope.Thread)
  public static class Writer {
    @SuppressWarnings("NullAway.Init")
    private WriterSession session;

    /** Opens this thread's writer on the benchmark's database. */
    @Setup(Level.Trial)
    public void open(RawSqliteInsertBenchmark benchmark) {
      session = new WriterSession(benchmark.target, benchmark.writers.getAndIncrement(), 100);
    }

    /** Releases this thread's writer. */
    @TearDown(Level.Trial)
    public void close() {
      session.close();
    }
  }

  /** Single puts, one writer. */
  @Benchmark
  @Threads(1)
  public int put1(Writer writer) {
    return writer.session.putOne();
  }

  /** Single puts, 8 writers. */
  @Benchmark
  @Threads(8)
  public int put8(Writer writer) {
    return writer.session.putOne();
  }

  /** Single puts, 64 writers. */
  @Benchmark
  @Threads(64)
  public int put64(Writer writer) {
    return writer.session.putOne();
  }

  /** 100 inserts per transaction, one writer; the score is puts per second. */
  @Benchmark
  @Threads(1)
  @OperationsPerInvocation(100)
  public int batch100(Writer writer) {
    return writer.session.putBatch();
  }
}
