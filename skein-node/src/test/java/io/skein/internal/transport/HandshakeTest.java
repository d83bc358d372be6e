package io.skein.internal.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.skein.core.model.NodeId;
import io.skein.internal.transport.proto.Frame;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class HandshakeTest {
  private static final byte[] SECRET =
      "correct horse battery staple".getBytes(StandardCharsets.UTF_8);

  private static Handshake.Identity identity(String node, String cluster, byte[] secret) {
    return new Handshake.Identity(cluster, NodeId.of(node), secret);
  }

  private static byte[] nonce(int fill) {
    byte[] nonce = new byte[Handshake.NONCE_BYTES];
    Arrays.fill(nonce, (byte) fill);
    return nonce;
  }

  /** Runs a whole handshake; returns the client's and the server's last steps. */
  private static Handshake.Step[] run(Handshake.Identity client, Handshake.Identity server) {
    Handshake.Client c = new Handshake.Client(client, nonce(1));
    Handshake.Server s = new Handshake.Server(server, nonce(2));
    Handshake.Step challenge = s.onHello(c.hello().getClientHello());
    if (!(challenge instanceof Handshake.Step.Send send)) {
      return new Handshake.Step[] {null, challenge};
    }
    Handshake.Step clientStep = c.onChallenge(send.frame().getServerChallenge());
    if (!(clientStep instanceof Handshake.Step.Authenticated authenticated)) {
      return new Handshake.Step[] {clientStep, null};
    }
    Frame proof = java.util.Objects.requireNonNull(authenticated.frame());
    return new Handshake.Step[] {clientStep, s.onProof(proof.getClientProof())};
  }

  @Test
  void nodesWithTheSameSecretAuthenticateEachOther() {
    Handshake.Step[] steps = run(identity("1", "c", SECRET), identity("2", "c", SECRET));
    assertThat(steps[0])
        .isInstanceOfSatisfying(
            Handshake.Step.Authenticated.class,
            a -> assertThat(a.peer()).isEqualTo(NodeId.of("2")));
    assertThat(steps[1])
        .isInstanceOfSatisfying(
            Handshake.Step.Authenticated.class,
            a -> assertThat(a.peer()).isEqualTo(NodeId.of("1")));
  }

  @Test
  void aWrongSecretIsRefusedAndTheSecretNeverCrossesTheWire() {
    byte[] other = "another secret of enough length".getBytes(StandardCharsets.UTF_8);
    Handshake.Step[] steps = run(identity("1", "c", other), identity("2", "c", SECRET));
    assertThat(steps[0])
        .isInstanceOfSatisfying(
            Handshake.Step.Refuse.class,
            r -> {
              assertThat(r.code()).isEqualTo("bad_proof");
              // Neither side can know whose secret is the cluster's: the words blame no one.
              assertThat(r.message())
                  .isEqualTo(
                      "node 2 and node 1 hold different cluster secrets (node 2's proof does not"
                          + " verify with node 1's)")
                  .doesNotContain("does not know");
            });

    // A client that skips the server check still fails the server's check.
    Handshake.Server server = new Handshake.Server(identity("2", "c", SECRET), nonce(2));
    Handshake.Client liar = new Handshake.Client(identity("1", "c", other), nonce(1));
    Frame hello = liar.hello();
    Frame challenge = ((Handshake.Step.Send) server.onHello(hello.getClientHello())).frame();
    byte[] forged =
        Handshake.mac(other, "skein-client", nonce(2), nonce(1), NodeId.of("1"), NodeId.of("2"));
    Handshake.Step verdict =
        server.onProof(
            io.skein.internal.transport.proto.ClientProof.newBuilder()
                .setProof(com.google.protobuf.ByteString.copyFrom(forged))
                .build());
    assertThat(verdict)
        .isInstanceOfSatisfying(
            Handshake.Step.Refuse.class, r -> assertThat(r.code()).isEqualTo("bad_proof"));
    String wire =
        new String(hello.toByteArray(), StandardCharsets.ISO_8859_1)
            + new String(challenge.toByteArray(), StandardCharsets.ISO_8859_1);
    assertThat(wire).doesNotContain("correct horse").doesNotContain("another secret");
  }

  @Test
  void aDuplicateNodeIdIsRefusedOnBothSides() {
    Handshake.Step[] steps = run(identity("1", "c", SECRET), identity("1", "c", SECRET));
    assertThat(steps[1])
        .isInstanceOfSatisfying(
            Handshake.Step.Refuse.class, r -> assertThat(r.code()).isEqualTo("duplicate_node_id"));
    Handshake.Client client = new Handshake.Client(identity("1", "c", SECRET), nonce(1));
    Handshake.Step step =
        client.onChallenge(
            io.skein.internal.transport.proto.ServerChallenge.newBuilder().setNodeId("1").build());
    assertThat(step)
        .isInstanceOfSatisfying(
            Handshake.Step.Refuse.class, r -> assertThat(r.code()).isEqualTo("duplicate_node_id"));
  }

  @Test
  void anotherClusterOrProtocolVersionIsRefused() {
    assertThat(run(identity("1", "a", SECRET), identity("2", "b", SECRET))[1])
        .isInstanceOfSatisfying(
            Handshake.Step.Refuse.class, r -> assertThat(r.code()).isEqualTo("cluster_mismatch"));
    Handshake.Server server = new Handshake.Server(identity("2", "c", SECRET), nonce(2));
    Frame hello = new Handshake.Client(identity("1", "c", SECRET), nonce(1)).hello();
    Handshake.Step step =
        server.onHello(hello.getClientHello().toBuilder().setProtocolVersion(99).build());
    assertThat(step)
        .isInstanceOfSatisfying(
            Handshake.Step.Refuse.class, r -> assertThat(r.code()).isEqualTo("protocol_version"));
  }
}
