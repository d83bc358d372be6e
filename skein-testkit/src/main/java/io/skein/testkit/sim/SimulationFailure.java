package io.skein.testkit.sim;

/** A checker found a violation. The message names the seed and the command that replays it. */
public final class SimulationFailure extends AssertionError {
  private static final long serialVersionUID = 1L;

  /** Creates the failure. */
  public SimulationFailure(String message) {
    super(message);
  }
}
