package io.skein.node.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.core.model.InvalidNameException;
import io.skein.core.model.NodeId;
import io.skein.internal.json.Json;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * A statically configured peer, as given by {@code --peers} in the seed's exact JSON shape: {@code
 * [{"node_id":2,"host":"127.0.0.1","port":9001}]}. {@code node_id} may be a number or a string.
 *
 * @param nodeId the peer's node id
 * @param host its host name or address
 * @param port its port, 1 to 65535
 */
public record PeerAddress(NodeId nodeId, String host, int port) {
  /** Returns the peer's base URL over plain HTTP. */
  public String url() {
    return url("http");
  }

  /** Returns the peer's base URL with a scheme ({@code http} or {@code https}). */
  public String url(String scheme) {
    return scheme + "://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  /**
   * Parses the peers array of {@code --peers} or a config file.
   *
   * @throws SettingsException naming the element and field at fault ({@code [1]: port is ...})
   */
  public static List<PeerAddress> parseList(JsonNode root) {
    if (!root.isArray()) {
      throw new SettingsException(
          "expected a JSON array like [{\"node_id\":2,\"host\":\"127.0.0.1\",\"port\":9001}],"
              + " got "
              + Json.typeName(root));
    }
    List<PeerAddress> peers = new ArrayList<>();
    Set<NodeId> seen = new HashSet<>();
    for (int i = 0; i < root.size(); i++) {
      String where = "[" + i + "]";
      PeerAddress peer = parseOne(root.get(i), where);
      if (!seen.add(peer.nodeId())) {
        throw new SettingsException(where + ": node_id " + peer.nodeId() + " appears twice");
      }
      peers.add(peer);
    }
    return List.copyOf(peers);
  }

  private static PeerAddress parseOne(JsonNode node, String where) {
    if (!node.isObject()) {
      throw new SettingsException(where + ": expected an object");
    }
    for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!Set.of("node_id", "host", "port").contains(name)) {
        throw new SettingsException(
            where + ": unknown field '" + name + "' (expected node_id, host, port)");
      }
    }
    JsonNode id = node.get("node_id");
    if (id == null || !(id.isIntegralNumber() || id.isTextual())) {
      throw new SettingsException(where + ": node_id is required, a number or a string");
    }
    NodeId nodeId;
    try {
      nodeId = NodeId.of(id.asText());
    } catch (InvalidNameException e) {
      throw new SettingsException(where + ": " + e.getMessage(), e);
    }
    JsonNode host = node.get("host");
    if (host == null || !host.isTextual() || host.asText().isBlank()) {
      throw new SettingsException(where + ": host is required, a non-empty string");
    }
    JsonNode port = node.get("port");
    if (port == null || !port.isIntegralNumber() || port.asLong() < 1 || port.asLong() > 65535) {
      throw new SettingsException(where + ": port is required, an integer 1-65535");
    }
    return new PeerAddress(nodeId, host.asText(), port.asInt());
  }
}
