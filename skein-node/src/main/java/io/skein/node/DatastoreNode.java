package io.skein.node;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The {@code datastore-node} command. It accepts the seed's flags verbatim, plus {@code --config},
 * {@code --sync-interval}, {@code --cluster-secret} and {@code --durability}. Exit status: 0 after
 * a clean shutdown, 1 if the node could not start (for example a corrupt data file or a port in
 * use), 2 for invalid flags or settings.
 */
@Command(
    name = "datastore-node",
    mixinStandardHelpOptions = true,
    version = "datastore-node 0.1.0",
    sortOptions = false,
    description = "Runs a Skein node: a replicated JSON document store with an HTTP API.")
public final class DatastoreNode implements Callable<Integer> {
  @Option(names = "--host", description = "Address to bind (default 127.0.0.1).")
  @Nullable String host;

  @Option(names = "--port", description = "Port for the HTTP API and peer streams (default 9000).")
  @Nullable Integer port;

  @Option(names = "--node-id", description = "This node's id (default 1).")
  @Nullable String nodeId;

  @Option(names = "--role", description = "Starting role in leader mode: primary|secondary.")
  @Nullable String role;

  @Option(names = "--mode", description = "Replication mode: leader|dynamo (default leader).")
  @Nullable String mode;

  @Option(names = "--data-dir", description = "Data directory (default ./data).")
  @Nullable Path dataDir;

  @Option(
      names = "--peers",
      description = "Static peers as JSON: [{\"node_id\":2,\"host\":\"127.0.0.1\",\"port\":9001}]")
  @Nullable String peers;

  @Option(names = "--election-interval", description = "Seconds (default 0.5).")
  @Nullable Double electionInterval;

  @Option(names = "--replication-timeout", description = "Seconds (default 2.0).")
  @Nullable Double replicationTimeout;

  @Option(names = "--sync-interval", description = "Anti-entropy interval, seconds (default 2.0).")
  @Nullable Double syncInterval;

  @Option(names = "--config", description = "YAML or JSON config file; flags override it.")
  @Nullable Path config;

  @Option(
      names = "--cluster-secret",
      description = "Peer secret, or ${ENV_NAME}; default: env SKEIN_CLUSTER_SECRET.")
  @Nullable String clusterSecret;

  @Option(
      names = "--cluster-id",
      description = "Cluster name; peers of another cluster are refused (default skein).")
  @Nullable String clusterId;

  @Option(
      names = "--oplog-retention",
      description = "Seconds oplog entries are kept; 0 keeps them (default 604800, 7 days).")
  @Nullable Double oplogRetention;

  @Option(
      names = "--tls-keystore",
      description = "PKCS12/JKS key store: serve HTTPS, and dial peers over TLS.")
  @Nullable Path tlsKeystore;

  @Option(names = "--tls-keystore-password", description = "Key store password, or ${ENV_NAME}.")
  @Nullable String tlsKeystorePassword;

  @Option(
      names = "--tls-truststore",
      description = "Trust store for peers' certificates (default: the key store's).")
  @Nullable Path tlsTruststore;

  @Option(
      names = "--tls-truststore-password",
      description = "Trust store password, or ${ENV_NAME} (default: the key store's).")
  @Nullable String tlsTruststorePassword;

  @Option(
      names = "--discovery",
      arity = "1",
      description = "LAN discovery in dynamo mode: true|false (default false).")
  @Nullable Boolean discovery;

  @Option(names = "--discovery-port", description = "UDP port for beacons (default 9999).")
  @Nullable Integer discoveryPort;

  @Option(
      names = "--discovery-targets",
      description = "Where beacons go: host:port[,host:port] (default 255.255.255.255:PORT).")
  @Nullable String discoveryTargets;

  @Option(
      names = "--discovery-expiry",
      description = "Seconds a discovered peer may be silent before it expires (default 10).")
  @Nullable Double discoveryExpiry;

  @Option(names = "--durability", description = "fsync|buffered (default fsync).")
  @Nullable String durability;

  @Option(names = "--log-format", description = "text|json (default text).")
  String logFormat = "text";

  @Option(names = "--log-level", description = "trace|debug|info|warn|error (default info).")
  String logLevel = "info";

  /** Runs the command and exits with its status. */
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command and returns its exit status, without exiting (for tests). */
  public static int run(String... args) {
    return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
  }

  /** Runs the command with the given output streams; returns its exit status. */
  public static int run(PrintWriter out, PrintWriter err, String... args) {
    CommandLine commandLine = new CommandLine(new DatastoreNode());
    commandLine.setOut(out);
    commandLine.setErr(err);
    commandLine.setExecutionExceptionHandler(
        (e, cmd, parsed) -> {
          if (e instanceof SettingsException) {
            cmd.getErr().println("datastore-node: " + e.getMessage());
            return 2;
          }
          throw e;
        });
    return commandLine.execute(args);
  }

  @Override
  public Integer call() {
    NodeSettings settings = settings();
    configureLogging();
    return NodeServer.runUntilShutdown(settings);
  }

  NodeSettings settings() {
    NodeSettings.Builder builder = new NodeSettings.Builder();
    if (config != null) {
      builder.configFile(config);
    }
    if (host != null) {
      builder.host(host);
    }
    if (port != null) {
      builder.port(port);
    }
    if (nodeId != null) {
      builder.nodeId(nodeId);
    }
    if (role != null) {
      builder.role(role);
    }
    if (mode != null) {
      builder.mode(mode);
    }
    if (dataDir != null) {
      builder.dataDir(dataDir);
    }
    if (peers != null) {
      builder.peers(peers);
    }
    applyTimings(builder);
    if (clusterSecret != null) {
      builder.clusterSecret(clusterSecret);
    }
    if (clusterId != null) {
      builder.clusterId(clusterId);
    }
    if (oplogRetention != null) {
      builder.oplogRetentionSeconds(oplogRetention);
    }
    if (discovery != null) {
      builder.discovery(discovery);
    }
    if (discoveryPort != null) {
      builder.discoveryPort(discoveryPort);
    }
    if (discoveryTargets != null) {
      builder.discoveryTargets(discoveryTargets);
    }
    if (discoveryExpiry != null) {
      builder.discoveryExpirySeconds(discoveryExpiry);
    }
    if (tlsKeystore != null) {
      builder.tlsKeystore(tlsKeystore);
    }
    if (tlsKeystorePassword != null) {
      builder.tlsKeystorePassword(tlsKeystorePassword);
    }
    if (tlsTruststore != null) {
      builder.tlsTruststore(tlsTruststore);
    }
    if (tlsTruststorePassword != null) {
      builder.tlsTruststorePassword(tlsTruststorePassword);
    }
    if (durability != null) {
      builder.durability(durability);
    }
    return builder.build();
  }

  private void applyTimings(NodeSettings.Builder builder) {
    if (electionInterval != null) {
      builder.electionIntervalSeconds(electionInterval);
    }
    if (replicationTimeout != null) {
      builder.replicationTimeoutSeconds(replicationTimeout);
    }
    if (syncInterval != null) {
      builder.syncIntervalSeconds(syncInterval);
    }
  }

  private void configureLogging() {
    // Read by logback.xml; set before the first logger is created.
    switch (logFormat) {
      case "text" -> System.setProperty("skein.log.appender", "TEXT");
      case "json" -> System.setProperty("skein.log.appender", "JSON");
      default ->
          throw new SettingsException(
              "invalid --log-format '" + logFormat + "': expected text or json");
    }
    if (!java.util.Set.of("trace", "debug", "info", "warn", "error").contains(logLevel)) {
      throw new SettingsException(
          "invalid --log-level '" + logLevel + "': expected trace, debug, info, warn or error");
    }
    System.setProperty("skein.log.level", logLevel.toUpperCase(java.util.Locale.ROOT));
  }
}
