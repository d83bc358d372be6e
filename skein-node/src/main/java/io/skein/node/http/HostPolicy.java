package io.skein.node.http;

import io.skein.core.config.Config;
import io.skein.node.config.Settings;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Which {@code Host} headers name this node. A page on another site that makes its own name resolve
 * to this node (DNS rebinding) is same-origin with it in the browser, so CORS does not stop it; but
 * its requests carry the attacker's name in {@code Host}, so they are refused with {@code 421
 * misdirected_request}. Immutable; {@link HttpApi} swaps a new one in at a reload.
 *
 * <p>Accepted: the names in {@code http.allowed-hosts} ({@code *} accepts any), the bind address
 * ({@code node.host}) as written and as resolved at start, and when it is a loopback address also
 * {@code localhost}, {@code 127.0.0.1} and {@code [::1]}. When the node binds every interface
 * ({@code 0.0.0.0} or {@code ::}), also every address of the machine's interfaces (read again at
 * most every few seconds) and the loopback names: an address literal cannot be rebound by DNS, and
 * naming the machine's own address is what a client of an all-interfaces node does; a DNS name is
 * accepted only when configured, because the node cannot tell its own names from an attacker's. The
 * port in {@code Host} is not checked: rebinding is defeated by the name, and a port differs
 * legitimately behind a proxy or port forward. A request without {@code Host} (HTTP/1.0) is not
 * from a browser, and passes. The peer endpoint is exempt: it authenticates every stream, and
 * refuses browsers by their {@code Origin} header instead.
 */
final class HostPolicy {
  private static final Pattern IPV4 = Pattern.compile("[0-9]{1,3}(\\.[0-9]{1,3}){3}");
  private static final long INTERFACES_REFRESH_NANOS = 5_000_000_000L;

  private final boolean any;
  private final Set<String> names;
  private final boolean everyInterface;
  private volatile Set<String> interfaceAddresses = Set.of();
  private volatile long interfacesReadNanos;

  private HostPolicy(boolean any, Set<String> names, boolean everyInterface) {
    this.any = any;
    this.names = names;
    this.everyInterface = everyInterface;
  }

  /** Reads the policy from {@code node.host} and {@code http.allowed-hosts}. */
  static HostPolicy of(Config config) {
    String bind = canonical(config.get(Settings.NODE_HOST));
    Set<String> names = new HashSet<>();
    boolean any = false;
    for (String allowed : config.get(Settings.HTTP_ALLOWED_HOSTS)) {
      String name = canonical(hostPart(allowed));
      any |= name.equals("*");
      names.add(name);
    }
    boolean everyInterface = bind.equals("0.0.0.0") || bind.equals(canonical("::"));
    names.add(bind);
    String resolved = resolved(bind);
    if (resolved != null) {
      names.add(resolved);
    }
    if (everyInterface || isLoopback(bind) || (resolved != null && isLoopback(resolved))) {
      names.addAll(List.of("localhost", "127.0.0.1", canonical("::1")));
    }
    return new HostPolicy(any, Set.copyOf(names), everyInterface);
  }

  /**
   * Returns {@code null} if a {@code Host} header names this node, else why not.
   *
   * @param host the header, or {@code null} if the request has none
   */
  @Nullable String refusal(@Nullable String host) {
    if (host == null || any) {
      return null;
    }
    String name = canonical(hostPart(host.strip()));
    if (names.contains(name) || (everyInterface && localAddresses().contains(name))) {
      return null;
    }
    return "the Host header '"
        + (host.length() > 80 ? host.substring(0, 80) + "..." : host)
        + "' does not name this node; list the names clients use in http.allowed-hosts"
        + " (this check stops DNS rebinding)";
  }

  /** Returns the host of {@code host[:port]} or {@code [v6][:port]}; a bare IPv6 address whole. */
  static String hostPart(String hostAndPort) {
    if (hostAndPort.startsWith("[")) {
      int end = hostAndPort.indexOf(']');
      return end < 0 ? hostAndPort : hostAndPort.substring(1, end);
    }
    int colon = hostAndPort.indexOf(':');
    if (colon < 0 || hostAndPort.indexOf(':', colon + 1) >= 0) {
      return hostAndPort;
    }
    return hostAndPort.substring(0, colon);
  }

  /**
   * Returns the form names are compared in: an address literal as {@link
   * InetAddress#getHostAddress} writes it (so {@code [0:0::1]} equals {@code [::1]}), a name in
   * lower case without a trailing dot. Never looks a name up.
   */
  static String canonical(String host) {
    String name = host.toLowerCase(Locale.ROOT);
    if (name.endsWith(".")) {
      name = name.substring(0, name.length() - 1);
    }
    if (isIpv4Literal(name) || name.contains(":")) {
      try {
        return literal(InetAddress.getByName(name));
      } catch (UnknownHostException e) {
        return name;
      }
    }
    return name;
  }

  private static boolean isIpv4Literal(String name) {
    if (!IPV4.matcher(name).matches()) {
      return false;
    }
    for (String octet : name.split("\\.")) {
      if (Integer.parseInt(octet) > 255) {
        return false;
      }
    }
    return true;
  }

  private static @Nullable String resolved(String bind) {
    try {
      return literal(InetAddress.getByName(bind));
    } catch (UnknownHostException | SecurityException e) {
      return null;
    }
  }

  private static boolean isLoopback(String name) {
    return name.equals("localhost") || name.startsWith("127.") || name.equals(canonical("::1"));
  }

  private static String literal(InetAddress address) {
    String text = address.getHostAddress().toLowerCase(Locale.ROOT);
    int zone = text.indexOf('%');
    return zone < 0 ? text : text.substring(0, zone);
  }

  private Set<String> localAddresses() {
    long now = System.nanoTime();
    if (now - interfacesReadNanos > INTERFACES_REFRESH_NANOS) {
      interfaceAddresses = readInterfaceAddresses();
      interfacesReadNanos = now;
    }
    return interfaceAddresses;
  }

  private static Set<String> readInterfaceAddresses() {
    Set<String> addresses = new HashSet<>();
    try {
      for (NetworkInterface network : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        for (InetAddress address : Collections.list(network.getInetAddresses())) {
          addresses.add(literal(address));
        }
      }
    } catch (SocketException e) {
      return Set.of();
    }
    return Set.copyOf(addresses);
  }
}
