package io.skein.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;

/**
 * CPU time of the whole machine, of this JVM (the benchmark's clients) and of the node processes,
 * read from {@code /proc} (Linux), so that a window can tell where the CPUs went: to the clients,
 * to the nodes, or to anything else running at the same time.
 *
 * <p>Both {@code /proc/stat} and {@code /proc/PID/stat} count in the kernel's clock ticks, so the
 * shares need no tick rate. On a system without {@code /proc} every reading is unknown (-1).
 *
 * @param machineBusyTicks ticks all CPUs spent neither idle nor waiting for IO, or -1
 * @param machineTotalTicks ticks all CPUs spent in any state, or -1
 * @param clientTicks user and system ticks of this JVM, or -1
 * @param nodeTicks user and system ticks of the node processes, or -1
 */
record CpuMeter(long machineBusyTicks, long machineTotalTicks, long clientTicks, long nodeTicks) {
  private static final Path PROC_STAT = Path.of("/proc/stat");

  /**
   * What a window used, in CPUs (1.0 = one CPU busy for the whole window); -1 where unknown.
   *
   * @param machineCpus the whole machine
   * @param clientCpus this JVM
   * @param nodeCpus the node processes
   */
  record Share(double machineCpus, double clientCpus, double nodeCpus) {
    static final Share UNKNOWN = new Share(-1, -1, -1);

    /** Returns the CPUs used by processes other than the benchmark's, or -1 if unknown. */
    double otherCpus() {
      return machineCpus < 0 || clientCpus < 0 || nodeCpus < 0
          ? -1
          : Math.max(0, machineCpus - clientCpus - nodeCpus);
    }
  }

  /**
   * Reads the counters now. The node processes must be the same at both ends of a window.
   *
   * @param nodePids the process ids of the nodes
   */
  static CpuMeter now(Collection<Long> nodePids) {
    long[] machine = machine();
    long nodes = 0;
    for (long pid : nodePids) {
      long ticks = processTicks(pid);
      if (ticks < 0) {
        nodes = -1;
        break;
      }
      nodes += ticks;
    }
    return new CpuMeter(machine[0], machine[1], processTicks(ProcessHandle.current().pid()), nodes);
  }

  /** Returns what was used between {@code start} and this reading. */
  Share since(CpuMeter start) {
    long total = machineTotalTicks - start.machineTotalTicks;
    if (machineTotalTicks < 0 || start.machineTotalTicks < 0 || total <= 0) {
      return Share.UNKNOWN;
    }
    int cpus = Runtime.getRuntime().availableProcessors();
    return new Share(
        cpus(machineBusyTicks, start.machineBusyTicks, total, cpus),
        cpus(clientTicks, start.clientTicks, total, cpus),
        cpus(nodeTicks, start.nodeTicks, total, cpus));
  }

  private static double cpus(long end, long start, long totalTicks, int cpus) {
    return end < 0 || start < 0 ? -1 : (double) (end - start) / totalTicks * cpus;
  }

  /** Returns {busy, total} ticks of all CPUs, or {-1, -1}. */
  private static long[] machine() {
    try {
      String line = Files.readAllLines(PROC_STAT).get(0);
      String[] fields = line.trim().split("\\s+", -1);
      // cpu user nice system idle iowait irq softirq steal guest guest_nice; guest time is
      // already counted in user and nice.
      long busy = 0;
      long total = 0;
      for (int i = 1; i <= 8 && i < fields.length; i++) {
        long ticks = Long.parseLong(fields[i]);
        total += ticks;
        if (i != 4 && i != 5) {
          busy += ticks;
        }
      }
      return new long[] {busy, total};
    } catch (IOException | RuntimeException e) {
      return new long[] {-1, -1};
    }
  }

  /** Returns the user and system ticks of a process, or -1. */
  static long processTicks(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      // The command name (field 2) may hold spaces; the fields after it follow its ')'.
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ", -1);
      // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
      return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }
}
