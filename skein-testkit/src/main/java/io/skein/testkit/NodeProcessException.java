package io.skein.testkit;

/**
 * A {@link NodeProcess} did not do what the test needed: it could not be started, did not become
 * healthy before its deadline, exited on its own, or did not stop in time. The message carries the
 * tail of the node's log.
 */
public final class NodeProcessException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  NodeProcessException(String message) {
    super(message);
  }

  NodeProcessException(String message, Throwable cause) {
    super(message, cause);
  }
}
