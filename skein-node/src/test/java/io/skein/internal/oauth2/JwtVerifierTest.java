package io.skein.internal.oauth2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.skein.internal.oauth2.JwtVerifier.Accepted;
import io.skein.internal.oauth2.JwtVerifier.Forbidden;
import io.skein.internal.oauth2.JwtVerifier.Unauthenticated;
import io.skein.internal.oauth2.JwtVerifier.Verification;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
import no.nav.security.mock.oauth2.http.OAuth2HttpRequest;
import no.nav.security.mock.oauth2.http.OAuth2HttpResponse;
import no.nav.security.mock.oauth2.http.Route;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import no.nav.security.mock.oauth2.token.KeyProvider;
import no.nav.security.mock.oauth2.token.OAuth2TokenProvider;
import okhttp3.Headers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The cloud node's side against a real OAuth2 server (mock-oauth2-server on loopback, which serves
 * discovery and the JWK set): what a valid token gives, and each way a token is refused, with the
 * reason. The server signs with {@link #ISSUER_KEY}, which the test holds too, so it can also sign
 * tokens the server would not issue (no {@code exp}, an unknown {@code kid}). Each test that counts
 * requests uses its own issuer id (a path on the server).
 */
class JwtVerifierTest {
  private static final String AUDIENCE = "skein-cloud";
  private static final String SCOPE = JwtVerifier.DEFAULT_SCOPE;
  private static final Duration TIMEOUT = Duration.ofSeconds(5);
  private static final Map<String, Object> SYNC =
      Map.of("scope", "openid skein:sync", "client_id", "gateway-1");

  private static final RSAKey ISSUER_KEY = rsaKey("issuer-key-1");
  private static final RecordingRoute recorder = new RecordingRoute();
  private static MockOAuth2Server server;

  private final MutableClock clock = new MutableClock(Instant.now());
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

  /** The mock server's keys, with {@link #ISSUER_KEY} for every issuer. */
  private static final class FixedKey extends KeyProvider {
    @Override
    public JWK signingKey(String issuerId) {
      return ISSUER_KEY;
    }
  }

  /** Answers 500 for the JWK set of the issuer {@code broken-jwks}. */
  private static final class BrokenJwks implements Route {
    @Override
    public boolean match(OAuth2HttpRequest request) {
      return request.getUrl().encodedPath().equals("/broken-jwks/jwks");
    }

    @Override
    public OAuth2HttpResponse invoke(OAuth2HttpRequest request) {
      return new OAuth2HttpResponse(Headers.of(), 500, "down", null);
    }
  }

  @BeforeAll
  static void startServer() throws Exception {
    server =
        new MockOAuth2Server(
            new OAuth2Config(false, null, null, false, new OAuth2TokenProvider(new FixedKey())),
            recorder,
            new BrokenJwks());
    server.start(InetAddress.getLoopbackAddress(), 0);
  }

  @AfterAll
  static void stopServer() throws Exception {
    server.shutdown();
  }

  private static RSAKey rsaKey(String kid) {
    try {
      return new RSAKeyGenerator(2048).keyID(kid).generate();
    } catch (com.nimbusds.jose.JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String issuer(String issuerId) {
    return server.issuerUrl(issuerId).toString();
  }

  private JwtVerifier verifier(String issuerId) {
    return new JwtVerifier(issuer(issuerId), AUDIENCE, SCOPE, clock, TIMEOUT, TIMEOUT, meters);
  }

  /** A token from the mock server for the issuer, with {@link #AUDIENCE} and these claims. */
  private static String issued(String issuerId, Map<String, Object> claims) {
    return server.issueToken(issuerId, "gateway-1", AUDIENCE, claims, 3600).serialize();
  }

  /** Valid claims for the issuer: audience, scope, an hour from the test clock's now. */
  private JWTClaimsSet.Builder claims(String issuerId) {
    Instant now = clock.instant();
    return new JWTClaimsSet.Builder()
        .issuer(issuer(issuerId))
        .subject("gateway-1")
        .audience(AUDIENCE)
        .issueTime(Date.from(now))
        .notBeforeTime(Date.from(now))
        .expirationTime(Date.from(now.plus(Duration.ofHours(1))))
        .claim("scope", SCOPE);
  }

  private static String signed(RSAKey key, JWTClaimsSet claims) throws Exception {
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.RS256)
                .keyID(key.getKeyID())
                .type(JOSEObjectType.JWT)
                .build(),
            claims);
    jwt.sign(new RSASSASigner(key));
    return jwt.serialize();
  }

  private double verifications(String outcome) {
    var counter = meters.find(JwtVerifier.VERIFICATIONS_METER).tag("outcome", outcome).counter();
    return counter == null ? 0 : counter.count();
  }

  /** Asserts a 401 with exactly this reason, which shows no part of the token. */
  private static void assertUnauthenticated(Verification result, String token, String reason) {
    assertThat(result).isEqualTo(new Unauthenticated(reason));
    assertThat(result.httpStatus()).isEqualTo(401);
    for (String part : token.split("\\.")) {
      if (part.length() >= 8) {
        assertThat(reason).doesNotContain(part);
      }
    }
  }

  @Test
  void acceptsATokenFromTheIssuerWithTheAudienceAndScope() throws Exception {
    String token = issued("accept", SYNC);
    Instant exp = SignedJWT.parse(token).getJWTClaimsSet().getExpirationTime().toInstant();
    JwtVerifier verifier = verifier("accept");

    Verification result = verifier.verify("Bearer " + token);

    assertThat(result)
        .isEqualTo(new Accepted("gateway-1", "gateway-1", Set.of("openid", SCOPE), exp));
    assertThat(result.httpStatus()).isEqualTo(200);
    // The bare token and any case of the scheme do too.
    assertThat(verifier.verify(token)).isInstanceOf(Accepted.class);
    assertThat(verifier.verify("bearer " + token)).isInstanceOf(Accepted.class);
    assertThat(verifications("accepted")).isEqualTo(3);
    assertThat(recorder.count("/accept/.well-known/openid-configuration")).isEqualTo(1);
    assertThat(recorder.count("/accept/jwks")).isEqualTo(1);
  }

  @Test
  void acceptsATokenTheGatewayGotWithClientCredentials() throws Exception {
    // What the cloud site's server would be configured to issue to the gateway's client.
    server.enqueueCallback(
        new DefaultOAuth2TokenCallback(
            "e2e", "ignored", "JWT", List.of(AUDIENCE), Map.of("scope", SCOPE), 600));
    OAuth2TokenSource gateway =
        new OAuth2TokenSource(
            issuer("e2e"),
            "gateway-7",
            "secret".toCharArray(),
            List.of(SCOPE),
            clock,
            TIMEOUT,
            TIMEOUT,
            null);

    Verification result = verifier("e2e").verify(gateway.bearerToken().authorizationHeader());

    assertThat(result).isInstanceOf(Accepted.class);
    Accepted accepted = (Accepted) result;
    // Client credentials: the server makes the client the subject (it names no client_id or azp).
    assertThat(accepted.subject()).isEqualTo("gateway-7");
    assertThat(accepted.clientId()).isNull();
    assertThat(accepted.scopes()).containsExactly(SCOPE);
  }

  @Test
  void acceptsTheScopeAsAnScpArrayOrString() throws Exception {
    JwtVerifier verifier = verifier("cloud");
    String array =
        signed(
            ISSUER_KEY,
            claims("cloud").claim("scope", null).claim("scp", List.of("read", SCOPE)).build());
    String string =
        signed(
            ISSUER_KEY, claims("cloud").claim("scope", null).claim("scp", "read " + SCOPE).build());

    assertThat(verifier.verify(array)).isInstanceOf(Accepted.class);
    assertThat(verifier.verify(string)).isInstanceOf(Accepted.class);
  }

  @Test
  void aValidTokenWithoutTheScopeIsForbidden() throws Exception {
    JwtVerifier verifier = verifier("cloud");

    Verification none = verifier.verify(issued("cloud", Map.of("client_id", "gateway-1")));
    Verification other = verifier.verify(issued("cloud", Map.of("scope", "skein:syncing read")));

    assertThat(none).isEqualTo(new Forbidden("token lacks scope skein:sync"));
    assertThat(none.httpStatus()).isEqualTo(403);
    assertThat(other).isEqualTo(new Forbidden("token lacks scope skein:sync"));
    assertThat(verifications("forbidden")).isEqualTo(2);
    assertThat(verifications("unauthenticated")).isZero();
  }

  @Test
  void aTokenFromAnotherIssuerIsRefusedWithoutFetchingKeys() throws Exception {
    JwtVerifier verifier = verifier("strict");
    // Signed by the right key, but names another issuer.
    String forged = issued("strict", Map.of("iss", "https://evil.example/strict", "scope", SCOPE));
    // Another issuer on the same server; and the issuer's URL with a trailing slash.
    String elsewhere = issued("elsewhere", SYNC);
    String slash = signed(ISSUER_KEY, claims("strict").issuer(issuer("strict") + "/").build());

    assertUnauthenticated(
        verifier.verify(forged), forged, "wrong issuer 'https://evil.example/strict'");
    assertUnauthenticated(
        verifier.verify(elsewhere), elsewhere, "wrong issuer '" + issuer("elsewhere") + "'");
    assertUnauthenticated(
        verifier.verify(slash), slash, "wrong issuer '" + issuer("strict") + "/'");
    assertThat(recorder.count("/strict/.well-known/openid-configuration")).isZero();
    assertThat(recorder.count("/strict/jwks")).isZero();
  }

  @Test
  void aTokenForAnotherAudienceIsRefused() throws Exception {
    JwtVerifier verifier = verifier("cloud");
    String other = server.issueToken("cloud", "gateway-1", "another-api", SYNC, 3600).serialize();
    String none = server.issueToken("cloud", "gateway-1", null, SYNC, 3600).serialize();
    String several =
        signed(ISSUER_KEY, claims("cloud").audience(List.of("another-api", AUDIENCE)).build());

    assertUnauthenticated(verifier.verify(other), other, "wrong audience");
    assertUnauthenticated(verifier.verify(none), none, "wrong audience");
    assertThat(verifier.verify(several)).isInstanceOf(Accepted.class);
  }

  @Test
  void anExpiredTokenIsRefusedAfterTheClockSkew() throws Exception {
    String token = issued("cloud", SYNC);
    Instant exp = SignedJWT.parse(token).getJWTClaimsSet().getExpirationTime().toInstant();
    JwtVerifier verifier = verifier("cloud");

    clock.set(exp.plus(JwtVerifier.CLOCK_SKEW));
    assertThat(verifier.verify(token)).isInstanceOf(Accepted.class);

    clock.set(exp.plus(JwtVerifier.CLOCK_SKEW).plusSeconds(1));
    assertUnauthenticated(verifier.verify(token), token, "token expired");

    clock.set(exp.plus(Duration.ofDays(1)));
    assertUnauthenticated(verifier.verify(token), token, "token expired");
  }

  @Test
  void aTokenWithoutExpiryOrNotYetValidIsRefused() throws Exception {
    JwtVerifier verifier = verifier("cloud");
    String noExp = signed(ISSUER_KEY, claims("cloud").expirationTime(null).build());
    Instant nbf = clock.instant().plus(Duration.ofMinutes(5));
    String early = signed(ISSUER_KEY, claims("cloud").notBeforeTime(Date.from(nbf)).build());

    assertUnauthenticated(verifier.verify(noExp), noExp, "token has no expiry");
    assertUnauthenticated(verifier.verify(early), early, "token not valid yet");
    clock.set(nbf.minus(JwtVerifier.CLOCK_SKEW));
    assertThat(verifier.verify(early)).isInstanceOf(Accepted.class);
  }

  @Test
  void aTokenWithoutASubjectIsRefusedAndClientIdStandsInForOne() throws Exception {
    JwtVerifier verifier = verifier("cloud");
    String none = signed(ISSUER_KEY, claims("cloud").subject(null).build());
    String client =
        signed(ISSUER_KEY, claims("cloud").subject(null).claim("client_id", "gw").build());

    assertUnauthenticated(verifier.verify(none), none, "token names no subject");
    assertThat(verifier.verify(client))
        .isInstanceOfSatisfying(
            Accepted.class, accepted -> assertThat(accepted.subject()).isEqualTo("gw"));
  }

  @Test
  void aTamperedSignatureOrPayloadIsRefused() throws Exception {
    JwtVerifier verifier = verifier("cloud");
    String token = issued("cloud", SYNC);
    String[] parts = token.split("\\.");
    // A character in the middle of the signature: all of its bits are signature bits.
    char[] signature = parts[2].toCharArray();
    int middle = signature.length / 2;
    signature[middle] = signature[middle] == 'A' ? 'B' : 'A';
    String badSignature = parts[0] + "." + parts[1] + "." + new String(signature);
    // Other claims under the original signature.
    JWTClaimsSet widened =
        new JWTClaimsSet.Builder(SignedJWT.parse(token).getJWTClaimsSet())
            .claim("scope", SCOPE + " admin")
            .build();
    String badPayload =
        parts[0]
            + "."
            + Base64URL.encode(widened.toString().getBytes(StandardCharsets.UTF_8))
            + "."
            + parts[2];

    assertThat(verifier.verify(token)).isInstanceOf(Accepted.class);
    assertUnauthenticated(verifier.verify(badSignature), badSignature, "bad signature");
    assertUnauthenticated(verifier.verify(badPayload), badPayload, "bad signature");
  }

  @Test
  void aTokenSignedByAnotherKeyIsRefused() throws Exception {
    JwtVerifier verifier = verifier("cloud");
    // The issuer's key id on someone else's key; and a key id the issuer never published.
    String sameKid = signed(rsaKey(ISSUER_KEY.getKeyID()), claims("cloud").build());
    String otherKid = signed(rsaKey("someone-else"), claims("cloud").build());

    assertUnauthenticated(verifier.verify(sameKid), sameKid, "bad signature");
    assertUnauthenticated(
        verifier.verify(otherKid), otherKid, "unknown signing key 'someone-else'");
  }

  @Test
  void anUnknownKeyIdFetchesTheKeysAgainAtMostOncePerInterval() throws Exception {
    JwtVerifier verifier =
        new JwtVerifier(
            issuer("rotate"),
            AUDIENCE,
            SCOPE,
            clock,
            TIMEOUT,
            TIMEOUT,
            Duration.ofSeconds(2),
            null);
    String valid = signed(ISSUER_KEY, claims("rotate").build());
    String unknown2 = signed(rsaKey("k2"), claims("rotate").build());
    String unknown3 = signed(rsaKey("k3"), claims("rotate").build());

    assertThat(verifier.verify(valid)).isInstanceOf(Accepted.class);
    assertThat(recorder.count("/rotate/jwks")).isEqualTo(1);

    // The first unknown key id right after the load may be a new key: one fetch.
    assertUnauthenticated(verifier.verify(unknown2), unknown2, "unknown signing key 'k2'");
    assertThat(recorder.count("/rotate/jwks")).isEqualTo(2);

    // Within the interval, no more: neither for another unknown key id nor for the same one.
    for (String token : List.of(unknown3, unknown3, unknown2)) {
      Verification result = verifier.verify(token);
      assertThat(result).isInstanceOf(Unauthenticated.class);
      assertThat(((Unauthenticated) result).reason())
          .startsWith("unknown signing key")
          .endsWith("(keys fetched again too recently)");
    }
    assertThat(recorder.count("/rotate/jwks")).isEqualTo(2);
    // Known keys go on working from the cache.
    assertThat(verifier.verify(valid)).isInstanceOf(Accepted.class);
    assertThat(recorder.count("/rotate/jwks")).isEqualTo(2);

    Thread.sleep(2_200);
    assertUnauthenticated(verifier.verify(unknown3), unknown3, "unknown signing key 'k3'");
    assertThat(recorder.count("/rotate/jwks")).isEqualTo(3);
    assertThat(recorder.count("/rotate/.well-known/openid-configuration")).isEqualTo(1);
  }

  @Test
  void unsignedHmacAndEncryptedTokensAreRefused() throws Exception {
    JwtVerifier verifier = verifier("cloud");
    JWTClaimsSet valid = claims("cloud").build();
    String none = new PlainJWT(valid).serialize();
    String[] real = signed(ISSUER_KEY, valid).split("\\.");
    // "alg":"none" put on a real token, its signature kept.
    String noneOnReal =
        Base64URL.encode("{\"alg\":\"none\"}".getBytes(StandardCharsets.UTF_8))
            + "."
            + real[1]
            + "."
            + real[2];
    // HS256 with the issuer's public key as the HMAC secret: the classic confusion.
    SignedJWT hmac =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(ISSUER_KEY.getKeyID()).build(), valid);
    hmac.sign(
        new MACSigner(ISSUER_KEY.toPublicJWK().toJSONString().getBytes(StandardCharsets.UTF_8)));
    String hs256 = hmac.serialize();
    String jwe = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d";

    assertUnauthenticated(verifier.verify(none), none, "unsigned token (alg none)");
    assertUnauthenticated(verifier.verify(noneOnReal), noneOnReal, "unsigned token (alg none)");
    assertUnauthenticated(verifier.verify(hs256), hs256, "algorithm HS256 not accepted");
    assertUnauthenticated(verifier.verify(jwe), jwe, "encrypted token not accepted");
  }

  @Test
  void aMissingOrMalformedAuthorizationIsRefused() {
    JwtVerifier verifier = verifier("cloud");

    assertThat(verifier.verify(null)).isEqualTo(new Unauthenticated("no bearer token"));
    assertThat(verifier.verify("  ")).isEqualTo(new Unauthenticated("no bearer token"));
    assertThat(verifier.verify("Bearer ")).isEqualTo(new Unauthenticated("no bearer token"));
    assertThat(verifier.verify("Basic Z2F0ZXdheTpzZWNyZXQ="))
        .isEqualTo(new Unauthenticated("not a Bearer authorization"));
    assertThat(verifier.verify("Bearer garbage"))
        .isEqualTo(new Unauthenticated("malformed token (not a compact JWS)"));
    assertThat(verifier.verify("Bearer a.b c"))
        .isEqualTo(new Unauthenticated("malformed token (not a compact JWS)"));
    assertThat(verifier.verify("Bearer e30.e30.e30"))
        .isEqualTo(new Unauthenticated("malformed token header"));
    // A valid header over a payload that is not JSON.
    String header =
        Base64URL.encode("{\"alg\":\"RS256\"}".getBytes(StandardCharsets.UTF_8)).toString();
    assertThat(verifier.verify(header + ".bm90IGpzb24.c2ln"))
        .isEqualTo(new Unauthenticated("malformed token claims"));
    assertThat(verifications("unauthenticated")).isEqualTo(8);
    // Nothing here was worth a request to the issuer.
    assertThat(recorder.count("/cloud/jwks")).isZero();
  }

  @Test
  void anOverLongTokenIsRefusedBeforeParsing() throws Exception {
    JwtVerifier verifier = verifier("long");
    String valid = signed(ISSUER_KEY, claims("long").build());
    // Still a well-formed compact JWS in shape, padded past the limit in its payload claims.
    String padded =
        signed(
            ISSUER_KEY,
            claims("long").claim("pad", "x".repeat(JwtVerifier.MAX_TOKEN_LENGTH)).build());
    String huge = "A".repeat(5_000_000);

    assertThat(verifier.verify(valid)).isInstanceOf(Accepted.class);
    int before = recorder.count("/long/jwks");
    assertUnauthenticated(
        verifier.verify("Bearer " + padded), padded, "token longer than 16384 characters");
    assertUnauthenticated(verifier.verify(huge), "", "token longer than 16384 characters");
    assertThat(recorder.count("/long/jwks")).isEqualTo(before);

    // The limit is on the token itself, exactly: 16384 characters are parsed, 16385 are not.
    String head = "eyJhbGciOiJSUzI1NiJ9.";
    String atLimit = head + "A".repeat(JwtVerifier.MAX_TOKEN_LENGTH - head.length() - 4) + ".sig";
    String overLimit = head + "A".repeat(JwtVerifier.MAX_TOKEN_LENGTH - head.length() - 3) + ".sig";
    assertThat(atLimit).hasSize(JwtVerifier.MAX_TOKEN_LENGTH);
    assertThat(verifier.verify("Bearer " + atLimit))
        .isEqualTo(new Unauthenticated("malformed token claims"));
    assertThat(verifier.verify("Bearer " + overLimit))
        .isEqualTo(new Unauthenticated("token longer than 16384 characters"));
  }

  @Test
  void anUnreachableIssuerRefusesAndIsNotAskedForEveryToken() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }
    String unreachable = "http://127.0.0.1:" + closedPort + "/gone";
    JwtVerifier verifier =
        new JwtVerifier(
            unreachable, AUDIENCE, SCOPE, clock, Duration.ofSeconds(2), TIMEOUT, meters);
    String token = signed(ISSUER_KEY, claims("cloud").issuer(unreachable).build());

    assertUnauthenticated(
        verifier.verify(token), token, "issuer keys unavailable (discovery failed)");
    assertUnauthenticated(
        verifier.verify(token),
        token,
        "issuer keys unavailable (discovery failed less than 30 s ago)");
  }

  @Test
  void aFailingJwkSetRefusesAndIsNotFetchedForEveryToken() throws Exception {
    JwtVerifier verifier = verifier("broken-jwks");
    String token = signed(ISSUER_KEY, claims("broken-jwks").build());

    assertUnauthenticated(verifier.verify(token), token, "issuer keys unavailable (fetch failed)");
    assertUnauthenticated(
        verifier.verify(token),
        token,
        "issuer keys unavailable (the last fetch failed less than 30 s ago)");
    assertThat(recorder.count("/broken-jwks/jwks")).isEqualTo(1);
    assertThat(recorder.count("/broken-jwks/.well-known/openid-configuration")).isEqualTo(1);
  }

  @Test
  void verifiesAnEs256Token() throws Exception {
    MockOAuth2Server ec =
        new MockOAuth2Server(
            new OAuth2Config(
                false,
                null,
                null,
                false,
                new OAuth2TokenProvider(new KeyProvider(List.of(), "ES256"))));
    ec.start(InetAddress.getLoopbackAddress(), 0);
    try {
      SignedJWT token = ec.issueToken("ec", "gateway-1", AUDIENCE, SYNC, 3600);
      assertThat(token.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
      JwtVerifier verifier =
          new JwtVerifier(
              ec.issuerUrl("ec").toString(), AUDIENCE, SCOPE, clock, TIMEOUT, TIMEOUT, null);

      assertThat(verifier.verify(token.serialize())).isInstanceOf(Accepted.class);
    } finally {
      ec.shutdown();
    }
  }

  @Test
  void concurrentVerificationsShareOneDiscoveryAndOneFetch() throws Exception {
    JwtVerifier verifier = verifier("concurrent");
    String token = issued("concurrent", SYNC);
    int callers = 8;
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(callers);
    try {
      List<Future<Verification>> results = new ArrayList<>();
      for (int i = 0; i < callers; i++) {
        results.add(
            pool.submit(
                () -> {
                  start.await();
                  return verifier.verify(token);
                }));
      }
      start.countDown();
      for (Future<Verification> result : results) {
        assertThat(result.get(10, TimeUnit.SECONDS)).isInstanceOf(Accepted.class);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(recorder.count("/concurrent/.well-known/openid-configuration")).isEqualTo(1);
    assertThat(recorder.count("/concurrent/jwks")).isEqualTo(1);
    assertThat(verifications("accepted")).isEqualTo(callers);
  }

  @Test
  void refusesAMalformedConfiguration() {
    assertThatThrownBy(
            () ->
                new JwtVerifier(
                    "http://idp.example.com/realm", AUDIENCE, SCOPE, clock, TIMEOUT, TIMEOUT, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("https://");
    assertThatThrownBy(
            () ->
                new JwtVerifier(
                    "https://idp.example.com/realm", " ", SCOPE, clock, TIMEOUT, TIMEOUT, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("the audience is empty");
    assertThatThrownBy(
            () ->
                new JwtVerifier(
                    "https://idp.example.com/realm",
                    AUDIENCE,
                    "two scopes",
                    clock,
                    TIMEOUT,
                    TIMEOUT,
                    null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("required scope");
  }
}
