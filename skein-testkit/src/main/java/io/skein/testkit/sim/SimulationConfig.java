package io.skein.testkit.sim;

/**
 * The shape of one simulated run.
 *
 * @param nodes how many nodes
 * @param faultPhaseMs virtual time with faults and client writes, in ms
 * @param quiescePhaseMs virtual time after the faults stop and every node is up, in ms
 * @param stepMs the virtual time between two steps, in ms
 * @param writesPerSecond client writes per second of virtual time, across the cluster
 * @param keys how many distinct document ids the writes touch (few keys: many conflicts)
 * @param dropRate the chance a message is lost, during the fault phase
 * @param duplicateRate the chance a message is delivered twice
 * @param delayMaxMs the largest network delay, in ms (random delays reorder messages)
 * @param crashesPerMinute the rate of node crashes during the fault phase
 * @param partitionsPerMinute the rate of network partitions during the fault phase
 * @param clockSkewMaxMs the largest skew of a node's clock from virtual time, in ms
 * @param deleteRate the share of writes that are deletes
 * @param retentionMs how long nodes keep oplog entries, in virtual ms; 0 for ever
 * @param reconfigurationsPerMinute how often, during the fault phase, a node's timings change (on
 *     the seeds that reconfigure, about one in three); 0 for never
 */
public record SimulationConfig(
    int nodes,
    long faultPhaseMs,
    long quiescePhaseMs,
    long stepMs,
    int writesPerSecond,
    int keys,
    double dropRate,
    double duplicateRate,
    long delayMaxMs,
    double crashesPerMinute,
    double partitionsPerMinute,
    long clockSkewMaxMs,
    double deleteRate,
    long retentionMs,
    double reconfigurationsPerMinute) {

  /**
   * A three-node cluster under every fault: loss, duplication, reordering, crashes, partitions, and
   * timings changed at run time.
   */
  public static SimulationConfig faulty() {
    return new SimulationConfig(
        3, 20_000, 20_000, 5, 40, 12, 0.05, 0.05, 60, 6, 6, 200, 0.15, 0, 12);
  }

  /**
   * {@link #faulty()} with a short oplog retention (3 s of virtual time): nodes that crash or are
   * cut off fall behind their peers' horizons and must catch up by snapshot, and tombstones are
   * collected while writes and deletes go on.
   */
  public static SimulationConfig faultyWithRetention() {
    return new SimulationConfig(
        3, 30_000, 20_000, 5, 40, 30, 0.05, 0.05, 60, 8, 8, 200, 0.3, 3_000, 12);
  }

  /**
   * The source project's failure: concurrent writes of the same keys on every node, no faults. It
   * left 20 of 20 keys different for good; here every replica must end identical.
   */
  public static SimulationConfig concurrentSameKeys() {
    return new SimulationConfig(3, 5_000, 10_000, 5, 600, 20, 0, 0, 5, 0, 0, 200, 0, 0, 0);
  }
}
