package io.skein.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.internal.json.Json;
import io.skein.node.NodeServer;
import io.skein.node.config.ConfigSources;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
                .PUT(HttpRequest.BodyPublishers.ofByteArray(latin1))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertError(new Answer(notUtf8.statusCode(), notUtf8.body(), notUtf8), 400, "invalid_json");
    assertThat(send("PUT", doc + "j", "{\"a\":1").body()).doesNotContain("REDACTED");
    assertThat(get(doc + "j").status()).isEqualTo(404);
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
