package io.skein.node.config;

import io.skein.core.config.ConfigLayer;
import io.skein.core.config.ConfigResolver;
import io.skein.core.config.RawValue;
import io.skein.core.config.Setting;
import io.skein.core.config.SettingsCatalog;
import io.skein.core.config.Violation;
import io.skein.internal.json.Json;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Where a node's settings come from, lowest first (D6): defaults &lt; config file &lt; env file
 * &lt; environment &lt; cluster &lt; flags &lt; runtime overrides. The cluster layer ({@link
 * ClusterLayer}) holds the cluster-wide values of the replicated {@code _system_config} collection
 * (ARCHITECTURE.md A60). {@link #load()} reads the file-backed sources again each time, so a reload
 * sees their new content; the environment and the flags were fixed when the process started (a
 * running process cannot see its environment change) and never change. Runtime overrides change
 * through {@link #override}.
 *
 * <p>Thread-safe: loads may run while overrides change.
 */
public final class ConfigSources {
  private final SettingsCatalog catalog;
  private final @Nullable Path configFile;
  private final @Nullable Path envFile;
  private final Map<String, String> environment;
  private final ConfigLayer flags;
  private final Map<String, RawValue> overrides = new LinkedHashMap<>();
  private final ClusterLayer cluster;

  private ConfigSources(Builder builder) {
    this.catalog = builder.catalog;
    this.configFile = builder.configFile;
    this.envFile = builder.envFile;
    this.environment = Map.copyOf(builder.environment);
    this.flags = new ConfigLayer("flags", builder.flags, builder.flagProblems);
    this.cluster = new ClusterLayer(catalog);
  }

  /** Starts a builder over the node's catalog, with no environment. */
  public static Builder builder() {
    return new Builder(Settings.CATALOG);
  }

  /**
   * What one load found.
   *
   * @param resolution the resolved configuration, or every problem found
   * @param configFileHash the config file's content hash, or {@code "none"} without one
   * @param envFileHash the env file's content hash, or {@code "none"} without one
   */
  public record Loaded(
      ConfigResolver.Resolution resolution, String configFileHash, String envFileHash) {}

  /** Reads every source and resolves them. Never throws for bad content: it reports it. */
  public Loaded load() {
    List<ConfigLayer> layers = new ArrayList<>();
    String configHash = "none";
    String envHash = "none";
    Path file = configFile;
    if (file != null) {
      ConfigFile.Read read = ConfigFile.config(file, catalog);
      layers.add(read.layer());
      configHash = read.sha256();
    }
    Map<String, String> variables = new HashMap<>();
    Path env = envFile;
    if (env != null) {
      ConfigFile.Read read = ConfigFile.envFile(env, catalog);
      layers.add(read.layer());
      envHash = read.sha256();
      variables.putAll(ConfigFile.variables(env));
    }
    variables.putAll(environment);
    layers.add(environmentLayer());
    List<ConfigLayer> above = new ArrayList<>();
    above.add(flags);
    synchronized (overrides) {
      above.add(ConfigLayer.of("override", overrides));
    }
    ConfigResolver.Resolution resolution = cluster.resolve(layers, above, variables::get);
    return new Loaded(resolution, configHash, envHash);
  }

  /**
   * Resolves a {@code ${NAME}} reference as the settings do: the process environment, else the env
   * file. Returns {@code null} if neither defines it.
   */
  public @Nullable String variable(String name) {
    String value = environment.get(name);
    if (value != null) {
      return value;
    }
    Path env = envFile;
    return env == null ? null : ConfigFile.variables(env).get(name);
  }

  private ConfigLayer environmentLayer() {
    Map<String, RawValue> values = new LinkedHashMap<>();
    for (Setting<?> setting : catalog.settings()) {
      String value = environment.get(setting.environmentName());
      if (value != null && !value.isEmpty()) {
        values.put(setting.path(), RawValue.text(value, setting.environmentName()));
      }
    }
    return ConfigLayer.of("environment", values);
  }

  /**
   * Sets (or, with {@code null}, removes) runtime overrides, the highest source. They take effect
   * at the next reload.
   *
   * @param values raw values by dotted path (text as a flag gives it, or any JSON value)
   * @return the problems with the paths (unknown settings); nothing is changed if there are any
   */
  public List<Violation> override(Map<String, ? extends @Nullable Object> values) {
    List<Violation> problems = new ArrayList<>();
    for (String path : values.keySet()) {
      if (catalog.byPath(path) == null) {
        problems.add(new Violation(path, "override", "unknown setting"));
      }
    }
    if (!problems.isEmpty()) {
      return problems;
    }
    synchronized (overrides) {
      for (Map.Entry<String, ? extends @Nullable Object> value : values.entrySet()) {
        Object raw = value.getValue();
        if (raw == null) {
          overrides.remove(value.getKey());
        } else {
          overrides.put(
              value.getKey(),
              new RawValue(Json.MAPPER.valueToTree(raw), "override: " + value.getKey()));
        }
      }
    }
    return List.of();
  }

  /** Returns the runtime overrides in force, as raw JSON-able values by path. */
  public Map<String, Object> overrides() {
    synchronized (overrides) {
      Map<String, Object> copy = new LinkedHashMap<>();
      overrides.forEach((path, raw) -> copy.put(path, raw.value()));
      return copy;
    }
  }

  /** Replaces every runtime override (undoes {@link #override} when its reload failed). */
  public void replaceOverrides(Map<String, Object> values) {
    synchronized (overrides) {
      overrides.clear();
      values.forEach(
          (path, raw) ->
              overrides.put(path, new RawValue(Json.MAPPER.valueToTree(raw), "override: " + path)));
    }
  }

  /** Returns the cluster-wide layer (the node's {@code _system_config} follower fills it). */
  public ClusterLayer cluster() {
    return cluster;
  }

  /** Returns the config file, or {@code null} if there is none. */
  public @Nullable Path configFile() {
    return configFile;
  }

  /** Returns the env file, or {@code null} if there is none. */
  public @Nullable Path envFile() {
    return envFile;
  }

  /** Returns the catalog. */
  public SettingsCatalog catalog() {
    return catalog;
  }

  /** Collects the fixed sources. Not thread-safe. */
  public static final class Builder {
    private final SettingsCatalog catalog;
    private @Nullable Path configFile;
    private @Nullable Path envFile;
    private Map<String, String> environment = Map.of();
    private final Map<String, RawValue> flags = new LinkedHashMap<>();
    private final List<Violation> flagProblems = new ArrayList<>();

    private Builder(SettingsCatalog catalog) {
      this.catalog = catalog;
    }

    /** Sets the YAML or JSON config file. */
    public Builder configFile(@Nullable Path file) {
      configFile = file;
      return this;
    }

    /** Sets the env file of {@code SKEIN_NAME=value} lines. */
    public Builder envFile(@Nullable Path file) {
      envFile = file;
      return this;
    }

    /** Sets the process environment (the node passes {@code System.getenv()}). */
    public Builder environment(Map<String, String> variables) {
      environment = Map.copyOf(variables);
      return this;
    }

    /**
     * Sets a value in the flags layer, by flag ({@code --port}) as the command line gives it. An
     * unknown flag is reported by {@link #load()}.
     */
    public Builder flag(String flag, String text) {
      Setting<?> setting = catalog.byFlag(flag);
      if (setting == null) {
        flagProblems.add(new Violation(flag, flag, "unknown flag"));
      } else {
        flags.put(setting.path(), RawValue.text(text, flag));
      }
      return this;
    }

    /**
     * Sets a value in the flags layer, by dotted path, as embedding code and tests do: a number, a
     * boolean, text as a flag would give it, or a {@link java.time.Duration}.
     */
    public Builder set(Setting<?> setting, Object value) {
      Object raw =
          value instanceof java.time.Duration duration
              ? io.skein.core.config.ValueTypes.format(duration)
              : value;
      flags.put(setting.path(), new RawValue(Json.MAPPER.valueToTree(raw), setting.path()));
      return this;
    }

    /** Builds the sources; nothing is read until {@link ConfigSources#load()}. */
    public ConfigSources build() {
      return new ConfigSources(this);
    }
  }
}
