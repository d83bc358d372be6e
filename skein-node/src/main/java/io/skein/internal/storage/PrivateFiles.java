package io.skein.internal.storage;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Creates the node's directories and files readable by its own user only (0700 and 0600): the data
 * file holds every document, and the known-peers file the cluster's layout. On a file system
 * without POSIX permissions the default applies.
 */
public final class PrivateFiles {
  private PrivateFiles() {}

  /** Creates a directory (and its parents) as 0700 if it does not exist; leaves it otherwise. */
  public static void createDirectories(Path directory) throws IOException {
    if (Files.isDirectory(directory)) {
      return;
    }
    Path parent = directory.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    try {
      if (posix(directory)) {
        Files.createDirectory(
            directory,
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      } else {
        Files.createDirectory(directory);
      }
    } catch (FileAlreadyExistsException e) {
      // Created meanwhile: fine.
    }
  }

  /** Creates an empty file as 0600; fails if it exists. */
  public static void createFile(Path file) throws IOException {
    if (posix(file.toAbsolutePath())) {
      Files.createFile(
          file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } else {
      Files.createFile(file);
    }
  }

  private static boolean posix(@org.jspecify.annotations.Nullable Path path) {
    Path existing = path;
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    return existing != null
        && existing.getFileSystem().supportedFileAttributeViews().contains("posix");
  }
}
