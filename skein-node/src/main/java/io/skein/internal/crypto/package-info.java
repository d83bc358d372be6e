/** Sealing of secrets that live in replicated collections (DESIGN.md D7). */
@NullMarked
package io.skein.internal.crypto;

import org.jspecify.annotations.NullMarked;
