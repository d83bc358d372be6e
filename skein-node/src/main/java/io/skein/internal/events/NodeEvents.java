package io.skein.internal.events;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cloudevents.CloudEvent;
import io.cloudevents.core.builder.CloudEventBuilder;
import io.cloudevents.core.format.EventFormat;
import io.cloudevents.core.provider.EventFormatProvider;
import io.cloudevents.jackson.JsonFormat;
import io.skein.core.config.ConfigChange;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.InstantSource;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * Builds the node's CloudEvents: the seven reload events of seed 002, with its type names and data
 * fields ({@code reloadID}, {@code trigger}, {@code changeCount}, {@code module}, {@code duration},
 * {@code error}, {@code failedModule}, {@code reason}), and the leadership event. {@code source} is
 * {@code /skein/nodes/{nodeId}}; {@code data} is JSON. Durations are in milliseconds ({@code
 * duration} is a number of ms). Secrets never reach an event: changes carry redacted values.
 *
 * <p>Thread-safe.
 */
public final class NodeEvents {
  /** The event types, exactly the seed's. */
  public static final String STARTED = "reload.started";

  /** Configuration changes validated. */
  public static final String VALIDATED = "reload.validated";

  /** One module's reload started. */
  public static final String MODULE_STARTED = "reload.module.started";

  /** One module's reload completed. */
  public static final String MODULE_COMPLETED = "reload.module.completed";

  /** Every module reloaded. */
  public static final String COMPLETED = "reload.completed";

  /** The reload failed. */
  public static final String FAILED = "reload.failed";

  /** The modules already reloaded were rolled back. */
  public static final String ROLLED_BACK = "reload.rolledback";

  /** Leadership changed (leader mode). */
  public static final String LEADERSHIP_CHANGED = "cluster.leadership.changed";

  /** A cluster-wide value was left out on this node (ARCHITECTURE.md A63). */
  public static final String CLUSTER_VALUE_REJECTED = "config.cluster.rejected";

  private static final EventFormat FORMAT =
      Objects.requireNonNull(
          EventFormatProvider.getInstance().resolveFormat(JsonFormat.CONTENT_TYPE),
          "cloudevents-json-jackson is on the class path");

  /** Event data is small JSON made here; a plain mapper is enough (and keeps this layer low). */
  private static final ObjectMapper JSON = new ObjectMapper();

  private final java.util.function.Supplier<String> nodeId;
  private final InstantSource clock;

  /** Creates a builder of events from one node. */
  public NodeEvents(String nodeId, InstantSource clock) {
    this(() -> nodeId, clock);
  }

  /** Creates a builder of events from a node whose id may change at run time (D9). */
  public NodeEvents(java.util.function.Supplier<String> nodeId, InstantSource clock) {
    this.nodeId = nodeId;
    this.clock = clock;
  }

  /** {@code reload.started}: {@code {reloadID, trigger, timestamp}}. */
  public CloudEvent started(String reloadId, String trigger) {
    ObjectNode data = data(reloadId);
    data.put("trigger", trigger);
    data.put("timestamp", clock.instant().toString());
    return event(STARTED, data);
  }

  /** {@code reload.validated}: {@code {reloadID, changeCount, changes}}; values redacted. */
  public CloudEvent validated(String reloadId, List<ConfigChange> changes) {
    ObjectNode data = data(reloadId);
    data.put("changeCount", changes.size());
    data.set("changes", changesJson(changes));
    return event(VALIDATED, data);
  }

  /** {@code reload.module.started}: {@code {reloadID, module}}. */
  public CloudEvent moduleStarted(String reloadId, String module) {
    return event(MODULE_STARTED, data(reloadId).put("module", module));
  }

  /** {@code reload.module.completed}: {@code {reloadID, module, duration}} (ms). */
  public CloudEvent moduleCompleted(String reloadId, String module, long durationMs) {
    return event(
        MODULE_COMPLETED, data(reloadId).put("module", module).put("duration", durationMs));
  }

  /** {@code reload.completed}: {@code {reloadID, duration, changeCount}} (ms). */
  public CloudEvent completed(String reloadId, long durationMs, int changeCount) {
    return event(
        COMPLETED, data(reloadId).put("duration", durationMs).put("changeCount", changeCount));
  }

  /** {@code reload.failed}: {@code {reloadID, error, failedModule}}. */
  public CloudEvent failed(String reloadId, String error, @Nullable String failedModule) {
    ObjectNode data = data(reloadId).put("error", error);
    if (failedModule == null) {
      data.putNull("failedModule");
    } else {
      data.put("failedModule", failedModule);
    }
    return event(FAILED, data);
  }

  /** {@code reload.rolledback}: {@code {reloadID, reason}}. */
  public CloudEvent rolledBack(String reloadId, String reason) {
    return event(ROLLED_BACK, data(reloadId).put("reason", reason));
  }

  /**
   * {@code cluster.leadership.changed}: {@code {isLeader, leaderId, epoch, isGateway, gatewayId}}.
   * In dynamo mode {@code isLeader} is false, {@code leaderId} null and the epoch the gateway
   * election's.
   */
  public CloudEvent leadershipChanged(
      boolean isLeader,
      @Nullable String leaderId,
      long epoch,
      boolean isGateway,
      @Nullable String gatewayId) {
    ObjectNode data = JSON.createObjectNode().put("isLeader", isLeader);
    putNullable(data, "leaderId", leaderId);
    data.put("epoch", epoch).put("isGateway", isGateway);
    putNullable(data, "gatewayId", gatewayId);
    return event(LEADERSHIP_CHANGED, data);
  }

  private static void putNullable(ObjectNode data, String field, @Nullable String value) {
    if (value == null) {
      data.putNull(field);
    } else {
      data.put(field, value);
    }
  }

  /**
   * {@code config.cluster.rejected}: {@code {path, value, reason}}; the caller passes a secret's or
   * an unknown setting's value redacted.
   */
  public CloudEvent clusterValueRejected(
      String path, com.fasterxml.jackson.databind.JsonNode value, String reason) {
    ObjectNode data = JSON.createObjectNode().put("path", path);
    data.set("value", value);
    return event(CLUSTER_VALUE_REJECTED, data.put("reason", reason));
  }

  /** Returns the structured JSON form of an event (CloudEvents JSON format). */
  public static String toJson(CloudEvent event) {
    return new String(FORMAT.serialize(event), StandardCharsets.UTF_8);
  }

  /** Returns an event's data as JSON, or {@code {}}. */
  public static ObjectNode dataOf(CloudEvent event) {
    var data = event.getData();
    if (data == null) {
      return JSON.createObjectNode();
    }
    try {
      return (ObjectNode) JSON.readTree(data.toBytes());
    } catch (java.io.IOException | ClassCastException e) {
      return JSON.createObjectNode().put("unreadable", e.toString());
    }
  }

  private static ObjectNode data(String reloadId) {
    return JSON.createObjectNode().put("reloadID", reloadId);
  }

  private static com.fasterxml.jackson.databind.node.ArrayNode changesJson(
      List<ConfigChange> changes) {
    var array = JSON.createArrayNode();
    for (ConfigChange change : changes) {
      ObjectNode item = array.addObject().put("fieldPath", change.fieldPath());
      item.set("oldValue", change.setting().json(change.oldValue()));
      item.set("newValue", change.setting().json(change.newValue()));
    }
    return array;
  }

  private CloudEvent event(String type, ObjectNode data) {
    Instant now = clock.instant();
    return CloudEventBuilder.v1()
        .withId(UUID.randomUUID().toString())
        .withSource(URI.create("/skein/nodes/" + nodeId.get()))
        .withType(type)
        .withTime(now.atOffset(ZoneOffset.UTC))
        .withDataContentType("application/json")
        .withData(data.toString().getBytes(StandardCharsets.UTF_8))
        .build();
  }
}
