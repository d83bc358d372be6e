/** The node's event loop: it owns the replica core and runs its IO (see CONCURRENCY.md). */
@NullMarked
package io.skein.internal.engine;

import org.jspecify.annotations.NullMarked;
