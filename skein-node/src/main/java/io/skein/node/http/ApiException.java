package io.skein.node.http;

/** An answer of the HTTP layer itself, with its status and code (docs/http-api.md, Errors). */
final class ApiException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  final int status;
  final String code;

  ApiException(int status, String code, String message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}
