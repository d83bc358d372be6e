/** The translation of Mango queries and index definitions into SQLite SQL over {@code docs}. */
@NullMarked
package io.skein.internal.query;

import org.jspecify.annotations.NullMarked;
