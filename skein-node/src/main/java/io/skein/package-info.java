/**
 * The embedded Java API of Skein: open a {@link io.skein.Skein} with a {@link
 * io.skein.SkeinConfig}, then read and write documents through its {@link
 * io.skein.DocumentCollection}s. Everything here is thread-safe; failures are {@link
 * io.skein.SkeinException}s with a stable error code.
 */
@NullMarked
package io.skein;

import org.jspecify.annotations.NullMarked;
