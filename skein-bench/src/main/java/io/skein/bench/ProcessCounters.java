package io.skein.bench;

import com.sun.management.OperatingSystemMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What this whole process has used so far: CPU time (all threads, JIT and GC included) and bytes
 * handed to {@code write()}-like system calls ({@code wchar} of {@code /proc/self/io}, Linux only).
 * Read at the edges of a measured window, the difference says what the window cost.
 *
 * @param cpuNanos CPU time, in ns, or -1 if the JVM cannot tell
 * @param writtenBytes bytes written through system calls, or -1 if the OS cannot tell
 */
record ProcessCounters(long cpuNanos, long writtenBytes) {
  private static final Path PROC_IO = Path.of("/proc/self/io");

  /** Reads the counters now. */
  static ProcessCounters now() {
    return new ProcessCounters(readCpuNanos(), readWrittenBytes());
  }

  /** Returns the counters since {@code earlier}; a counter unknown at either end stays -1. */
  ProcessCounters minus(ProcessCounters earlier) {
    return new ProcessCounters(
        difference(cpuNanos, earlier.cpuNanos), difference(writtenBytes, earlier.writtenBytes));
  }

  /** Returns the sum; a counter unknown in either stays -1. */
  ProcessCounters plus(ProcessCounters other) {
    return new ProcessCounters(
        sum(cpuNanos, other.cpuNanos), sum(writtenBytes, other.writtenBytes));
  }

  private static long difference(long later, long earlier) {
    return later < 0 || earlier < 0 ? -1 : Math.max(0, later - earlier);
  }

  private static long sum(long a, long b) {
    return a < 0 || b < 0 ? -1 : a + b;
  }

  private static long readCpuNanos() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof OperatingSystemMXBean os) {
      long nanos = os.getProcessCpuTime();
      return nanos < 0 ? -1 : nanos;
    }
    return -1;
  }

  private static long readWrittenBytes() {
    if (!Files.isReadable(PROC_IO)) {
      return -1;
    }
    try {
      List<String> lines = Files.readAllLines(PROC_IO);
      for (String line : lines) {
        if (line.startsWith("wchar:")) {
          return Long.parseLong(line.substring("wchar:".length()).trim());
        }
      }
      return -1;
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
  }
}
