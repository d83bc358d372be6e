package io.skein.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** Fresh data directories for each measured store, deleted afterwards. */
final class TempDirs {
  private TempDirs() {}

  /**
   * Creates a new empty directory under {@code parent} (created if needed).
   *
   * @throws UncheckedIOException if it cannot be created
   */
  static Path create(Path parent, String prefix) {
    try {
      Files.createDirectories(parent);
      return Files.createTempDirectory(parent, prefix);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a data directory under " + parent, e);
    }
  }

  /** Returns the default parent: the {@code skein.bench.dir} property, or the system temp dir. */
  static Path defaultParent() {
    return Path.of(System.getProperty("skein.bench.dir", System.getProperty("java.io.tmpdir")));
  }

  /**
   * Deletes a directory and everything in it.
   *
   * @throws UncheckedIOException if something cannot be deleted
   */
  static void delete(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      List<Path> paths = walk.sorted(Comparator.reverseOrder()).toList();
      for (Path path : paths) {
        Files.delete(path);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + dir, e);
    }
  }
}
