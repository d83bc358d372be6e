/**
 * See {@code docs/ARCHITECTURE.md}: the pure core never does IO, reads clocks or spawns threads.
 */
@NullMarked
package io.skein.core.merge;

import org.jspecify.annotations.NullMarked;
