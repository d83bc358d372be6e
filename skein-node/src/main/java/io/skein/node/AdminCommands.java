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
        String name = value.substring(2, value.length() - 1);
        String resolved = System.getenv(name);
        if (resolved == null) {
          spec.commandLine()
              .getErr()
              .println(
                  "datastore-node: --admin-token names ${"
                      + name
                      + "}, which is not set in this environment; the request goes without a"
                      + " token");
        }
        return resolved;
      }
      return value;
    }

    private HttpRequest request(URI uri, String method, String body) {
      HttpRequest.Builder request =
          HttpRequest.newBuilder(uri)
              .timeout(Duration.ofMinutes(15))
              .header("Content-Type", "application/json")
              .method(method, HttpRequest.BodyPublishers.ofString(body));
      String token = token();
      if (token != null) {
        request.header("Authorization", "Bearer " + token);
      }
      return request.build();
    }

    /**
     * Whether a redirect may be followed with the admin token: to http or https only, and never
     * from https down to http (the token would cross the network in clear).
     */
    static boolean safeRedirect(URI from, URI to) {
      String scheme = String.valueOf(to.getScheme()).toLowerCase(java.util.Locale.ROOT);
      if (!scheme.equals("http") && !scheme.equals("https")) {
        return false;
      }
      return !("https".equalsIgnoreCase(from.getScheme()) && scheme.equals("http"));
    }

    int send(String method, String path, String body) {
      return send(method, path, body, 1, false);
    }

    /**
     * Sends a request and prints the answer, following {@code 307} redirects (a leader-mode
     * secondary sends a change to the primary) with the same method, body and token, never out of
     * https ({@link #safeRedirect}).
     *
     * @param redirectsMax how many redirects to follow
     * @param onlyOk whether only {@code 200} succeeds ({@code 202}: the change is still under way)
     * @return 0 on success, 1 if the node answered otherwise, 3 if it could not be reached
     */
    int send(String method, String path, String body, int redirectsMax, boolean onlyOk) {
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      URI uri = URI.create(url.replaceAll("/+$", "") + path);
      try {
        for (int hop = 0; ; hop++) {
          HttpResponse<String> response =
              client.send(request(uri, method, body), HttpResponse.BodyHandlers.ofString());
          String location = response.headers().firstValue("Location").orElse(null);
          if (response.statusCode() == 307 && location != null && hop < redirectsMax) {
            URI next = uri.resolve(location);
            if (!safeRedirect(uri, next)) {
              spec.commandLine()
                  .getErr()
                  .println(
                      "datastore-node: not following a redirect from "
                          + uri
                          + " to "
                          + next
                          + ": the admin token would leave https");
              return 1;
            }
            uri = next;
            spec.commandLine().getErr().println("datastore-node: following the primary at " + uri);
            continue;
          }
          spec.commandLine()
              .getOut()
              .println(
                  response.body().isEmpty() ? "HTTP " + response.statusCode() : response.body());
          int status = response.statusCode();
          return (onlyOk ? status == 200 : status / 100 == 2) ? 0 : 1;
        }
      } catch (IOException | IllegalArgumentException e) {
        spec.commandLine().getErr().println("datastore-node: cannot reach " + uri + ": " + e);
        return 3;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return 3;
      }
    }
  }

  /** {@code datastore-node cluster-config get|set|unset}: the cluster-wide settings. */
  @Command(
      name = "cluster-config",
      mixinStandardHelpOptions = true,
      description =
          "Reads or changes the cluster-wide settings (the replicated _system_config collection):"
              + " every node applies them through its reload engine.",
      subcommands = {ClusterConfigGet.class, ClusterConfigSet.class, ClusterConfigUnset.class})
  static final class ClusterConfig implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec = CommandLine.Model.CommandSpec.create();

    @Override
    public Integer call() {
      spec.commandLine().usage(spec.commandLine().getErr());
      return 2;
    }
  }

  /** {@code cluster-config get}: {@code GET /admin/cluster-config}. */
  @Command(
      name = "get",
      mixinStandardHelpOptions = true,
      description = "Prints the cluster-wide values, and those the node left out, with why.")
  static final class ClusterConfigGet extends Target implements Callable<Integer> {
    @Override
    public Integer call() {
      return send("GET", "/admin/cluster-config", "");
    }
  }

  /** {@code cluster-config set KEY=VALUE...}: {@code PUT /admin/cluster-config}. */
  @Command(
      name = "set",
      mixinStandardHelpOptions = true,
      description =
          "Sets cluster-wide values, e.g. replication.sync-interval=1s limits.rate-limit=50. A"
              + " VALUE that is JSON (a number, true, [..]) is sent as such, anything else as"
              + " text. Nothing is written if any value is refused.")
  static final class ClusterConfigSet extends Target implements Callable<Integer> {
    @CommandLine.Parameters(arity = "1..*", paramLabel = "KEY=VALUE", description = "Values.")
    List<String> assignments = new java.util.ArrayList<>();

    @Override
    public Integer call() {
      var json = io.skein.internal.json.Json.MAPPER.createObjectNode();
      for (String assignment : assignments) {
        int eq = assignment.indexOf('=');
        if (eq < 1) {
          spec.commandLine().getErr().println("datastore-node: expected KEY=VALUE: " + assignment);
          return 2;
        }
        json.set(assignment.substring(0, eq), value(assignment.substring(eq + 1)));
      }
      return send("PUT", "/admin/cluster-config", json.toString());
    }

    /** JSON if the text is a JSON scalar or array, else the text itself. */
    static com.fasterxml.jackson.databind.JsonNode value(String text) {
      try {
        var parsed = io.skein.internal.json.Json.MAPPER.readTree(text);
        if (parsed != null && !parsed.isMissingNode() && !parsed.isNull() && !parsed.isObject()) {
          return parsed;
        }
      } catch (java.io.IOException e) {
        // not JSON: text
      }
      return com.fasterxml.jackson.databind.node.TextNode.valueOf(text);
    }
  }

  /** {@code cluster-config unset KEY...}: removes cluster-wide values. */
  @Command(
      name = "unset",
      mixinStandardHelpOptions = true,
      description = "Removes cluster-wide values; each node falls back to its own sources.")
  static final class ClusterConfigUnset extends Target implements Callable<Integer> {
    @CommandLine.Parameters(arity = "1..*", paramLabel = "KEY", description = "Setting paths.")
    List<String> keys = new java.util.ArrayList<>();

    @Override
    public Integer call() {
      var json = io.skein.internal.json.Json.MAPPER.createObjectNode();
      keys.forEach(json::putNull);
      return send("PUT", "/admin/cluster-config", json.toString());
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
