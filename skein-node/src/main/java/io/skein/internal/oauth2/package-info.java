/**
 * OAuth2 between sites (DESIGN.md "Remote peers and cloud"): a gateway obtains bearer tokens with
 * the client-credentials grant ({@link io.skein.internal.oauth2.OAuth2TokenSource}). It is not
 * wired into routes or the transport here.
 */
@NullMarked
package io.skein.internal.oauth2;

import org.jspecify.annotations.NullMarked;
