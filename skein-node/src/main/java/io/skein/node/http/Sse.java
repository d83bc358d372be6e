package io.skein.node.http;

import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/** Server-Sent Events over the raw response: the change feed and the admin event stream. */
final class Sse {
  private Sse() {}

  /**
   * Starts a {@code 200 text/event-stream} answer and writes a first comment line.
   *
   * @return the stream to write events to
   * @throws IOException if the client went away
   */
  static OutputStream open(Context ctx, String comment) throws IOException {
    ctx.status(200);
    ctx.res().setContentType("text/event-stream");
    ctx.res().setCharacterEncoding("UTF-8");
    ctx.res().setHeader("Cache-Control", "no-cache");
    OutputStream out = ctx.res().getOutputStream();
    write(out, ": " + comment + "\n\n");
    return out;
  }

  /** Writes text and flushes it, so the client sees each event at once. */
  static void write(OutputStream out, String text) throws IOException {
    out.write(text.getBytes(StandardCharsets.UTF_8));
    out.flush();
  }
}
