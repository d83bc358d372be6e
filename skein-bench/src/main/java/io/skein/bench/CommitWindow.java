package io.skein.bench;

import java.util.function.Supplier;

/**
 * Reads commit counters at the edges of a measured window; {@link #counted()} is the difference.
 */
final class CommitWindow implements ClosedLoop.Window {
  private final Supplier<PutTarget.CommitStats> counters;
  private PutTarget.CommitStats atOpening = PutTarget.CommitStats.NONE;
  private PutTarget.CommitStats atClose = PutTarget.CommitStats.NONE;

  CommitWindow(Supplier<PutTarget.CommitStats> counters) {
    this.counters = counters;
  }

  @Override
  public void opening() {
    atOpening = counters.get();
  }

  @Override
  public void closed() {
    atClose = counters.get();
  }

  /** Returns what the counters counted in the window. */
  PutTarget.CommitStats counted() {
    return atClose.minus(atOpening);
  }
}
