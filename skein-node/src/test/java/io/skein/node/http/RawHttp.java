package io.skein.node.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.internal.json.Json;
import io.skein.node.NodeServer;
import io.skein.node.config.ConfigSources;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A node on loopback and a client that sends requests byte for byte: Java's {@code HttpClient}
 * rewrites or refuses the malformed requests these tests are about (bad percent-escapes, transfer
 * codings, repeated {@code Host}).
 */
final class RawHttp implements AutoCloseable {
  private final NodeServer server;

  private RawHttp(NodeServer server) {
    this.server = server;
  }

  /** Starts a single node on an ephemeral port in a fresh data directory. */
  static RawHttp start(String name) throws IOException {
    Path dir = Files.createTempDirectory(name);
    return new RawHttp(
        NodeServer.start(
            ConfigSources.builder()
                .flag("--port", "0")
                .flag("--data-dir", String.valueOf(dir))
                .flag("--durability", "buffered")
                .build()));
  }

  int port() {
    return server.port();
  }

  @Override
  public void close() {
    server.close();
  }

  /** An answer: the status, the headers (names lower case), the body. */
  record Answer(int status, Map<String, String> headers, String body) {
    JsonNode json() {
      return Json.parse(body);
    }

    String code() {
      return json().path("error").path("code").asText();
    }

    String message() {
      return json().path("error").path("message").asText();
    }
  }

  /**
   * Sends {@code head} (request line and headers, each ending in CRLF, without the blank line) and
   * then {@code body} as they are, adding only {@code Connection: close} and the blank line, and
   * reads the answer until the node closes the connection.
   */
  Answer send(String head, byte[] body) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", server.port())) {
      socket.setSoTimeout(10_000);
      var out = socket.getOutputStream();
      out.write((head + "Connection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.write(body);
      out.flush();
      return parse(socket.getInputStream().readAllBytes());
    }
  }

  Answer send(String head, String body) throws IOException {
    return send(head, body.getBytes(StandardCharsets.UTF_8));
  }

  /** A {@code GET} of {@code target} as written, with a {@code Host} that names the node. */
  Answer get(String target) throws IOException {
    return send("GET " + target + " HTTP/1.1\r\n" + host(), "");
  }

  /** A {@code Host} header line naming the node. */
  String host() {
    return "Host: 127.0.0.1:" + server.port() + "\r\n";
  }

  private static Answer parse(byte[] bytes) {
    String answer = new String(bytes, StandardCharsets.ISO_8859_1);
    int end = answer.indexOf("\r\n\r\n");
    if (end < 0) {
      throw new AssertionError("no complete answer: '" + answer + "'");
    }
    String[] lines = answer.substring(0, end).split("\r\n");
    Map<String, String> headers = new HashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      headers.merge(
          lines[i].substring(0, colon).toLowerCase(Locale.ROOT),
          lines[i].substring(colon + 1).strip(),
          (a, b) -> a + ", " + b);
    }
    byte[] rest = java.util.Arrays.copyOfRange(bytes, end + 4, bytes.length);
    if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
      rest = dechunk(rest);
    }
    return new Answer(
        Integer.parseInt(lines[0].substring(9, 12)),
        headers,
        new String(rest, StandardCharsets.UTF_8));
  }

  private static byte[] dechunk(byte[] bytes) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int at = 0;
    while (true) {
      int eol = indexOfCrlf(bytes, at);
      String size = new String(bytes, at, eol - at, StandardCharsets.ISO_8859_1);
      int length = Integer.parseInt(size.split(";", 2)[0].strip(), 16);
      if (length == 0) {
        return out.toByteArray();
      }
      out.write(bytes, eol + 2, length);
      at = eol + 2 + length + 2;
    }
  }

  private static int indexOfCrlf(byte[] bytes, int from) {
    for (int i = from; i + 1 < bytes.length; i++) {
      if (bytes[i] == '\r' && bytes[i + 1] == '\n') {
        return i;
      }
    }
    throw new AssertionError("a chunk without its CRLF");
  }
}
