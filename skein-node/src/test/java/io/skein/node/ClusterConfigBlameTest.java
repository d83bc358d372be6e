package io.skein.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.skein.core.config.ConfigChange;
import io.skein.core.config.Violation;
import io.skein.internal.runtime.ReloadOrchestrator;
import io.skein.node.config.Settings;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which cluster-wide values a failed reload is blamed on, and so left out on this node. */
class ClusterConfigBlameTest {
  private static final Set<String> CLUSTER =
      Set.of("log.level", "replication.sync-interval", "limits.rate-limit");

  @Test
  void aRefusedPlanBlamesOnlyTheClusterValuesItNames() {
    ReloadOrchestrator.Result refused =
        new ReloadOrchestrator.Result(
            "r",
            ReloadOrchestrator.Outcome.FAILED,
            List.of(),
            null,
            "invalid",
            List.of(
                new Violation("log.level", "log.level", "its module 'log' is not enabled"),
                new Violation("node.data-dir", "node.data-dir", "is static")));
    assertThat(ClusterConfigComponent.blame(refused, CLUSTER, Set.of()))
        .containsExactly("log.level");
  }

  @Test
  void aFailedComponentBlamesTheClusterValuesItChanged() {
    ReloadOrchestrator.Result rolledBack =
        new ReloadOrchestrator.Result(
            "r",
            ReloadOrchestrator.Outcome.ROLLED_BACK,
            List.of(
                new ConfigChange(
                    Settings.SYNC_INTERVAL, Duration.ofSeconds(2), Duration.ofSeconds(1)),
                new ConfigChange(Settings.RATE_LIMIT, 0.0, 5.0)),
            "store",
            "module 'store' failed",
            List.of());
    // A component that owns replication.* failed; limits.rate-limit only rolled back with it.
    assertThat(ClusterConfigComponent.blame(rolledBack, CLUSTER, Set.of("replication")))
        .containsExactly("replication.sync-interval");
    assertThat(ClusterConfigComponent.blame(rolledBack, CLUSTER, Set.of("log")))
        .as("a failure of a component whose sections changed nothing blames nothing")
        .isEmpty();
  }

  @Test
  void aFailureOfTheNodesOwnSourcesBlamesNoClusterValue() {
    ReloadOrchestrator.Result broken =
        new ReloadOrchestrator.Result(
            "r",
            ReloadOrchestrator.Outcome.FAILED,
            List.of(),
            null,
            "invalid configuration",
            List.of(new Violation("node.port", "--port", "not a port")));
    assertThat(ClusterConfigComponent.blame(broken, CLUSTER, Set.of())).isEmpty();
  }
}
