package io.skein.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.skein.core.model.NodeId;
import io.skein.internal.storage.Backup;
import io.skein.internal.storage.BackupFile;
import io.skein.internal.storage.BackupManifest;
import io.skein.node.config.ConfigSources;
import io.skein.testkit.HttpJson;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /admin/backup} and the {@code backup}, {@code restore} and {@code verify-backup}
 * commands against an in-process node (docs/operating/backup.md): the admin API's authorization,
 * one backup at a time, a download that restores into a node serving the same documents under a new
 * id, and the refusals, each with its exit status, its one-line reason, and no file left.
 */
@Timeout(120)
class BackupRestoreTest {
  private static final String TOKEN = "an-admin-token-for-backups";

  @TempDir Path dir;

  private record Result(int status, String out, String err) {}

  private static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int status = DatastoreNode.run(new PrintWriter(out), new PrintWriter(err), Map.of(), args);
    return new Result(status, out.toString(), err.toString());
  }

  private static NodeServer start(Path dataDir, String nodeId, @Nullable String token) {
    ConfigSources.Builder sources =
        ConfigSources.builder()
            .flag("--port", "0")
            .flag("--data-dir", dataDir.toString())
            .flag("--node-id", nodeId)
            .flag("--mode", "dynamo")
            .flag("--durability", "buffered")
            .flag("--reload-watch", "false");
    if (token != null) {
      sources.flag("--admin-token", token);
    }
    return NodeServer.start(sources.build());
  }

  private static String url(NodeServer server) {
    return "http://127.0.0.1:" + server.port();
  }

  private static void write(NodeServer server, int documents) throws Exception {
    try (HttpJson http = new HttpJson(URI.create(url(server)))) {
      for (int i = 0; i < documents; i++) {
        assertThat(http.put("/v1/collections/c/docs/d" + i, "{\"n\":" + i + "}").status())
            .isEqualTo(200);
      }
    }
  }

  private static HttpResponse<byte[]> getBackup(NodeServer server, @Nullable String token)
      throws Exception {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(url(server) + "/admin/backup"))
            .timeout(Duration.ofSeconds(30));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    try (HttpClient client = HttpClient.newHttpClient()) {
      return client.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
    }
  }

  private static List<String> listing(Path directory) throws Exception {
    try (Stream<Path> files = Files.list(directory)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void theBackupEndpointNeedsTheAdminTokenAndStreamsABackupThatRestores() throws Exception {
    Path data = dir.resolve("data");
    try (NodeServer server = start(data, "1", TOKEN)) {
      write(server, 20);
      HttpResponse<byte[]> none = getBackup(server, null);
      assertThat(none.statusCode()).isEqualTo(401);
      assertThat(new String(none.body())).contains("unauthorized");
      assertThat(getBackup(server, "not-the-admin-token-at-all").statusCode()).isEqualTo(401);

      HttpResponse<byte[]> answer = getBackup(server, TOKEN);
      assertThat(answer.statusCode()).isEqualTo(200);
      assertThat(answer.headers().firstValue("Content-Type")).hasValue("application/octet-stream");
      assertThat(answer.headers().firstValueAsLong("Content-Length"))
          .hasValue(answer.body().length);
      assertThat(answer.headers().firstValue("Content-Disposition").orElseThrow())
          .matches("attachment; filename=\"node-1-\\d{8}T\\d{6}Z\\.skeinbak\"");
      Path file = dir.resolve("http.skeinbak");
      Files.write(file, answer.body());
      BackupManifest manifest = BackupFile.verify(file);
      assertThat(manifest.sourceNodeId()).isEqualTo("1");
      assertThat(manifest.mode()).isEqualTo("dynamo");
      assertThat(listing(data)).as("no temporary file is left").noneMatch(n -> n.endsWith(".tmp"));

      Result restore =
          run(
              "restore",
              "--in",
              file.toString(),
              "--data-dir",
              dir.resolve("r").toString(),
              "--node-id",
              "5");
      assertThat(restore.status()).as(restore.err()).isZero();
    }
    try (NodeServer restored = start(dir.resolve("r"), "5", null);
        HttpJson http = new HttpJson(URI.create(url(restored)))) {
      for (int i = 0; i < 20; i++) {
        assertThat(http.get("/v1/collections/c/docs/d" + i).body()).contains("\"n\":" + i);
      }
      assertThat(http.get("/v1/cluster").body()).contains("\"nodeId\":\"5\"");
    }
  }

  @Test
  void withoutAnAdminTokenTheEndpointIsOff() throws Exception {
    try (NodeServer server = start(dir.resolve("data"), "1", null)) {
      HttpResponse<byte[]> answer = getBackup(server, TOKEN);
      assertThat(answer.statusCode()).isEqualTo(403);
      assertThat(new String(answer.body())).contains("admin_disabled").contains("admin.token");
    }
  }

  @Test
  void aSecondBackupWhileOneRunsIsRefused() throws Exception {
    Path data = dir.resolve("data");
    try (NodeServer server = start(data, "1", TOKEN)) {
      write(server, 3);
      try (Backup.Lease running = Backup.begin(Backup.databaseFile(data, NodeId.of("1")))) {
        HttpResponse<byte[]> second = getBackup(server, TOKEN);
        assertThat(second.statusCode()).isEqualTo(409);
        assertThat(new String(second.body()))
            .contains("backup_in_progress")
            .contains("one backup runs at a time");
        Result cli =
            run(
                "backup",
                "--url",
                url(server),
                "--admin-token",
                TOKEN,
                "--out",
                dir.resolve("second.skeinbak").toString());
        assertThat(cli.status()).isEqualTo(1);
        assertThat(cli.err()).contains("HTTP 409 backup_in_progress").hasLineCount(1);
        assertThat(dir.resolve("second.skeinbak")).doesNotExist();
      }
      assertThat(getBackup(server, TOKEN).statusCode()).as("free once it ended").isEqualTo(200);
    }
  }

  @Test
  void aClientThatGoesAwayMidStreamLeavesNoTemporaryFileAndFreesTheNextBackup() throws Exception {
    Path data = dir.resolve("data");
    try (NodeServer server = start(data, "1", TOKEN);
        HttpJson http = new HttpJson(URI.create(url(server)))) {
      // Far more than the socket buffers hold, so the node is still writing when the client goes.
      String pad = "x".repeat(30_000);
      for (int i = 0; i < 300; i++) {
        assertThat(http.put("/v1/collections/c/docs/d" + i, "{\"pad\":\"" + pad + "\"}").status())
            .isEqualTo(200);
      }
      try (java.net.Socket socket = new java.net.Socket()) {
        socket.setReceiveBufferSize(4_096);
        socket.connect(new java.net.InetSocketAddress("127.0.0.1", server.port()), 5_000);
        socket.setSoTimeout(30_000);
        socket
            .getOutputStream()
            .write(
                ("GET /admin/backup HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                        + TOKEN
                        + "\r\n\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        byte[] start = socket.getInputStream().readNBytes(1_000);
        assertThat(new String(start, java.nio.charset.StandardCharsets.ISO_8859_1))
            .startsWith("HTTP/1.1 200")
            .contains("SKEINBAK 1");
      } // closed with most of the answer unread
      assertThat(
              ItSupport.awaitCondition(
                  Duration.ofSeconds(30),
                  () -> {
                    try {
                      return listing(data).stream().noneMatch(n -> n.endsWith(".tmp"))
                          && getBackup(server, TOKEN).statusCode() == 200;
                    } catch (Exception e) {
                      return false;
                    }
                  }))
          .as("the snapshot's file is deleted and the next backup runs")
          .isTrue();
    }
  }

  @Test
  void theBackupCommandWritesAVerifiedFileAndNeverAHalfOne() throws Exception {
    Path out = dir.resolve("backups").resolve("node1.skeinbak");
    Files.createDirectories(out.getParent());
    try (NodeServer server = start(dir.resolve("data"), "1", TOKEN)) {
      write(server, 5);
      Result ok =
          run("backup", "--url", url(server), "--admin-token", TOKEN, "--out", out.toString());
      assertThat(ok.status()).as(ok.err()).isZero();
      assertThat(ok.out()).contains("node 1, dynamo mode").contains("sha256");
      assertThat(BackupFile.verify(out).sourceNodeId()).isEqualTo("1");
      byte[] first = Files.readAllBytes(out);

      Result again =
          run("backup", "--url", url(server), "--admin-token", TOKEN, "--out", out.toString());
      assertThat(again.status()).isEqualTo(1);
      assertThat(again.err()).contains(out.toString()).contains("exists");
      assertThat(Files.readAllBytes(out)).as("left as it was").isEqualTo(first);

      Path refused = dir.resolve("backups").resolve("refused.skeinbak");
      Result wrongToken =
          run(
              "backup",
              "--url",
              url(server),
              "--admin-token",
              "not-the-admin-token-at-all",
              "--out",
              refused.toString());
      assertThat(wrongToken.status()).isEqualTo(1);
      assertThat(wrongToken.err())
          .contains("the node refused the backup: HTTP 401 unauthorized")
          .hasLineCount(1);
    }
    Result unreachable =
        run(
            "backup",
            "--url",
            "http://127.0.0.1:1",
            "--out",
            dir.resolve("backups").resolve("none.skeinbak").toString());
    assertThat(unreachable.status()).isEqualTo(3);
    assertThat(listing(dir.resolve("backups")))
        .as("only the good backup: no partial download is left")
        .containsExactly("node1.skeinbak");
  }

  @Test
  void theRestoreCommandRefusesBadFilesWithOneLineAndWritesNothing() throws Exception {
    Path good = dir.resolve("good.skeinbak");
    try (NodeServer server = start(dir.resolve("data"), "1", TOKEN)) {
      write(server, 5);
      assertThat(
              run("backup", "--url", url(server), "--admin-token", TOKEN, "--out", good.toString())
                  .status())
          .isZero();
    }
    byte[] bytes = Files.readAllBytes(good);
    byte[] flipped = bytes.clone();
    flipped[bytes.length - 100] ^= 0x10;
    Path damaged = Files.write(dir.resolve("damaged.skeinbak"), flipped);
    Path truncated =
        Files.write(dir.resolve("truncated.skeinbak"), java.util.Arrays.copyOf(bytes, 5_000));
    Path foreign = Files.copy(dir.resolve("data").resolve("node-1.db"), dir.resolve("plain.db"));
    Path target = dir.resolve("target");

    Map<Path, String> refusals =
        Map.of(
            damaged, "checksum mismatch",
            truncated, "is truncated",
            foreign, "not a Skein backup");
    for (Map.Entry<Path, String> refusal : refusals.entrySet()) {
      Result result =
          run(
              "restore",
              "--in",
              refusal.getKey().toString(),
              "--data-dir",
              target.toString(),
              "--node-id",
              "5");
      assertThat(result.status()).as(result.err()).isEqualTo(1);
      assertThat(result.err()).contains(refusal.getValue()).hasLineCount(1);
      assertThat(target).as("nothing written for " + refusal.getKey()).doesNotExist();
    }
    Result verify = run("verify-backup", "--in", damaged.toString());
    assertThat(verify.status()).isEqualTo(1);
    assertThat(verify.err()).contains("checksum mismatch").contains("the file is damaged");
    assertThat(run("verify-backup", "--in", good.toString()).out())
        .contains("\"sourceNodeId\":\"1\"");

    Result seed =
        run(
            "restore",
            "--in",
            good.toString(),
            "--data-dir",
            target.toString(),
            "--node-id",
            "5",
            "--seed-leader");
    assertThat(seed.status()).isEqualTo(1);
    assertThat(seed.err()).contains("--seed-leader needs a leader-mode backup");

    assertThat(
            run(
                    "restore",
                    "--in",
                    good.toString(),
                    "--data-dir",
                    target.toString(),
                    "--node-id",
                    "5")
                .status())
        .isZero();
    Result twice =
        run("restore", "--in", good.toString(), "--data-dir", target.toString(), "--node-id", "5");
    assertThat(twice.status()).isEqualTo(1);
    assertThat(twice.err()).contains(target.resolve("node-5.db").toString()).contains("exists");

    Result sameId =
        run(
            "restore",
            "--in",
            good.toString(),
            "--data-dir",
            dir.resolve("same").toString(),
            "--node-id",
            "1");
    assertThat(sameId.status()).isZero();
    assertThat(sameId.err()).as("a warning, not a failure").contains("give this one a new id");

    Result badId =
        run(
            "restore",
            "--in",
            good.toString(),
            "--data-dir",
            target.toString(),
            "--node-id",
            "no spaces");
    assertThat(badId.status()).isEqualTo(2);
  }
}
