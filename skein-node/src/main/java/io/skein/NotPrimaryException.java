package io.skein;

import org.jspecify.annotations.Nullable;

/**
 * Leader mode: this node is not the primary, so it cannot take the write or serve the strong read.
 * If the primary is known ({@link #leaderId()}), retry there: HTTP {@code 307} with code {@code
 * not_primary} and a {@code Location} header. During an election there is none: HTTP {@code 503}
 * with code {@code no_primary} and {@code Retry-After}. Nothing was written.
 */
public final class NotPrimaryException extends SkeinException {
  private static final long serialVersionUID = 1L;

  private final @Nullable String leaderId;

  /** Creates the exception. */
  public NotPrimaryException(@Nullable String leaderId, String message) {
    super(leaderId == null ? "no_primary" : "not_primary", message);
    this.leaderId = leaderId;
  }

  /** Returns the node id of the primary this node follows, or {@code null} during an election. */
  public @Nullable String leaderId() {
    return leaderId;
  }
}
