package io.skein.testkit;

/** Reads one series from a node's {@code GET /metrics} answer (Prometheus text format). */
public final class PrometheusText {
  private PrometheusText() {}

  /**
   * Returns the value of the first series named {@code name} (with or without labels), or 0 if the
   * text has none: a counter a node has not registered yet has counted nothing.
   *
   * @param body the {@code /metrics} answer
   * @param name the series name, e.g. {@code skein_storage_leader_compactions_total}
   */
  public static double value(String body, String name) {
    for (String line : body.split("\n")) {
      if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
        return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return 0;
  }
}
