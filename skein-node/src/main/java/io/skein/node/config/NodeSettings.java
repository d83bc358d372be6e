package io.skein.node.config;

import io.skein.Durability;
import io.skein.core.config.Config;
import io.skein.core.config.ConfigResolver;
import io.skein.core.config.Secret;
import io.skein.core.model.NodeId;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Typed values derived from a node's {@link Config}: each reads settings of {@link Settings} and
 * adds no setting of its own. Components call these instead of re-parsing.
 */
public final class NodeSettings {
  private NodeSettings() {}

  /**
   * The secret a cluster that lives entirely on 127.0.0.1 uses when none is configured, so that the
   * seed's commands run verbatim on one machine. Anything that leaves the machine needs a real
   * secret (a rule of the catalog).
   */
  public static final Secret LOOPBACK_DEVELOPMENT_SECRET =
      new Secret("skein-loopback-development-secret-not-for-networks");

  /**
   * Loads and resolves the sources, and checks what needs IO (the TLS stores open).
   *
   * @throws SettingsException listing every problem, one per line
   */
  public static Config resolve(ConfigSources sources) {
    ConfigResolver.Resolution resolution = sources.load().resolution();
    Config config = resolution.config();
    if (config == null) {
      throw new SettingsException(describe(resolution));
    }
    TlsSettings tls = tls(config);
    if (tls != null) {
      tls.validate();
    }
    return config;
  }

  /** Describes a failed resolution: one problem on one line, several as a list. */
  public static String describe(ConfigResolver.Resolution resolution) {
    if (resolution.violations().size() == 1) {
      return "invalid settings: " + resolution.violations().get(0);
    }
    return "invalid settings:\n  " + resolution.describe().replace("\n", "\n  ");
  }

  /** Returns the node id. */
  public static NodeId nodeId(Config config) {
    return NodeId.of(config.get(Settings.NODE_ID));
  }

  /** Returns whether the node runs leader mode. */
  public static boolean leaderMode(Config config) {
    return config.get(Settings.CLUSTER_MODE).equals("leader");
  }

  /** Returns the data directory. */
  public static Path dataDir(Config config) {
    return Path.of(config.get(Settings.NODE_DATA_DIR));
  }

  /** Returns the durability. */
  public static Durability durability(Config config) {
    return Durability.valueOf(config.get(Settings.NODE_DURABILITY).toUpperCase(Locale.ROOT));
  }

  /** Returns the TLS settings, or {@code null} for plain HTTP. */
  public static @Nullable TlsSettings tls(Config config) {
    String keystore = config.find(Settings.TLS_KEYSTORE);
    Secret password = config.find(Settings.TLS_KEYSTORE_PASSWORD);
    if (keystore == null || password == null) {
      return null;
    }
    String truststore = config.find(Settings.TLS_TRUSTSTORE);
    return new TlsSettings(
        Path.of(keystore),
        password,
        truststore == null ? null : Path.of(truststore),
        config.find(Settings.TLS_TRUSTSTORE_PASSWORD));
  }

  /** Returns {@code https} with TLS, else {@code http}. */
  public static String scheme(Config config) {
    return config.find(Settings.TLS_KEYSTORE) == null ? "http" : "https";
  }

  /** Returns this node's base URL on a port (the bound one, which differs with port 0). */
  public static String url(Config config, int port) {
    String host = config.get(Settings.NODE_HOST);
    return scheme(config) + "://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  /** Returns the cluster secret, or the loopback development secret if none is set. */
  public static Secret clusterSecret(Config config) {
    Secret secret = config.find(Settings.CLUSTER_SECRET);
    return secret != null ? secret : LOOPBACK_DEVELOPMENT_SECRET;
  }

  /** Returns each configured peer's base URL by node id, in configuration order. */
  public static Map<NodeId, URI> peerUrls(Config config) {
    Map<NodeId, URI> urls = new LinkedHashMap<>();
    for (PeerAddress peer : config.get(Settings.CLUSTER_PEERS)) {
      urls.put(peer.nodeId(), URI.create(peer.url(scheme(config))));
    }
    return urls;
  }

  /** Returns where beacons go: the setting, or the broadcast address on the discovery port. */
  public static List<InetSocketAddress> discoveryTargets(Config config) {
    List<String> targets = config.find(Settings.DISCOVERY_TARGETS);
    List<InetSocketAddress> addresses = new ArrayList<>();
    if (targets == null || targets.isEmpty()) {
      addresses.add(new InetSocketAddress("255.255.255.255", config.get(Settings.DISCOVERY_PORT)));
      return addresses;
    }
    for (String target : targets) {
      int colon = target.lastIndexOf(':');
      addresses.add(
          new InetSocketAddress(
              target.substring(0, colon), Integer.parseInt(target.substring(colon + 1))));
    }
    return addresses;
  }
}
