package io.skein.internal.oauth2;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import no.nav.security.mock.oauth2.http.OAuth2HttpRequest;
import no.nav.security.mock.oauth2.http.OAuth2HttpResponse;
import no.nav.security.mock.oauth2.http.Route;

/**
 * Records every request the mock authorization server gets, by path, and handles none (it matches
 * nothing, so the server's own routes answer): the tests count token, discovery and JWK set
 * requests with it.
 */
final class RecordingRoute implements Route {
  private final Map<String, List<OAuth2HttpRequest>> byPath = new ConcurrentHashMap<>();

  @Override
  public boolean match(OAuth2HttpRequest request) {
    byPath
        .computeIfAbsent(request.getUrl().encodedPath(), path -> new CopyOnWriteArrayList<>())
        .add(request);
    return false;
  }

  @Override
  public OAuth2HttpResponse invoke(OAuth2HttpRequest request) {
    throw new IllegalStateException("matches nothing");
  }

  /** Returns the requests for a path so far, oldest first. */
  List<OAuth2HttpRequest> requests(String path) {
    return List.copyOf(byPath.getOrDefault(path, List.of()));
  }

  /** Returns how many requests came for a path. */
  int count(String path) {
    return requests(path).size();
  }
}
