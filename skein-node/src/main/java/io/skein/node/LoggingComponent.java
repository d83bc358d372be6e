package io.skein.node;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import io.skein.core.config.Config;
import io.skein.core.config.ConfigChange;
import io.skein.internal.runtime.Component;
import io.skein.node.config.Settings;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code log} section: the level of the root logger is {@code dynamic}; the format is chosen by
 * the command line before the first logger exists, so it is {@code static}.
 */
final class LoggingComponent implements Component {
  private static final Logger log = LoggerFactory.getLogger(LoggingComponent.class);

  @Override
  public String name() {
    return "log";
  }

  @Override
  public Set<String> sections() {
    return Set.of("log");
  }

  @Override
  public void start(Config config) {
    apply(config.get(Settings.LOG_LEVEL));
  }

  @Override
  public void stop() {}

  @Override
  public void reload(List<ConfigChange> changes, Config config) {
    apply(config.get(Settings.LOG_LEVEL));
    log.info("log level is now {}", config.get(Settings.LOG_LEVEL));
  }

  private static void apply(String level) {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
      context
          .getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)
          .setLevel(Level.toLevel(level.toUpperCase(Locale.ROOT), Level.INFO));
    }
  }
}
