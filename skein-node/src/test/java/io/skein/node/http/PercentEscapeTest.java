package io.skein.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A percent-escape that is not one ({@code %zz}, a lone {@code %}) or that does not decode to UTF-8
 * ({@code %FF}) gets {@code 400 bad_request} naming it, in the path and in the query string alike.
 * In the query string it used to be dropped or altered silently: {@code ?limit=%zz} listed 100
 * documents, {@code ?w=%zz} wrote with the default write concern, {@code ?after=%FF} read from
 * U+FFFD.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PercentEscapeTest {
  private RawHttp node;

  @BeforeAll
  void start() throws Exception {
    node = RawHttp.start("skein-percent-escape-test");
  }

  @AfterAll
  void stop() {
    node.close();
  }

  private static void assertRefused(RawHttp.Answer answer, String where, String escape) {
    assertThat(answer.status()).as(answer.body()).isEqualTo(400);
    assertThat(answer.headers().get("content-type")).startsWith("application/json");
    assertThat(answer.code()).as(answer.body()).isEqualTo("bad_request");
    assertThat(answer.message()).as(answer.body()).startsWith(where).contains(escape);
    assertThat(answer.body()).doesNotContain("Exception").doesNotContain("org.eclipse");
  }

  @Test
  void aBadEscapeInTheQueryStringIsRefusedNotDropped() throws Exception {
    String docs = "/v1/collections/pe/docs";
    List<String[]> cases =
        List.of(
            new String[] {docs + "?limit=%zz", "'%zz'"},
            new String[] {docs + "?%", "'%'"},
            new String[] {docs + "?limit=%", "'%'"},
            new String[] {docs + "?limit=1%2", "'%2'"},
            new String[] {docs + "?%zz=1", "'%zz'"},
            new String[] {docs + "?limit=5&after=a%g1", "'%g1'"},
            new String[] {docs + "?after=%FF", "'%FF'"},
            new String[] {docs + "?after=caf%C3", "'%C3'"},
            new String[] {docs + "?after=%E0%A4&limit=2", "'%E0%A4"},
            new String[] {docs + "?after=%C0%AF", "'%C0'"},
            new String[] {"/v1/changes?since=%zz", "'%zz'"},
            new String[] {"/v1/collections/pe/docs/x?consistency=%", "'%'"},
            new String[] {"/health?%", "'%'"});
    for (String[] c : cases) {
      assertRefused(node.get(c[0]), "the query string", c[1]);
    }
    // A write whose query cannot be read is not made with the parameters that could.
    String body = "{\"a\":1}";
    RawHttp.Answer put =
        node.send(
            "PUT /v1/collections/pe/docs/w?w=%zz HTTP/1.1\r\n"
                + node.host()
                + "Content-Type: application/json\r\nContent-Length: "
                + body.length()
                + "\r\n",
            body);
    assertRefused(put, "the query string", "'%zz'");
    assertThat(node.get("/v1/collections/pe/docs/w").status()).isEqualTo(404);
  }

  @Test
  void goodEscapesInTheQueryStringStillWork() throws Exception {
    String body = "{\"a\":1}";
    for (String id : new String[] {"caf%C3%A9", "d"}) {
      assertThat(
              node.send(
                      "PUT /v1/collections/ok/docs/"
                          + id
                          + "?w=%31 HTTP/1.1\r\n"
                          + node.host()
                          + "Content-Type: application/json\r\nContent-Length: "
                          + body.length()
                          + "\r\n",
                      body)
                  .status())
          .isEqualTo(200);
    }
    RawHttp.Answer page = node.get("/v1/collections/ok/docs?limit=%31&after=caf%C3%A9");
    assertThat(page.status()).as(page.body()).isEqualTo(200);
    assertThat(page.json().get("docs")).hasSize(1);
    assertThat(page.json().get("docs").get(0).get("id").asText()).isEqualTo("d");
    RawHttp.Answer first = node.get("/v1/collections/ok/docs?limit=%31");
    assertThat(first.json().get("docs")).hasSize(1);
    assertThat(first.json().get("docs").get(0).get("id").asText()).isEqualTo("caf\u00e9");
  }

  @Test
  void aBadEscapeInThePathIsRefusedNamingIt() throws Exception {
    List<String[]> cases =
        List.of(
            // Jetty drops the path of these before the message is written: it is not quoted.
            new String[] {"/v1/collections/pe/docs/%zz", "two hex digits"},
            new String[] {"/v1/collections/pe/docs/%", "two hex digits"},
            new String[] {"/v1/collections/pe/docs/a%2", "two hex digits"},
            new String[] {"/v1/collections/%zz/docs", "two hex digits"},
            new String[] {"/v1/collections/pe/docs/%FF", "'%FF'"},
            new String[] {"/v1/collections/pe/docs/caf%C3", "'%C3'"});
    for (String[] c : cases) {
      assertRefused(node.get(c[0]), "the request path", c[1]);
    }
    String body = "{\"a\":1}";
    RawHttp.Answer put =
        node.send(
            "PUT /v1/collections/pe/docs/p%zz HTTP/1.1\r\n"
                + node.host()
                + "Content-Type: application/json\r\nContent-Length: "
                + body.length()
                + "\r\n",
            body);
    assertRefused(put, "the request path", "bad percent-escape");
    assertThat(node.get("/v1/collections/pe/docs").json().get("docs")).isEmpty();
  }
}
