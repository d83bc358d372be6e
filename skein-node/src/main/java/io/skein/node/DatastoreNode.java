package io.skein.node;

import io.skein.core.config.Setting;
import io.skein.node.config.ConfigSources;
import io.skein.node.config.Settings;
import io.skein.node.config.SettingsException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The {@code datastore-node} command. Its setting flags are not written here: each comes from the
 * settings catalog ({@link Settings}), with the seed's names ({@code --port}, {@code --node-id},
 * {@code --peers}...). {@code --config} and {@code --env-file} name the file-backed sources, which
 * reload live. Subcommands talk to a running node over its admin API ({@code reload}, {@code
 * status}, {@code backup}) or work on files ({@code check}, {@code restore}).
 *
 * <p>Exit status: 0 after a clean shutdown, 1 if the node could not start (for example a corrupt
 * data file or a port in use), 2 for invalid flags or settings.
 */
@Command(
    name = "datastore-node",
    mixinStandardHelpOptions = true,
    version = "datastore-node 0.1.0",
    sortOptions = false,
    subcommands = {
      AdminCommands.Reload.class,
      AdminCommands.Status.class,
      AdminCommands.Forget.class,
      MemberCommands.class,
      RemotePeerCommands.AddCloudPeer.class,
      RemotePeerCommands.AddStaticPeer.class,
      RemotePeerCommands.Peers.class,
      RemotePeerCommands.SealSecret.class,
      AdminCommands.ClusterConfig.class,
      AdminCommands.Check.class,
      BackupCommands.BackupCommand.class,
      BackupCommands.RestoreCommand.class,
      BackupCommands.VerifyCommand.class,
      AotTraining.class
    },
    description = {
      "Runs a Skein node: a replicated JSON document store with an HTTP API.",
      "Every setting is also a config-file key (docs/configuration.md) and a SKEIN_* variable."
    })
public final class DatastoreNode implements Callable<Integer> {
  @Option(
      names = "--config",
      description = "YAML or JSON config file; watched, and reloaded when it changes.")
  @Nullable Path config;

  @Option(
      names = "--env-file",
      description = "File of SKEIN_NAME=value lines, above the config file; reloaded too.")
  @Nullable Path envFile;

  @Spec CommandSpec spec;

  private final Map<String, String> environment;

  DatastoreNode(Map<String, String> environment) {
    this.environment = environment;
    this.spec = CommandSpec.create();
  }

  /** Runs the command and exits with its status. */
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command and returns its exit status, without exiting (for tests). */
  public static int run(String... args) {
    return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
  }

  /** Runs the command with the given output streams; returns its exit status. */
  public static int run(PrintWriter out, PrintWriter err, String... args) {
    return run(out, err, System.getenv(), args);
  }

  /** Runs the command with an environment of its own (tests). */
  static int run(
      PrintWriter out, PrintWriter err, Map<String, String> environment, String... args) {
    CommandLine commandLine = commandLine(environment);
    commandLine.setOut(out);
    commandLine.setErr(err);
    commandLine.setExecutionExceptionHandler(
        (e, cmd, parsed) -> {
          if (e instanceof SettingsException) {
            cmd.getErr().println("datastore-node: " + e.getMessage());
            return 2;
          }
          throw e;
        });
    return commandLine.execute(args);
  }

  /** Builds the command line: the annotated options plus one option per catalog setting. */
  static CommandLine commandLine(Map<String, String> environment) {
    CommandLine commandLine = new CommandLine(new DatastoreNode(environment));
    CommandSpec command = commandLine.getCommandSpec();
    for (Setting<?> setting : Settings.CATALOG.settings()) {
      String flag = setting.flag();
      if (flag != null) {
        command.addOption(
            OptionSpec.builder(flag)
                .paramLabel(label(setting))
                .type(String.class)
                .arity("1")
                .description(
                    // picocli interpolates ${...} in descriptions: $${ keeps it literal.
                    (setting.description()
                            + " ("
                            + setting.path()
                            + "; default "
                            + setting.defaultText()
                            + (setting.unit() == null ? "" : ", unit " + setting.unit())
                            + ")")
                        .replace("${", "$${"))
                .build());
      }
    }
    return commandLine;
  }

  private static String label(Setting<?> setting) {
    String unit = setting.unit();
    if (unit != null && unit.equals("s")) {
      return "<seconds>";
    }
    return "<" + setting.name().replace("-", "").toLowerCase(Locale.ROOT) + ">";
  }

  @Override
  public Integer call() {
    Signals.install(); // first: the JVM's default action for SIGHUP is to exit
    ConfigSources sources = sources();
    io.skein.core.config.Config config = io.skein.node.config.NodeSettings.resolve(sources);
    configureLogging(config);
    return NodeServer.runUntilShutdown(sources, spec.commandLine().getErr());
  }

  /** The sources the command line names: files, the environment, and the flags given. */
  ConfigSources sources() {
    ConfigSources.Builder builder =
        ConfigSources.builder().configFile(config).envFile(envFile).environment(environment);
    CommandLine.ParseResult parsed = spec.commandLine().getParseResult();
    for (Setting<?> setting : Settings.CATALOG.settings()) {
      String flag = setting.flag();
      if (flag != null && parsed.hasMatchedOption(flag)) {
        String value = parsed.matchedOptionValue(flag, "");
        builder.flag(flag, value);
      }
    }
    return builder.build();
  }

  private static void configureLogging(io.skein.core.config.Config config) {
    // Read by logback.xml; set before the first logger is created. The level can change live.
    System.setProperty(
        "skein.log.appender", config.get(Settings.LOG_FORMAT).toUpperCase(Locale.ROOT));
    System.setProperty("skein.log.level", config.get(Settings.LOG_LEVEL).toUpperCase(Locale.ROOT));
  }
}
