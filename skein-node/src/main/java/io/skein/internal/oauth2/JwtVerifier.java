package io.skein.internal.oauth2;

import com.nimbusds.jose.Algorithm;
import com.nimbusds.jose.Header;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWEHeader;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.crypto.factories.DefaultJWSVerifierFactory;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.JWKSetCacheRefreshEvaluator;
import com.nimbusds.jose.jwk.source.JWKSetSource;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.jwk.source.RateLimitReachedException;
import com.nimbusds.jose.jwk.source.URLBasedJWKSetSource;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URL;
import java.security.Key;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks the bearer access token that a gateway sends to a cloud node: a JWT signed by the
 * configured issuer, for the configured audience, not expired, carrying the required scope.
 *
 * <p>In order: the value is at most {@link #MAX_TOKEN_LENGTH} characters (checked before any
 * parsing), a compact JWS whose {@code alg} is RS256 or ES256 (never {@code none}, an HMAC or an
 * encrypted token) without critical header parameters; its {@code iss} equals the configured issuer
 * exactly (checked before any key is fetched, so a foreign token costs no request); its signature
 * verifies with a key from the issuer's JWK set; {@code exp} is present and not past, and {@code
 * nbf}, if present, is not ahead, both with {@link #CLOCK_SKEW}; {@code aud} contains the
 * configured audience; it names a subject ({@code sub}, else {@code client_id} or {@code azp}).
 * Then it must carry the required scope, in {@code scope} (a space-separated string) or {@code scp}
 * (an array or a string): a token that passes everything but that is {@link Forbidden}, any other
 * failure {@link Unauthenticated}.
 *
 * <p>The JWK set's URL comes from discovery of the issuer ({@code
 * {issuer}/.well-known/openid-configuration}, falling back to RFC 8414 metadata), done at the first
 * verification and then kept; the set is cached for {@link #KEYS_TIME_TO_LIVE}. A token whose key
 * id is not in the cached set makes it fetched again, at most once per refetch interval (default
 * {@link #DEFAULT_REFETCH_INTERVAL}): within it, such a token is refused as signed by an unknown
 * key without a request. A failed discovery or fetch is not retried within the interval either, so
 * an unreachable issuer costs one request per interval, not one per token. Every request has the
 * configured connect and read timeouts and follows no redirect; a JWK set is at most 64 KiB.
 *
 * <p>The injected {@link Clock} dates tokens ({@code exp}, {@code nbf}); the key cache and the
 * refetch interval run on the system clock.
 *
 * <p>A reason is short, fixed text plus at most an abbreviated issuer, key id or algorithm name
 * from the token: safe to log, never the token. Refusals are logged at debug level; a failed
 * discovery or key fetch is logged as a warning. Thread-safe.
 */
public final class JwtVerifier {
  private static final Logger log = LoggerFactory.getLogger(JwtVerifier.class);

  /** The scope a gateway's token must carry unless another is configured. */
  public static final String DEFAULT_SCOPE = "skein:sync";

  /** The longest token (or {@code Authorization} value) looked at; longer ones are refused. */
  public static final int MAX_TOKEN_LENGTH = 16 * 1024;

  /** How far {@code exp} and {@code nbf} may be off the verifier's clock. */
  public static final Duration CLOCK_SKEW = Duration.ofSeconds(60);

  /** How long a fetched JWK set is used before it is fetched again. */
  public static final Duration KEYS_TIME_TO_LIVE = Duration.ofMinutes(5);

  /** The least time between two fetches for an unknown key id, or after a failed fetch. */
  public static final Duration DEFAULT_REFETCH_INTERVAL = Duration.ofSeconds(30);

  /** The counter of verifications, tagged {@code outcome}: accepted, unauthenticated, forbidden. */
  public static final String VERIFICATIONS_METER = "skein.oauth2.verifications";

  /** The signature algorithms accepted. */
  public static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.RS256, JWSAlgorithm.ES256);

  private static final int JWKS_SIZE_LIMIT = 64 * 1024;
  private static final Pattern COMPACT_JWS =
      Pattern.compile("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*");
  private static final Pattern COMPACT_JWE =
      Pattern.compile("[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]*){4}");
  private static final Pattern SPACES = Pattern.compile(" +");
  private static final Pattern SCOPE = Pattern.compile("[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,128}");

  /** What {@link #verify} decided. */
  public sealed interface Verification permits Accepted, Unauthenticated, Forbidden {
    /** Returns {@code accepted}, {@code unauthenticated} or {@code forbidden}. */
    String outcome();

    /** Returns the HTTP status to answer with: 200, 401 or 403. */
    int httpStatus();
  }

  /**
   * A valid token with the required scope.
   *
   * @param subject the token's {@code sub}, else its client id
   * @param clientId the token's {@code client_id}, else {@code azp}, or {@code null}
   * @param scopes the token's scopes
   * @param expiresAt the token's {@code exp}
   */
  public record Accepted(
      String subject, @Nullable String clientId, Set<String> scopes, Instant expiresAt)
      implements Verification {
    /** Copies the scopes. */
    public Accepted {
      scopes = Set.copyOf(scopes);
    }

    @Override
    public String outcome() {
      return "accepted";
    }

    @Override
    public int httpStatus() {
      return 200;
    }
  }

  /**
   * No token, or not a valid one from the issuer for this audience: answer {@code 401}.
   *
   * @param reason why, safe to log
   */
  public record Unauthenticated(String reason) implements Verification {
    @Override
    public String outcome() {
      return "unauthenticated";
    }

    @Override
    public int httpStatus() {
      return 401;
    }
  }

  /**
   * A valid token without the required scope: answer {@code 403}.
   *
   * @param reason why, safe to log
   */
  public record Forbidden(String reason) implements Verification {
    @Override
    public String outcome() {
      return "forbidden";
    }

    @Override
    public int httpStatus() {
      return 403;
    }
  }

  private final String issuer;
  private final String audience;
  private final String requiredScope;
  private final Clock clock;
  private final Duration connectTimeout;
  private final Duration requestTimeout;
  private final Duration refetchInterval;
  private final @Nullable MeterRegistry meters;
  private final DefaultJWSVerifierFactory verifiers = new DefaultJWSVerifierFactory();

  private final Object discoveryLock = new Object();
  private volatile @Nullable JWSVerificationKeySelector<SecurityContext> keys;
  private long discoveryFailedAtNanos; // guarded by discoveryLock
  private boolean discoveryFailed; // guarded by discoveryLock

  /**
   * Creates a verifier with the {@link #DEFAULT_REFETCH_INTERVAL}; it makes no request until the
   * first {@link #verify}.
   *
   * @see #JwtVerifier(String, String, String, Clock, Duration, Duration, Duration, MeterRegistry)
   */
  public JwtVerifier(
      String issuer,
      String audience,
      String requiredScope,
      Clock clock,
      Duration connectTimeout,
      Duration requestTimeout,
      @Nullable MeterRegistry meters) {
    this(
        issuer,
        audience,
        requiredScope,
        clock,
        connectTimeout,
        requestTimeout,
        DEFAULT_REFETCH_INTERVAL,
        meters);
  }

  /**
   * Creates a verifier; it makes no request until the first {@link #verify}.
   *
   * @param issuer the issuer URL, exactly as tokens name it in {@code iss} ({@code https://};
   *     {@code http://} only on a loopback host)
   * @param audience the audience tokens must name in {@code aud}
   * @param requiredScope the scope tokens must carry, for example {@link #DEFAULT_SCOPE}
   * @param clock the clock that tokens' {@code exp} and {@code nbf} are checked against
   * @param connectTimeout how long to wait for a connection to the issuer, at most 2 minutes
   * @param requestTimeout how long to wait for the issuer's answer, at most 2 minutes
   * @param refetchInterval the least time between two fetches of the JWK set for an unknown key id,
   *     or after a failed fetch or discovery: from 1 s to the {@link #KEYS_TIME_TO_LIVE}
   * @param meters where to count verifications by outcome, or {@code null}
   * @throws IllegalArgumentException if a value is malformed
   */
  public JwtVerifier(
      String issuer,
      String audience,
      String requiredScope,
      Clock clock,
      Duration connectTimeout,
      Duration requestTimeout,
      Duration refetchInterval,
      @Nullable MeterRegistry meters) {
    String problem = Discovery.urlProblem(issuer);
    if (problem != null) {
      throw new IllegalArgumentException(
          "issuer " + problem + ": '" + Discovery.abbreviate(issuer) + "'");
    }
    if (audience.isBlank()) {
      throw new IllegalArgumentException("the audience is empty");
    }
    if (!SCOPE.matcher(requiredScope).matches()) {
      throw new IllegalArgumentException(
          "the required scope is 1-128 printable characters without spaces, quotes or"
              + " backslashes: '"
              + Discovery.abbreviate(requiredScope)
              + "'");
    }
    if (refetchInterval.compareTo(Duration.ofSeconds(1)) < 0
        || refetchInterval.compareTo(KEYS_TIME_TO_LIVE) > 0) {
      throw new IllegalArgumentException(
          "the refetch interval must be from 1 s to " + KEYS_TIME_TO_LIVE.toSeconds() + " s");
    }
    this.issuer = issuer;
    this.audience = audience;
    this.requiredScope = requiredScope;
    this.clock = Objects.requireNonNull(clock, "clock");
    this.connectTimeout = Discovery.checkTimeout("the connect timeout", connectTimeout);
    this.requestTimeout = Discovery.checkTimeout("the request timeout", requestTimeout);
    this.refetchInterval = refetchInterval;
    this.meters = meters;
  }

  /** Returns the issuer tokens must name. */
  public String issuer() {
    return issuer;
  }

  /** Returns the audience tokens must name. */
  public String audience() {
    return audience;
  }

  /** Returns the scope tokens must carry. */
  public String requiredScope() {
    return requiredScope;
  }

  /**
   * Verifies a bearer token.
   *
   * @param authorizationHeaderOrToken an {@code Authorization} header value ({@code Bearer
   *     <token>}, the scheme in any case) or the bare token; {@code null} or blank if the request
   *     had none
   * @return {@link Accepted}, {@link Unauthenticated} (401) or {@link Forbidden} (403); never
   *     throws for a bad token or an unreachable issuer
   */
  public Verification verify(@Nullable String authorizationHeaderOrToken) {
    Verification result;
    try {
      result = check(authorizationHeaderOrToken);
    } catch (RuntimeException e) {
      // A library failure on hostile input must not become a 500 or leak a stack to the caller.
      log.warn("oauth2: a token check failed unexpectedly ({})", e.getClass().getName());
      result = new Unauthenticated("token could not be checked");
    }
    if (result instanceof Accepted accepted) {
      log.debug("oauth2: accepted a token of {}", Discovery.abbreviate(accepted.subject()));
    } else {
      log.debug("oauth2: refused a token ({}): {}", result.httpStatus(), reason(result));
    }
    MeterRegistry registry = meters;
    if (registry != null) {
      registry.counter(VERIFICATIONS_METER, "outcome", result.outcome()).increment();
    }
    return result;
  }

  private static String reason(Verification result) {
    return switch (result) {
      case Accepted a -> "accepted";
      case Unauthenticated u -> u.reason();
      case Forbidden f -> f.reason();
    };
  }

  private Verification check(@Nullable String input) {
    if (input == null || input.isBlank()) {
      return new Unauthenticated("no bearer token");
    }
    // "Bearer " and a little whitespace may come on top of a token of the longest length.
    if (input.length() > MAX_TOKEN_LENGTH + 16) {
      return new Unauthenticated("token longer than " + MAX_TOKEN_LENGTH + " characters");
    }
    String token = input.strip();
    int space = token.indexOf(' ');
    if (space >= 0) {
      String scheme = token.substring(0, space);
      if (!scheme.equalsIgnoreCase("Bearer")) {
        return new Unauthenticated("not a Bearer authorization");
      }
      token = token.substring(space + 1).strip();
    } else if (token.equalsIgnoreCase("Bearer")) {
      token = "";
    }
    if (token.isEmpty()) {
      return new Unauthenticated("no bearer token");
    }
    if (token.length() > MAX_TOKEN_LENGTH) {
      return new Unauthenticated("token longer than " + MAX_TOKEN_LENGTH + " characters");
    }
    if (!COMPACT_JWS.matcher(token).matches()) {
      return new Unauthenticated(
          COMPACT_JWE.matcher(token).matches()
              ? "encrypted token not accepted"
              : "malformed token (not a compact JWS)");
    }

    Header header;
    try {
      header = Header.parse(new Base64URL(token.substring(0, token.indexOf('.'))));
    } catch (ParseException e) {
      return new Unauthenticated("malformed token header");
    }
    Algorithm alg = header.getAlgorithm();
    if (alg == null || Algorithm.NONE.equals(alg)) {
      return new Unauthenticated("unsigned token (alg none)");
    }
    if (header instanceof JWEHeader) {
      return new Unauthenticated("encrypted token not accepted");
    }
    if (!(header instanceof JWSHeader jwsHeader)
        || !ALGORITHMS.contains(jwsHeader.getAlgorithm())) {
      return new Unauthenticated(
          "algorithm " + Discovery.abbreviate(alg.getName()) + " not accepted");
    }
    if (jwsHeader.getCriticalParams() != null && !jwsHeader.getCriticalParams().isEmpty()) {
      return new Unauthenticated("unsupported critical header parameters");
    }

    SignedJWT jwt;
    JWTClaimsSet claims;
    try {
      jwt = SignedJWT.parse(token);
      claims = jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      return new Unauthenticated("malformed token claims");
    }

    // Before any key is fetched: a token from another issuer costs no request.
    String iss = stringClaim(claims, "iss");
    if (iss == null) {
      return new Unauthenticated("token names no issuer");
    }
    if (!iss.equals(issuer)) {
      return new Unauthenticated("wrong issuer '" + Discovery.abbreviate(iss) + "'");
    }

    Unauthenticated signatureProblem = checkSignature(jwt, jwsHeader);
    if (signatureProblem != null) {
      return signatureProblem;
    }

    Instant now = clock.instant();
    Date exp = claims.getExpirationTime();
    if (exp == null) {
      return new Unauthenticated("token has no expiry");
    }
    if (now.isAfter(exp.toInstant().plus(CLOCK_SKEW))) {
      return new Unauthenticated("token expired");
    }
    Date nbf = claims.getNotBeforeTime();
    if (nbf != null && now.plus(CLOCK_SKEW).isBefore(nbf.toInstant())) {
      return new Unauthenticated("token not valid yet");
    }
    List<String> aud = claims.getAudience();
    if (aud == null || !aud.contains(audience)) {
      return new Unauthenticated("wrong audience");
    }
    String clientId = stringClaim(claims, "client_id");
    if (clientId == null) {
      clientId = stringClaim(claims, "azp");
    }
    String subject = stringClaim(claims, "sub");
    if (subject == null) {
      subject = clientId;
    }
    if (subject == null || subject.isEmpty()) {
      return new Unauthenticated("token names no subject");
    }

    Set<String> scopes = new LinkedHashSet<>();
    addScopes(scopes, claims.getClaim("scope"));
    addScopes(scopes, claims.getClaim("scp"));
    if (!scopes.contains(requiredScope)) {
      return new Forbidden("token lacks scope " + requiredScope);
    }
    return new Accepted(subject, clientId, scopes, exp.toInstant());
  }

  /** Returns why the signature does not verify with the issuer's keys, or {@code null}. */
  private @Nullable Unauthenticated checkSignature(SignedJWT jwt, JWSHeader header) {
    List<Key> candidates;
    try {
      candidates = keySelector().selectJWSKeys(header, null);
    } catch (RateLimitReachedException e) {
      return new Unauthenticated(
          "unknown signing key " + keyId(header) + " (keys fetched again too recently)");
    } catch (KeysUnavailable e) {
      return new Unauthenticated("issuer keys unavailable (" + e.getMessage() + ")");
    } catch (KeySourceException e) {
      return new Unauthenticated("issuer keys unavailable");
    }
    if (candidates.isEmpty()) {
      return new Unauthenticated("unknown signing key " + keyId(header));
    }
    for (Key key : candidates) {
      try {
        JWSVerifier verifier = verifiers.createJWSVerifier(header, key);
        if (jwt.verify(verifier)) {
          return null;
        }
      } catch (JOSEException e) {
        // A key of another type or size: try the next one.
      }
    }
    return new Unauthenticated("bad signature");
  }

  private static String keyId(JWSHeader header) {
    String kid = header.getKeyID();
    return kid == null ? "(no kid)" : "'" + Discovery.abbreviate(kid) + "'";
  }

  /** The key selector over the issuer's JWK set, after discovery (once) finds its URL. */
  private JWSVerificationKeySelector<SecurityContext> keySelector() throws KeysUnavailable {
    JWSVerificationKeySelector<SecurityContext> known = keys;
    if (known != null) {
      return known;
    }
    synchronized (discoveryLock) {
      known = keys;
      if (known != null) {
        return known;
      }
      long now = System.nanoTime();
      if (discoveryFailed && now - discoveryFailedAtNanos < refetchInterval.toNanos()) {
        throw new KeysUnavailable(
            "discovery failed less than " + refetchInterval.toSeconds() + " s ago");
      }
      try {
        URL jwksUrl = jwksUrl();
        JWKSource<SecurityContext> source =
            JWKSourceBuilder.create(
                    new LimitedJwksSource(
                        new URLBasedJWKSetSource<>(jwksUrl, retriever()),
                        jwksUrl,
                        KEYS_TIME_TO_LIVE.toMillis(),
                        refetchInterval.toMillis()))
                .cache(
                    KEYS_TIME_TO_LIVE.toMillis(),
                    connectTimeout.toMillis() + requestTimeout.toMillis() + 1000)
                .rateLimited(false)
                .retrying(false)
                .refreshAheadCache(false)
                .outageTolerant(false)
                .build();
        known = new JWSVerificationKeySelector<>(ALGORITHMS, source);
        keys = known;
        discoveryFailed = false;
        return known;
      } catch (OAuth2Exception e) {
        discoveryFailed = true;
        discoveryFailedAtNanos = now;
        log.warn("oauth2: cannot find the keys of {}: {}", issuer, e.getMessage());
        throw new KeysUnavailable("discovery failed");
      }
    }
  }

  private URL jwksUrl() throws OAuth2Exception {
    Discovery.Metadata metadata = Discovery.discover(issuer, connectTimeout, requestTimeout);
    URI jwksUri = metadata.jwksUri();
    if (jwksUri == null) {
      throw new OAuth2Exception(
          OAuth2Exception.DISCOVERY_FAILED,
          null,
          "the authorization server " + issuer + " publishes no jwks_uri");
    }
    String problem = Discovery.endpointProblem(jwksUri.toString());
    if (problem != null) {
      throw new OAuth2Exception(
          OAuth2Exception.DISCOVERY_FAILED, null, "the jwks_uri of " + issuer + " " + problem);
    }
    try {
      return jwksUri.toURL();
    } catch (MalformedURLException | IllegalArgumentException e) {
      throw new OAuth2Exception(
          OAuth2Exception.DISCOVERY_FAILED, null, "the jwks_uri of " + issuer + " is not a URL");
    }
  }

  private DefaultResourceRetriever retriever() {
    return new DefaultResourceRetriever(
        Discovery.millis(connectTimeout), Discovery.millis(requestTimeout), JWKS_SIZE_LIMIT) {
      @Override
      protected HttpURLConnection openHTTPConnection(URL url) throws IOException {
        HttpURLConnection connection = super.openHTTPConnection(url);
        connection.setInstanceFollowRedirects(false);
        return connection;
      }
    };
  }

  /** Adds what a scope claim holds: a space-separated string or a list of strings. */
  private static void addScopes(Set<String> scopes, @Nullable Object claim) {
    if (claim instanceof String text) {
      for (String scope : SPACES.split(text)) {
        if (!scope.isEmpty()) {
          scopes.add(scope);
        }
      }
    } else if (claim instanceof List<?> list) {
      for (Object item : list) {
        if (item instanceof String scope && !scope.isEmpty()) {
          scopes.add(scope);
        }
      }
    }
  }

  private static @Nullable String stringClaim(JWTClaimsSet claims, String name) {
    return claims.getClaim(name) instanceof String value ? value : null;
  }

  @Override
  public String toString() {
    return "JwtVerifier[issuer="
        + issuer
        + ", audience="
        + audience
        + ", requiredScope="
        + requiredScope
        + "]";
  }

  /** The issuer's keys cannot be had now: discovery failed, or failed too recently. */
  private static final class KeysUnavailable extends KeySourceException {
    private static final long serialVersionUID = 1L;

    KeysUnavailable(String message) {
      super(message);
    }
  }

  /**
   * The JWK set from its URL, fetched at most once per interval beyond the loads the cache asks for
   * when its copy expires: a fetch while the cached copy is still fresh (a token with an unknown
   * key id) is refused with {@link RateLimitReachedException} within the interval after the
   * previous such fetch, and any fetch is refused with {@link KeysUnavailable} within the interval
   * after a failed one. Times are the cache's, in milliseconds of the system clock.
   */
  private static final class LimitedJwksSource implements JWKSetSource<SecurityContext> {
    private final JWKSetSource<SecurityContext> source;
    private final URL url;
    private final long timeToLive;
    private final long interval;
    private long loadedAt = -1; // guarded by this
    private long refetchedAt = -1; // guarded by this
    private long failedAt = -1; // guarded by this

    LimitedJwksSource(
        JWKSetSource<SecurityContext> source, URL url, long timeToLive, long interval) {
      this.source = source;
      this.url = url;
      this.timeToLive = timeToLive;
      this.interval = interval;
    }

    @Override
    public JWKSet getJWKSet(
        JWKSetCacheRefreshEvaluator refreshEvaluator, long currentTime, SecurityContext context)
        throws KeySourceException {
      synchronized (this) {
        if (failedAt >= 0 && currentTime - failedAt < interval) {
          throw new KeysUnavailable(
              "the last fetch failed less than " + interval / 1000 + " s ago");
        }
        boolean fresh = loadedAt >= 0 && currentTime - loadedAt < timeToLive;
        if (fresh) {
          if (refetchedAt >= 0 && currentTime - refetchedAt < interval) {
            throw new RateLimitReachedException();
          }
          refetchedAt = currentTime;
        }
      }
      try {
        JWKSet set = source.getJWKSet(refreshEvaluator, currentTime, context);
        synchronized (this) {
          loadedAt = currentTime;
          failedAt = -1;
        }
        return set;
      } catch (KeySourceException | RuntimeException e) {
        synchronized (this) {
          failedAt = currentTime;
        }
        log.warn(
            "oauth2: cannot fetch the JWK set {}: {}",
            url,
            Discovery.abbreviate(String.valueOf(e.getMessage())));
        throw new KeysUnavailable("fetch failed");
      }
    }

    @Override
    public void close() throws IOException {
      source.close();
    }
  }
}
