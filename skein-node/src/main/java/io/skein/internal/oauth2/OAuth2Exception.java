package io.skein.internal.oauth2;

import org.jspecify.annotations.Nullable;

/**
 * A client-side OAuth2 failure: discovery of the authorization server, or a token request. Its
 * {@link #code()} is a short machine-readable word; its message names the authority and, when the
 * server answered with one, the OAuth2 error code. It never contains the client secret or a token.
 */
public final class OAuth2Exception extends Exception {
  private static final long serialVersionUID = 1L;

  /** Neither discovery document could be fetched, parsed, or names this issuer. */
  public static final String DISCOVERY_FAILED = "discovery_failed";

  /** The token endpoint refused the client's credentials ({@code invalid_client}). */
  public static final String INVALID_CLIENT = "invalid_client";

  /**
   * The token request failed otherwise: unreachable, timed out, another OAuth2 error (see {@link
   * #oauth2Error()}), or an answer that is not a token response.
   */
  public static final String TOKEN_REQUEST_FAILED = "token_request_failed";

  private final String code;
  private final @Nullable String oauth2Error;

  OAuth2Exception(String code, @Nullable String oauth2Error, String message) {
    super(message);
    this.code = code;
    this.oauth2Error = oauth2Error;
  }

  OAuth2Exception(String code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
    this.oauth2Error = null;
  }

  /**
   * A copy of {@code original} with the same code, OAuth2 error and message, caused by it: for a
   * caller that waited on another caller's request, so that its own stack shows where it waited.
   */
  OAuth2Exception(OAuth2Exception original) {
    super(String.valueOf(original.getMessage()), original);
    this.code = original.code;
    this.oauth2Error = original.oauth2Error;
  }

  /**
   * Returns {@link #DISCOVERY_FAILED}, {@link #INVALID_CLIENT} or {@link #TOKEN_REQUEST_FAILED}.
   */
  public String code() {
    return code;
  }

  /** Returns the OAuth2 {@code error} the server answered with, or {@code null} if none. */
  public @Nullable String oauth2Error() {
    return oauth2Error;
  }
}
