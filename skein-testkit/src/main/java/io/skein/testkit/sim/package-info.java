/**
 * The deterministic cluster simulator: many {@link io.skein.core.replica.ReplicaCore}s on one
 * thread, with virtual time, a seeded PRNG and a faulty network. A run is a pure function of its
 * seed, so any failure replays from the seed it prints.
 */
@NullMarked
package io.skein.testkit.sim;

import org.jspecify.annotations.NullMarked;
