/** SQLite storage of a node: schema, the {@code Store} port and its SQLite implementation. */
@NullMarked
package io.skein.internal.storage;

import org.jspecify.annotations.NullMarked;
