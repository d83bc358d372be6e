package io.skein.internal.storage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * What a backup file says about the database it holds (docs/operating/backup.md, "What the file
 * holds"). Every figure is read from the snapshot itself, so it describes exactly the bytes that
 * follow it.
 *
 * @param formatVersion the backup format ({@link BackupFile#FORMAT_VERSION})
 * @param schemaVersion the database's {@code PRAGMA user_version} ({@link Schema#VERSION})
 * @param sourceNodeId the node the backup was taken from
 * @param mode {@value #LEADER} (the file holds a leader log: meta {@code leader_applied}) or
 *     {@value #DYNAMO}
 * @param lsn the last local sequence number applied (the change-feed position)
 * @param leader leader mode: the applied position; {@code null} in dynamo mode
 * @param versionVector dynamo mode: the highest sequence held of each origin; empty in leader mode
 * @param createdAt when the snapshot was taken (ISO-8601, UTC)
 * @param databaseBytes the length of the database part
 * @param databaseSha256 the SHA-256 of the database part, in lower-case hex
 */
public record BackupManifest(
    int formatVersion,
    int schemaVersion,
    String sourceNodeId,
    String mode,
    long lsn,
    @Nullable LeaderPosition leader,
    Map<String, Long> versionVector,
    String createdAt,
    long databaseBytes,
    String databaseSha256) {

  /** {@link #mode()} of a file that holds a leader log. */
  public static final String LEADER = "leader";

  /** {@link #mode()} of a dynamo-mode file. */
  public static final String DYNAMO = "dynamo";

  private static final ObjectMapper MAPPER = new ObjectMapper();

  /**
   * Leader mode's position in the log.
   *
   * @param appliedIndex meta {@code leader_applied}: the last log index applied to the documents
   * @param appliedEpoch the epoch of the entry at {@code appliedIndex} (0 for index 0)
   * @param epoch meta {@code leader_epoch}: the highest epoch the node had seen
   */
  public record LeaderPosition(long appliedIndex, long appliedEpoch, long epoch) {}

  /** Copies the vector so that the record is immutable. */
  public BackupManifest {
    versionVector = Map.copyOf(versionVector);
  }

  /** Returns whether the file holds a leader log. */
  public boolean leaderMode() {
    return mode.equals(LEADER);
  }

  /** Returns the manifest as one line of JSON (no line break inside). */
  public String toJson() {
    ObjectNode json = MAPPER.createObjectNode();
    json.put("formatVersion", formatVersion)
        .put("schemaVersion", schemaVersion)
        .put("sourceNodeId", sourceNodeId)
        .put("mode", mode)
        .put("lsn", lsn);
    LeaderPosition position = leader;
    if (position != null) {
      json.putObject("leader")
          .put("appliedIndex", position.appliedIndex())
          .put("appliedEpoch", position.appliedEpoch())
          .put("epoch", position.epoch());
    } else {
      ObjectNode vector = json.putObject("versionVector");
      new TreeMap<>(versionVector).forEach(vector::put);
    }
    json.put("createdAt", createdAt)
        .put("databaseBytes", databaseBytes)
        .put("databaseSha256", databaseSha256);
    return json.toString();
  }

  /**
   * Parses a manifest.
   *
   * @throws IllegalArgumentException if the text is not a manifest (a field missing or of the wrong
   *     type)
   */
  public static BackupManifest parse(String text) {
    JsonNode json;
    try {
      json = MAPPER.readTree(text);
    } catch (IOException e) {
      throw new IllegalArgumentException("the manifest is not JSON: " + e.getMessage(), e);
    }
    if (json == null || !json.isObject()) {
      throw new IllegalArgumentException("the manifest is not a JSON object");
    }
    String mode = text(json, "mode");
    if (!mode.equals(LEADER) && !mode.equals(DYNAMO)) {
      throw new IllegalArgumentException(
          "the manifest's mode is neither leader nor dynamo: " + mode);
    }
    LeaderPosition leader = null;
    Map<String, Long> vector = new TreeMap<>();
    if (mode.equals(LEADER)) {
      JsonNode position = object(json, "leader");
      leader =
          new LeaderPosition(
              number(position, "appliedIndex"),
              number(position, "appliedEpoch"),
              number(position, "epoch"));
    } else {
      JsonNode entries = object(json, "versionVector");
      entries
          .properties()
          .forEach(
              e -> {
                if (!e.getValue().canConvertToLong()) {
                  throw new IllegalArgumentException("the version vector holds a non-number");
                }
                vector.put(e.getKey(), e.getValue().asLong());
              });
    }
    return new BackupManifest(
        Math.toIntExact(number(json, "formatVersion")),
        Math.toIntExact(number(json, "schemaVersion")),
        text(json, "sourceNodeId"),
        mode,
        number(json, "lsn"),
        leader,
        vector,
        text(json, "createdAt"),
        number(json, "databaseBytes"),
        text(json, "databaseSha256"));
  }

  private static String text(JsonNode json, String field) {
    JsonNode value = json.get(field);
    if (value == null || !value.isTextual()) {
      throw new IllegalArgumentException("the manifest has no text field " + field);
    }
    return value.asText();
  }

  private static long number(JsonNode json, String field) {
    JsonNode value = json.get(field);
    if (value == null || !value.isIntegralNumber() || !value.canConvertToLong()) {
      throw new IllegalArgumentException("the manifest has no integer field " + field);
    }
    return value.asLong();
  }

  private static JsonNode object(JsonNode json, String field) {
    JsonNode value = json.get(field);
    if (value == null || !value.isObject()) {
      throw new IllegalArgumentException("the manifest has no object field " + field);
    }
    return value;
  }
}
