package io.skein.node.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.core.config.ConfigLayer;
import io.skein.core.config.ConfigResolver;
import io.skein.core.config.InvalidValueException;
import io.skein.core.config.RawValue;
import io.skein.core.config.Setting;
import io.skein.core.config.SettingsCatalog;
import io.skein.core.config.ValueType;
import io.skein.core.config.Violation;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The cluster-wide layer of a node's settings: the values of the replicated {@code _system_config}
 * collection, one per setting path. It sits between the environment and the flags:
 *
 * <pre>
 * defaults &lt; file &lt; env file &lt; environment &lt; cluster &lt; flags &lt; runtime overrides
 * </pre>
 *
 * <p>So a cluster-wide value beats the deployment's baseline (the config file, the env file and the
 * environment, which are usually one template for every node), and a node pins a value of its own
 * only deliberately, with a flag or a runtime override; {@code GET /admin/config} shows the source
 * of every value and the cluster-wide value a pin hides (ARCHITECTURE.md A60).
 *
 * <p>Each value is checked on this node before it is used: a path this node does not know, a
 * setting that is not cluster-wide here, a value over {@value #VALUE_CHARS_MAX} characters, or one
 * that does not parse or validate is <em>rejected</em>: reported, and left out. So is a value that
 * breaks a rule over several settings together with this node's own values (a pinned {@code
 * limits.max-request-bytes} below a cluster-wide {@code limits.max-document-bytes}): the values are
 * taken one at a time in path order, and each one that would make the configuration invalid is left
 * out, so the node keeps every other value and runs a configuration that resolves. A value that
 * resolved but that a component could not apply ({@link #failed}) stays left out until it changes.
 * A value is never half-applied: it is in the snapshot a reload installs, or it is not.
 *
 * <p>Thread-safe.
 */
public final class ClusterLayer {
  /** The source name a value from this layer shows ({@code GET /admin/config}). */
  public static final String SOURCE = "cluster";

  /** The most cluster-wide values the layer takes; the rest are rejected. */
  public static final int VALUES_MAX = 64;

  /** The longest value, as compact JSON. */
  public static final int VALUE_CHARS_MAX = 4_096;

  /**
   * A cluster-wide value this node left out.
   *
   * @param path the setting path as written in {@code _system_config}
   * @param value the value as written
   * @param reason why this node left it out
   */
  public record Rejection(String path, JsonNode value, String reason) {}

  private final SettingsCatalog catalog;
  private final List<Consumer<Rejection>> listeners = new CopyOnWriteArrayList<>();
  private Map<String, JsonNode> values = new TreeMap<>();
  private final Map<String, Rejection> failed = new HashMap<>();
  private volatile List<Rejection> rejected = List.of();
  private volatile Set<String> taken = Set.of();

  /** Creates an empty layer over a catalog. */
  public ClusterLayer(SettingsCatalog catalog) {
    this.catalog = catalog;
  }

  /**
   * Replaces the values with the collection's current content.
   *
   * @param next raw values by setting path
   * @return whether anything changed
   */
  public synchronized boolean replace(Map<String, JsonNode> next) {
    Map<String, JsonNode> sorted = new TreeMap<>(next);
    if (sorted.equals(values)) {
      return false;
    }
    // A value a component could not apply is tried again once it changes (or goes).
    failed.entrySet().removeIf(e -> !e.getValue().value().equals(sorted.get(e.getKey())));
    values = sorted;
    return true;
  }

  /** Returns the values, by path, in path order. */
  public synchronized Map<String, JsonNode> values() {
    return new TreeMap<>(values);
  }

  /**
   * Leaves values out that a reload resolved but could not apply on this node (a component refused
   * them); they stay out until their value changes.
   */
  public synchronized void failed(Collection<String> paths, String reason) {
    for (String path : paths) {
      JsonNode value = values.get(path);
      if (value != null) {
        failed.put(path, new Rejection(path, value, reason));
      }
    }
  }

  /** Returns the values the last resolution left out, with the reasons, in path order. */
  public List<Rejection> rejected() {
    return rejected;
  }

  /** Returns the paths the last resolution took from this layer (a higher layer may still win). */
  public Set<String> taken() {
    return taken;
  }

  /** Adds an observer of each newly rejected value (the node logs it and publishes an event). */
  public void onRejected(Consumer<Rejection> listener) {
    listeners.add(listener);
  }

  /**
   * Reads the {@code _system_config} collection of a store: each document's {@code value}, by its
   * id (the setting path); a document without one reads as {@code null}, which the layer rejects.
   *
   * @param documentsMax the most documents to read
   */
  public static Map<String, JsonNode> read(io.skein.Skein skein, int documentsMax) {
    Map<String, JsonNode> found = new TreeMap<>();
    for (io.skein.Document document : skein.systemConfig().list(null, documentsMax).documents()) {
      JsonNode value = io.skein.internal.json.Json.parse(document.json()).get("value");
      found.put(
          document.id(),
          value == null ? com.fasterxml.jackson.databind.node.NullNode.getInstance() : value);
    }
    return found;
  }

  /**
   * Returns a value as answers, logs and events show it: redacted unless it belongs to a known
   * setting that is not secret (anyone with write access to the collection may have put anything
   * there).
   */
  public static JsonNode shown(SettingsCatalog catalog, String path, JsonNode value) {
    Setting<?> setting = catalog.byPath(path);
    return setting == null || setting.secret()
        ? com.fasterxml.jackson.databind.node.TextNode.valueOf(io.skein.core.config.Secret.REDACTED)
        : value;
  }

  /**
   * Checks one cluster-wide value on its own: the setting is known and cluster-wide, the value is
   * not too long, parses and validates.
   *
   * @return what is wrong, or {@code null}
   */
  public static @Nullable String problem(
      SettingsCatalog catalog, String path, JsonNode value, ValueType.Context context) {
    Setting<?> setting = catalog.byPath(path);
    if (setting == null) {
      return "unknown setting";
    }
    if (!setting.clusterWide()) {
      return "is node-local, not cluster-wide: set it on each node (config file, flag or"
          + " environment)";
    }
    if (value.isNull()) {
      return "a value is required (null removes a cluster-wide value)";
    }
    if (value.toString().length() > VALUE_CHARS_MAX) {
      return "the value is longer than " + VALUE_CHARS_MAX + " characters";
    }
    try {
      setting.parse(value, context);
      return null;
    } catch (InvalidValueException e) {
      return String.valueOf(e.getMessage());
    }
  }

  /**
   * Resolves the node's sources with this layer between {@code below} and {@code above}, leaving
   * out each value that this node cannot take (see the class comment). When the node's own sources
   * do not resolve, the answer is their problems, as it would be without this layer.
   */
  synchronized ConfigResolver.Resolution resolve(
      List<ConfigLayer> below, List<ConfigLayer> above, ValueType.Context context) {
    List<Rejection> rejections = new ArrayList<>();
    Map<String, RawValue> candidates = new TreeMap<>();
    for (Map.Entry<String, JsonNode> value : values.entrySet()) {
      String path = value.getKey();
      Rejection memo = failed.get(path);
      String problem =
          candidates.size() >= VALUES_MAX
              ? "more than " + VALUES_MAX + " cluster-wide values"
              : problem(catalog, path, value.getValue(), context);
      if (memo != null) {
        rejections.add(memo);
      } else if (problem != null) {
        rejections.add(new Rejection(path, value.getValue(), problem));
      } else {
        candidates.put(path, new RawValue(value.getValue(), SOURCE + ": " + path));
      }
    }
    ConfigResolver.Resolution all = resolveWith(below, candidates, above, context);
    if (all.ok() || candidates.isEmpty()) {
      finish(rejections, all.ok() ? candidates.keySet() : Set.of());
      return all;
    }
    ConfigResolver.Resolution base = resolveWith(below, Map.of(), above, context);
    if (!base.ok()) {
      finish(rejections, Set.of());
      return base;
    }
    Map<String, RawValue> accepted = new TreeMap<>();
    ConfigResolver.Resolution last = base;
    for (Map.Entry<String, RawValue> candidate : candidates.entrySet()) {
      Map<String, RawValue> trial = new TreeMap<>(accepted);
      trial.put(candidate.getKey(), candidate.getValue());
      ConfigResolver.Resolution resolution = resolveWith(below, trial, above, context);
      if (resolution.ok()) {
        accepted = trial;
        last = resolution;
      } else {
        rejections.add(
            new Rejection(
                candidate.getKey(),
                candidate.getValue().value(),
                "conflicts with this node's settings: " + describe(resolution.violations())));
      }
    }
    finish(rejections, accepted.keySet());
    return last;
  }

  private ConfigResolver.Resolution resolveWith(
      List<ConfigLayer> below,
      Map<String, RawValue> cluster,
      List<ConfigLayer> above,
      ValueType.Context context) {
    List<ConfigLayer> layers = new ArrayList<>(below);
    layers.add(ConfigLayer.of(SOURCE, cluster));
    layers.addAll(above);
    return ConfigResolver.resolve(catalog, layers, context);
  }

  private void finish(List<Rejection> rejections, Set<String> accepted) {
    rejections.sort(java.util.Comparator.comparing(Rejection::path));
    List<Rejection> before = rejected;
    rejected = List.copyOf(rejections);
    taken = java.util.Collections.unmodifiableSet(new LinkedHashSet<>(accepted));
    for (Rejection rejection : rejections) {
      if (!before.contains(rejection)) {
        for (Consumer<Rejection> listener : listeners) {
          try {
            listener.accept(rejection);
          } catch (RuntimeException e) {
            // An observer must not break a reload.
          }
        }
      }
    }
  }

  private static String describe(List<Violation> violations) {
    List<String> lines = new ArrayList<>();
    for (Violation violation : violations) {
      lines.add(violation.toString());
    }
    return String.join("; ", lines);
  }

  @Override
  public synchronized String toString() {
    return "ClusterLayer" + Objects.toString(values.keySet());
  }
}
