package io.skein.node;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The operator subcommands: they talk to a running node over its HTTP API (DESIGN.md "Admin API").
 * Exit status: 0 on success, 1 if the node answered with an error (a failed reload, a wrong token),
 * 3 if the node could not be reached.
 */
final class AdminCommands {
  private AdminCommands() {}

  /** Options every subcommand shares. */
  static class Target {
    @Option(
        names = "--url",
        description = "The node's base URL (default http://127.0.0.1:9000).",
        defaultValue = "http://127.0.0.1:9000")
    String url = "http://127.0.0.1:9000";

    @Option(
        names = "--admin-token",
        description = "The admin token, or $${ENV_NAME}; default: env SKEIN_ADMIN_TOKEN.")
    @Nullable String adminToken;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec = CommandLine.Model.CommandSpec.create();

    @Nullable String token() {
      String value = adminToken;
      if (value == null) {
        return System.getenv("SKEIN_ADMIN_TOKEN");
      }
      if (value.startsWith("${") && value.endsWith("}")) {
        return System.getenv(value.substring(2, value.length() - 1));
      }
      return value;
    }

    int send(String method, String path, String body) {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(URI.create(url.replaceAll("/+$", "") + path))
              .timeout(Duration.ofMinutes(15))
              .header("Content-Type", "application/json")
              .method(method, HttpRequest.BodyPublishers.ofString(body));
      String token = token();
      if (token != null) {
        request.header("Authorization", "Bearer " + token);
      }
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      try {
        HttpResponse<String> response =
            client.send(request.build(), HttpResponse.BodyHandlers.ofString());
        spec.commandLine()
            .getOut()
            .println(response.body().isEmpty() ? "HTTP " + response.statusCode() : response.body());
        return response.statusCode() / 100 == 2 ? 0 : 1;
      } catch (IOException | IllegalArgumentException e) {
        spec.commandLine().getErr().println("datastore-node: cannot reach " + url + ": " + e);
        return 3;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return 3;
      }
    }
  }

  /** {@code datastore-node reload [--sections a,b]}: {@code POST /admin/reload}. */
  @Command(
      name = "reload",
      mixinStandardHelpOptions = true,
      description = "Asks a running node to reload its configuration; prints the result.")
  static final class Reload extends Target implements Callable<Integer> {
    @Option(
        names = "--sections",
        split = ",",
        description = "Only these sections (node, cluster, replication, limits, log, ...).")
    @Nullable List<String> sections;

    @Override
    public Integer call() {
      String body = "";
      List<String> chosen = sections;
      if (chosen != null && !chosen.isEmpty()) {
        var json = io.skein.internal.json.Json.MAPPER.createObjectNode();
        var array = json.putArray("sections");
        chosen.forEach(array::add);
        body = json.toString();
      }
      return send("POST", "/admin/reload", body);
    }
  }

  /**
   * {@code datastore-node check --data-dir DIR [--node-id ID]}: verifies a stopped node's data file
   * offline. Exit status 0 if every file is sound, 1 if a problem was found, 2 if there is nothing
   * to check.
   */
  @Command(
      name = "check",
      mixinStandardHelpOptions = true,
      description =
          "Verifies a stopped node's data file: SQLite integrity, every checksum, and documents"
              + " against their entries. Exits 1 with a report if anything is wrong.")
  static final class Check implements Callable<Integer> {
    @Option(names = "--data-dir", required = true, description = "The node's data directory.")
    java.nio.file.Path dataDir = java.nio.file.Path.of("data");

    @Option(names = "--node-id", description = "Only node-{ID}.db (default: every node-*.db).")
    @Nullable String nodeId;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec = CommandLine.Model.CommandSpec.create();

    @Override
    public Integer call() throws Exception {
      List<java.nio.file.Path> files = new java.util.ArrayList<>();
      if (nodeId != null) {
        files.add(dataDir.resolve("node-" + nodeId + ".db"));
      } else if (java.nio.file.Files.isDirectory(dataDir)) {
        try (var listing = java.nio.file.Files.newDirectoryStream(dataDir, "node-*.db")) {
          listing.forEach(files::add);
        }
      }
      if (files.isEmpty()) {
        spec.commandLine().getErr().println("datastore-node: no node-*.db file in " + dataDir);
        return 2;
      }
      boolean ok = true;
      for (java.nio.file.Path file : files) {
        try {
          io.skein.internal.storage.StoreCheck.Report report =
              io.skein.internal.storage.StoreCheck.check(file);
          spec.commandLine().getOut().print(report.text());
          ok &= report.ok();
        } catch (java.sql.SQLException e) {
          spec.commandLine()
              .getOut()
              .println(file + ": cannot be read as SQLite: " + e.getMessage());
          ok = false;
        }
      }
      spec.commandLine().getOut().flush();
      return ok ? 0 : 1;
    }
  }

  /** {@code datastore-node forget --peer ID}: {@code POST /admin/peers/{id}/forget}. */
  @Command(
      name = "forget",
      mixinStandardHelpOptions = true,
      description =
          "Dynamo mode: tells a running node that a peer taken out of cluster.peers is gone for"
              + " good, so tombstone collection stops waiting for it. The peer must never come"
              + " back with its old data.")
  static final class Forget extends Target implements Callable<Integer> {
    @Option(names = "--peer", required = true, description = "The node id of the peer to forget.")
    String peer = "";

    @Override
    public Integer call() {
      return send(
          "POST",
          "/admin/peers/"
              + java.net.URLEncoder.encode(peer, java.nio.charset.StandardCharsets.UTF_8)
                  .replace("+", "%20")
              + "/forget",
          "");
    }
  }

  /** {@code datastore-node status}: {@code GET /v1/cluster}. */
  @Command(
      name = "status",
      mixinStandardHelpOptions = true,
      description = "Prints a running node's view of its cluster (GET /v1/cluster).")
  static final class Status extends Target implements Callable<Integer> {
    @Override
    public Integer call() {
      return send("GET", "/v1/cluster", "");
    }
  }
}
