package io.skein.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.internal.json.Json;
import io.skein.node.NodeServer;
import io.skein.node.config.ConfigSources;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The HTTP API v1 on a real in-process node, including every bad-input case. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpApiTest {
  private Path dir;
  private NodeServer server;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  record Answer(int status, String body, HttpResponse<String> raw) {
    JsonNode json() {
      return Json.parse(body);
    }

    String code() {
      return json().path("error").path("code").asText();
    }
  }

  @BeforeAll
  void start() throws java.io.IOException {
    dir = java.nio.file.Files.createTempDirectory("skein-http-test");
    server =
        NodeServer.start(
            ConfigSources.builder()
                .flag("--port", String.valueOf(0))
                .flag("--data-dir", String.valueOf(dir))
                .flag("--durability", String.valueOf("buffered"))
                .build());
  }

  @AfterAll
  void stop() {
    server.close();
  }

  private Answer send(String method, String path, String body) throws Exception {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .timeout(Duration.ofSeconds(10))
            .header("Content-Type", "application/json")
            .method(method, HttpRequest.BodyPublishers.ofString(body))
            .build();
    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
    return new Answer(response.statusCode(), response.body(), response);
  }

  private Answer get(String path) throws Exception {
    return send("GET", path, "");
  }

  @Test
  void documentLifecycle() throws Exception {
    Answer put = send("PUT", "/v1/collections/users/docs/ada", "{\"name\":\"Ada\"}");
    assertThat(put.status()).isEqualTo(200);
    String version = put.json().get("version").asText();
    assertThat(put.json().get("id").asText()).isEqualTo("ada");

    Answer got = get("/v1/collections/users/docs/ada");
    assertThat(got.status()).isEqualTo(200);
    assertThat(got.json().get("name").asText()).isEqualTo("Ada");
    assertThat(got.raw().headers().firstValue("ETag")).contains("\"" + version + "\"");

    Answer head = send("HEAD", "/v1/collections/users/docs/ada", "");
    assertThat(head.status()).isEqualTo(200);
    assertThat(head.raw().headers().firstValue("ETag")).contains("\"" + version + "\"");
    assertThat(send("HEAD", "/v1/collections/users/docs/nobody", "").status()).isEqualTo(404);

    Answer deleted = send("DELETE", "/v1/collections/users/docs/ada", "");
    assertThat(deleted.status()).isEqualTo(200);
    assertThat(deleted.raw().headers().firstValue("ETag"))
        .contains("\"" + deleted.json().get("version").asText() + "\"");
    assertThat(deleted.json().get("version").asText()).isNotEqualTo(version);
    assertThat(get("/v1/collections/users/docs/ada").status()).isEqualTo(404);
    Answer again = send("DELETE", "/v1/collections/users/docs/ada", "");
    assertThat(again.status()).isEqualTo(404);
    assertThat(again.code()).isEqualTo("not_found");
  }

  @Test
  void listQueryAndIndexes() throws Exception {
    for (int i = 0; i < 5; i++) {
      send("PUT", "/v1/collections/items/docs/i" + i, "{\"n\":" + i + "}");
    }
    Answer page = get("/v1/collections/items/docs?limit=2");
    assertThat(page.json().get("docs")).hasSize(2);
    String next = page.json().get("next").asText();
    Answer rest = get("/v1/collections/items/docs?limit=10&after=" + next);
    assertThat(rest.json().get("docs")).hasSize(3);
    assertThat(rest.json().get("next").isNull()).isTrue();

    assertThat(send("POST", "/v1/collections/items/indexes", "{\"fields\":[\"n\"]}").status())
        .isEqualTo(200);
    Answer indexes = get("/v1/collections/items/indexes");
    assertThat(indexes.json().get("indexes").get(0).get("fields").get(0).asText()).isEqualTo("n");
    Answer query =
        send(
            "POST",
            "/v1/collections/items/query",
            "{\"selector\":{\"n\":{\"$in\":[1,3,4]}},\"sort\":[{\"n\":\"desc\"}],\"limit\":2}");
    assertThat(query.status()).isEqualTo(200);
    List<String> ids = new ArrayList<>();
    query.json().get("docs").forEach(d -> ids.add(d.get("id").asText()));
    assertThat(ids).containsExactly("i4", "i3");
  }

  @Test
  void batchIsAtomic() throws Exception {
    Answer ok =
        send(
            "POST",
            "/v1/batch",
            "{\"ops\":[{\"op\":\"put\",\"collection\":\"b\",\"id\":\"1\",\"doc\":{\"a\":1}},"
                + "{\"op\":\"delete\",\"collection\":\"b\",\"id\":\"2\"}]}");
    assertThat(ok.status()).isEqualTo(200);
    assertThat(ok.json().get("results")).hasSize(2);

    Answer bad =
        send(
            "POST",
            "/v1/batch",
            "{\"ops\":[{\"op\":\"put\",\"collection\":\"b\",\"id\":\"x\",\"doc\":{}},"
                + "{\"op\":\"put\",\"collection\":\"b\",\"id\":\"y\",\"doc\":[1]}]}");
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.json().get("error").get("message").asText()).startsWith("ops[1]: ");
    Answer unknownField =
        send(
            "POST",
            "/v1/batch",
            "{\"ops\":[{\"op\":\"put\",\"collection\":\"b\",\"id\":\"x\",\"doc\":{},"
                + "\"rev\":1}]}");
    assertThat(unknownField.json().get("error").get("message").asText())
        .isEqualTo("ops[0]: the operation has an unknown field 'rev'");
    assertThat(get("/v1/collections/b/docs/x").status()).isEqualTo(404);
  }

  @Test
  void badInputGetsA4xxWithTheErrorShapeAndWritesNothing() throws Exception {
    String doc = "/v1/collections/c/docs/";
    assertError(send("PUT", doc + "j", "{\"a\":"), 400, "invalid_json");
    assertError(send("PUT", doc + "j", "[1,2]"), 400, "not_an_object");
    assertError(send("PUT", doc + "j", "\"text\""), 400, "not_an_object");
    assertError(send("PUT", doc + "j", ""), 400, "invalid_json");
    assertError(send("PUT", doc + "j", "{\"a\":1,\"a\":2}"), 400, "invalid_json");
    assertError(send("PUT", doc + "j", "{\"a\":1} trailing"), 400, "invalid_json");
    assertError(
        send("PUT", "/v1/collections/bad%20name/docs/j", "{}"), 400, "invalid_collection_name");
    assertError(
        send("PUT", "/v1/collections/_system_rollback/docs/j", "{}"),
        400,
        "reserved_collection_name");
    assertError(send("PUT", doc + "..", "{}"), 400, "invalid_document_id");
    assertError(send("PUT", doc + "j?w=2", "{}"), 400, "invalid_write_concern");
    String big = "{\"a\":\"" + "x".repeat((1 << 20) + 10) + "\"}";
    assertError(send("PUT", doc + "j", big), 413, "document_too_large");
    String huge = "{\"a\":\"" + "x".repeat((8 << 20) + 10) + "\"}";
    // Like curl for large bodies, ask before sending: the node refuses on Content-Length alone,
    // and a client still uploading when the 413 arrives could see the connection reset instead.
    HttpResponse<String> tooLarge =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + doc + "j"))
                .expectContinue(true)
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(huge))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertError(
        new Answer(tooLarge.statusCode(), tooLarge.body(), tooLarge), 413, "body_too_large");
    assertError(
        send("POST", "/v1/collections/c/query", "{\"selector\":{\"a\":{\"$foo\":1}}}"),
        400,
        "unknown_operator");
    assertError(send("POST", "/v1/collections/c/query", "{\"selector\":[]}"), 400, null);
    assertError(send("POST", "/v1/batch", "{\"ops\":[]}"), 400, "invalid_batch");
    assertError(send("POST", "/v1/batch", "{\"ops\":[{\"op\":\"put\"}]}"), 400, "invalid_batch");
    assertError(get("/v1/collections/c/docs?limit=0"), 400, "invalid_limit");
    assertError(get("/v1/collections/c/docs?limit=ten"), 400, "invalid_limit");
    assertError(get("/v1/changes?since=abc"), 400, "invalid_since");
    assertError(get("/v1/changes?since=99999999"), 400, "invalid_since");
    assertError(get("/v1/nothing/here"), 404, "not_found");
    assertError(get("/v1/changes?include_docs=1"), 400, "invalid_include_docs");
    assertError(get("/v1/collections/c/docs/%FF"), 400, null);
    byte[] latin1 = "{\"a\":\"\u00ff\"}".getBytes(StandardCharsets.ISO_8859_1);
    HttpResponse<String> notUtf8 =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + doc + "latin1"))
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(latin1))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertError(new Answer(notUtf8.statusCode(), notUtf8.body(), notUtf8), 400, "invalid_json");
    assertThat(send("PUT", doc + "j", "{\"a\":1").body()).doesNotContain("REDACTED");
    assertThat(get(doc + "j").status()).isEqualTo(404);
  }

  @Test
  void inputThatCannotBeStoredExactlyIsRefusedNotAltered() throws Exception {
    String doc = "/v1/collections/exact/docs/";
    // A lone surrogate was stored as "?" with a 200 (issue 12, item 5).
    assertError(send("PUT", doc + "s", "{\"a\":\"\\ud800\"}"), 400, "invalid_json");
    assertError(send("PUT", doc + "s", "{\"n\":{\"\\udc00k\":1}}"), 400, "invalid_json");
    Answer batch =
        send(
            "POST",
            "/v1/batch",
            "{\"ops\":[{\"op\":\"put\",\"collection\":\"exact\",\"id\":\"b\","
                + "\"doc\":{\"a\":[\"\\ud800\"]}}]}");
    assertError(batch, 400, "invalid_json");
    assertThat(batch.body()).contains("unpaired surrogate").contains("/ops/0/doc/a/0");
    assertError(
        send("POST", "/v1/collections/exact/query", "{\"selector\":{\"a\":\"\\ud800\"}}"),
        400,
        "invalid_json");
    // A key holding U+0000 was read as its prefix by every query (issue 12, item 6).
    assertError(send("PUT", doc + "k", "{\"a\\u0000b\":1}"), 400, "invalid_key");
    Answer nested =
        send(
            "POST",
            "/v1/batch",
            "{\"ops\":[{\"op\":\"put\",\"collection\":\"exact\",\"id\":\"k\","
                + "\"doc\":{\"n\":{\"owner\\u0000x\":\"me\"}}}]}");
    assertError(nested, 400, "invalid_key");
    assertThat(nested.json().path("error").path("message").asText()).startsWith("ops[0]: ");
    // Exponents beyond a 32-bit scale were a 500 that named a Java exception (item 8).
    for (String number : new String[] {"1e-2147483649", "1e99999999999999999999"}) {
      Answer put = send("PUT", doc + "n", "{\"a\":" + number + "}");
      assertError(put, 400, "invalid_json");
      assertThat(put.body()).doesNotContain("java.").doesNotContain("BigDecimal");
      assertError(
          send("POST", "/v1/collections/exact/query", "{\"selector\":{\"a\":" + number + "}}"),
          400,
          "invalid_json");
    }
    for (String id : new String[] {"s", "b", "k", "n"}) {
      assertThat(get(doc + id).status()).as(id).isEqualTo(404);
    }
    // What can be stored exactly still is: U+0000 in a value, and any other key.
    assertThat(
            send("PUT", doc + "ok", "{\"a\":\"x\\u0000y\",\"$b.c[0]\":\"\\ud834\\udd1e\"}")
                .status())
        .isEqualTo(200);
    assertThat(get(doc + "ok").body())
        .isEqualTo("{\"a\":\"x\\u0000y\",\"$b.c[0]\":\"\ud834\udd1e\"}");
  }

  @Test
  void dotAndDotDotAreNotCollections() throws Exception {
    for (String name : new String[] {"%2E", "%2E%2E"}) {
      Answer answer = send("PUT", "/v1/collections/" + name + "/docs/x", "{}");
      assertThat(answer.status()).as(answer.body()).isEqualTo(400);
      assertThat(answer.code()).as(answer.body()).isEqualTo("invalid_collection_name");
    }
  }

  /** Sends raw bytes on a new connection and returns what the node answers until it closes. */
  private String raw(String request) throws Exception {
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      socket.getOutputStream().flush();
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  record RawAnswer(int status, String body) {
    JsonNode json() {
      return Json.parse(body);
    }

    String code() {
      return json().path("error").path("code").asText();
    }
  }

  private static RawAnswer parsed(String response) {
    int status = Integer.parseInt(response.substring(9, 12));
    int bodyStart = response.indexOf("\r\n\r\n");
    return new RawAnswer(status, bodyStart < 0 ? "" : response.substring(bodyStart + 4));
  }

  @Test
  void malformedRequestsGetTheErrorShapeWithADocumentedCode() throws Exception {
    String put = "PUT /v1/collections/c/docs/";
    String json = "Content-Type: application/json\r\nConnection: close\r\n";
    Map<String, String> requests = new LinkedHashMap<>();
    requests.put(
        "bad_request",
        put + "%FF HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n" + json + "\r\n{}");
    requests.put(
        "bad_request ",
        put
            + "x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n"
            + json
            + "\r\n{}");
    requests.put(
        "bad_request  ",
        put + "x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n" + json + "\r\n{}");
    requests.put(
        "invalid_body",
        put
            + "x HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            + json
            + "\r\nZZ\r\n{}\r\n0\r\n\r\n");
    requests.put(
        "unsupported_http_version", "GET /health HTTP/2.0\r\nHost: 127.0.0.1\r\n" + json + "\r\n");
    requests.put(
        "unsupported_http_version ", "GET /health HTTP/3.0\r\nHost: 127.0.0.1\r\n" + json + "\r\n");
    for (Map.Entry<String, String> request : requests.entrySet()) {
      String response = raw(request.getValue());
      RawAnswer answer = parsed(response);
      assertThat(answer.status()).as(response).isBetween(400, 599);
      assertThat(answer.body()).as(response).isNotEmpty();
      assertThat(answer.code()).as(response).isEqualTo(request.getKey().strip());
      assertThat(answer.json().path("error").path("message").asText()).as(response).isNotBlank();
    }
    assertThat(get("/v1/collections/c/docs/x").status()).isEqualTo(404);
  }

  @Test
  void aClientThatGoesAwayMidUploadIsNeitherAnErrorNorA500() throws Exception {
    ch.qos.logback.classic.Logger root =
        (ch.qos.logback.classic.Logger)
            org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> appender =
        new ch.qos.logback.core.read.ListAppender<>();
    appender.start();
    root.addAppender(appender);
    try {
      for (int i = 0; i < 20; i++) {
        boolean chunked = i % 2 == 1;
        try (Socket socket = new Socket("127.0.0.1", server.port())) {
          socket
              .getOutputStream()
              .write(
                  ("PUT /v1/collections/aborted/docs/d"
                          + i
                          + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                          + (chunked
                              ? "Transfer-Encoding: chunked\r\n\r\n100000\r\n"
                              : "Content-Length: 1000000\r\n\r\n")
                          + "{\"a\":\"xxxxxxxxxxxxxxxx")
                      .getBytes(StandardCharsets.US_ASCII));
          socket.getOutputStream().flush();
          Thread.sleep(50);
          if (i % 4 < 2) {
            socket.setSoLinger(true, 0); // a reset
          } else {
            socket.shutdownOutput(); // a close
          }
        }
      }
      String route = "route=\"/v1/collections/{collection}/docs/{id}\",status=\"";
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (!get("/metrics").body().contains(route + "499\"} 20")
          && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      String metrics = get("/metrics").body();
      assertThat(metrics).contains(route + "499\"} 20").doesNotContain(route + "500\"}");
      assertThat(appender.list)
          .filteredOn(event -> event.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.WARN))
          .isEmpty();
    } finally {
      root.detachAppender(appender);
    }
  }

  private static void assertError(Answer answer, int status, @Nullable String code) {
    assertThat(answer.status()).as(answer.body()).isEqualTo(status);
    JsonNode error = answer.json().get("error");
    assertThat(error).as(answer.body()).isNotNull();
    assertThat(error.get("message").asText()).isNotBlank();
    if (code != null) {
      assertThat(error.get("code").asText()).isEqualTo(code);
    }
  }

  @Test
  void changeFeedAsJsonAndAsServerSentEventsResumes() throws Exception {
    String since = get("/v1/changes?since=now").json().get("last").asText();
    send("PUT", "/v1/collections/feed/docs/a", "{\"v\":1}");
    send("PUT", "/v1/collections/feed/docs/b", "{\"v\":2}");
    Answer page = get("/v1/changes?since=" + since + "&include_docs=true");
    JsonNode changes = page.json().get("changes");
    assertThat(changes).hasSize(2);
    assertThat(changes.get(0).get("doc").get("v").asInt()).isEqualTo(1);
    String afterFirst = changes.get(0).get("seq").asText();

    HttpRequest sse =
        HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + server.port() + "/v1/changes?since=" + afterFirst))
            .header("Accept", "text/event-stream")
            .timeout(Duration.ofSeconds(10))
            .build();
    HttpResponse<java.io.InputStream> stream =
        http.send(sse, HttpResponse.BodyHandlers.ofInputStream());
    assertThat(stream.statusCode()).isEqualTo(200);
    try (BufferedReader reader =
        new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8))) {
      List<String> ids = new ArrayList<>();
      send("PUT", "/v1/collections/feed/docs/c", "{\"v\":3}");
      String line;
      while (ids.size() < 2 && (line = reader.readLine()) != null) {
        if (line.startsWith("data: ")) {
          ids.add(Json.parse(line.substring(6)).get("id").asText());
        }
      }
      assertThat(ids).containsExactly("b", "c");
    }
  }

  @Test
  void clusterHealthAndMetrics() throws Exception {
    JsonNode cluster = get("/v1/cluster").json();
    assertThat(cluster.get("nodeId").asText()).isEqualTo("1");
    assertThat(cluster.get("mode").asText()).isEqualTo("leader");
    assertThat(cluster.get("role").asText()).isEqualTo("primary");
    assertThat(cluster.get("leader").get("nodeId").asText())
        .as("a node without peers orders its own writes")
        .isEqualTo("1");
    assertThat(cluster.get("peers")).isEmpty();
    assertThat(get("/health").status()).isEqualTo(200);
    send("PUT", "/v1/collections/m/docs/x", "{}");
    String metrics = get("/metrics").body();
    assertThat(metrics)
        .contains("http_server_requests_seconds_count{method=\"PUT\"")
        .contains("route=\"/v1/collections/{collection}/docs/{id}\"")
        .contains("skein_storage_commits_total")
        .contains("skein_storage_commit_seconds")
        .contains("skein_write_queue_depth")
        .contains("jvm_memory_used_bytes");
  }
}
