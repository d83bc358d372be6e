package io.skein.node.http;

import io.javalin.http.Context;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.EofException;

/**
 * The client closed or reset its connection before the node finished reading the request (an
 * aborted upload). It is not an error of the node: the request is counted with status {@value
 * #STATUS}, nothing is answered, and nothing is logged above DEBUG.
 */
final class ClientGoneException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The status requests from a client that went away are counted with (nginx's 499). */
  static final int STATUS = 499;

  ClientGoneException(IOException cause) {
    super("the client went away before its request was read", cause);
  }

  /**
   * Returns whether {@code failure} comes from the client having gone: an I/O failure in its cause
   * chain while the connection is closed or its input shut down.
   */
  static boolean isClientGone(Context ctx, Throwable failure) {
    boolean io = false;
    for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
      if (cause instanceof EofException
          || cause instanceof ClosedChannelException
          || cause instanceof IOException) {
        io = true;
        break;
      }
      if (cause.getCause() == cause) {
        break;
      }
    }
    return io && connectionClosed(ctx);
  }

  private static boolean connectionClosed(Context ctx) {
    try {
      EndPoint endPoint =
          ServletContextRequest.getServletContextRequest(ctx.req())
              .getConnectionMetaData()
              .getConnection()
              .getEndPoint();
      return !endPoint.isOpen() || endPoint.isInputShutdown();
    } catch (RuntimeException e) {
      return false;
    }
  }
}
