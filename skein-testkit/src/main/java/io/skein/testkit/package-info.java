/**
 * Test support for Skein: a launcher for real {@code datastore-node} child processes ({@link
 * io.skein.testkit.NodeProcess}) and a small HTTP/JSON client with timeouts ({@link
 * io.skein.testkit.HttpJson}). Used by tests and benchmarks only.
 */
@NullMarked
package io.skein.testkit;

import org.jspecify.annotations.NullMarked;
