package io.skein.internal.transport;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import org.junit.jupiter.api.Test;

class PeerAddressTest {
  private static URI u(String s) {
    return URI.create(s);
  }

  @Test
  void aFirstAnnouncementIsOnlyABaseline() {
    // A proxy, a NAT or a port mapping: the announced address is not where this node dials.
    assertThat(PeerAddress.follow(u("http://127.0.0.1:7000"), null, u("http://127.0.0.1:9000")))
        .isNull();
    assertThat(PeerAddress.follow(u("http://node2.lan:9000"), null, u("http://10.0.0.2:9100")))
        .isNull();
  }

  @Test
  void aNewPortIsFollowedWithTheHostThisNodeDials() {
    assertThat(
            PeerAddress.follow(
                u("http://node2.lan:9000"), u("http://10.0.0.2:9000"), u("http://10.0.0.2:9100")))
        .isEqualTo(u("http://node2.lan:9100"));
    assertThat(
            PeerAddress.follow(
                u("https://node2.lan:9000"), u("http://0.0.0.0:9000"), u("http://0.0.0.0:9100")))
        .as("the scheme is the dialler's; a wildcard host is never dialled")
        .isEqualTo(u("https://node2.lan:9100"));
  }

  @Test
  void theSameAnnouncementIsNoMove() {
    assertThat(
            PeerAddress.follow(
                u("http://node2.lan:9000"), u("http://10.0.0.2:9000"), u("http://10.0.0.2:9000")))
        .isNull();
    assertThat(
            PeerAddress.follow(
                u("http://node2.lan:9000"), u("http://10.0.0.2:9000"), u("http://10.0.0.2:9000/")))
        .isNull();
  }

  @Test
  void aHostIsFollowedWhenItChangedToOneThatNamesAPlace() {
    assertThat(
            PeerAddress.follow(
                u("http://node2.lan:9000"), u("http://10.0.0.2:9000"), u("http://10.0.0.9:9000")))
        .isEqualTo(u("http://10.0.0.9:9000"));
    assertThat(
            PeerAddress.follow(
                u("http://node2.lan:9000"), u("http://10.0.0.2:9000"), u("http://0.0.0.0:9000")))
        .as("a move to a wildcard bind keeps the dialled host")
        .isNull();
  }

  @Test
  void somethingThatIsNoAddressIsIgnored() {
    URI before = u("http://127.0.0.1:9000");
    assertThat(PeerAddress.follow(before, before, u("mailto:x@y"))).isNull();
    assertThat(PeerAddress.follow(before, before, u("ftp://127.0.0.1"))).isNull();
    assertThat(PeerAddress.isWildcard("[::]")).isTrue();
    assertThat(PeerAddress.isWildcard("10.0.0.1")).isFalse();
  }
}
