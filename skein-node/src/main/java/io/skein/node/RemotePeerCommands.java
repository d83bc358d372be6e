package io.skein.node;

import io.skein.internal.crypto.SealedSecrets;
import io.skein.internal.json.Json;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The remote-peer subcommands (DESIGN.md "Admin API"): the seed's {@code add-cloud-peer}, {@code
 * add-static-peer}, {@code peers list|enable|disable|remove ID} over the admin API, and {@code
 * seal-secret}, which seals a client secret with the cluster key offline (D7).
 */
final class RemotePeerCommands {
  private RemotePeerCommands() {}

  private static String path(String id) {
    return "/admin/peers/" + URLEncoder.encode(id, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** {@code datastore-node add-cloud-peer --node-id … --address … --authority … --client-id …}. */
  @Command(
      name = "add-cloud-peer",
      mixinStandardHelpOptions = true,
      description =
          "Adds a cloud peer to the replicated remote-peer list (any node; every node sees it"
              + " within a sync interval). The client secret is a ${ENV_NAME} reference or a"
              + " value from `datastore-node seal-secret`, never plain text.")
  static final class AddCloudPeer extends AdminCommands.Target implements Callable<Integer> {
    @Option(names = "--node-id", required = true, description = "The cloud node's id.")
    String nodeId = "";

    @Option(names = "--address", required = true, description = "Where it listens: host:port.")
    String address = "";

    @Option(names = "--authority", required = true, description = "The OAuth2 issuer URL.")
    String authority = "";

    @Option(names = "--client-id", required = true, description = "The OAuth2 client id.")
    String clientId = "";

    @Option(
        names = "--client-secret",
        description = "A $${ENV_NAME} reference (resolved on each node) or a sealed value.")
    @Nullable String clientSecret;

    @Option(names = "--scopes", split = ",", description = "The scopes to ask for (a,b).")
    @Nullable List<String> scopes;

    @Override
    public Integer call() {
      var body = Json.MAPPER.createObjectNode();
      body.put("address", address).put("type", "CloudRemote");
      var oauth2 = body.putObject("oauth2");
      oauth2.put("authority", authority).put("clientId", clientId);
      if (clientSecret != null) {
        oauth2.put("clientSecret", clientSecret);
      }
      var array = oauth2.putArray("scopes");
      List<String> chosen = scopes;
      if (chosen != null) {
        chosen.forEach(array::add);
      }
      return send("PUT", path(nodeId), body.toString());
    }
  }

  /** {@code datastore-node add-static-peer --node-id … --address …}. */
  @Command(
      name = "add-static-peer",
      mixinStandardHelpOptions = true,
      description = "Adds a static remote peer (it authenticates with the cluster secret).")
  static final class AddStaticPeer extends AdminCommands.Target implements Callable<Integer> {
    @Option(names = "--node-id", required = true, description = "The remote node's id.")
    String nodeId = "";

    @Option(names = "--address", required = true, description = "Where it listens: host:port.")
    String address = "";

    @Override
    public Integer call() {
      var body = Json.MAPPER.createObjectNode();
      body.put("address", address).put("type", "StaticRemote");
      return send("PUT", path(nodeId), body.toString());
    }
  }

  /** {@code datastore-node peers list|enable|disable|remove}. */
  @Command(
      name = "peers",
      mixinStandardHelpOptions = true,
      description = "Lists or changes the replicated remote-peer list.",
      subcommands = {
        Peers.ListPeers.class,
        Peers.Enable.class,
        Peers.Disable.class,
        Peers.Remove.class
      })
  static final class Peers implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec = CommandLine.Model.CommandSpec.create();

    @Override
    public Integer call() {
      spec.commandLine().usage(spec.commandLine().getErr());
      return 2;
    }

    /** {@code peers list}. */
    @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists the peers.")
    static final class ListPeers extends AdminCommands.Target implements Callable<Integer> {
      @Override
      public Integer call() {
        return send("GET", "/admin/peers", "");
      }
    }

    /** {@code peers enable ID}. */
    @Command(name = "enable", mixinStandardHelpOptions = true, description = "Enables a peer.")
    static final class Enable extends AdminCommands.Target implements Callable<Integer> {
      @Parameters(index = "0", description = "The peer's node id.")
      String id = "";

      @Override
      public Integer call() {
        return send("POST", path(id) + "/enable", "");
      }
    }

    /** {@code peers disable ID}. */
    @Command(
        name = "disable",
        mixinStandardHelpOptions = true,
        description = "Disables a peer (kept in the list; cloud sync with it stops).")
    static final class Disable extends AdminCommands.Target implements Callable<Integer> {
      @Parameters(index = "0", description = "The peer's node id.")
      String id = "";

      @Override
      public Integer call() {
        return send("POST", path(id) + "/disable", "");
      }
    }

    /** {@code peers remove ID}. */
    @Command(name = "remove", mixinStandardHelpOptions = true, description = "Removes a peer.")
    static final class Remove extends AdminCommands.Target implements Callable<Integer> {
      @Parameters(index = "0", description = "The peer's node id.")
      String id = "";

      @Override
      public Integer call() {
        return send("DELETE", path(id), "");
      }
    }
  }

  /**
   * {@code datastore-node seal-secret}: reads a secret from standard input (its first line) and
   * prints it sealed with the key derived from the cluster secret, for {@code --client-secret}.
   * Offline: nothing is sent anywhere.
   */
  @Command(
      name = "seal-secret",
      mixinStandardHelpOptions = true,
      description =
          "Seals a secret read from standard input with the cluster key, for add-cloud-peer"
              + " --client-secret. Every node of the cluster (same cluster secret) can open it.")
  static final class SealSecret implements Callable<Integer> {
    @Option(
        names = "--cluster-secret",
        description = "The cluster secret as $${ENV_NAME}; default: env SKEIN_CLUSTER_SECRET.")
    @Nullable String clusterSecret;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec = CommandLine.Model.CommandSpec.create();

    @Override
    public Integer call() throws Exception {
      String reference = clusterSecret == null ? "${SKEIN_CLUSTER_SECRET}" : clusterSecret;
      if (!reference.matches("\\$\\{[A-Za-z_][A-Za-z0-9_]*}")) {
        spec.commandLine()
            .getErr()
            .println(
                "datastore-node: --cluster-secret takes a ${ENV_NAME} reference, never the secret"
                    + " itself (a command line is visible to every user of the machine)");
        return 2;
      }
      String name = reference.substring(2, reference.length() - 1);
      String key = System.getenv(name);
      if (key == null || key.isEmpty()) {
        spec.commandLine()
            .getErr()
            .println("datastore-node: the variable " + name + " (the cluster secret) is not set");
        return 2;
      }
      BufferedReader in =
          new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      String secret = in.readLine();
      if (secret == null || secret.isEmpty()) {
        spec.commandLine()
            .getErr()
            .println("datastore-node: give the secret to seal on standard input (one line)");
        return 2;
      }
      spec.commandLine().getOut().println(SealedSecrets.fromClusterSecret(key).seal(secret));
      spec.commandLine().getOut().flush();
      return 0;
    }
  }
}
