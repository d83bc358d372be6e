/**
 * Site-to-site sync (DESIGN.md "Remote peers and cloud"): the gateway's rounds with cloud peers
 * ({@link io.skein.internal.site.CloudSync}) and what both ends share ({@link
 * io.skein.internal.site.SiteBatches}).
 */
@NullMarked
package io.skein.internal.site;

import org.jspecify.annotations.NullMarked;
