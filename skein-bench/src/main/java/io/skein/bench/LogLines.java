package io.skein.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;

/** Reads the log files of the processes a benchmark started. */
final class LogLines {
  private LogLines() {}

  /**
   * Adds to {@code found} each line of {@code logFile} that {@code keep} accepts, prefixed with
   * {@code "<source>: "}. A missing file adds nothing; a file that cannot be read adds one line
   * saying so.
   */
  static void addMatching(List<String> found, String source, Path logFile, Predicate<String> keep) {
    if (!Files.exists(logFile)) {
      return;
    }
    try (Stream<String> lines = Files.lines(logFile)) {
      lines.filter(keep).forEach(line -> found.add(source + ": " + line));
    } catch (IOException | UncheckedIOException e) {
      found.add(source + ": cannot read " + logFile + ": " + e);
    }
  }
}
