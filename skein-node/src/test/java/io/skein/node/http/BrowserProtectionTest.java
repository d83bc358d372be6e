package io.skein.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.core.config.Config;
import io.skein.internal.json.Json;
import io.skein.internal.runtime.ReloadOrchestrator;
import io.skein.node.NodeServer;
import io.skein.node.config.ConfigSources;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Issue 12, items 3 and 8: a browser page cannot use the node unless the node allows it (bodies
 * must be JSON, CORS is off until origins are listed, the {@code Host} header must name the node),
 * a client cannot hold a connection by trickling its headers, and one client cannot hold every
 * change-stream slot. Each dynamic setting is changed live with an override.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BrowserProtectionTest {
  private static final String EVIL = "http://evil.example";
  private static final String APP = "https://app.example:8443";

  private Path dir;
  private NodeServer server;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** An answer read off a raw socket: the status line, the headers (lower case), the body. */
  record Raw(int status, Map<String, String> headers, String body) {
    String code() {
      JsonNode json = Json.parse(body);
      return json.path("error").path("code").asText();
    }
  }

  @BeforeAll
  void start() throws IOException {
    dir = Files.createTempDirectory("skein-browser-test");
    server =
        NodeServer.start(
            ConfigSources.builder()
                .flag("--port", "0")
                .flag("--data-dir", String.valueOf(dir))
                .flag("--durability", "buffered")
                .build());
  }

  @AfterAll
  void stop() {
    server.close();
  }

  @AfterEach
  void resetOverrides() {
    Map<String, @Nullable Object> none = new HashMap<>();
    for (String path :
        List.of(
            "http.cors-allowed-origins",
            "http.cors-allowed-headers",
            "http.allowed-hosts",
            "http.header-timeout",
            "limits.change-streams-per-client",
            "limits.change-streams")) {
      none.put(path, null);
    }
    server.override(none);
  }

  private void override(Map<String, Object> values) {
    assertThat(server.override(values).outcome()).isEqualTo(ReloadOrchestrator.Outcome.COMPLETED);
  }

  /** Sends a request as written (headers included) and reads the answer. */
  private Raw raw(String method, String path, List<String> headers, String body)
      throws IOException {
    StringBuilder request = new StringBuilder(method + " " + path + " HTTP/1.1\r\n");
    boolean host = headers.stream().anyMatch(h -> h.toLowerCase(Locale.ROOT).startsWith("host:"));
    if (!host) {
      request.append("Host: 127.0.0.1:").append(server.port()).append("\r\n");
    }
    headers.forEach(header -> request.append(header).append("\r\n"));
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    if (!body.isEmpty()) {
      request.append("Content-Length: ").append(bytes.length).append("\r\n");
    }
    request.append("Connection: close\r\n\r\n");
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(request.toString().getBytes(StandardCharsets.ISO_8859_1));
      out.write(bytes);
      out.flush();
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      return parse(answer);
    }
  }

  private static Raw parse(String answer) {
    int end = answer.indexOf("\r\n\r\n");
    String[] lines = answer.substring(0, end).split("\r\n");
    Map<String, String> headers = new HashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      headers.merge(
          lines[i].substring(0, colon).toLowerCase(Locale.ROOT),
          lines[i].substring(colon + 1).strip(),
          (a, b) -> a + ", " + b);
    }
    return new Raw(Integer.parseInt(lines[0].substring(9, 12)), headers, answer.substring(end + 4));
  }

  private static String batch(String id) {
    return "{\"ops\":[{\"op\":\"put\",\"collection\":\"browser\",\"id\":\""
        + id
        + "\",\"doc\":{\"x\":1}}]}";
  }

  private int status(String id) throws Exception {
    return http.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:" + server.port() + "/v1/collections/browser/docs/" + id))
                .build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  @Test
  void aCrossOriginSimpleRequestCannotWrite() throws Exception {
    // text/plain, form types and no type at all are what a page may send without a preflight.
    for (String type :
        new String[] {
          "Content-Type: text/plain",
          "Content-Type: application/x-www-form-urlencoded",
          "Content-Type: multipart/form-data; boundary=x",
          "X-No-Type: 1",
          "Content-Type: application/json; charset=iso-8859-1",
          "Content-Type: application/jsonp",
        }) {
      Raw answer = raw("POST", "/v1/batch", List.of("Origin: " + EVIL, type), batch("simple"));
      assertThat(answer.status()).as(type + " " + answer.body()).isEqualTo(415);
      assertThat(answer.code()).isEqualTo("unsupported_media_type");
      assertThat(answer.headers()).doesNotContainKey("access-control-allow-origin");
    }
    assertThat(status("simple")).isEqualTo(404);
    for (String type :
        new String[] {
          "application/json",
          "Application/JSON; charset=UTF-8",
          "application/json;charset=\"utf-8\""
        }) {
      Raw answer = raw("POST", "/v1/batch", List.of("Content-Type: " + type), batch("json"));
      assertThat(answer.status()).as(type + " " + answer.body()).isEqualTo(200);
    }
    // A request without a body needs no type.
    assertThat(raw("DELETE", "/v1/collections/browser/docs/json", List.of(), "").status())
        .isEqualTo(200);
    assertThat(raw("POST", "/admin/reload", List.of(), "").code()).isEqualTo("admin_disabled");
  }

  @Test
  void corsIsOffByDefaultAndFollowsTheSettingLive() throws Exception {
    List<String> preflight =
        List.of(
            "Origin: " + APP,
            "Access-Control-Request-Method: PUT",
            "Access-Control-Request-Headers: content-type");
    Raw off = raw("OPTIONS", "/v1/collections/browser/docs/x", preflight, "");
    assertThat(off.status()).isEqualTo(403);
    assertThat(off.code()).isEqualTo("cors_refused");
    assertThat(off.headers()).doesNotContainKey("access-control-allow-origin");
    assertThat(raw("GET", "/health", List.of("Origin: " + APP), "").headers())
        .doesNotContainKey("access-control-allow-origin");

    override(Map.of("http.cors-allowed-origins", List.of(APP)));
    Raw allowed = raw("OPTIONS", "/v1/collections/browser/docs/x", preflight, "");
    assertThat(allowed.status()).as(allowed.body()).isEqualTo(204);
    assertThat(allowed.headers())
        .containsEntry("access-control-allow-origin", APP)
        .containsEntry("access-control-allow-headers", "content-type")
        .containsEntry("access-control-max-age", "600")
        .containsKey("access-control-allow-methods");
    assertThat(allowed.headers().get("access-control-allow-methods")).contains("PUT");
    Raw get = raw("GET", "/health", List.of("Origin: " + APP), "");
    assertThat(get.headers())
        .containsEntry("access-control-allow-origin", APP)
        .containsEntry("vary", "Origin");
    assertThat(get.headers().get("access-control-expose-headers")).contains("ETag");

    Raw otherOrigin =
        raw(
            "OPTIONS",
            "/v1/batch",
            List.of("Origin: " + EVIL, "Access-Control-Request-Method: POST"),
            "");
    assertThat(otherOrigin.status()).isEqualTo(403);
    assertThat(otherOrigin.headers()).doesNotContainKey("access-control-allow-origin");
    assertThat(raw("GET", "/health", List.of("Origin: " + EVIL), "").headers())
        .doesNotContainKey("access-control-allow-origin");
    Raw otherHeader =
        raw(
            "OPTIONS",
            "/v1/batch",
            List.of(
                "Origin: " + APP,
                "Access-Control-Request-Method: POST",
                "Access-Control-Request-Headers: content-type, authorization"),
            "");
    assertThat(otherHeader.status()).isEqualTo(403);
    assertThat(otherHeader.body()).contains("authorization");
    Raw plain = raw("OPTIONS", "/v1/batch", List.of(), "");
    assertThat(plain.status()).isEqualTo(204);
    assertThat(plain.headers().get("allow")).contains("POST");

    override(Map.of("http.cors-allowed-origins", List.of()));
    assertThat(raw("OPTIONS", "/v1/collections/browser/docs/x", preflight, "").status())
        .isEqualTo(403);
  }

  @Test
  void theHostHeaderMustNameTheNode() throws Exception {
    int port = server.port();
    for (String host :
        new String[] {"evil.example:" + port, "evil.example", "127.0.0.1.evil.example", "[::2]"}) {
      Raw answer = raw("GET", "/v1/collections/browser/docs", List.of("Host: " + host), "");
      assertThat(answer.status()).as(host).isEqualTo(421);
      assertThat(answer.code()).isEqualTo("misdirected_request");
      assertThat(answer.body()).contains("http.allowed-hosts");
    }
    for (String host :
        new String[] {
          "127.0.0.1:" + port, "localhost:" + port, "LOCALHOST", "[::1]:" + port, "localhost."
        }) {
      assertThat(raw("GET", "/health", List.of("Host: " + host), "").status())
          .as(host)
          .isEqualTo(200);
    }
    override(Map.of("http.allowed-hosts", "db.internal, 10.1.2.3:9000"));
    assertThat(raw("GET", "/health", List.of("Host: DB.internal:" + port), "").status())
        .isEqualTo(200);
    assertThat(raw("GET", "/health", List.of("Host: 10.1.2.3"), "").status()).isEqualTo(200);
    assertThat(raw("GET", "/health", List.of("Host: evil.example"), "").status()).isEqualTo(421);
  }

  @Test
  void aBrowserCannotOpenThePeerEndpoint() throws Exception {
    List<String> upgrade =
        List.of(
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Version: 13",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==");
    List<String> fromPage = new ArrayList<>(upgrade);
    fromPage.add("Origin: " + EVIL);
    Raw refused = raw("GET", "/v1/peer", fromPage, "");
    assertThat(refused.status()).isEqualTo(403);
    assertThat(refused.code()).isEqualTo("forbidden_origin");
    // No HTTP session is made for it (one was, never expired: a way to fill the heap).
    assertThat(refused.headers().keySet()).noneMatch(name -> name.equalsIgnoreCase("Set-Cookie"));
    Raw plain = raw("GET", "/v1/peer", upgrade, "");
    assertThat(plain.headers().keySet()).noneMatch(name -> name.equalsIgnoreCase("Set-Cookie"));
  }

  @Test
  void headersTrickledByteByByteAreCutOffAtTheHeaderTimeout() throws Exception {
    override(Map.of("http.header-timeout", "500ms"));
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(200);
      OutputStream out = socket.getOutputStream();
      out.write(
          "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
              .getBytes(StandardCharsets.US_ASCII));
      long start = System.nanoTime();
      boolean closed = false;
      // Jetty's idle timeout (30 s) restarts at every byte: without the deadline this runs 8 s.
      while (!closed && System.nanoTime() - start < Duration.ofSeconds(8).toNanos()) {
        try {
          out.write('x');
          out.flush();
          closed = socket.getInputStream().read() == -1;
        } catch (java.net.SocketTimeoutException e) {
          // Nothing to read yet: the connection is still open.
        } catch (SocketException e) {
          closed = true;
        }
      }
      assertThat(closed).as("the server closed the trickling connection").isTrue();
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(4));
    }
    // A normal request is not affected.
    assertThat(raw("GET", "/health", List.of(), "").status()).isEqualTo(200);
  }

  @Test
  void oneClientCannotHoldEveryChangeStream() throws Exception {
    override(Map.of("limits.change-streams-per-client", 2));
    List<InputStream> open = new ArrayList<>();
    try {
      for (int i = 0; i < 2; i++) {
        HttpResponse<InputStream> stream = sse();
        assertThat(stream.statusCode()).isEqualTo(200);
        open.add(stream.body());
      }
      HttpResponse<InputStream> third = sse();
      assertThat(third.statusCode()).isEqualTo(429);
      assertThat(third.headers().firstValue("Retry-After")).isPresent();
      JsonNode error = Json.parse(new String(third.body().readAllBytes(), StandardCharsets.UTF_8));
      assertThat(error.path("error").path("code").asText()).isEqualTo("too_many_streams");
      // The node-wide cap still answers 503 overloaded.
      override(Map.of("limits.change-streams-per-client", 10, "limits.change-streams", 2));
      HttpResponse<InputStream> overNode = sse();
      assertThat(overNode.statusCode()).isEqualTo(503);
      overNode.body().close();
    } finally {
      for (InputStream stream : open) {
        stream.close();
      }
    }
  }

  private HttpResponse<InputStream> sse() throws Exception {
    return http.send(
        HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + server.port() + "/v1/changes?since=now"))
            .header("Accept", "text/event-stream")
            .timeout(Duration.ofSeconds(10))
            .build(),
        HttpResponse.BodyHandlers.ofInputStream());
  }

  @Test
  void theSettingsAreInTheHttpComponentsSections() {
    Config config = server.config();
    assertThat(config.catalog().sections()).contains("http");
  }
}
