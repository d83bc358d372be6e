package io.skein.node.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.skein.Batch;
import io.skein.DocumentCollection;
import io.skein.InvalidRequestException;
import io.skein.Skein;
import io.skein.core.config.Config;
import io.skein.core.config.ConfigLayer;
import io.skein.core.config.ConfigResolver;
import io.skein.core.config.RawValue;
import io.skein.core.config.SettingsCatalog;
import io.skein.core.config.Violation;
import io.skein.core.replica.WriteConcern;
import io.skein.internal.json.Json;
import io.skein.node.config.ClusterLayer;
import io.skein.node.config.NodeSettings;
import io.skein.node.config.Settings;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The cluster-wide settings (ARCHITECTURE.md A60-A63): {@code GET /admin/cluster-config} lists the
 * values of the replicated {@code _system_config} collection and what this node left out; {@code
 * PUT /admin/cluster-config} with {@code {"replication.sync-interval":"1s", ...}} sets them ({@code
 * null} removes one). Behind the admin token, like every {@code /admin} route.
 *
 * <p>A PUT is checked on the receiving node before anything is written: every path must be a
 * cluster-wide setting of the catalog, every value must parse and validate, and the cluster-wide
 * values together (over the defaults and this cluster's mode) must keep the catalog's rules. Any
 * problem answers {@code 400 invalid_cluster_config}, naming each field, and writes nothing. The
 * values are then written in one batch, so every node sees all of them or none; in leader mode a
 * secondary answers {@code 307 not_primary} with the primary's {@code Location}, as for a document
 * write. Each node applies them itself when they reach it.
 */
final class ClusterConfigRoutes {
  private final NodeHandle node;

  ClusterConfigRoutes(NodeHandle node) {
    this.node = node;
  }

  void register(RoutesConfig routes) {
    routes.get("/admin/cluster-config", HttpApi.named("/admin/cluster-config", this::get));
    routes.put("/admin/cluster-config", HttpApi.named("/admin/cluster-config", this::put));
  }

  private void get(Context ctx) {
    Skein skein = node.skein();
    Map<String, JsonNode> values = ClusterLayer.read(skein, ClusterLayer.VALUES_MAX * 4);
    DocumentRoutes.json(ctx, listing(node.config().catalog(), values, node.clusterLayer()));
  }

  private static ObjectNode listing(
      SettingsCatalog catalog, Map<String, JsonNode> values, ClusterLayer layer) {
    ObjectNode body = Json.MAPPER.createObjectNode();
    ObjectNode shown = body.putObject("values");
    values.forEach((path, value) -> shown.set(path, ClusterLayer.shown(catalog, path, value)));
    body.set("rejected", rejections(catalog, layer));
    return body;
  }

  static ArrayNode rejections(SettingsCatalog catalog, ClusterLayer layer) {
    ArrayNode rejected = Json.MAPPER.createArrayNode();
    for (ClusterLayer.Rejection rejection : layer.rejected()) {
      ObjectNode item = rejected.addObject().put("path", rejection.path());
      item.set("value", ClusterLayer.shown(catalog, rejection.path(), rejection.value()));
      item.put("reason", rejection.reason());
    }
    return rejected;
  }

  private void put(Context ctx) {
    Config running = node.config();
    SettingsCatalog catalog = running.catalog();
    JsonNode body = Json.parseObject(DocumentRoutes.body(ctx), "the cluster-config request");
    if (body.isEmpty()) {
      throw new InvalidRequestException(
          "invalid_cluster_config",
          "give at least one value: {\"replication.sync-interval\":\"1s\"} (null removes one)");
    }
    if (body.size() > ClusterLayer.VALUES_MAX) {
      throw new InvalidRequestException(
          "invalid_cluster_config",
          "at most " + ClusterLayer.VALUES_MAX + " values in one request, got " + body.size());
    }
    Map<String, JsonNode> changes = new LinkedHashMap<>();
    List<String> problems = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = body.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      String path = field.getKey();
      JsonNode value = field.getValue();
      changes.put(path, value);
      String problem = checkOne(catalog, path, value);
      if (problem != null) {
        problems.add(path + ": " + problem);
      }
    }
    Skein skein = node.skein();
    Map<String, JsonNode> after =
        new TreeMap<>(ClusterLayer.read(skein, ClusterLayer.VALUES_MAX * 4));
    changes.forEach(
        (path, value) -> {
          if (value.isNull()) {
            after.remove(path);
          } else {
            after.put(path, value);
          }
        });
    if (problems.isEmpty()) {
      problems.addAll(checkTogether(catalog, running, after));
    }
    if (!problems.isEmpty()) {
      throw new InvalidRequestException(
          "invalid_cluster_config", "nothing was written: " + String.join("; ", problems));
    }
    DocumentCollection collection = skein.systemConfig();
    Batch batch = skein.batch();
    String nodeId = running.get(Settings.NODE_ID);
    String now = Instant.now().toString();
    changes.forEach(
        (path, value) -> {
          if (value.isNull()) {
            batch.delete(collection, path);
          } else {
            ObjectNode document = Json.MAPPER.createObjectNode().put("path", path);
            document.set("value", value);
            document.put("setBy", nodeId).put("setAt", now);
            batch.put(collection, path, document);
          }
        });
    batch.commit(NodeSettings.leaderMode(running) ? WriteConcern.MAJORITY : WriteConcern.ONE);
    ObjectNode answer = listing(catalog, after, node.clusterLayer());
    answer.remove("rejected"); // this node has not applied them yet
    ArrayNode written = Json.MAPPER.createArrayNode();
    changes.keySet().forEach(written::add);
    answer.set("written", written);
    DocumentRoutes.json(ctx.status(200), answer);
  }

  /** What is wrong with one value of a PUT, or {@code null}. */
  private static @org.jspecify.annotations.Nullable String checkOne(
      SettingsCatalog catalog, String path, JsonNode value) {
    if (value.isNull()) {
      // Removing is allowed for any path, so a stray document can be cleaned up.
      try {
        io.skein.core.model.DocumentId.of(path);
        return null;
      } catch (IllegalArgumentException e) {
        return "not a setting path";
      }
    }
    String problem = ClusterLayer.problem(catalog, path, value, name -> null);
    if (problem != null && problem.equals("unknown setting")) {
      List<String> near = catalog.suggestions(path);
      return near.isEmpty()
          ? problem
          : problem + " (did you mean " + String.join(", ", near) + "?)";
    }
    return problem;
  }

  /**
   * The rules over several settings, for the cluster-wide values together over the defaults and
   * this cluster's mode (node-local pins are each node's own business: a node that cannot take a
   * value reports it and leaves it out).
   */
  private static List<String> checkTogether(
      SettingsCatalog catalog, Config running, Map<String, JsonNode> after) {
    Map<String, RawValue> cluster = new LinkedHashMap<>();
    after.forEach(
        (path, value) -> {
          // A stored value this node cannot read (written by another version) is that value's
          // problem, reported by each node; it must not block every later change.
          if (ClusterLayer.problem(catalog, path, value, name -> null) == null) {
            cluster.put(path, new RawValue(value, ClusterLayer.SOURCE + ": " + path));
          }
        });
    Map<String, RawValue> mode =
        Map.of(
            Settings.CLUSTER_MODE.path(),
            RawValue.text(running.get(Settings.CLUSTER_MODE), Settings.CLUSTER_MODE.path()));
    ConfigResolver.Resolution resolution =
        ConfigResolver.resolve(
            catalog,
            List.of(ConfigLayer.of("node", mode), ConfigLayer.of(ClusterLayer.SOURCE, cluster)),
            name -> null);
    List<String> problems = new ArrayList<>();
    for (Violation violation : resolution.violations()) {
      problems.add(violation.toString());
    }
    return problems;
  }
}
