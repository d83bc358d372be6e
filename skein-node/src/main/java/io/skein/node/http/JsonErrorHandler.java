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
 * headers over the limit, a bad or repeated {@code Content-Length}, an HTTP version it does not
 * speak. Every status gets a documented code ({@link #codeFor}), never {@code http_NNN}, and every
 * method gets a body (Jetty's default writes one only for GET, POST and HEAD).
 */
final class JsonErrorHandler extends ErrorHandler {
  @Override
  public boolean errorPageForMethod(@Nullable String method) {
    // A PUT with a bad percent-escape or Content-Length got an empty 400: every answer has the
    // error shape, whatever the method.
    return true;
  }

  @Override
  protected void generateResponse(
      Request request,
      Response response,
      int code,
      @Nullable String message,
      @Nullable Throwable cause,
      Callback callback) {
    if (code == HttpStatus.BAD_REQUEST_400) {
      String problem = pathProblem(request, cause);
      if (problem != null) {
        message = problem;
      }
    }
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
    response.write(true, ByteBuffer.wrap(body(code, message)), callback);
  }

  @Override
  public ByteBuffer badMessageError(
      int status, @Nullable String reason, HttpFields.Mutable fields) {
    fields.put(new HttpField(HttpHeader.CONTENT_TYPE, "application/json"));
    return ByteBuffer.wrap(body(status, reason));
  }

  /**
   * Says what is wrong with the percent-escapes of the path, which Jetty answers with only "Bad
   * Request" or "Bad UTF-8 encoding". When the escaped bytes are not UTF-8 the request still has
   * its path, so the message can quote the escape; when an escape is not one ({@code %zz}, a lone
   * {@code %}) Jetty has dropped the path, and only the cause it records tells.
   */
  private static @Nullable String pathProblem(Request request, @Nullable Throwable cause) {
    String problem = PercentEncoding.problem(request.getHttpURI().getPath(), "the request path");
    if (problem != null) {
      return problem;
    }
    for (Throwable at = cause; at != null; at = at.getCause() == at ? null : at.getCause()) {
      String text = String.valueOf(at.getMessage());
      // Jetty 12: URIUtil's "Bad URI % encoding", or TypeUtil's NumberFormatException "!hex z".
      if (text.contains("% encoding")
          || (at instanceof NumberFormatException && text.startsWith("!hex"))) {
        return "the request path has a bad percent-escape (a '%' must be followed by two hex"
            + " digits; '%25' stands for '%' itself)";
      }
    }
    return null;
  }

  private static byte[] body(int code, @Nullable String message) {
    ObjectNode error = Json.MAPPER.createObjectNode();
    String reason = HttpStatus.getMessage(code);
    error
        .putObject("error")
        .put("code", codeFor(code))
        .put("message", messageFor(code, message == null || message.isBlank() ? reason : message));
    return error.toString().getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Returns the documented code of a status that Jetty (or a part of Javalin that bypasses the
   * API's exception handlers) answers with; docs/http-api.md lists them.
   */
  static String codeFor(int status) {
    return switch (status) {
      case 400 -> "bad_request";
      case 404 -> "not_found";
      case 405 -> "method_not_allowed";
      case 408 -> "request_timeout";
      case 411 -> "length_required";
      case 413 -> "body_too_large";
      case 414 -> "uri_too_long";
      case 415 -> "unsupported_media_type";
      case 417 -> "expectation_failed";
      case 421 -> "misdirected_request";
      case 426, 505 -> "unsupported_http_version";
      case 431 -> "headers_too_large";
      case 501 -> "not_implemented";
      case 503 -> "unavailable";
      default -> status < 500 ? "bad_request" : "internal_error";
    };
  }

  private static String messageFor(int status, String message) {
    if (status == 400 && message.equals("Bad Transfer-Encoding, chunked not last")) {
      // Jetty's words for "Transfer-Encoding: gzip", where the client sent no chunked at all.
      return "a request's Transfer-Encoding must end with chunked, or its body's length cannot be"
          + " determined (RFC 9112 §6.3); this node decodes no other transfer coding";
    }
    return switch (status) {
      case 426, 505 -> "this node speaks HTTP/1.1 and HTTP/1.0 only (" + message + ")";
      default -> message;
    };
  }
}
