package io.skein.node.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.skein.internal.json.Json;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;
import org.jspecify.annotations.Nullable;

/**
 * Jetty's error handler, answering with the API's error shape instead of an HTML page. It serves
 * the errors Jetty raises before a request reaches the API: a malformed URI or header, a URI or
 * headers over the limit, a bad {@code Content-Length}.
 */
final class JsonErrorHandler extends ErrorHandler {
  @Override
  protected void generateResponse(
      Request request,
      Response response,
      int code,
      @Nullable String message,
      @Nullable Throwable cause,
      Callback callback) {
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
    response.write(true, ByteBuffer.wrap(body(code, message)), callback);
  }

  @Override
  public ByteBuffer badMessageError(
      int status, @Nullable String reason, HttpFields.Mutable fields) {
    fields.put(new HttpField(HttpHeader.CONTENT_TYPE, "application/json"));
    return ByteBuffer.wrap(body(status, reason));
  }

  private static byte[] body(int code, @Nullable String message) {
    ObjectNode error = Json.MAPPER.createObjectNode();
    String reason = HttpStatus.getMessage(code);
    error
        .putObject("error")
        .put("code", codeFor(code))
        .put("message", message == null || message.isBlank() ? reason : message);
    return error.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static String codeFor(int status) {
    return switch (status) {
      case 400 -> "bad_request";
      case 404 -> "not_found";
      case 413 -> "body_too_large";
      case 414 -> "uri_too_long";
      case 431 -> "headers_too_large";
      default -> "http_" + status;
    };
  }
}
