package io.skein.node;

import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.skein.core.config.Config;
import io.skein.core.config.ConfigChange;
import io.skein.internal.runtime.Component;
import java.util.List;
import java.util.Set;

/**
 * The metrics registry that every other component registers on, with the JVM's own meters. It has
 * no settings; it starts first and stops last.
 */
final class MetricsComponent implements Component {
  private final PrometheusMeterRegistry meters;
  private JvmGcMetrics gc = new JvmGcMetrics();

  MetricsComponent(PrometheusMeterRegistry meters) {
    this.meters = meters;
  }

  @Override
  public String name() {
    return "metrics";
  }

  @Override
  public Set<String> sections() {
    return Set.of();
  }

  @Override
  public void start(Config config) {
    new JvmMemoryMetrics().bindTo(meters);
    gc = new JvmGcMetrics();
    gc.bindTo(meters);
    new JvmThreadMetrics().bindTo(meters);
    new ClassLoaderMetrics().bindTo(meters);
    new ProcessorMetrics().bindTo(meters);
    new UptimeMetrics().bindTo(meters);
  }

  @Override
  public void stop() {
    gc.close();
    meters.close();
  }

  @Override
  public void reload(List<ConfigChange> changes, Config config) {}
}
