package io.skein.core.config;

/**
 * One problem found while resolving a configuration.
 *
 * @param path the setting's dotted path, or the unknown key as written
 * @param origin where the value came from: {@code --port}, {@code SKEIN_NODE_PORT}, {@code
 *     /etc/skein.yaml: node.port}, or {@code settings} for a rule over several settings
 * @param message what is wrong and what was expected
 */
public record Violation(String path, String origin, String message) {
  @Override
  public String toString() {
    return origin.equals(path) ? path + ": " + message : origin + ": " + message;
  }
}
