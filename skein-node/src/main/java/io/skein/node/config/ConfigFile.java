package io.skein.node.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.skein.core.config.ConfigLayer;
import io.skein.core.config.RawValue;
import io.skein.core.config.Setting;
import io.skein.core.config.SettingsCatalog;
import io.skein.core.config.Violation;
import io.skein.internal.json.Json;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads the file-backed sources into layers: the YAML or JSON config file, and the env file.
 *
 * <p>The config file may be sectioned ({@code replication: {sync-interval: 2s}}), use dotted keys
 * ({@code replication.sync-interval: 2s}), or use the flat keys of earlier versions ({@code
 * sync-interval: 2.0}), mixed freely. The env file holds {@code SKEIN_NAME=value} lines, {@code #}
 * comments and blank lines; an optional {@code export } prefix and quotes are accepted.
 *
 * <p>A file that cannot be read or parsed gives a layer with one problem and no values, so the
 * resolver reports it and the running configuration stays (a reload applies nothing).
 */
public final class ConfigFile {
  private ConfigFile() {}

  /** YAML with duplicate keys refused, as the JSON parser refuses them (no silent last-wins). */
  private static final ObjectMapper YAML =
      new ObjectMapper(
          YAMLFactory.builder()
              .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
              .build());

  /** The largest config or env file read, 1 MiB: a bigger one is a mistake, not a config. */
  public static final long FILE_BYTES_MAX = 1 << 20;

  /**
   * A file's content as read, with its hash (the watcher compares hashes, not timestamps).
   *
   * @param layer the values it gives
   * @param sha256 the content's SHA-256 in hex, or {@code "missing"}
   */
  public record Read(ConfigLayer layer, String sha256) {}

  /** Reads the YAML or JSON config file ({@code .json} is JSON, anything else YAML). */
  public static Read config(Path file, SettingsCatalog catalog) {
    byte[] content;
    try {
      content = readBounded(file);
    } catch (IOException e) {
      return failed("file", file, "cannot read config file " + file + ": " + e.getMessage());
    }
    String hash = sha256(content);
    String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
    ObjectMapper mapper = name.endsWith(".json") ? Json.MAPPER : YAML;
    if (content.length == 0) {
      // A file caught between a truncate and a write is empty; taken as "no settings" it would
      // silently put every setting back to its default. A comment means "no settings".
      return new Read(
          problem("file", file, "is empty; write a comment (# no settings) if that is meant"),
          hash);
    }
    JsonNode root;
    try {
      root = mapper.readTree(content);
    } catch (IOException e) {
      return new Read(problem("file", file, "does not parse: " + parseError(e)), hash);
    }
    if (root == null || root.isMissingNode() || root.isNull()) {
      return new Read(ConfigLayer.empty("file"), hash); // only comments: it sets nothing
    }
    if (!root.isObject()) {
      return new Read(problem("file", file, "must hold a mapping of settings"), hash);
    }
    Map<String, RawValue> values = new LinkedHashMap<>();
    List<Violation> problems = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      mapKey(file, catalog, field.getKey(), field.getValue(), values, problems);
    }
    return new Read(new ConfigLayer("file", values, problems), hash);
  }

  private static void mapKey(
      Path file,
      SettingsCatalog catalog,
      String key,
      JsonNode value,
      Map<String, RawValue> values,
      List<Violation> problems) {
    if (value.isObject() && catalog.sections().contains(key)) {
      for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> field = it.next();
        put(file, catalog, key + "." + field.getKey(), field.getValue(), values, problems);
      }
      return;
    }
    Setting<?> legacy = catalog.byLegacyKey(key);
    if (legacy != null && !key.contains(".")) {
      put(file, catalog, legacy.path(), value, values, problems);
      return;
    }
    put(file, catalog, key, value, values, problems);
  }

  private static void put(
      Path file,
      SettingsCatalog catalog,
      String path,
      JsonNode value,
      Map<String, RawValue> values,
      List<Violation> problems) {
    String origin = file + ": " + path;
    if (catalog.byPath(path) == null) {
      List<String> near = catalog.suggestions(path);
      problems.add(
          new Violation(
              path,
              origin,
              "unknown key '"
                  + path
                  + "'"
                  + (near.isEmpty() ? "" : "; did you mean " + String.join(", ", near) + "?")));
      return;
    }
    if (values.containsKey(path)) {
      problems.add(new Violation(path, origin, "set twice in one file"));
      return;
    }
    values.put(path, new RawValue(value, origin));
  }

  /** Reads an env file of {@code SKEIN_NAME=value} lines. */
  public static Read envFile(Path file, SettingsCatalog catalog) {
    byte[] content;
    try {
      content = readBounded(file);
    } catch (IOException e) {
      return failed("env-file", file, "cannot read env file " + file + ": " + e.getMessage());
    }
    Map<String, RawValue> values = new LinkedHashMap<>();
    List<Violation> problems = new ArrayList<>();
    String[] lines = new String(content, StandardCharsets.UTF_8).split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String origin = file + ":" + (i + 1);
      if (line.startsWith("export ")) {
        line = line.substring("export ".length()).strip();
      }
      int eq = line.indexOf('=');
      if (eq < 1) {
        problems.add(new Violation(origin, origin, "expected NAME=value"));
        continue;
      }
      String name = line.substring(0, eq).strip();
      Setting<?> setting = catalog.byVariable(name);
      if (setting == null) {
        // Other names are variables for ${NAME} references (see variables()); a SKEIN_ name
        // that is no setting is a typo.
        if (name.startsWith("SKEIN_")) {
          problems.add(new Violation(name, origin, "unknown setting variable " + name));
        }
        continue;
      }
      values.put(setting.path(), RawValue.text(unquote(line.substring(eq + 1).strip()), origin));
    }
    return new Read(new ConfigLayer("env-file", values, problems), sha256(content));
  }

  /** Returns the raw variables an env file sets, for {@code ${ENV_NAME}} references. */
  public static Map<String, String> variables(Path file) {
    Map<String, String> variables = new LinkedHashMap<>();
    try {
      for (String raw : new String(readBounded(file), StandardCharsets.UTF_8).split("\n", -1)) {
        String line = raw.strip();
        if (line.startsWith("export ")) {
          line = line.substring("export ".length()).strip();
        }
        int eq = line.indexOf('=');
        if (!line.startsWith("#") && eq > 0) {
          variables.put(line.substring(0, eq).strip(), unquote(line.substring(eq + 1).strip()));
        }
      }
    } catch (IOException e) {
      // envFile() reports an unreadable file; references then resolve against the environment.
    }
    return variables;
  }

  private static String unquote(String value) {
    if (value.length() >= 2
        && (value.startsWith("\"") && value.endsWith("\"")
            || value.startsWith("'") && value.endsWith("'"))) {
      return value.substring(1, value.length() - 1);
    }
    return value;
  }

  /**
   * Reads a regular file of at most {@link #FILE_BYTES_MAX} bytes. Anything else is refused before
   * it is opened: opening a FIFO blocks, and a device such as {@code /dev/zero} reports size 0 but
   * never ends. The limit is enforced while reading too, since a file may grow.
   */
  static byte[] readBounded(Path file) throws IOException {
    BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
    if (!attributes.isRegularFile()) {
      throw new IOException("it is not a regular file");
    }
    if (attributes.size() > FILE_BYTES_MAX) {
      throw new IOException("it is over " + FILE_BYTES_MAX + " bytes");
    }
    try (InputStream in = Files.newInputStream(file)) {
      byte[] content = in.readNBytes((int) FILE_BYTES_MAX + 1);
      if (content.length > FILE_BYTES_MAX) {
        throw new IOException("it is over " + FILE_BYTES_MAX + " bytes");
      }
      return content;
    }
  }

  /**
   * Returns a file's content hash as the watcher compares it: the SHA-256 of a bounded read, or
   * {@code missing} if it cannot be read. Never throws.
   */
  public static String contentHash(Path file) {
    try {
      return sha256(readBounded(file));
    } catch (IOException | RuntimeException e) {
      return "missing";
    }
  }

  private static Read failed(String source, Path file, String message) {
    return new Read(problem(source, file, message), "missing");
  }

  private static ConfigLayer problem(String source, Path file, String message) {
    String where = file.toString();
    return new ConfigLayer(source, Map.of(), List.of(new Violation(where, where, message)));
  }

  /**
   * Describes a parse error by its kind and place only. The parsers' messages quote the text they
   * choked on, which may be a secret value (an unquoted cluster secret in a JSON file), and this
   * message goes to answers, events and logs.
   */
  static String parseError(IOException e) {
    if (e instanceof JsonProcessingException parse && parse.getLocation() != null) {
      return "syntax error at line "
          + parse.getLocation().getLineNr()
          + ", column "
          + parse.getLocation().getColumnNr();
    }
    return "syntax error";
  }

  /** Returns the SHA-256 of some bytes, in hex. */
  static String sha256(byte[] content) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
