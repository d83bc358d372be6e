package io.skein.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.skein.core.leader.LeaderReady.LeadershipChanged;
import io.skein.core.model.NodeId;
import org.junit.jupiter.api.Test;

/** Only real leadership changes are logged (issue 12, item 11). */
class LeadershipLogTest {
  private static final NodeId ONE = NodeId.of("1");
  private static final NodeId TWO = NodeId.of("2");

  @Test
  void aRefusedPreVoteThatReturnsToTheSamePrimaryIsNotAChange() {
    LeadershipLog log = new LeadershipLog();
    assertThat(log.isRealChange(new LeadershipChanged(false, ONE, 5))).isTrue();
    // The secondary asks for pre-votes (it stops following), is refused, follows 1 again.
    for (int blip = 0; blip < 3; blip++) {
      assertThat(log.isRealChange(new LeadershipChanged(false, null, 5))).isFalse();
      assertThat(log.isRealChange(new LeadershipChanged(false, ONE, 5))).isFalse();
    }
  }

  @Test
  void aNewPrimaryANewEpochOrThisNodesOwnRoleIs() {
    LeadershipLog log = new LeadershipLog();
    assertThat(log.isRealChange(new LeadershipChanged(false, null, 0))).isFalse();
    assertThat(log.isRealChange(new LeadershipChanged(false, ONE, 5))).isTrue();
    assertThat(log.isRealChange(new LeadershipChanged(false, null, 5))).isFalse();
    assertThat(log.isRealChange(new LeadershipChanged(false, TWO, 6))).isTrue();
    assertThat(log.isRealChange(new LeadershipChanged(false, TWO, 7))).as("new epoch").isTrue();
    assertThat(log.isRealChange(new LeadershipChanged(true, ONE, 8))).as("became primary").isTrue();
    assertThat(log.isRealChange(new LeadershipChanged(false, null, 8))).as("stepped down").isTrue();
    assertThat(log.isRealChange(new LeadershipChanged(true, ONE, 9))).isTrue();
  }
}
