/** The {@code datastore-node} command: settings, CLI and the node process around the store. */
@NullMarked
package io.skein.node;

import org.jspecify.annotations.NullMarked;
