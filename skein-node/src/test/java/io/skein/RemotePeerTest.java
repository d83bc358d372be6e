package io.skein;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.skein.internal.crypto.SealedSecrets;
import io.skein.internal.json.Json;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The remote-peer document: its shape, its checks (each naming the field), its redaction. */
class RemotePeerTest {
  private static RemotePeer cloud(String secret) {
    return new RemotePeer(
        "cloud-1",
        "cloud.example.com:443",
        RemotePeer.Type.CLOUD_REMOTE,
        new RemotePeer.OAuth2("https://login.example.com/tenant", "skein", secret, List.of("sync")),
        true);
  }

  @Test
  void aPeerRoundTripsThroughItsDocumentInTheContractsShape() {
    String sealed = SealedSecrets.fromClusterSecret("k").seal("hunter2");
    RemotePeer peer = cloud(sealed);
    String doc = peer.toDocument().toString();
    assertThat(doc)
        .contains("\"nodeId\":\"cloud-1\"", "\"type\":\"CloudRemote\"", "\"enabled\":true")
        .contains("\"authority\":\"https://login.example.com/tenant\"");
    assertThat(RemotePeer.fromDocument("cloud-1", Json.parseObject(doc, "d"))).isEqualTo(peer);
    assertThat(peer.toShown().toString()).contains("[SEALED]").doesNotContain(sealed);
    assertThat(peer.toString()).contains("[SEALED]").doesNotContain(sealed);
    assertThat(cloud("${SKEIN_CLOUD_SECRET}").toShown().toString())
        .contains("${SKEIN_CLOUD_SECRET}");
    RemotePeer plain =
        RemotePeer.fromDocument("lan-2", Json.parseObject("{\"address\":\"10.0.0.2:9000\"}", "d"));
    assertThat(plain.type()).isEqualTo(RemotePeer.Type.STATIC_REMOTE);
    assertThat(plain.enabled()).isTrue();
  }

  @Test
  void eachWrongFieldIsNamed() {
    assertThatThrownBy(() -> cloud("hunter2"))
        .isInstanceOf(InvalidRequestException.class)
        .hasMessageStartingWith("oauth2.clientSecret:")
        .hasMessageContaining("plain text")
        .hasMessageNotContaining("hunter2");
    assertThatThrownBy(
            () -> new RemotePeer("x", "no-port", RemotePeer.Type.STATIC_REMOTE, null, true))
        .hasMessageStartingWith("address:");
    assertThatThrownBy(
            () -> new RemotePeer("x", "h:70000", RemotePeer.Type.STATIC_REMOTE, null, true))
        .hasMessageStartingWith("address:");
    assertThatThrownBy(() -> new RemotePeer("x", "h:1", RemotePeer.Type.CLOUD_REMOTE, null, true))
        .hasMessageStartingWith("oauth2:");
    assertThatThrownBy(
            () ->
                new RemotePeer(
                    "x",
                    "h:1",
                    RemotePeer.Type.CLOUD_REMOTE,
                    new RemotePeer.OAuth2("http://login.example.com", "c", null, List.of()),
                    true))
        .hasMessageStartingWith("oauth2.authority:");
    assertThatThrownBy(
            () ->
                new RemotePeer(
                    "x",
                    "h:1",
                    RemotePeer.Type.CLOUD_REMOTE,
                    new RemotePeer.OAuth2("https://l.example", " ", null, List.of()),
                    true))
        .hasMessageStartingWith("oauth2.clientId:");
    assertThatThrownBy(
            () -> new RemotePeer("bad id", "h:1", RemotePeer.Type.STATIC_REMOTE, null, true))
        .hasMessageStartingWith("nodeId:");
    assertThatThrownBy(
            () ->
                RemotePeer.fromDocument(
                    "x", Json.parseObject("{\"address\":\"h:1\",\"colour\":1}", "d")))
        .hasMessageStartingWith("colour:");
    assertThatThrownBy(
            () ->
                RemotePeer.fromDocument(
                    "x", Json.parseObject("{\"nodeId\":\"y\",\"address\":\"h:1\"}", "d")))
        .hasMessageStartingWith("nodeId:");
    String longType = "x".repeat(10_000);
    assertThatThrownBy(
            () ->
                RemotePeer.fromDocument(
                    "x",
                    Json.parseObject("{\"address\":\"h:1\",\"type\":\"" + longType + "\"}", "d")))
        .as("a long value is not echoed whole")
        .hasMessageStartingWith("type must be")
        .hasMessageNotContaining(longType);
    // http:// is allowed on a loopback authority, for tests against a local OAuth2 server.
    assertThat(
            new RemotePeer(
                    "x",
                    "127.0.0.1:1",
                    RemotePeer.Type.CLOUD_REMOTE,
                    new RemotePeer.OAuth2("http://127.0.0.1:8080/issuer", "c", null, List.of()),
                    true)
                .type())
        .isEqualTo(RemotePeer.Type.CLOUD_REMOTE);
  }
}
