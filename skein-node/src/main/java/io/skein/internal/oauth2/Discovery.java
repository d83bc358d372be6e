package io.skein.internal.oauth2;

import com.nimbusds.oauth2.sdk.GeneralException;
import com.nimbusds.oauth2.sdk.as.AuthorizationServerMetadata;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Finds an authorization server's endpoints from its issuer URL: OpenID Connect discovery ({@code
 * {issuer}/.well-known/openid-configuration}), falling back to RFC 8414 metadata ({@code
 * /.well-known/oauth-authorization-server}, inserted before the issuer's path as the RFC says, then
 * appended to it as many servers serve it). The document must name the same issuer, exactly.
 *
 * <p>Each attempt is one GET with bounded timeouts and no redirects.
 */
public final class Discovery {
  private Discovery() {}

  /** The longest timeout a caller may configure. */
  static final Duration TIMEOUT_MAX = Duration.ofMinutes(2);

  /**
   * What discovery found.
   *
   * @param issuer the issuer the document names (equal to the one asked for)
   * @param tokenEndpoint the token endpoint, or {@code null} if the server has none
   * @param jwksUri the JWK set URL, or {@code null} if the server publishes none
   */
  record Metadata(String issuer, @Nullable URI tokenEndpoint, @Nullable URI jwksUri) {}

  /**
   * Fetches the issuer's metadata.
   *
   * @throws OAuth2Exception with code {@link OAuth2Exception#DISCOVERY_FAILED}
   */
  static Metadata discover(String issuer, Duration connectTimeout, Duration requestTimeout)
      throws OAuth2Exception {
    List<String> problems = new ArrayList<>();
    for (URI url : documentUrls(issuer)) {
      HTTPResponse response;
      try {
        HTTPRequest request = new HTTPRequest(HTTPRequest.Method.GET, url);
        request.setAccept("application/json");
        request.setConnectTimeout(millis(connectTimeout));
        request.setReadTimeout(millis(requestTimeout));
        request.setFollowRedirects(false);
        response = request.send();
      } catch (IOException e) {
        // The server is unreachable: the other documents live on the same server.
        throw new OAuth2Exception(
            OAuth2Exception.DISCOVERY_FAILED,
            "cannot reach the authorization server " + issuer + " for discovery: " + e,
            e);
      }
      if (response.getStatusCode() != 200) {
        problems.add(url.getPath() + " answered " + response.getStatusCode());
        continue;
      }
      AuthorizationServerMetadata metadata;
      try {
        metadata = AuthorizationServerMetadata.parse(response.getBodyAsJSONObject());
      } catch (GeneralException e) {
        problems.add(url.getPath() + " is not a metadata document (" + e.getMessage() + ")");
        continue;
      }
      String named = metadata.getIssuer().getValue();
      if (!named.equals(issuer)) {
        throw new OAuth2Exception(
            OAuth2Exception.DISCOVERY_FAILED,
            null,
            "the discovery document of " + issuer + " names another issuer, " + abbreviate(named));
      }
      return new Metadata(named, metadata.getTokenEndpointURI(), metadata.getJWKSetURI());
    }
    throw new OAuth2Exception(
        OAuth2Exception.DISCOVERY_FAILED,
        null,
        "no discovery document for " + issuer + ": " + String.join("; ", problems));
  }

  /** The discovery documents to try, in order, without duplicates. */
  static List<URI> documentUrls(String issuer) {
    URI uri = URI.create(issuer);
    String base = issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer;
    String path = uri.getRawPath() == null ? "" : uri.getRawPath();
    if (path.equals("/")) {
      path = "";
    }
    String origin = uri.getScheme() + "://" + uri.getRawAuthority();
    List<URI> urls = new ArrayList<>();
    urls.add(URI.create(base + "/.well-known/openid-configuration"));
    URI rfc8414 = URI.create(origin + "/.well-known/oauth-authorization-server" + path);
    urls.add(rfc8414);
    URI appended = URI.create(base + "/.well-known/oauth-authorization-server");
    if (!appended.equals(rfc8414)) {
      urls.add(appended);
    }
    return urls;
  }

  /**
   * Returns what is wrong with an issuer or authority URL, or {@code null}: it must be an absolute
   * {@code https} URL with a host and no user info, query or fragment; {@code http} only on a
   * loopback host (tests, and an authorization server on the same machine).
   */
  public static @Nullable String urlProblem(String url) {
    return urlProblem(url, false);
  }

  /**
   * Returns what is wrong with an endpoint URL the server published (a JWK set's), or {@code null}:
   * as {@link #urlProblem(String)}, but a query is allowed (some servers key their JWK set by one).
   */
  static @Nullable String endpointProblem(String url) {
    return urlProblem(url, true);
  }

  private static @Nullable String urlProblem(String url, boolean queryAllowed) {
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      return "is not a URL";
    }
    String host = uri.getHost();
    if (!uri.isAbsolute()
        || host == null
        || uri.getRawUserInfo() != null
        || (uri.getRawQuery() != null && !queryAllowed)
        || uri.getRawFragment() != null) {
      return "must be an https:// URL with a host and no query or fragment";
    }
    String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
    boolean loopback = host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]");
    if (!scheme.equals("https") && !(scheme.equals("http") && loopback)) {
      return "must be https:// (http:// only on a loopback host)";
    }
    return null;
  }

  /** Checks a timeout: more than zero, at most {@link #TIMEOUT_MAX}. */
  static Duration checkTimeout(String name, Duration timeout) {
    if (timeout.isNegative() || timeout.isZero() || timeout.compareTo(TIMEOUT_MAX) > 0) {
      throw new IllegalArgumentException(
          name + " must be more than 0 and at most " + TIMEOUT_MAX.toSeconds() + " s");
    }
    return timeout;
  }

  static int millis(Duration timeout) {
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
  }

  static String abbreviate(String text) {
    String clean = text.replaceAll("\\p{Cntrl}", "?");
    return clean.length() <= 100 ? clean : clean.substring(0, 100) + "…";
  }
}
