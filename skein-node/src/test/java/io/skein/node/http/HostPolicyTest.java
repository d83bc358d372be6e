package io.skein.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.skein.node.config.ConfigSources;
import io.skein.node.config.NodeSettings;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.util.Collections;
import org.junit.jupiter.api.Test;

/** Which Host headers name the node, for each kind of bind address (A46). */
class HostPolicyTest {
  private static HostPolicy bound(String host, String allowed) {
    ConfigSources.Builder sources = ConfigSources.builder().flag("--host", host);
    if (!allowed.isEmpty()) {
      sources.flag("--allowed-hosts", allowed);
    }
    return HostPolicy.of(NodeSettings.resolve(sources.build()));
  }

  @Test
  void aLoopbackBindAcceptsItsAddressAndTheLoopbackNamesOnly() {
    HostPolicy policy = bound("127.0.0.1", "");
    for (String host :
        new String[] {"127.0.0.1", "127.0.0.1:9000", "localhost", "LocalHost:1", "[::1]:9000"}) {
      assertThat(policy.refusal(host)).as(host).isNull();
    }
    for (String host :
        new String[] {"evil.example", "127.0.0.2", "10.0.0.1", "[::2]", "", "a:b:c"}) {
      assertThat(policy.refusal(host)).as(host).isNotNull();
    }
    assertThat(policy.refusal(null)).as("HTTP/1.0 without Host").isNull();
  }

  @Test
  void aWildcardBindAcceptsTheMachinesAddressesButNoUnlistedName() throws Exception {
    HostPolicy policy = bound("0.0.0.0", "");
    for (NetworkInterface network : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      for (InetAddress address : Collections.list(network.getInetAddresses())) {
        String literal = address.getHostAddress();
        int zone = literal.indexOf('%');
        String host =
            literal.contains(":")
                ? "[" + literal.substring(0, zone < 0 ? literal.length() : zone) + "]"
                : literal;
        assertThat(policy.refusal(host + ":9000")).as(host).isNull();
      }
    }
    assertThat(policy.refusal("localhost")).isNull();
    assertThat(policy.refusal("[0:0:0:0:0:0:0:1]")).isNull();
    // Documentation ranges: never a local address.
    assertThat(policy.refusal("192.0.2.1")).isNotNull();
    assertThat(policy.refusal("[2001:db8::1]")).isNotNull();
    assertThat(policy.refusal("this-machine.example")).isNotNull();
  }

  @Test
  void configuredNamesAndTheStarAreAccepted() {
    HostPolicy policy = bound("0.0.0.0", "db.example.com, [2001:db8::7], 192.0.2.9:8080");
    assertThat(policy.refusal("DB.Example.com.:443")).isNull();
    assertThat(policy.refusal("[2001:0db8:0:0:0:0:0:7]")).isNull();
    assertThat(policy.refusal("192.0.2.9")).isNull();
    assertThat(policy.refusal("db.example.com.evil.example")).isNotNull();
    assertThat(bound("127.0.0.1", "*").refusal("anything.example")).isNull();
  }
}
