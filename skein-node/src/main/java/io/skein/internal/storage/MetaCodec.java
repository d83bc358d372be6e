package io.skein.internal.storage;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.replica.SnapshotProgress;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Text forms of the values {@link SqliteStore} keeps in its {@code meta} table: version vectors
 * ({@code origin:seq,origin:seq}; node ids cannot contain {@code :} or {@code ,}) and an open
 * snapshot transfer (JSON). Stateless.
 */
final class MetaCodec {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private MetaCodec() {}

  static Map<NodeId, Long> parseVector(@Nullable String text) {
    Map<NodeId, Long> vector = new HashMap<>();
    if (text == null || text.isEmpty()) {
      return vector;
    }
    for (String part : text.split(",", -1)) {
      int colon = part.lastIndexOf(':');
      vector.put(NodeId.of(part.substring(0, colon)), Long.parseLong(part.substring(colon + 1)));
    }
    return vector;
  }

  static String formatVector(Map<NodeId, Long> vector) {
    return vector.entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .map(e -> e.getKey().value() + ":" + e.getValue())
        .collect(java.util.stream.Collectors.joining(","));
  }

  static String formatProgress(SnapshotProgress progress) {
    com.fasterxml.jackson.databind.node.ObjectNode node = MAPPER.createObjectNode();
    node.put("source", progress.source().value());
    node.put("vector", formatVector(progress.vector()));
    putKey(node, progress.lastKey());
    return node.toString();
  }

  /** Leader mode's snapshot transfer under way (meta {@code leader_snapshot_receive}). */
  static String formatLeaderReceiving(long index, @Nullable DocumentKey lastKey) {
    com.fasterxml.jackson.databind.node.ObjectNode node = MAPPER.createObjectNode();
    node.put("index", index);
    putKey(node, lastKey);
    return node.toString();
  }

  static io.skein.core.leader.LeaderRecovered.Receiving parseLeaderReceiving(String text)
      throws SQLException {
    try {
      com.fasterxml.jackson.databind.JsonNode node = MAPPER.readTree(text);
      return new io.skein.core.leader.LeaderRecovered.Receiving(
          node.get("index").asLong(), key(node));
    } catch (JsonProcessingException | RuntimeException e) {
      throw new SQLException("meta leader_snapshot_receive is unreadable: " + e.getMessage(), e);
    }
  }

  private static void putKey(
      com.fasterxml.jackson.databind.node.ObjectNode node, @Nullable DocumentKey key) {
    if (key != null) {
      node.put("collection", key.collection().value());
      node.put("id", key.id().value());
    }
  }

  private static @Nullable DocumentKey key(com.fasterxml.jackson.databind.JsonNode node) {
    return node.has("collection")
        ? new DocumentKey(
            new CollectionName(node.get("collection").asText()),
            DocumentId.of(node.get("id").asText()))
        : null;
  }

  static @Nullable SnapshotProgress parseProgress(@Nullable String text) throws SQLException {
    if (text == null) {
      return null;
    }
    try {
      com.fasterxml.jackson.databind.JsonNode node = MAPPER.readTree(text);
      DocumentKey last = key(node);
      return new SnapshotProgress(
          NodeId.of(node.get("source").asText()), parseVector(node.get("vector").asText()), last);
    } catch (JsonProcessingException | RuntimeException e) {
      throw new SQLException("meta snapshot_receive is unreadable: " + e.getMessage(), e);
    }
  }
}
