/**
 * OAuth2 between sites (DESIGN.md "Remote peers and cloud"): a gateway obtains bearer tokens with
 * the client-credentials grant ({@link io.skein.internal.oauth2.OAuth2TokenSource}), and a cloud
 * node checks them against its issuer's published keys ({@link
 * io.skein.internal.oauth2.JwtVerifier}). Neither is wired into routes or the transport here.
 */
@NullMarked
package io.skein.internal.oauth2;

import org.jspecify.annotations.NullMarked;
