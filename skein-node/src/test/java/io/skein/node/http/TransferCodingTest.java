package io.skein.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The node decodes no transfer coding but chunked and no content coding at all. A request that uses
 * one is refused, never read as if it had not: {@code Transfer-Encoding: gzip, chunked} was read as
 * plain chunked and stored, and so was a body declared {@code Content-Encoding: br}. Sent on a raw
 * socket, since Java's HttpClient sets these headers itself.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TransferCodingTest {
  private static final String JSON = "Content-Type: application/json\r\n";
  private static final String DOC = "{\"a\":1}";

  private RawHttp node;

  @BeforeAll
  void start() throws Exception {
    node = RawHttp.start("skein-transfer-coding-test");
  }

  @AfterAll
  void stop() {
    node.close();
  }

  private String put(String id) {
    return "PUT /v1/collections/tc/docs/" + id + " HTTP/1.1\r\n" + node.host() + JSON;
  }

  private static byte[] chunked(byte[] body) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes((Integer.toHexString(body.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(body);
    out.writeBytes("\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    return out.toByteArray();
  }

  private static byte[] gzip(String text) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream zip = new GZIPOutputStream(out)) {
      zip.write(text.getBytes(StandardCharsets.UTF_8));
    }
    return out.toByteArray();
  }

  private void assertNotWritten(String id) throws Exception {
    assertThat(node.get("/v1/collections/tc/docs/" + id).status()).as(id).isEqualTo(404);
  }

  @Test
  void aTransferCodingOtherThanChunkedIsNotImplemented() throws Exception {
    List<String[]> cases =
        List.of(
            new String[] {"t1", "Transfer-Encoding: gzip, chunked\r\n", "'gzip'"},
            new String[] {
              "t2", "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", "'gzip'"
            },
            new String[] {"t3", "Transfer-Encoding: GZIP , Chunked\r\n", "'gzip'"},
            new String[] {"t4", "Transfer-Encoding: deflate,chunked\r\n", "'deflate'"},
            new String[] {"t5", "Transfer-Encoding: x-custom, gzip, chunked\r\n", "'x-custom'"});
    for (String[] c : cases) {
      for (byte[] body : List.of(DOC.getBytes(StandardCharsets.UTF_8), gzip(DOC))) {
        RawHttp.Answer answer = node.send(put(c[0]) + c[1], chunked(body));
        assertThat(answer.status()).as(c[1] + answer.body()).isEqualTo(501);
        assertThat(answer.code()).isEqualTo("not_implemented");
        assertThat(answer.message())
            .as(answer.body())
            .contains("transfer coding")
            .containsIgnoringCase(c[2]);
        assertNotWritten(c[0]);
      }
    }
    RawHttp.Answer get =
        node.send(
            "GET /v1/collections/tc/docs HTTP/1.1\r\n"
                + node.host()
                + "Transfer-Encoding: gzip, chunked\r\n",
            "0\r\n\r\n");
    assertThat(get.status()).as(get.body()).isEqualTo(501);
    assertThat(get.code()).isEqualTo("not_implemented");
  }

  @Test
  void aTransferCodingThatDoesNotEndInChunkedLeavesNoWayToFrameTheBody() throws Exception {
    // RFC 9112 §6.3: without chunked last the body's length cannot be determined, so the answer
    // must be 400 and the connection closed (a 501 would leave the rest of the stream unframed).
    for (String header :
        List.of("Transfer-Encoding: gzip\r\n", "Transfer-Encoding: chunked, gzip\r\n")) {
      RawHttp.Answer answer = node.send(put("t6") + header, DOC);
      assertThat(answer.status()).as(answer.body()).isEqualTo(400);
      assertThat(answer.code()).isEqualTo("bad_request");
      assertThat(answer.message()).as(answer.body()).contains("must end with chunked");
      assertThat(answer.headers().get("connection")).isEqualTo("close");
      assertNotWritten("t6");
    }
  }

  @Test
  void aContentCodingIsUnsupported() throws Exception {
    byte[] zipped = gzip(DOC);
    String length = "Content-Length: ";
    List<Object[]> cases =
        List.of(
            new Object[] {
              "c1", "Content-Encoding: gzip\r\n" + length + zipped.length + "\r\n", zipped, "'gzip'"
            },
            new Object[] {
              "c2",
              "Content-Encoding: gzip\r\n" + length + DOC.length() + "\r\n",
              DOC.getBytes(StandardCharsets.UTF_8),
              "'gzip'"
            },
            new Object[] {
              "c3",
              "Content-Encoding: br\r\n" + length + DOC.length() + "\r\n",
              DOC.getBytes(StandardCharsets.UTF_8),
              "'br'"
            },
            new Object[] {
              "c4",
              "Content-Encoding: identity, deflate\r\n" + length + DOC.length() + "\r\n",
              DOC.getBytes(StandardCharsets.UTF_8),
              "'deflate'"
            },
            new Object[] {
              "c5",
              "Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
              chunked(zipped),
              "'gzip'"
            });
    for (Object[] c : cases) {
      String id = (String) c[0];
      RawHttp.Answer answer = node.send(put(id) + c[1], (byte[]) c[2]);
      assertThat(answer.status()).as(c[1] + answer.body()).isEqualTo(415);
      assertThat(answer.code()).isEqualTo("unsupported_media_type");
      assertThat(answer.message())
          .as(answer.body())
          .contains("Content-Encoding")
          .contains((String) c[3]);
      // RFC 9110 §12.5.3: a 415 for a content coding says which codings are accepted.
      assertThat(answer.headers().get("accept-encoding")).isEqualTo("identity");
      assertNotWritten(id);
    }
    RawHttp.Answer batch =
        node.send(
            "POST /v1/batch HTTP/1.1\r\n"
                + node.host()
                + JSON
                + "Content-Encoding: gzip\r\nContent-Length: "
                + zipped.length
                + "\r\n",
            zipped);
    assertThat(batch.status()).as(batch.body()).isEqualTo(415);
  }

  @Test
  void plainBodiesStillWork() throws Exception {
    byte[] doc = DOC.getBytes(StandardCharsets.UTF_8);
    assertThat(node.send(put("p1") + "Transfer-Encoding: chunked\r\n", chunked(doc)).status())
        .isEqualTo(200);
    assertThat(
            node.send(
                    put("p2")
                        + "Content-Encoding: identity\r\nContent-Length: "
                        + doc.length
                        + "\r\n",
                    doc)
                .status())
        .isEqualTo(200);
    assertThat(node.send(put("p3") + "Content-Length: " + doc.length + "\r\n", doc).status())
        .isEqualTo(200);
    for (String id : List.of("p1", "p2", "p3")) {
      RawHttp.Answer got = node.get("/v1/collections/tc/docs/" + id);
      assertThat(got.status()).isEqualTo(200);
      assertThat(got.body()).isEqualTo(DOC);
    }
  }
}
