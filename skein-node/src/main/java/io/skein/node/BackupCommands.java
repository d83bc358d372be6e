package io.skein.node;

import io.skein.core.model.InvalidNameException;
import io.skein.core.model.NodeId;
import io.skein.internal.json.Json;
import io.skein.internal.storage.BackupException;
import io.skein.internal.storage.BackupFile;
import io.skein.internal.storage.BackupManifest;
import io.skein.internal.storage.Restore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code datastore-node backup}, {@code restore} and {@code verify-backup}
 * (docs/operating/backup.md). Exit status: 0 on success; 1 if the node refused, or the file was
 * refused (one line on stderr says why); 3 if the node could not be reached or the download broke
 * off. A failed command leaves no file behind.
 */
final class BackupCommands {
  /** The longest the node may take to start answering: it first copies its whole database. */
  static final Duration SNAPSHOT_WAIT = Duration.ofHours(1);

  /** The most bytes of an error answer that are read. */
  private static final int ERROR_BYTES_MAX = 64 * 1024;

  private BackupCommands() {}

  /** {@code datastore-node backup --url URL --out FILE}: {@code GET /admin/backup}, verified. */
  @Command(
      name = "backup",
      mixinStandardHelpOptions = true,
      description =
          "Downloads a consistent backup of a running node (GET /admin/backup) into FILE. The"
              + " download goes to a temporary file beside FILE, is verified (magic, checksums),"
              + " and only then takes FILE's name; an existing FILE is never overwritten.")
  static final class BackupCommand extends AdminCommands.Target implements Callable<Integer> {
    @Option(names = "--out", required = true, paramLabel = "FILE", description = "Where to write.")
    Path out = Path.of("backup.skeinbak");

    @Override
    public Integer call() {
      PrintWriter err = spec.commandLine().getErr();
      Path target = out.toAbsolutePath();
      Path directory = target.getParent();
      if (Files.exists(target)) {
        err.println("datastore-node: " + target + " exists: a backup never overwrites a file");
        return 1;
      }
      if (directory == null || !Files.isDirectory(directory)) {
        err.println("datastore-node: the directory of " + target + " does not exist");
        return 1;
      }
      Path partial;
      try {
        partial = Files.createTempFile(directory, "." + target.getFileName() + ".", ".part");
      } catch (IOException e) {
        err.println("datastore-node: cannot create a file in " + directory + ": " + e);
        return 1;
      }
      try {
        return download(partial, target);
      } finally {
        try {
          Files.deleteIfExists(partial);
        } catch (IOException e) {
          err.println("datastore-node: cannot delete " + partial + ": " + e);
        }
      }
    }

    private int download(Path partial, Path target) {
      PrintWriter err = spec.commandLine().getErr();
      URI uri = URI.create(url.replaceAll("/+$", "") + "/admin/backup");
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(SNAPSHOT_WAIT).GET();
      String token = token();
      if (token != null) {
        request.header("Authorization", "Bearer " + token);
      }
      try {
        HttpResponse<InputStream> response =
            client.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream body = response.body()) {
          if (response.statusCode() != 200) {
            err.println(
                "datastore-node: the node refused the backup: "
                    + refusal(response.statusCode(), body));
            return 1;
          }
          try (OutputStream file = Files.newOutputStream(partial)) {
            body.transferTo(file);
          }
        }
      } catch (IOException | IllegalArgumentException e) {
        err.println("datastore-node: the backup from " + uri + " failed: " + e);
        return 3;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return 3;
      }
      return keep(partial, target);
    }

    /** Verifies the download and gives it its name. */
    private int keep(Path partial, Path target) {
      PrintWriter err = spec.commandLine().getErr();
      try {
        BackupManifest manifest = BackupFile.verify(partial);
        BackupFile.force(partial);
        BackupFile.publish(partial, target);
        spec.commandLine().getOut().println(summary(target, manifest));
        return 0;
      } catch (BackupException e) {
        err.println("datastore-node: the download is not a sound backup: " + oneLine(e));
        return 1;
      } catch (FileAlreadyExistsException e) {
        err.println("datastore-node: " + target + " appeared meanwhile; it was left as it is");
        return 1;
      } catch (IOException e) {
        err.println("datastore-node: cannot write " + target + ": " + e);
        return 1;
      }
    }

    /** {@code HTTP 409 backup_in_progress: <message>}, from the node's JSON error. */
    private static String refusal(int status, InputStream body) throws IOException {
      String text = new String(body.readNBytes(ERROR_BYTES_MAX), StandardCharsets.UTF_8);
      try {
        var error = Json.MAPPER.readTree(text).path("error");
        if (error.hasNonNull("code")) {
          return "HTTP "
              + status
              + " "
              + error.path("code").asText()
              + ": "
              + error.path("message");
        }
      } catch (IOException e) {
        // not JSON: show the start of the text
      }
      return "HTTP " + status + (text.isBlank() ? "" : ": " + text.strip().lines().findFirst());
    }
  }

  /** {@code datastore-node restore --in FILE --data-dir DIR --node-id ID [--seed-leader]}. */
  @Command(
      name = "restore",
      mixinStandardHelpOptions = true,
      description =
          "Restores a backup as DIR/node-ID.db, for a node that is not running. The whole file is"
              + " verified first (magic, format, schema version, length, SHA-256, SQLite"
              + " integrity); nothing is written if it is refused, and an existing database is"
              + " never overwritten.")
  static final class RestoreCommand implements Callable<Integer> {
    @Option(names = "--in", required = true, paramLabel = "FILE", description = "The backup.")
    Path in = Path.of("backup.skeinbak");

    @Option(names = "--data-dir", required = true, paramLabel = "DIR", description = "Data dir.")
    Path dataDir = Path.of("data");

    @Option(names = "--node-id", required = true, paramLabel = "ID", description = "Node id.")
    String nodeId = "";

    @Option(
        names = "--seed-leader",
        description =
            "Leader mode: turn the backup's log into a snapshot state, to seed a new cluster.")
    boolean seedLeader;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec = CommandLine.Model.CommandSpec.create();

    @Override
    public Integer call() {
      PrintWriter err = spec.commandLine().getErr();
      NodeId id;
      try {
        id = NodeId.of(nodeId);
      } catch (InvalidNameException e) {
        err.println("datastore-node: " + e.getMessage());
        return 2;
      }
      Restore.Result result;
      try {
        result = Restore.restore(in, dataDir, id, seedLeader);
      } catch (BackupException e) {
        err.println("datastore-node: " + oneLine(e));
        return 1;
      }
      BackupManifest manifest = result.manifest();
      if (!manifest.leaderMode() && manifest.sourceNodeId().equals(id.value())) {
        err.println(
            "datastore-node: note: "
                + id
                + " is the id the backup was taken from; if that node wrote after the backup,"
                + " give this one a new id, or its next writes reuse sequence numbers its peers"
                + " already hold");
      }
      PrintWriter out = spec.commandLine().getOut();
      out.println(
          "restored "
              + result.databaseFile()
              + " for node "
              + id
              + " from "
              + summary(in, manifest)
              + (result.seededLeader()
                  ? "; seeded a leader log at index " + appliedIndex(manifest)
                  : "")
              + (result.localSequence() >= 0 ? "; own sequence " + result.localSequence() : ""));
      return 0;
    }
  }

  /** {@code datastore-node verify-backup --in FILE}: checks a backup file without restoring it. */
  @Command(
      name = "verify-backup",
      mixinStandardHelpOptions = true,
      description =
          "Verifies a backup file (magic, format, manifest and database checksums, length) and"
              + " prints its manifest. Writes nothing.")
  static final class VerifyCommand implements Callable<Integer> {
    @Option(names = "--in", required = true, paramLabel = "FILE", description = "The backup.")
    Path in = Path.of("backup.skeinbak");

    @CommandLine.Spec CommandLine.Model.CommandSpec spec = CommandLine.Model.CommandSpec.create();

    @Override
    public Integer call() {
      try {
        BackupManifest manifest = BackupFile.verify(in);
        spec.commandLine().getOut().println(summary(in, manifest));
        spec.commandLine().getOut().println(manifest.toJson());
        return 0;
      } catch (BackupException e) {
        spec.commandLine().getErr().println("datastore-node: " + oneLine(e));
        return 1;
      }
    }
  }

  private static long appliedIndex(BackupManifest manifest) {
    BackupManifest.LeaderPosition leader = manifest.leader();
    return leader == null ? 0 : leader.appliedIndex();
  }

  /** One line: the file, its node, mode, position and size. */
  static String summary(Path file, BackupManifest manifest) {
    BackupManifest.LeaderPosition leader = manifest.leader();
    String position =
        leader == null
            ? "version vector " + new java.util.TreeMap<>(manifest.versionVector())
            : "applied index " + leader.appliedIndex() + " (epoch " + leader.appliedEpoch() + ")";
    return file
        + ": node "
        + manifest.sourceNodeId()
        + ", "
        + manifest.mode()
        + " mode, "
        + position
        + ", lsn "
        + manifest.lsn()
        + ", taken "
        + manifest.createdAt()
        + ", "
        + manifest.databaseBytes()
        + " database bytes, sha256 "
        + manifest.databaseSha256();
  }

  private static String oneLine(Exception e) {
    return String.valueOf(e.getMessage()).replace('\n', ' ');
  }
}
