package io.skein.node.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.skein.core.config.InvalidValueException;
import io.skein.core.config.ValueType;
import io.skein.internal.json.Json;
import java.util.List;

/**
 * The seed's {@code --peers} JSON: {@code [{"node_id":2,"host":"127.0.0.1","port":9001}]}, as text
 * (a flag or a variable) or as a YAML/JSON array in a config file.
 */
final class PeerListType implements ValueType<List<PeerAddress>> {
  @Override
  public String description() {
    return "a JSON array like [{\"node_id\":2,\"host\":\"127.0.0.1\",\"port\":9001}]";
  }

  @Override
  public List<PeerAddress> parse(JsonNode raw, Context context) throws InvalidValueException {
    JsonNode root = raw;
    if (raw.isTextual()) {
      try {
        root = Json.parse(raw.asText());
      } catch (RuntimeException e) {
        throw new InvalidValueException("not JSON: " + e.getMessage());
      }
    }
    try {
      return PeerAddress.parseList(root);
    } catch (SettingsException e) {
      throw new InvalidValueException(String.valueOf(e.getMessage()));
    }
  }

  @Override
  public JsonNode toJson(List<PeerAddress> value) {
    ArrayNode array = JsonNodeFactory.instance.arrayNode();
    for (PeerAddress peer : value) {
      array
          .addObject()
          .put("node_id", peer.nodeId().value())
          .put("host", peer.host())
          .put("port", peer.port());
    }
    return array;
  }
}
