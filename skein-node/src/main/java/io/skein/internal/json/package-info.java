/** JSON parsing and validation shared by the embedded API and the HTTP API. */
@NullMarked
package io.skein.internal.json;

import org.jspecify.annotations.NullMarked;
