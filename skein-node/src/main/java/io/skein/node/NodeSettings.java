package io.skein.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.skein.Durability;
import io.skein.core.model.InvalidNameException;
import io.skein.core.model.NodeId;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The resolved settings of a {@code datastore-node}: defaults, then the config file, then command
 * line flags (D6; later sources win). Every value is validated here, before the node touches data.
 *
 * @param host the address to bind
 * @param port the port to bind, 0 for any free port
 * @param nodeId this node's id
 * @param role the starting role in leader mode
 * @param mode the replication mode
 * @param dataDir where {@code node-{id}.db} lives
 * @param peers the statically configured peers
 * @param electionIntervalMs the failure-detection window, in ms
 * @param replicationTimeoutMs how long a write waits for its concern, in ms
 * @param syncIntervalMs the anti-entropy interval, in ms
 * @param durability fsync or OS-buffered commits
 * @param clusterId the cluster's name; peers of another cluster are refused at the handshake
 * @param clusterSecret the shared secret for peer authentication, or null if none is set
 * @param requestBodyBytesMax the largest HTTP request body
 * @param documentBytesMax the largest document
 * @param oplogRetentionMs how long oplog entries are kept, in ms (0: for ever)
 * @param tls TLS for the port (API and peer streams), or {@code null} for plain HTTP
 * @param discovery LAN discovery (dynamo mode)
 */
public record NodeSettings(
    String host,
    int port,
    NodeId nodeId,
    Role role,
    Mode mode,
    Path dataDir,
    List<PeerAddress> peers,
    long electionIntervalMs,
    long replicationTimeoutMs,
    long syncIntervalMs,
    Durability durability,
    String clusterId,
    @Nullable Secret clusterSecret,
    long requestBodyBytesMax,
    int documentBytesMax,
    long oplogRetentionMs,
    @Nullable TlsSettings tls,
    Discovery discovery) {

  /**
   * LAN discovery settings.
   *
   * @param enabled whether the node beacons and listens (default off: a node says nothing on the
   *     network unless asked to)
   * @param port the UDP port, bound on every interface
   * @param targets where beacons go (by default the broadcast address on the port)
   * @param intervalMs how often a beacon goes out
   * @param expiryMs how long a discovered peer may stay silent before it leaves the membership
   */
  public record Discovery(
      boolean enabled,
      int port,
      List<java.net.InetSocketAddress> targets,
      long intervalMs,
      long expiryMs) {
    /** Copies the targets. */
    public Discovery {
      targets = List.copyOf(targets);
    }
  }

  /** The replication mode. */
  public enum Mode {
    /** One primary orders every write. */
    LEADER,
    /** Every node accepts writes; last-write-wins. */
    DYNAMO
  }

  /** The starting role in leader mode. */
  public enum Role {
    /** Starts as the primary. */
    PRIMARY,
    /** Starts as a secondary. */
    SECONDARY
  }

  /**
   * A secret value that never prints: {@link #toString()} is redacted (D7).
   *
   * @param value the secret
   */
  public record Secret(String value) {
    @Override
    public String toString() {
      return "[redacted]";
    }
  }

  /** The largest allowed max-document-bytes: 4 MiB, so one document always fits a peer frame. */
  public static final long DOCUMENT_BYTES_LIMIT = 4L << 20;

  /** Default request body limit: 8 MiB. */
  public static final long REQUEST_BODY_BYTES_MAX_DEFAULT = 8L << 20;

  private static final Set<String> FILE_KEYS =
      Set.of(
          "host",
          "port",
          "node-id",
          "role",
          "mode",
          "data-dir",
          "peers",
          "election-interval",
          "replication-timeout",
          "sync-interval",
          "durability",
          "cluster-id",
          "cluster-secret",
          "max-request-bytes",
          "oplog-retention",
          "discovery",
          "discovery-port",
          "discovery-targets",
          "discovery-expiry",
          "tls-keystore",
          "tls-keystore-password",
          "tls-truststore",
          "tls-truststore-password",
          "max-document-bytes");

  /** Collects settings from each source; later calls override earlier ones. Not thread-safe. */
  public static final class Builder {
    private String host = "127.0.0.1";
    private int port = 9000;
    private String nodeId = "1";
    private Role role = Role.PRIMARY;
    private Mode mode = Mode.LEADER;
    private Path dataDir = Path.of("data");
    private @Nullable JsonNode peers;
    private @Nullable String peersText;
    private String peersSource = "--peers";
    private double electionIntervalSeconds = 0.5;
    private double replicationTimeoutSeconds = 2.0;
    private double syncIntervalSeconds = 2.0;
    private Durability durability = Durability.FSYNC;
    private @Nullable String clusterSecret;
    private String clusterId = "skein";
    private @Nullable Path tlsKeystore;
    private @Nullable String tlsKeystorePassword;
    private @Nullable Path tlsTruststore;
    private @Nullable String tlsTruststorePassword;
    private boolean discovery;
    private int discoveryPort = 9999;
    private @Nullable String discoveryTargets;
    private double discoveryExpirySeconds = 10;
    private double oplogRetentionSeconds = io.skein.SkeinConfig.OPLOG_RETENTION_MS_DEFAULT / 1000.0;
    private long requestBodyBytesMax = REQUEST_BODY_BYTES_MAX_DEFAULT;
    private long documentBytesMax = io.skein.SkeinConfig.DOCUMENT_BYTES_MAX_DEFAULT;

    /** Sets the host. */
    public Builder host(String value) {
      host = value;
      return this;
    }

    /** Sets the port. */
    public Builder port(int value) {
      port = value;
      return this;
    }

    /** Sets the node id text (validated in {@link #build}). */
    public Builder nodeId(String value) {
      nodeId = value;
      return this;
    }

    /** Sets the role from its text, {@code primary} or {@code secondary}. */
    public Builder role(String value) {
      role = parseEnum(Role.class, "role", value);
      return this;
    }

    /** Sets the mode from its text, {@code leader} or {@code dynamo}. */
    public Builder mode(String value) {
      mode = parseEnum(Mode.class, "mode", value);
      return this;
    }

    /** Sets the data directory. */
    public Builder dataDir(Path value) {
      dataDir = value;
      return this;
    }

    /** Sets the peers from {@code --peers} JSON text. */
    public Builder peers(String json) {
      peersText = json;
      peers = null;
      peersSource = "--peers";
      return this;
    }

    /** Sets the election interval in seconds. */
    public Builder electionIntervalSeconds(double value) {
      electionIntervalSeconds = value;
      return this;
    }

    /** Sets the replication timeout in seconds. */
    public Builder replicationTimeoutSeconds(double value) {
      replicationTimeoutSeconds = value;
      return this;
    }

    /** Sets the sync interval in seconds. */
    public Builder syncIntervalSeconds(double value) {
      syncIntervalSeconds = value;
      return this;
    }

    /** Sets the durability from its text, {@code fsync} or {@code buffered}. */
    public Builder durability(String value) {
      durability = parseEnum(Durability.class, "durability", value);
      return this;
    }

    /**
     * Enables TLS with a key store and its password (a literal or {@code ${ENV_NAME}}); the trust
     * store and its password are optional.
     */
    public Builder tls(
        Path keystore,
        String keystorePassword,
        @Nullable Path truststore,
        @Nullable String truststorePassword) {
      tlsKeystore = keystore;
      tlsKeystorePassword = keystorePassword;
      tlsTruststore = truststore;
      tlsTruststorePassword = truststorePassword;
      return this;
    }

    /** Turns LAN discovery on or off (default off). */
    public Builder discovery(boolean enabled) {
      discovery = enabled;
      return this;
    }

    /** Sets the discovery UDP port (default 9999). */
    public Builder discoveryPort(int port) {
      discoveryPort = port;
      return this;
    }

    /** Sets where beacons go: comma-separated {@code host:port} (default broadcast). */
    public Builder discoveryTargets(String targets) {
      discoveryTargets = targets;
      return this;
    }

    /** Sets how long a discovered peer may be silent, in seconds (default 10). */
    public Builder discoveryExpirySeconds(double seconds) {
      discoveryExpirySeconds = seconds;
      return this;
    }

    /** Sets the TLS key store (enables TLS). */
    public Builder tlsKeystore(Path value) {
      tlsKeystore = value;
      return this;
    }

    /** Sets the TLS key store password: a literal or {@code ${ENV_NAME}}. */
    public Builder tlsKeystorePassword(String value) {
      tlsKeystorePassword = value;
      return this;
    }

    /** Sets the TLS trust store for peers' certificates. */
    public Builder tlsTruststore(Path value) {
      tlsTruststore = value;
      return this;
    }

    /** Sets the TLS trust store password: a literal or {@code ${ENV_NAME}}. */
    public Builder tlsTruststorePassword(String value) {
      tlsTruststorePassword = value;
      return this;
    }

    /** Sets the oplog retention in seconds (0 keeps it for ever). */
    public Builder oplogRetentionSeconds(double value) {
      oplogRetentionSeconds = value;
      return this;
    }

    /** Sets the cluster id. */
    public Builder clusterId(String value) {
      clusterId = value;
      return this;
    }

    /** Sets the cluster secret: a literal of 16+ characters, or {@code ${ENV_NAME}}. */
    public Builder clusterSecret(String value) {
      clusterSecret = value;
      return this;
    }

    /**
     * Applies a YAML or JSON config file whose keys are the long flag names without dashes in front
     * ({@code port: 9001}, {@code node-id: "2"}, {@code peers: [...]}).
     *
     * @throws SettingsException if the file cannot be read, is malformed, or has an unknown key or
     *     a value of the wrong type
     */
    public Builder configFile(Path file) {
      JsonNode root = readConfigFile(file);
      for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> field = it.next();
        applyFileKey(file, field.getKey(), field.getValue());
      }
      return this;
    }

    private void applyFileKey(Path file, String key, JsonNode value) {
      String where = file + ": '" + key + "'";
      switch (key) {
        case "host" -> host = text(where, value);
        case "port" -> port = (int) integer(where, value);
        case "node-id" -> nodeId = value.isIntegralNumber() ? value.asText() : text(where, value);
        case "role" -> role(text(where, value));
        case "mode" -> mode(text(where, value));
        case "data-dir" -> dataDir = Path.of(text(where, value));
        case "peers" -> {
          peers = value;
          peersText = null;
          peersSource = file + ": peers";
        }
        case "election-interval" -> electionIntervalSeconds = number(where, value);
        case "replication-timeout" -> replicationTimeoutSeconds = number(where, value);
        case "sync-interval" -> syncIntervalSeconds = number(where, value);
        case "durability" -> durability(text(where, value));
        case "cluster-secret" -> clusterSecret = text(where, value);
        case "cluster-id" -> clusterId = text(where, value);
        case "oplog-retention" -> oplogRetentionSeconds = number(where, value);
        case "discovery" -> {
          if (!value.isBoolean()) {
            throw new SettingsException(where + " must be true or false");
          }
          discovery = value.asBoolean();
        }
        case "discovery-port" -> discoveryPort = (int) integer(where, value);
        case "discovery-targets" -> discoveryTargets = text(where, value);
        case "discovery-expiry" -> discoveryExpirySeconds = number(where, value);
        case "tls-keystore" -> tlsKeystore = Path.of(text(where, value));
        case "tls-keystore-password" -> tlsKeystorePassword = text(where, value);
        case "tls-truststore" -> tlsTruststore = Path.of(text(where, value));
        case "tls-truststore-password" -> tlsTruststorePassword = text(where, value);
        case "max-request-bytes" -> requestBodyBytesMax = integer(where, value);
        case "max-document-bytes" -> documentBytesMax = integer(where, value);
        default ->
            throw new SettingsException(
                file
                    + ": unknown key '"
                    + key
                    + "'; known keys: "
                    + String.join(", ", FILE_KEYS.stream().sorted().toList()));
      }
    }

    /**
     * Validates everything and resolves the secret reference.
     *
     * @throws SettingsException naming the first invalid setting
     */
    public NodeSettings build() {
      if (host.isBlank()) {
        throw new SettingsException("invalid --host: it is empty");
      }
      if (port < 0 || port > 65535) {
        throw new SettingsException("invalid --port " + port + ": expected 0-65535");
      }
      NodeId id;
      try {
        id = NodeId.of(nodeId);
      } catch (InvalidNameException e) {
        throw new SettingsException("invalid --node-id: " + e.getMessage(), e);
      }
      List<PeerAddress> peerList = List.of();
      if (peersText != null) {
        peerList = PeerAddress.parseList(peersText, id);
      } else if (peers != null) {
        peerList = PeerAddress.parseList(peers, id, peersSource);
      }
      if (requestBodyBytesMax < 1024
          || documentBytesMax < 64
          || documentBytesMax > requestBodyBytesMax) {
        throw new SettingsException(
            "invalid limits: need max-request-bytes >= 1024 and 64 <= max-document-bytes <="
                + " max-request-bytes");
      }
      if (documentBytesMax > DOCUMENT_BYTES_LIMIT) {
        throw new SettingsException(
            "invalid max-document-bytes "
                + documentBytesMax
                + ": at most "
                + DOCUMENT_BYTES_LIMIT
                + " (4 MiB), so that any document fits a 16 MiB replication frame");
      }
      if (!clusterId.matches("[A-Za-z0-9_.-]{1,64}")) {
        throw new SettingsException(
            "invalid --cluster-id '" + clusterId + "': expected 1-64 characters of [A-Za-z0-9_.-]");
      }
      if (!(oplogRetentionSeconds >= 0) || oplogRetentionSeconds > 10L * 365 * 86_400) {
        throw new SettingsException(
            "invalid --oplog-retention "
                + oplogRetentionSeconds
                + ": expected seconds from 0 (keep for ever) to 10 years");
      }
      TlsSettings tls = tlsSettings();
      Discovery discoverySettings = discoverySettings();
      Secret secret = resolveSecret(clusterSecret);
      if (secret == null
          && discoverySettings.enabled()
          && !(isLoopback(host)
              && discoverySettings.targets().stream()
                  .allMatch(t -> isLoopback(t.getHostString())))) {
        throw new SettingsException(
            "invalid settings: LAN discovery beyond 127.0.0.1 needs a cluster secret; set"
                + " --cluster-secret ${ENV_NAME} or the SKEIN_CLUSTER_SECRET variable");
      }
      if (mode == Mode.LEADER && discoverySettings.enabled()) {
        throw new SettingsException(
            "invalid settings: --discovery is for --mode dynamo; leader mode elects among a"
                + " fixed membership, so list every member in --peers");
      }
      if (mode == Mode.LEADER && (electionIntervalSeconds < 0.05 || electionIntervalSeconds > 60)) {
        throw new SettingsException(
            "invalid --election-interval "
                + electionIntervalSeconds
                + ": expected 0.05 to 60 seconds (heartbeats go every fifth of it)");
      }
      if (secret == null
          && !peerList.isEmpty()
          && !(isLoopback(host) && peerList.stream().allMatch(p -> isLoopback(p.host())))) {
        throw new SettingsException(
            "invalid settings: peers on other machines need a cluster secret; set"
                + " --cluster-secret ${ENV_NAME} or the SKEIN_CLUSTER_SECRET variable (only a"
                + " cluster entirely on 127.0.0.1 may run without one)");
      }
      return new NodeSettings(
          host,
          port,
          id,
          role,
          mode,
          dataDir,
          peerList,
          millis("--election-interval", electionIntervalSeconds),
          millis("--replication-timeout", replicationTimeoutSeconds),
          millis("--sync-interval", syncIntervalSeconds),
          durability,
          clusterId,
          secret,
          requestBodyBytesMax,
          (int) documentBytesMax,
          Math.round(oplogRetentionSeconds * 1000),
          tls,
          discoverySettings);
    }

    private Discovery discoverySettings() {
      if (discoveryPort < 1 || discoveryPort > 65535) {
        throw new SettingsException(
            "invalid --discovery-port " + discoveryPort + ": expected 1-65535");
      }
      List<java.net.InetSocketAddress> targets = new java.util.ArrayList<>();
      String text = discoveryTargets;
      if (text == null || text.isBlank()) {
        targets.add(new java.net.InetSocketAddress("255.255.255.255", discoveryPort));
      } else {
        for (String part : text.split(",", -1)) {
          String target = part.strip();
          int colon = target.lastIndexOf(':');
          int targetPort;
          try {
            targetPort = colon < 1 ? -1 : Integer.parseInt(target.substring(colon + 1));
          } catch (NumberFormatException e) {
            targetPort = -1;
          }
          if (targetPort < 1 || targetPort > 65535) {
            throw new SettingsException(
                "invalid --discovery-targets: '" + target + "' is not host:port");
          }
          targets.add(
              java.net.InetSocketAddress.createUnresolved(target.substring(0, colon), targetPort));
        }
      }
      List<java.net.InetSocketAddress> resolved = new java.util.ArrayList<>();
      for (java.net.InetSocketAddress target : targets) {
        resolved.add(new java.net.InetSocketAddress(target.getHostString(), target.getPort()));
      }
      return new Discovery(
          discovery,
          discoveryPort,
          resolved,
          1_000,
          millis("--discovery-expiry", discoveryExpirySeconds));
    }

    private @Nullable TlsSettings tlsSettings() {
      Path keystore = tlsKeystore;
      if (keystore == null) {
        if (tlsKeystorePassword != null || tlsTruststore != null) {
          throw new SettingsException(
              "invalid TLS settings: --tls-keystore is required with the other --tls-* settings");
        }
        return null;
      }
      String password = tlsKeystorePassword;
      if (password == null) {
        throw new SettingsException(
            "invalid TLS settings: --tls-keystore-password is required (a ${ENV_NAME} reference"
                + " keeps it out of ps and shell history)");
      }
      String trustPassword = tlsTruststorePassword;
      TlsSettings tls =
          new TlsSettings(
              keystore,
              resolvePassword("--tls-keystore-password", password),
              tlsTruststore,
              trustPassword == null
                  ? null
                  : resolvePassword("--tls-truststore-password", trustPassword));
      tls.validate();
      return tls;
    }
  }

  /** Returns this node's base URL. */
  public String url() {
    return scheme() + "://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  /** Returns {@code https} with TLS, else {@code http}. */
  public String scheme() {
    return tls == null ? "http" : "https";
  }

  static Secret resolvePassword(String flag, String value) {
    if (value.startsWith("${") && value.endsWith("}")) {
      String name = value.substring(2, value.length() - 1);
      String resolved = System.getenv(name);
      if (resolved == null) {
        throw new SettingsException(
            "invalid "
                + flag
                + ": it refers to environment variable "
                + name
                + ", which is not set");
      }
      return new Secret(resolved);
    }
    return new Secret(value);
  }

  /** Whether a host names the loopback interface (by literal; no DNS lookup). */
  static boolean isLoopback(String host) {
    return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
  }

  /**
   * The secret a cluster that lives entirely on 127.0.0.1 uses when none is configured, so that the
   * seed's commands run verbatim on one machine. Anything that leaves the machine needs a real
   * secret (checked by {@link Builder#build()}).
   */
  public static final Secret LOOPBACK_DEVELOPMENT_SECRET =
      new Secret("skein-loopback-development-secret-not-for-networks");

  static @Nullable Secret resolveSecret(@Nullable String value) {
    if (value == null) {
      String fromEnv = System.getenv("SKEIN_CLUSTER_SECRET");
      return fromEnv == null || fromEnv.isEmpty() ? null : new Secret(fromEnv);
    }
    if (value.startsWith("${") && value.endsWith("}")) {
      String name = value.substring(2, value.length() - 1);
      String resolved = System.getenv(name);
      if (resolved == null || resolved.isEmpty()) {
        throw new SettingsException(
            "invalid cluster secret: it refers to environment variable "
                + name
                + ", which is not set");
      }
      return new Secret(resolved);
    }
    if (value.length() < 16) {
      throw new SettingsException("invalid cluster secret: it must be at least 16 characters");
    }
    return new Secret(value);
  }

  static long millis(String flag, double seconds) {
    if (!(seconds > 0) || seconds > 86_400) {
      throw new SettingsException(
          "invalid " + flag + " " + seconds + ": expected seconds, > 0 and <= 86400");
    }
    return Math.max(1, Math.round(seconds * 1000));
  }

  static <E extends Enum<E>> E parseEnum(Class<E> type, String flag, String value) {
    for (E constant : type.getEnumConstants()) {
      if (constant.name().toLowerCase(Locale.ROOT).equals(value)) {
        return constant;
      }
    }
    List<String> accepted =
        java.util.Arrays.stream(type.getEnumConstants())
            .map(c -> c.name().toLowerCase(Locale.ROOT))
            .toList();
    throw new SettingsException(
        "invalid --" + flag + " '" + value + "': expected one of " + String.join(", ", accepted));
  }

  private static JsonNode readConfigFile(Path file) {
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    ObjectMapper mapper =
        name.endsWith(".json")
            ? io.skein.internal.json.Json.MAPPER
            : new ObjectMapper(new YAMLFactory());
    JsonNode root;
    try {
      root = mapper.readTree(Files.readString(file));
    } catch (IOException e) {
      throw new SettingsException("cannot read config file " + file + ": " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new SettingsException("config file " + file + " must hold a mapping of settings");
    }
    return root;
  }

  private static String text(String where, JsonNode value) {
    if (!value.isTextual()) {
      throw new SettingsException(where + " must be a string");
    }
    return value.asText();
  }

  private static long integer(String where, JsonNode value) {
    if (!value.isIntegralNumber()) {
      throw new SettingsException(where + " must be an integer");
    }
    return value.asLong();
  }

  private static double number(String where, JsonNode value) {
    if (!value.isNumber()) {
      throw new SettingsException(where + " must be a number of seconds");
    }
    return value.asDouble();
  }
}
