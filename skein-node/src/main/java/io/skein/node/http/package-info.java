/** The HTTP/JSON API v1 of a node (docs/http-api.md). */
@NullMarked
package io.skein.node.http;

import org.jspecify.annotations.NullMarked;
