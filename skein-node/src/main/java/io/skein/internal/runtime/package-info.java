/**
 * The node runtime: components with a lifecycle (start, stop, reload) owned in order by one
 * runtime, the reload orchestrator, and the only place threads are created ({@link
 * io.skein.internal.runtime.Threads}). Depends on neither the embedded API nor the node's
 * components, so both can use it (ArchitectureTest enforces it).
 */
@NullMarked
package io.skein.internal.runtime;

import org.jspecify.annotations.NullMarked;
