package io.skein.testkit;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;

/**
 * A small HTTP/1.1 client for tests that talk JSON to a node: every request has a timeout, and the
 * answer comes back whole, whatever its status, as {@link Response}.
 *
 * <p>Thread-safe: any number of threads may share one instance (it keeps a pool of connections).
 * Failures to connect, a connection cut mid-request (for example by a killed node) and timeouts are
 * thrown as {@link IOException} ({@link java.net.http.HttpTimeoutException} for a timeout); every
 * answer the node sent, 4xx and 5xx included, is returned.
 */
public final class HttpJson implements AutoCloseable {
  /** The default timeout of a request, connection included. */
  public static final Duration REQUEST_TIMEOUT_DEFAULT = Duration.ofSeconds(10);

  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);

  private final URI baseUrl;
  private final Duration requestTimeout;
  private final HttpClient client;

  /**
   * An answer.
   *
   * @param status the HTTP status
   * @param body the body as UTF-8 text ("" if empty)
   * @param headers the response headers
   */
  public record Response(int status, String body, HttpHeaders headers) {
    /** Returns the first value of a header, if present (names are case-insensitive). */
    public Optional<String> header(String name) {
      return headers.firstValue(name);
    }

    @Override
    public String toString() {
      return "HTTP " + status + " " + body;
    }
  }

  /** Creates a client for {@code baseUrl} with {@link #REQUEST_TIMEOUT_DEFAULT}. */
  public HttpJson(URI baseUrl) {
    this(baseUrl, REQUEST_TIMEOUT_DEFAULT);
  }

  /**
   * Creates a client for {@code baseUrl} whose every request times out after {@code
   * requestTimeout}.
   *
   * @throws IllegalArgumentException if the timeout is not positive
   */
  public HttpJson(URI baseUrl, Duration requestTimeout) {
    if (requestTimeout.isNegative() || requestTimeout.isZero()) {
      throw new IllegalArgumentException("requestTimeout must be positive, was " + requestTimeout);
    }
    this.baseUrl = baseUrl;
    this.requestTimeout = requestTimeout;
    this.client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(
                CONNECT_TIMEOUT.compareTo(requestTimeout) < 0 ? CONNECT_TIMEOUT : requestTimeout)
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
  }

  /** Returns the base URL that paths are resolved against. */
  public URI baseUrl() {
    return baseUrl;
  }

  /**
   * Sends {@code PUT path} with a JSON body.
   *
   * @throws IOException if the request could not be sent or its answer read, or timed out
   * @throws InterruptedException if the calling thread was interrupted
   */
  public Response put(String path, String json) throws IOException, InterruptedException {
    return send(
        request(path)
            .header("Content-Type", "application/json")
            .PUT(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8)));
  }

  /**
   * Sends {@code POST path} with a JSON body.
   *
   * @throws IOException if the request could not be sent or its answer read, or timed out
   * @throws InterruptedException if the calling thread was interrupted
   */
  public Response post(String path, String json) throws IOException, InterruptedException {
    return send(
        request(path)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8)));
  }

  /**
   * Sends {@code GET path}.
   *
   * @throws IOException if the request could not be sent or its answer read, or timed out
   * @throws InterruptedException if the calling thread was interrupted
   */
  public Response get(String path) throws IOException, InterruptedException {
    return send(request(path).GET());
  }

  /**
   * Sends {@code DELETE path}.
   *
   * @throws IOException if the request could not be sent or its answer read, or timed out
   * @throws InterruptedException if the calling thread was interrupted
   */
  public Response delete(String path) throws IOException, InterruptedException {
    return send(request(path).DELETE());
  }

  /**
   * Returns the status of {@code GET path}.
   *
   * @throws IOException if the request could not be sent or its answer read, or timed out
   * @throws InterruptedException if the calling thread was interrupted
   */
  public int status(String path) throws IOException, InterruptedException {
    return get(path).status();
  }

  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(baseUrl.resolve(path))
        .timeout(requestTimeout)
        .header("Accept", "application/json");
  }

  private Response send(HttpRequest.Builder request) throws IOException, InterruptedException {
    HttpResponse<String> response =
        client.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    return new Response(response.statusCode(), response.body(), response.headers());
  }

  /** Closes the connections; requests in flight on other threads may fail. */
  @Override
  public void close() {
    client.close();
  }
}
