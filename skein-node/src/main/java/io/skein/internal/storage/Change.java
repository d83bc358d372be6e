package io.skein.internal.storage;

import io.skein.core.oplog.OplogEntry;

/**
 * One entry of the change feed: an oplog entry with its local position.
 *
 * @param lsn the local sequence number: the order in which this node applied it, the feed token
 * @param entry the entry
 * @param won whether it changed the document when applied (a losing concurrent write did not)
 */
public record Change(long lsn, OplogEntry entry, boolean won) {}
