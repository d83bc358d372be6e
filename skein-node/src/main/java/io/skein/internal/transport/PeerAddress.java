package io.skein.internal.transport;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Where to dial a peer that announced a new address (DESIGN.md D8: a node whose {@code node.port}
 * or {@code node.host} changes at run time moves its listener, and its peers learn the new address
 * from the handshake of its next stream).
 *
 * <p>What a peer announces is its own view of its address: the bind address and port, which may be
 * a wildcard ({@code 0.0.0.0}) or not the address the dialler reaches it by (a host name, a NAT or
 * a container's port mapping, a proxy). So an announcement is never taken as the address to dial;
 * only a <b>change</b> between two announcements of the same peer is, because it is a move:
 *
 * <ul>
 *   <li>a peer's first announcement (since this node started) only sets the baseline;
 *   <li>when the announced port changes, the new one is dialled;
 *   <li>when the announced host changes to one that is not a wildcard, it is dialled; otherwise the
 *       dialled host stays;
 *   <li>the scheme stays the dialler's (TLS is a cluster-wide setting, not a move).
 * </ul>
 *
 * <p>A move is therefore followed only where ports are the same from every member (no translation
 * between them); behind a port mapping, a moved node must be re-addressed in its peers'
 * configuration. Only an authenticated peer's announcement is followed, so a stranger cannot
 * redirect a node's streams.
 */
public final class PeerAddress {
  private PeerAddress() {}

  /**
   * Returns the URL to dial a peer at after an announcement, or {@code null} to keep the current
   * one.
   *
   * @param dialled the base URL this node dials the peer at
   * @param previous the peer's previous announcement, or {@code null} if this is its first
   * @param announced what the peer announces now
   */
  static @Nullable URI follow(URI dialled, @Nullable URI previous, URI announced) {
    String announcedHost = announced.getHost();
    int announcedPort = portOf(announced);
    if (previous == null || announcedHost == null || announcedPort < 1) {
      return null; // a baseline, or not an address
    }
    int previousPort = portOf(previous);
    boolean portMoved = announcedPort != previousPort;
    boolean hostMoved =
        !announcedHost.equalsIgnoreCase(String.valueOf(previous.getHost()))
            && !isWildcard(announcedHost);
    if (!portMoved && !hostMoved) {
      return null;
    }
    String nextHost = hostMoved ? announcedHost : dialled.getHost();
    int nextPort = portMoved ? announcedPort : portOf(dialled);
    if (nextPort == portOf(dialled)
        && String.valueOf(nextHost).equalsIgnoreCase(dialled.getHost())) {
      return null;
    }
    try {
      return new URI(dialled.getScheme(), null, nextHost, nextPort, null, null, null);
    } catch (URISyntaxException e) {
      return null;
    }
  }

  private static int portOf(URI url) {
    if (url.getPort() > 0) {
      return url.getPort();
    }
    String scheme = String.valueOf(url.getScheme()).toLowerCase(Locale.ROOT);
    return switch (scheme) {
      case "http", "ws" -> 80;
      case "https", "wss" -> 443;
      default -> -1;
    };
  }

  /** Returns whether a host is a wildcard bind address, which names no place to dial. */
  public static boolean isWildcard(String host) {
    String h =
        host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    return h.equals("0.0.0.0") || h.equals("::") || h.equals("0:0:0:0:0:0:0:0") || h.isEmpty();
  }
}
