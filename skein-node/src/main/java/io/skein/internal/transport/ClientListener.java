package io.skein.internal.transport;

import io.skein.internal.transport.proto.Frame;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * Collects whole binary messages on the dialling side. Only handshake frames arrive there (a stream
 * carries data one way), so a server that sends more than {@code messageBytesMax} is cut off.
 */
final class ClientListener implements WebSocket.Listener {
  private static final byte[] CLOSED = new byte[0];
  private final int messageBytesMax;
  private final BlockingQueue<byte[]> messages = new LinkedBlockingQueue<>();
  private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
  volatile @Nullable String closedReason;

  /**
   * Creates a listener.
   *
   * @param messageBytesMax the largest whole message accepted, header included
   */
  ClientListener(int messageBytesMax) {
    this.messageBytesMax = messageBytesMax;
  }

  @Override
  public void onOpen(WebSocket webSocket) {
    webSocket.request(1);
  }

  @Override
  public @Nullable CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
    if (partial.size() + data.remaining() > messageBytesMax) {
      closedReason = "the peer sent a message over " + messageBytesMax + " bytes";
      messages.add(CLOSED);
      webSocket.abort();
      return null;
    }
    byte[] chunk = new byte[data.remaining()];
    data.get(chunk);
    partial.writeBytes(chunk);
    if (last) {
      messages.add(partial.toByteArray());
      partial.reset();
    }
    webSocket.request(1);
    return null;
  }

  @Override
  public @Nullable CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
    webSocket.request(1);
    return null;
  }

  @Override
  public @Nullable CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
    closedReason = statusCode + (reason.isEmpty() ? "" : " " + reason);
    messages.add(CLOSED);
    return null;
  }

  @Override
  public void onError(WebSocket webSocket, Throwable error) {
    closedReason = describe(error);
    messages.add(CLOSED);
  }

  Frame next(FrameCodec codec, long timeoutMs)
      throws InterruptedException, TimeoutException, IOException {
    byte[] message = messages.poll(timeoutMs, TimeUnit.MILLISECONDS);
    if (message == null) {
      throw new TimeoutException("no answer within " + timeoutMs + " ms");
    }
    if (message == CLOSED) {
      throw new IOException("stream closed: " + closedReason);
    }
    try {
      return codec.decode(message);
    } catch (FrameException e) {
      throw new IOException("bad frame from the peer: " + e.getMessage(), e);
    }
  }

  /** Describes a failure for logs and /v1/cluster: the root cause, without wrappers. */
  static String describe(Throwable e) {
    Throwable cause = e;
    while ((cause instanceof ExecutionException
            || cause instanceof java.util.concurrent.CompletionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    if (cause instanceof TimeoutException) {
      return "timed out";
    }
    String message = cause.getMessage();
    return cause.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }
}
