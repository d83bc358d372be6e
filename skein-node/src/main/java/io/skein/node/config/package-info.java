/**
 * The node's settings: the catalog that declares each one once (D13), the sources that feed it
 * (D6), and the typed view the node's components read.
 */
@NullMarked
package io.skein.node.config;

import org.jspecify.annotations.NullMarked;
