package io.skein.internal.oauth2;

import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.oauth2.sdk.ClientCredentialsGrant;
import com.nimbusds.oauth2.sdk.ErrorObject;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.TokenErrorResponse;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenResponse;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.token.AccessToken;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A gateway's access tokens for a cloud peer: the OAuth2 client-credentials grant (RFC 6749 4.4)
 * with {@code client_secret_basic}, against the token endpoint that discovery of the authority
 * finds ({@code {authority}/.well-known/openid-configuration}, falling back to {@code
 * /.well-known/oauth-authorization-server}; found once, then cached).
 *
 * <p>{@link #token()} returns the cached token until less than max(30 s, 10 % of its lifetime)
 * remains (at most half its lifetime, so a very short-lived token is not fetched on every call),
 * then fetches a new one. The lifetime is the response's {@code expires_in}; without it, the
 * token's own {@code exp} if it is a JWT, else {@link #ASSUMED_LIFETIME}. Times come from the
 * injected {@link Clock}.
 *
 * <p>Thread-safe. One fetch at a time: callers that find the token stale while another caller
 * fetches wait for that fetch's result (or take the current token if it has not expired yet)
 * instead of sending a request of their own. A failure is not cached: the next call tries again.
 *
 * <p>The client secret is kept as a {@code char[]} copy, turned into the SDK's secret only for the
 * length of one request, and never logged or put in an exception message; neither is a token.
 */
public final class OAuth2TokenSource {
  private static final Logger log = LoggerFactory.getLogger(OAuth2TokenSource.class);

  /** The least time before expiry at which a token is refreshed. */
  public static final Duration REFRESH_MARGIN_MIN = Duration.ofSeconds(30);

  /** The lifetime assumed for a token whose response and value say nothing of it. */
  public static final Duration ASSUMED_LIFETIME = Duration.ofSeconds(60);

  /** The counter of token requests, tagged {@code outcome}: {@code ok} or an error code. */
  public static final String FETCHES_METER = "skein.oauth2.token.fetches";

  /**
   * An access token and when it expires.
   *
   * @param value the token, to send as {@code Authorization: Bearer value}
   * @param expiresAt when it expires, by the source's clock
   * @param lifetime how long it was valid for when it was fetched
   * @param scopes the scopes the server granted, if it said (else the ones asked for)
   */
  public record BearerToken(
      String value, Instant expiresAt, Duration lifetime, Set<String> scopes) {
    /** Copies the scopes. */
    public BearerToken {
      scopes = Set.copyOf(scopes);
    }

    /** Returns the {@code Authorization} header value: {@code Bearer <token>}. */
    public String authorizationHeader() {
      return "Bearer " + value;
    }

    /** Returns when this token should be replaced: max(30 s, 10 %) before expiry. */
    public Instant refreshAt() {
      Duration margin = lifetime.dividedBy(10);
      if (margin.compareTo(REFRESH_MARGIN_MIN) < 0) {
        margin = REFRESH_MARGIN_MIN;
      }
      Duration half = lifetime.dividedBy(2);
      if (margin.compareTo(half) > 0) {
        margin = half;
      }
      return expiresAt.minus(margin);
    }

    @Override
    public String toString() {
      return "BearerToken[value=[REDACTED], expiresAt=" + expiresAt + ", scopes=" + scopes + "]";
    }
  }

  private final String authority;
  private final String clientId;
  private final char[] clientSecret;
  private final List<String> scopes;
  private final Clock clock;
  private final Duration connectTimeout;
  private final Duration requestTimeout;
  private final @Nullable MeterRegistry meters;

  private volatile @Nullable URI tokenEndpoint;
  private volatile @Nullable BearerToken current;
  private final AtomicReference<@Nullable CompletableFuture<BearerToken>> inFlight =
      new AtomicReference<>();

  /**
   * Creates a token source; it takes no action until {@link #token()}.
   *
   * @param authority the authorization server's issuer URL ({@code https://}; {@code http://} only
   *     on a loopback host)
   * @param clientId the client id
   * @param clientSecret the client secret, resolved by the caller (copied; the caller may clear its
   *     array)
   * @param scopes the scopes to ask for; may be empty
   * @param clock the clock that dates tokens
   * @param connectTimeout how long to wait for a connection, at most 2 minutes
   * @param requestTimeout how long to wait for an answer, at most 2 minutes
   * @param meters where to count token requests by outcome, or {@code null}
   * @throws IllegalArgumentException if a value is malformed (the message never names the secret)
   */
  public OAuth2TokenSource(
      String authority,
      String clientId,
      char[] clientSecret,
      List<String> scopes,
      Clock clock,
      Duration connectTimeout,
      Duration requestTimeout,
      @Nullable MeterRegistry meters) {
    String problem = Discovery.urlProblem(authority);
    if (problem != null) {
      throw new IllegalArgumentException(
          "authority " + problem + ": '" + Discovery.abbreviate(authority) + "'");
    }
    if (clientId.isBlank()) {
      throw new IllegalArgumentException("the client id is empty");
    }
    if (clientSecret.length == 0) {
      throw new IllegalArgumentException("the client secret is empty");
    }
    for (String scope : scopes) {
      if (!scope.matches("[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,128}")) {
        throw new IllegalArgumentException(
            "a scope is 1-128 printable characters without spaces, quotes or backslashes: '"
                + Discovery.abbreviate(scope)
                + "'");
      }
    }
    this.authority = authority;
    this.clientId = clientId;
    this.clientSecret = clientSecret.clone();
    this.scopes = List.copyOf(scopes);
    this.clock = Objects.requireNonNull(clock, "clock");
    this.connectTimeout = Discovery.checkTimeout("the connect timeout", connectTimeout);
    this.requestTimeout = Discovery.checkTimeout("the request timeout", requestTimeout);
    this.meters = meters;
  }

  /** Returns the authority (issuer URL). */
  public String authority() {
    return authority;
  }

  /** Returns the client id. */
  public String clientId() {
    return clientId;
  }

  /**
   * Returns a valid access token's value: the cached one, or a new one.
   *
   * @throws OAuth2Exception if a new one is needed and cannot be had
   */
  public String token() throws OAuth2Exception {
    return bearerToken().value();
  }

  /**
   * Returns a valid access token: the cached one until its refresh point, then a new one.
   *
   * @throws OAuth2Exception if a new one is needed and cannot be had
   */
  public BearerToken bearerToken() throws OAuth2Exception {
    Instant now = clock.instant();
    BearerToken token = current;
    if (token != null && now.isBefore(token.refreshAt())) {
      return token;
    }
    CompletableFuture<BearerToken> mine = new CompletableFuture<>();
    CompletableFuture<BearerToken> running = inFlight.compareAndExchange(null, mine);
    if (running != null) {
      // Another caller is fetching. A token that has not expired yet is still good to send.
      if (token != null && now.isBefore(token.expiresAt())) {
        return token;
      }
      return await(running);
    }
    try {
      // Another caller may have finished a fetch between the read above and winning the slot.
      BearerToken fresh = current;
      if (fresh != null && clock.instant().isBefore(fresh.refreshAt())) {
        mine.complete(fresh);
        return fresh;
      }
      BearerToken fetched = fetch();
      current = fetched;
      mine.complete(fetched);
      return fetched;
    } catch (OAuth2Exception | RuntimeException e) {
      mine.completeExceptionally(e);
      throw e;
    } finally {
      inFlight.set(null);
    }
  }

  /**
   * Drops the cached token, so that the next call fetches a new one (for example after the cloud
   * node answered {@code 401} to it: the token may have been revoked).
   */
  public void invalidate() {
    current = null;
  }

  private static BearerToken await(CompletableFuture<BearerToken> running) throws OAuth2Exception {
    try {
      return running.join();
    } catch (CompletionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof OAuth2Exception oauth2) {
        throw new OAuth2Exception(oauth2);
      }
      if (cause instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw e;
    }
  }

  private BearerToken fetch() throws OAuth2Exception {
    try {
      BearerToken token = request(endpoint());
      count("ok");
      log.debug(
          "oauth2: a token from {} for client {}, valid for {} s",
          authority,
          clientId,
          token.lifetime().toSeconds());
      return token;
    } catch (OAuth2Exception e) {
      count(e.code());
      throw e;
    }
  }

  private URI endpoint() throws OAuth2Exception {
    URI known = tokenEndpoint;
    if (known != null) {
      return known;
    }
    Discovery.Metadata metadata = Discovery.discover(authority, connectTimeout, requestTimeout);
    URI found = metadata.tokenEndpoint();
    if (found == null) {
      throw new OAuth2Exception(
          OAuth2Exception.DISCOVERY_FAILED,
          null,
          "the authorization server " + authority + " publishes no token endpoint");
    }
    String problem = Discovery.urlProblem(found.toString());
    if (problem != null) {
      throw new OAuth2Exception(
          OAuth2Exception.DISCOVERY_FAILED,
          null,
          "the token endpoint of " + authority + " " + problem);
    }
    tokenEndpoint = found;
    return found;
  }

  private BearerToken request(URI endpoint) throws OAuth2Exception {
    Instant sent = clock.instant();
    Secret secret = new Secret(new String(clientSecret));
    HTTPResponse response;
    try {
      Scope scope = scopes.isEmpty() ? null : new Scope(scopes.toArray(String[]::new));
      HTTPRequest request =
          new TokenRequest(
                  endpoint,
                  new ClientSecretBasic(new ClientID(clientId), secret),
                  new ClientCredentialsGrant(),
                  scope)
              .toHTTPRequest();
      request.setConnectTimeout(Discovery.millis(connectTimeout));
      request.setReadTimeout(Discovery.millis(requestTimeout));
      request.setFollowRedirects(false);
      response = request.send();
    } catch (IOException e) {
      throw new OAuth2Exception(
          OAuth2Exception.TOKEN_REQUEST_FAILED,
          scrub("cannot reach the token endpoint of " + authority + ": " + e),
          e);
    } finally {
      secret.erase();
    }
    TokenResponse parsed;
    try {
      parsed = TokenResponse.parse(response);
    } catch (ParseException e) {
      throw new OAuth2Exception(
          OAuth2Exception.TOKEN_REQUEST_FAILED,
          null,
          scrub(
              "the token endpoint of "
                  + authority
                  + " answered "
                  + response.getStatusCode()
                  + " without a token response ("
                  + Discovery.abbreviate(String.valueOf(e.getMessage()))
                  + ")"));
    }
    if (!parsed.indicatesSuccess()) {
      TokenErrorResponse error = parsed.toErrorResponse();
      ErrorObject object = error.getErrorObject();
      String code = object == null ? null : object.getCode();
      String description = object == null ? null : object.getDescription();
      throw new OAuth2Exception(
          "invalid_client".equals(code)
              ? OAuth2Exception.INVALID_CLIENT
              : OAuth2Exception.TOKEN_REQUEST_FAILED,
          code,
          scrub(
              "the authorization server "
                  + authority
                  + " refused a token to client "
                  + clientId
                  + ": "
                  + (code == null ? "HTTP " + response.getStatusCode() : code)
                  + (description == null ? "" : " (" + Discovery.abbreviate(description) + ")")));
    }
    AccessToken token = parsed.toSuccessResponse().getTokens().getAccessToken();
    Duration lifetime = lifetime(token, sent);
    Set<String> granted = new LinkedHashSet<>();
    if (token.getScope() != null) {
      granted.addAll(token.getScope().toStringList());
    } else {
      granted.addAll(scopes);
    }
    return new BearerToken(token.getValue(), sent.plus(lifetime), lifetime, granted);
  }

  /** {@code expires_in}; else the JWT's {@code exp}; else {@link #ASSUMED_LIFETIME}. */
  private static Duration lifetime(AccessToken token, Instant sent) {
    if (token.getLifetime() > 0) {
      return Duration.ofSeconds(token.getLifetime());
    }
    try {
      JWT jwt = JWTParser.parse(token.getValue());
      Date exp = jwt.getJWTClaimsSet().getExpirationTime();
      if (exp != null && exp.toInstant().isAfter(sent)) {
        return Duration.between(sent, exp.toInstant());
      }
    } catch (java.text.ParseException e) {
      // An opaque token: nothing to read.
    }
    return ASSUMED_LIFETIME;
  }

  /** Removes the secret from a message, should a server or a library ever echo it. */
  private String scrub(String message) {
    String secret = new String(clientSecret);
    return secret.length() < 4 ? message : message.replace(secret, "[REDACTED]");
  }

  private void count(String outcome) {
    MeterRegistry registry = meters;
    if (registry != null) {
      registry.counter(FETCHES_METER, "outcome", outcome).increment();
    }
  }

  @Override
  public String toString() {
    return "OAuth2TokenSource[authority=" + authority + ", clientId=" + clientId + "]";
  }
}
