/**
 * Node events (reload and cluster) as CloudEvents 1.0, and the bus that fans them out to embedded
 * observers, the log and {@code GET /admin/events}.
 */
@NullMarked
package io.skein.internal.events;

import org.jspecify.annotations.NullMarked;
