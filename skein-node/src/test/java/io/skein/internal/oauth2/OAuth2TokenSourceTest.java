package io.skein.internal.oauth2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
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
import okhttp3.Headers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The gateway's side against a real OAuth2 server (mock-oauth2-server on loopback): the
 * client-credentials grant, the cache, the refresh near expiry, and the failures, none of which may
 * show the client secret. Each test uses its own issuer id (a path on the server), so request
 * counts are per test.
 */
class OAuth2TokenSourceTest {
  private static final String CLIENT_ID = "gateway-1";
  // Characters that the Basic scheme's form encoding changes, so a wrong encoding shows.
  private static final String SECRET = "s3cr3t/Value+42=ok";
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  private static final RecordingRoute recorder = new RecordingRoute();
  private static MockOAuth2Server server;

  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private ListAppender<ILoggingEvent> logs;
  private Level oauth2Level;

  /**
   * The mock server accepts any client secret; this route answers the token endpoint as a real
   * server does when the client's Basic credentials are not {@link #CLIENT_ID} and {@link #SECRET}.
   */
  private static final class ClientAuthentication implements Route {
    @Override
    public boolean match(OAuth2HttpRequest request) {
      return request.getUrl().encodedPath().endsWith("/token") && !authenticated(request);
    }

    @Override
    public OAuth2HttpResponse invoke(OAuth2HttpRequest request) {
      return new OAuth2HttpResponse(
          Headers.of("Content-Type", "application/json", "WWW-Authenticate", "Basic"),
          401,
          "{\"error\":\"invalid_client\",\"error_description\":\"client authentication failed\"}",
          null);
    }

    private static boolean authenticated(OAuth2HttpRequest request) {
      String header = request.getHeaders().get("Authorization");
      if (header == null || !header.startsWith("Basic ")) {
        return false;
      }
      String decoded =
          new String(Base64.getDecoder().decode(header.substring(6)), StandardCharsets.UTF_8);
      int colon = decoded.indexOf(':');
      return colon > 0
          && URLDecoder.decode(decoded.substring(0, colon), StandardCharsets.UTF_8)
              .equals(CLIENT_ID)
          && URLDecoder.decode(decoded.substring(colon + 1), StandardCharsets.UTF_8).equals(SECRET);
    }
  }

  /** Answers 404 for every document about the issuer {@code no-discovery}. */
  private static final class NoDiscovery implements Route {
    @Override
    public boolean match(OAuth2HttpRequest request) {
      return request.getUrl().encodedPath().contains("no-discovery");
    }

    @Override
    public OAuth2HttpResponse invoke(OAuth2HttpRequest request) {
      return new OAuth2HttpResponse(Headers.of(), 404, "not found", null);
    }
  }

  @BeforeAll
  static void startServer() throws Exception {
    server =
        new MockOAuth2Server(
            new OAuth2Config(), recorder, new ClientAuthentication(), new NoDiscovery());
    server.start(InetAddress.getLoopbackAddress(), 0);
  }

  @AfterAll
  static void stopServer() throws Exception {
    server.shutdown();
  }

  @BeforeEach
  void captureLogs() {
    Logger oauth2 = (Logger) LoggerFactory.getLogger("io.skein.internal.oauth2");
    oauth2Level = oauth2.getLevel();
    oauth2.setLevel(Level.DEBUG);
    logs = new ListAppender<>();
    logs.start();
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(logs);
  }

  @AfterEach
  void releaseLogs() {
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(logs);
    ((Logger) LoggerFactory.getLogger("io.skein.internal.oauth2")).setLevel(oauth2Level);
  }

  private OAuth2TokenSource source(String issuerId, String secret) {
    return new OAuth2TokenSource(
        server.issuerUrl(issuerId).toString(),
        CLIENT_ID,
        secret.toCharArray(),
        List.of("skein:sync"),
        clock,
        TIMEOUT,
        TIMEOUT,
        meters);
  }

  private double fetches(String outcome) {
    var counter = meters.find(OAuth2TokenSource.FETCHES_METER).tag("outcome", outcome).counter();
    return counter == null ? 0 : counter.count();
  }

  /** Our own log lines (the mock server's are not ours to judge). */
  private List<String> ourLogLines() {
    List<String> lines = new ArrayList<>();
    for (ILoggingEvent event : logs.list) {
      if (event.getLoggerName().startsWith("io.skein")) {
        lines.add(event.getFormattedMessage());
      }
    }
    return lines;
  }

  @Test
  void getsATokenWithTheClientCredentialsGrant() throws Exception {
    OAuth2TokenSource source = source("cc-grant", SECRET);

    OAuth2TokenSource.BearerToken token = source.bearerToken();

    JWTClaimsSet claims = SignedJWT.parse(token.value()).getJWTClaimsSet();
    assertThat(claims.getIssuer()).isEqualTo(server.issuerUrl("cc-grant").toString());
    assertThat(claims.getSubject()).isEqualTo(CLIENT_ID);
    assertThat(token.authorizationHeader()).isEqualTo("Bearer " + token.value());
    // The mock answers expires_in of about an hour (3599 or 3600 s, as its clock ticks); the
    // token is dated by the source's clock.
    assertThat(token.lifetime()).isBetween(Duration.ofSeconds(3590), Duration.ofHours(1));
    assertThat(token.expiresAt()).isEqualTo(clock.instant().plus(token.lifetime()));
    assertThat(token.toString()).doesNotContain(token.value());

    List<OAuth2HttpRequest> requests = recorder.requests("/cc-grant/token");
    assertThat(requests).hasSize(1);
    OAuth2HttpRequest request = requests.get(0);
    assertThat(request.getMethod()).isEqualTo("POST");
    assertThat(request.getFormParameters().get("grant_type")).isEqualTo("client_credentials");
    assertThat(request.getFormParameters().get("scope")).isEqualTo("skein:sync");
    // client_secret_basic: the secret travels in the header only, never in the body.
    assertThat(request.getHeaders().get("Authorization")).startsWith("Basic ");
    assertThat(request.getBody()).doesNotContain("s3cr3t");
    assertThat(recorder.count("/cc-grant/.well-known/openid-configuration")).isEqualTo(1);
    assertThat(fetches("ok")).isEqualTo(1);
  }

  @Test
  void cachesTheTokenUntilNearExpiry() throws Exception {
    OAuth2TokenSource source = source("cc-cache", SECRET);

    String first = source.token();
    clock.advance(Duration.ofMinutes(50));
    String second = source.token();

    assertThat(second).isEqualTo(first);
    assertThat(recorder.count("/cc-cache/token")).isEqualTo(1);
    assertThat(recorder.count("/cc-cache/.well-known/openid-configuration")).isEqualTo(1);
    assertThat(fetches("ok")).isEqualTo(1);
  }

  @Test
  void refreshesWhenLessThanTheMarginRemains() throws Exception {
    OAuth2TokenSource source = source("cc-refresh", SECRET);
    OAuth2TokenSource.BearerToken first = source.bearerToken();
    // About an hour: refreshed when less than 10 % (about 6 minutes) remains.
    assertThat(first.refreshAt())
        .isEqualTo(first.expiresAt().minus(first.lifetime().dividedBy(10)));
    assertThat(Duration.between(first.refreshAt(), first.expiresAt()))
        .isBetween(Duration.ofSeconds(359), Duration.ofMinutes(6));

    clock.set(first.refreshAt().minusSeconds(1));
    assertThat(source.token()).isEqualTo(first.value());
    assertThat(recorder.count("/cc-refresh/token")).isEqualTo(1);

    clock.set(first.refreshAt());
    OAuth2TokenSource.BearerToken second = source.bearerToken();

    assertThat(second.value()).isNotEqualTo(first.value());
    assertThat(second.expiresAt()).isEqualTo(first.refreshAt().plus(second.lifetime()));
    assertThat(recorder.count("/cc-refresh/token")).isEqualTo(2);
    // The token endpoint found by discovery is kept: no second discovery.
    assertThat(recorder.count("/cc-refresh/.well-known/openid-configuration")).isEqualTo(1);
    assertThat(fetches("ok")).isEqualTo(2);
  }

  @Test
  void invalidateMakesTheNextCallFetch() throws Exception {
    OAuth2TokenSource source = source("cc-invalidate", SECRET);
    String first = source.token();

    source.invalidate();

    assertThat(source.token()).isNotEqualTo(first);
    assertThat(recorder.count("/cc-invalidate/token")).isEqualTo(2);
  }

  @Test
  void concurrentCallersShareOneRequest() throws Exception {
    OAuth2TokenSource source = source("cc-concurrent", SECRET);
    int callers = 8;
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(callers);
    try {
      List<Future<String>> results = new ArrayList<>();
      for (int i = 0; i < callers; i++) {
        results.add(
            pool.submit(
                () -> {
                  start.await();
                  return source.token();
                }));
      }
      start.countDown();
      Set<String> tokens = new HashSet<>();
      for (Future<String> result : results) {
        tokens.add(result.get(10, TimeUnit.SECONDS));
      }
      assertThat(tokens).hasSize(1);
      assertThat(recorder.count("/cc-concurrent/token")).isEqualTo(1);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aWrongSecretFailsAsInvalidClientWithoutShowingTheSecret() {
    String wrong = "wrong-Secret-9876";
    OAuth2TokenSource source = source("cc-wrong", wrong);
    String authority = server.issuerUrl("cc-wrong").toString();

    assertThatThrownBy(source::token)
        .isInstanceOfSatisfying(
            OAuth2Exception.class,
            e -> {
              assertThat(e.code()).isEqualTo(OAuth2Exception.INVALID_CLIENT);
              assertThat(e.oauth2Error()).isEqualTo("invalid_client");
              assertThat(e.getMessage())
                  .contains(authority)
                  .contains(CLIENT_ID)
                  .contains("invalid_client")
                  .doesNotContain(wrong)
                  .doesNotContain(SECRET);
            });
    assertThat(recorder.count("/cc-wrong/token")).isEqualTo(1);
    assertThat(fetches(OAuth2Exception.INVALID_CLIENT)).isEqualTo(1);
    assertThat(fetches("ok")).isZero();
    assertThat(ourLogLines()).noneMatch(line -> line.contains(wrong));

    // A failure is not cached: the next call asks again.
    assertThatThrownBy(source::token).isInstanceOf(OAuth2Exception.class);
    assertThat(recorder.count("/cc-wrong/token")).isEqualTo(2);
  }

  @Test
  void anUnreachableAuthorityFailsDiscoveryNamingIt() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }
    String authority = "http://127.0.0.1:" + closedPort + "/nowhere";
    OAuth2TokenSource source =
        new OAuth2TokenSource(
            authority,
            CLIENT_ID,
            SECRET.toCharArray(),
            List.of(),
            clock,
            Duration.ofSeconds(2),
            Duration.ofSeconds(2),
            meters);

    assertThatThrownBy(source::token)
        .isInstanceOfSatisfying(
            OAuth2Exception.class,
            e -> {
              assertThat(e.code()).isEqualTo(OAuth2Exception.DISCOVERY_FAILED);
              assertThat(e.getMessage())
                  .contains("cannot reach the authorization server " + authority)
                  .doesNotContain(SECRET);
            });
    assertThat(fetches(OAuth2Exception.DISCOVERY_FAILED)).isEqualTo(1);
    assertThat(ourLogLines()).noneMatch(line -> line.contains(SECRET));
  }

  @Test
  void anAuthorityWithoutDiscoveryDocumentsFailsNamingWhatWasTried() {
    String authority = server.issuerUrl("no-discovery").toString();
    OAuth2TokenSource source = source("no-discovery", SECRET);

    assertThatThrownBy(source::token)
        .isInstanceOfSatisfying(
            OAuth2Exception.class,
            e -> {
              assertThat(e.code()).isEqualTo(OAuth2Exception.DISCOVERY_FAILED);
              assertThat(e.getMessage())
                  .startsWith("no discovery document for " + authority)
                  .contains("/no-discovery/.well-known/openid-configuration answered 404")
                  .contains("/.well-known/oauth-authorization-server/no-discovery answered 404");
            });
    assertThat(recorder.count("/no-discovery/token")).isZero();
  }

  @Test
  void refusesAPlainHttpAuthorityOffLoopbackAndEmptyCredentials() {
    assertThatThrownBy(
            () ->
                new OAuth2TokenSource(
                    "http://auth.example.com/realm",
                    CLIENT_ID,
                    SECRET.toCharArray(),
                    List.of(),
                    clock,
                    TIMEOUT,
                    TIMEOUT,
                    null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("https://");
    assertThatThrownBy(
            () ->
                new OAuth2TokenSource(
                    "https://auth.example.com/realm",
                    CLIENT_ID,
                    new char[0],
                    List.of(),
                    clock,
                    TIMEOUT,
                    TIMEOUT,
                    null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("the client secret is empty");
  }

  @Test
  void neitherToStringShowsTheSecret() {
    OAuth2TokenSource source = source("cc-tostring", SECRET);
    assertThat(source.toString()).contains(CLIENT_ID).doesNotContain(SECRET);
  }
}
