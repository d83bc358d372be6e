package io.skein.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** What the benchmark ITs that start real {@code datastore-node} processes share. */
final class BenchItSupport {
  private BenchItSupport() {}

  /**
   * Returns the node jar: the {@code skein.nodeJar} system property, or skein-node's build output.
   *
   * @throws IllegalStateException if there is no file there
   */
  static Path nodeJar() {
    String property = System.getProperty("skein.nodeJar");
    Path jar =
        property != null
            ? Path.of(property)
            : Path.of("..", "skein-node", "target", "datastore-node.jar");
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(
          "no node jar at " + jar + ": run with `mvn verify` so that skein-node is packaged first");
    }
    return jar;
  }

  /** Returns the names of the regular files below {@code directory}, at any depth. */
  static List<String> regularFileNames(Path directory) throws IOException {
    try (Stream<Path> files = Files.walk(directory)) {
      return files.filter(Files::isRegularFile).map(p -> p.getFileName().toString()).toList();
    }
  }
}
