package io.skein.node.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.skein.InvalidRequestException;
import io.skein.RemotePeer;
import io.skein.core.config.InvalidValueException;
import io.skein.core.config.ValueType;
import io.skein.internal.json.Json;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The seed's {@code InitialRemotePeers}: a JSON array of remote peers in the document shape of
 * {@code _system_remote_peers} (each with its {@code nodeId}), as text or as a YAML/JSON array in a
 * config file. Each peer is checked as the admin API checks it; a client secret must be a {@code
 * ${ENV_NAME}} reference or a sealed value, never plain text (D7).
 */
final class RemotePeerListType implements ValueType<List<RemotePeer>> {
  /** The most initial peers. */
  static final int PEERS_MAX = 64;

  @Override
  public String description() {
    return "a JSON array of remote peers like [{\"nodeId\":\"cloud-1\",\"address\":\"host:443\","
        + "\"type\":\"CloudRemote\",\"oauth2\":{\"authority\":\"https://…\",\"clientId\":\"…\","
        + "\"clientSecret\":\"${ENV_NAME}\",\"scopes\":[…]}}]";
  }

  @Override
  public List<RemotePeer> parse(JsonNode raw, Context context) throws InvalidValueException {
    JsonNode root = raw;
    if (raw.isTextual()) {
      try {
        root = Json.parse(raw.asText());
      } catch (RuntimeException e) {
        throw new InvalidValueException("not JSON: " + e.getMessage());
      }
    }
    if (!root.isArray()) {
      throw new InvalidValueException("must be an array of remote peers");
    }
    if (root.size() > PEERS_MAX) {
      throw new InvalidValueException("at most " + PEERS_MAX + " initial remote peers");
    }
    List<RemotePeer> peers = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    int index = 0;
    for (JsonNode item : root) {
      JsonNode id = item.path("nodeId");
      if (!id.isTextual() && !id.isIntegralNumber()) {
        throw new InvalidValueException("peer " + index + ": nodeId is required");
      }
      try {
        RemotePeer peer = RemotePeer.fromDocument(id.asText(), withTextId(item, id.asText()));
        if (!ids.add(peer.nodeId())) {
          throw new InvalidValueException("peer " + index + ": nodeId " + peer.nodeId() + " twice");
        }
        peers.add(peer);
      } catch (InvalidRequestException e) {
        throw new InvalidValueException("peer " + index + ": " + e.getMessage());
      }
      index++;
    }
    return List.copyOf(peers);
  }

  /** The seed writes numeric ids ({@code "nodeId": 5}); a document keeps them as text. */
  private static JsonNode withTextId(JsonNode item, String id) {
    if (!item.isObject()) {
      return item;
    }
    return ((com.fasterxml.jackson.databind.node.ObjectNode) item.deepCopy()).put("nodeId", id);
  }

  @Override
  public JsonNode toJson(List<RemotePeer> value) {
    ArrayNode array = JsonNodeFactory.instance.arrayNode();
    value.forEach(peer -> array.add(peer.toShown()));
    return array;
  }
}
