package io.skein.internal.storage;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.jspecify.annotations.Nullable;

/**
 * The backup file format, version {@value #FORMAT_VERSION}: three text lines, then the database.
 *
 * <pre>
 * SKEINBAK 1\n                         magic and format version
 * {"formatVersion":1,...}\n            the manifest, one line of JSON ({@link BackupManifest})
 * manifest-sha256 &lt;64 hex digits&gt;\n    the SHA-256 of the manifest line's bytes (without \n)
 * &lt;databaseBytes bytes&gt;                  the SQLite database, as VACUUM INTO wrote it
 * </pre>
 *
 * <p>Design notes. The manifest is checksummed apart from the database so that a damaged manifest
 * (a wrong length or digest) is told from a damaged database. The database's SHA-256 and length are
 * in the manifest, so one sequential read verifies the whole file, with memory bounded by {@link
 * #MANIFEST_BYTES_MAX}, whatever the file holds: a foreign file is refused within its first bytes.
 * Nothing may follow the database: trailing bytes mean the file is not what was written.
 */
public final class BackupFile {
  /** The first bytes of every backup file. */
  public static final String MAGIC = "SKEINBAK";

  /** The format this build writes, and the newest it reads. */
  public static final int FORMAT_VERSION = 1;

  /** The longest manifest line accepted. */
  static final int MANIFEST_BYTES_MAX = 64 * 1024;

  private static final String CHECKSUM_PREFIX = "manifest-sha256 ";
  private static final int VERSION_DIGITS_MAX = 9;
  private static final int COPY_BUFFER_BYTES = 64 * 1024;

  private BackupFile() {}

  /** Returns the three header lines of a backup holding a database described by the manifest. */
  public static byte[] header(BackupManifest manifest) {
    String json = manifest.toJson();
    String text =
        MAGIC
            + " "
            + manifest.formatVersion()
            + "\n"
            + json
            + "\n"
            + CHECKSUM_PREFIX
            + sha256Hex(json.getBytes(StandardCharsets.UTF_8))
            + "\n";
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Verifies a whole backup file: magic, format version, the manifest's checksum, the schema
   * version, the database's length and SHA-256. Reads the file once and writes nothing.
   *
   * @return the manifest
   * @throws BackupException if the file is not a backup, is damaged, truncated, of a newer format
   *     or schema, or cannot be read
   */
  public static BackupManifest verify(Path file) {
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file), COPY_BUFFER_BYTES)) {
      BackupManifest manifest = readHeader(in, file);
      readDatabase(in, manifest, file, null);
      return manifest;
    } catch (IOException e) {
      throw new BackupException(
          BackupException.UNREADABLE, "cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads and checks the header of a backup: after it returns, {@code in} is at the first byte of
   * the database.
   *
   * @throws BackupException if the header is not a valid one (see {@link #verify})
   * @throws IOException if the file cannot be read
   */
  static BackupManifest readHeader(InputStream in, Path file) throws IOException {
    int version = readMagic(in, file);
    if (version > FORMAT_VERSION) {
      throw new BackupException(
          BackupException.UNSUPPORTED,
          file
              + " is a backup of format "
              + version
              + " and this build reads only format "
              + FORMAT_VERSION
              + " and older: restore it with a newer build");
    }
    byte[] json = readLine(in, file, MANIFEST_BYTES_MAX, "the manifest");
    byte[] checksum = readLine(in, file, CHECKSUM_PREFIX.length() + 64, "the manifest checksum");
    String expected = CHECKSUM_PREFIX + sha256Hex(json);
    if (!expected.equals(new String(checksum, StandardCharsets.UTF_8))) {
      throw damaged(file, "checksum mismatch in the manifest");
    }
    BackupManifest manifest;
    try {
      manifest = BackupManifest.parse(new String(json, StandardCharsets.UTF_8));
    } catch (IllegalArgumentException e) {
      throw damaged(file, e.getMessage());
    }
    checkManifest(manifest, version, file);
    return manifest;
  }

  private static void checkManifest(BackupManifest manifest, int version, Path file) {
    if (manifest.formatVersion() != version) {
      throw damaged(
          file,
          "the manifest says format "
              + manifest.formatVersion()
              + " where the file begins with format "
              + version);
    }
    if (manifest.schemaVersion() > Schema.VERSION) {
      throw new BackupException(
          BackupException.UNSUPPORTED,
          file
              + " holds a database of schema version "
              + manifest.schemaVersion()
              + ", made by a newer build; this build reads schema versions up to "
              + Schema.VERSION
              + ": restore it with a newer build");
    }
    if (manifest.schemaVersion() < 1
        || manifest.databaseBytes() < 0
        || !manifest.databaseSha256().matches("[0-9a-f]{64}")) {
      throw damaged(file, "the manifest's schema version, length or SHA-256 is not valid");
    }
  }

  /**
   * Reads the database part: exactly {@code manifest.databaseBytes()} bytes, then the end of the
   * file; checks its SHA-256, and copies it to {@code copy} if not null.
   *
   * @throws BackupException if the file is truncated, longer, or its SHA-256 does not match
   * @throws IOException if the file cannot be read or the copy cannot be written
   */
  static void readDatabase(
      InputStream in, BackupManifest manifest, Path file, @Nullable OutputStream copy)
      throws IOException {
    MessageDigest digest = sha256();
    byte[] buffer = new byte[COPY_BUFFER_BYTES];
    long left = manifest.databaseBytes();
    while (left > 0) {
      int read = in.read(buffer, 0, (int) Math.min(buffer.length, left));
      if (read < 0) {
        throw new BackupException(
            BackupException.TRUNCATED,
            file
                + " is truncated: it holds "
                + (manifest.databaseBytes() - left)
                + " of the "
                + manifest.databaseBytes()
                + " database bytes its manifest announces (an interrupted download or copy?)");
      }
      digest.update(buffer, 0, read);
      if (copy != null) {
        copy.write(buffer, 0, read);
      }
      left -= read;
    }
    if (in.read() >= 0) {
      throw damaged(file, "bytes follow the " + manifest.databaseBytes() + " database bytes");
    }
    String actual = HexFormat.of().formatHex(digest.digest());
    if (!actual.equals(manifest.databaseSha256())) {
      throw damaged(
          file,
          "checksum mismatch: the database's SHA-256 is "
              + actual
              + " where the manifest says "
              + manifest.databaseSha256());
    }
  }

  /** Reads {@code SKEINBAK <version>\n}; returns the version. */
  private static int readMagic(InputStream in, Path file) throws IOException {
    byte[] magic = (MAGIC + " ").getBytes(StandardCharsets.US_ASCII);
    byte[] start = in.readNBytes(magic.length);
    if (!java.util.Arrays.equals(start, magic)) {
      boolean prefix =
          start.length < magic.length
              && java.util.Arrays.equals(start, 0, start.length, magic, 0, start.length);
      if (prefix && start.length > 0) {
        throw new BackupException(
            BackupException.TRUNCATED, file + " is truncated: it ends inside its first line");
      }
      throw new BackupException(
          BackupException.NOT_A_BACKUP,
          file + " is not a Skein backup: it does not begin with " + MAGIC);
    }
    byte[] digits = readLine(in, file, VERSION_DIGITS_MAX, "the format version");
    String text = new String(digits, StandardCharsets.US_ASCII);
    if (!text.matches("[1-9][0-9]*")) {
      throw new BackupException(
          BackupException.NOT_A_BACKUP,
          file + " is not a Skein backup: its first line is not " + MAGIC + " <version>");
    }
    return Integer.parseInt(text);
  }

  /** Reads up to a line feed (not returned), at most {@code bytesMax} bytes before it. */
  private static byte[] readLine(InputStream in, Path file, int bytesMax, String what)
      throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    while (true) {
      int b = in.read();
      if (b < 0) {
        throw new BackupException(
            BackupException.TRUNCATED, file + " is truncated: it ends inside " + what);
      }
      if (b == '\n') {
        return line.toByteArray();
      }
      if (line.size() >= bytesMax) {
        throw damaged(file, what + " is longer than " + bytesMax + " bytes");
      }
      line.write(b);
    }
  }

  private static BackupException damaged(Path file, @Nullable String why) {
    return new BackupException(
        BackupException.DAMAGED, file + ": " + why + ": the file is damaged; use another backup");
  }

  /** Flushes a file's content to disk. */
  public static void force(Path file) throws IOException {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      channel.force(true);
    }
  }

  /**
   * Gives a finished temporary file its final name in the same directory, never replacing a file: a
   * hard link, which fails if the name exists, then the temporary name is removed; where links are
   * not supported, an atomic rename after a last check. Then syncs the directory.
   *
   * @throws FileAlreadyExistsException if {@code target} exists
   * @throws IOException if the file system fails
   */
  public static void publish(Path temporary, Path target) throws IOException {
    try {
      Files.createLink(target, temporary);
      Files.delete(temporary);
    } catch (FileAlreadyExistsException e) {
      throw e;
    } catch (UnsupportedOperationException | IOException e) {
      if (Files.exists(target)) {
        throw new FileAlreadyExistsException(target.toString());
      }
      Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
    }
    Path directory = target.toAbsolutePath().getParent();
    if (directory != null) {
      try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
        channel.force(true);
      } catch (IOException e) {
        // Some file systems cannot sync a directory: the name is then as durable as they allow.
      }
    }
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  static String sha256Hex(byte[] bytes) {
    return HexFormat.of().formatHex(sha256().digest(bytes));
  }
}
