package io.skein.internal.engine;

import io.skein.core.leader.LeaderReady;
import io.skein.core.model.NodeId;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Decides which of the core's leadership changes are real, so that the loop logs and counts only
 * those (issue 12, item 11). The core reports every change of the primary a member follows, and a
 * secondary stops following for a moment each time it asks for pre-votes: when they are refused it
 * follows the same primary in the same epoch again, and the same line would be logged over and
 * over. A change is real when this node's own role changes, or when it follows a primary or epoch
 * other than the last one it logged; losing sight of the primary is not one by itself (the next
 * primary, or this node stepping down, is what gets logged).
 *
 * <p>Not thread-safe: the loop thread owns it.
 */
final class LeadershipLog {
  private boolean loggedIsLeader;
  private @Nullable NodeId loggedLeader;
  private long loggedEpoch = -1;

  /**
   * Returns whether a change is real; if so, it becomes the last one logged.
   *
   * @param change what the core reported
   */
  boolean isRealChange(LeaderReady.LeadershipChanged change) {
    NodeId leader = change.leader();
    boolean roleChanged = change.isLeader() != loggedIsLeader;
    boolean newPrimary =
        leader != null && (!Objects.equals(leader, loggedLeader) || change.epoch() != loggedEpoch);
    if (!roleChanged && !newPrimary) {
      return false;
    }
    loggedIsLeader = change.isLeader();
    loggedLeader = leader;
    loggedEpoch = change.epoch();
    return true;
  }
}
