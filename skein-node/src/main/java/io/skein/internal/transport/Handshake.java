package io.skein.internal.transport;

import com.google.protobuf.ByteString;
import io.skein.core.model.InvalidNameException;
import io.skein.core.model.NodeId;
import io.skein.internal.transport.proto.ClientHello;
import io.skein.internal.transport.proto.ClientProof;
import io.skein.internal.transport.proto.Frame;
import io.skein.internal.transport.proto.Refused;
import io.skein.internal.transport.proto.ServerChallenge;
import io.skein.internal.transport.proto.Welcome;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Set;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.jspecify.annotations.Nullable;

/**
 * The peer handshake (D10): protocol version, cluster id, node ids, and mutual authentication by an
 * HMAC-SHA256 challenge over the cluster secret. Each side proves it knows the secret by MACing
 * both nonces and both ids; the secret itself never crosses the wire, and fresh nonces on both
 * sides make a recorded handshake useless. Pure: the caller supplies the nonces (32 random bytes
 * from a {@code SecureRandom}) and moves the frames.
 *
 * <p>Flow: client {@code ClientHello} → server {@code ServerChallenge} (or {@code Refused}) →
 * client {@code ClientProof} (or refuses a server that failed its proof) → server {@code Welcome}
 * (or {@code Refused}).
 */
public final class Handshake {
  /** The protocol version this build speaks. */
  public static final int PROTOCOL_VERSION = 1;

  /** The nonce length, in bytes. */
  public static final int NONCE_BYTES = 32;

  /**
   * The largest WebSocket message either side accepts during the handshake, in bytes: a handshake
   * frame with its header. The largest frame, a hello, carries a cluster id and a node id of at
   * most 64 characters, two 16-32 byte values and a URL, well under 1 KiB; a peer stream gets the
   * full frame size only once it is authenticated, so a stranger cannot make a node buffer more.
   */
  public static final int MESSAGE_BYTES_MAX = 4 << 10;

  private Handshake() {}

  /**
   * Who a node is on the wire.
   *
   * @param clusterId the cluster's id; peers of another cluster are refused
   * @param nodeId this node's id
   * @param secret the cluster secret's bytes
   */
  public record Identity(String clusterId, NodeId nodeId, byte[] secret) {}

  /** The result of a handshake step. */
  public sealed interface Step {
    /**
     * Send this frame and go on.
     *
     * @param frame the frame to send
     */
    record Send(Frame frame) implements Step {}

    /**
     * Done: the peer is authenticated.
     *
     * @param peer the peer's node id
     * @param frame a last frame to send first, or {@code null}
     */
    record Authenticated(NodeId peer, @Nullable Frame frame) implements Step {}

    /**
     * Refused: send the frame (telling the peer why), log the code, and close.
     *
     * @param code a snake_case reason, for logs and metrics
     * @param message what and why
     * @param frame the {@code Refused} frame for the peer
     */
    record Refuse(String code, String message, Frame frame) implements Step {}
  }

  /** The connecting side. Not thread-safe; one per connection attempt. */
  public static final class Client {
    private final Identity self;
    private final byte[] nonce;

    /** Creates the client side with a fresh nonce. */
    public Client(Identity self, byte[] nonce) {
      this.self = self;
      this.nonce = nonce.clone();
    }

    /** Returns the first frame. */
    public Frame hello() {
      return Frame.newBuilder()
          .setClientHello(
              ClientHello.newBuilder()
                  .setProtocolVersion(PROTOCOL_VERSION)
                  .setClusterId(self.clusterId())
                  .setNodeId(self.nodeId().value())
                  .setNonce(ByteString.copyFrom(nonce)))
          .build();
    }

    /** Handles the server's answer to the hello. */
    public Step onChallenge(ServerChallenge challenge) {
      NodeId server;
      try {
        server = NodeId.of(challenge.getNodeId());
      } catch (InvalidNameException e) {
        return refuse("malformed", "server sent an invalid node id");
      }
      if (server.equals(self.nodeId())) {
        return refuse(
            "duplicate_node_id", "the server's node id " + server + " is this node's own id");
      }
      if (challenge.getNonce().size() != NONCE_BYTES) {
        return refuse("malformed", "the server's nonce must be " + NONCE_BYTES + " bytes");
      }
      byte[] expected =
          mac(
              self.secret(),
              "skein-server",
              nonce,
              challenge.getNonce().toByteArray(),
              server,
              self.nodeId());
      if (!MessageDigest.isEqual(expected, challenge.getProof().toByteArray())) {
        // Neither side can tell whose secret is the cluster's: say what differs, blame no one.
        return refuse("bad_proof", secretsDiffer(server, self.nodeId()));
      }
      byte[] proof =
          mac(
              self.secret(),
              "skein-client",
              challenge.getNonce().toByteArray(),
              nonce,
              self.nodeId(),
              server);
      Frame frame =
          Frame.newBuilder()
              .setClientProof(ClientProof.newBuilder().setProof(ByteString.copyFrom(proof)))
              .build();
      return new Step.Authenticated(server, frame);
    }
  }

  /** The accepting side. Not thread-safe; one per accepted connection. */
  public static final class Server {
    private final Identity self;
    private final byte[] nonce;
    private byte[] clientNonce = new byte[0];
    private NodeId client = NodeId.of("0");
    private boolean challenged;

    /** Creates the server side with a fresh nonce. */
    public Server(Identity self, byte[] nonce) {
      this.self = self;
      this.nonce = nonce.clone();
    }

    /** Returns the node id the client's hello claimed, or {@code null} before a valid hello. */
    public @Nullable NodeId client() {
      return challenged ? client : null;
    }

    /** Handles the client's hello: checks version, cluster and id, and sends the challenge. */
    public Step onHello(ClientHello hello) {
      if (hello.getProtocolVersion() != PROTOCOL_VERSION) {
        return refuse(
            "protocol_version",
            "peer speaks protocol "
                + hello.getProtocolVersion()
                + "; this node speaks "
                + PROTOCOL_VERSION);
      }
      if (!hello.getClusterId().equals(self.clusterId())) {
        return refuse(
            "cluster_mismatch",
            "peer belongs to cluster '"
                + hello.getClusterId()
                + "', not '"
                + self.clusterId()
                + "'");
      }
      if (hello.getNonce().size() != NONCE_BYTES) {
        return refuse("malformed", "the nonce must be " + NONCE_BYTES + " bytes");
      }
      try {
        client = NodeId.of(hello.getNodeId());
      } catch (InvalidNameException e) {
        return refuse("malformed", "peer sent an invalid node id");
      }
      if (client.equals(self.nodeId())) {
        return refuse(
            "duplicate_node_id",
            "peer claims node id "
                + client
                + ", which is this node's own id: two live nodes"
                + " share an id");
      }
      clientNonce = hello.getNonce().toByteArray();
      challenged = true;
      byte[] proof = mac(self.secret(), "skein-server", clientNonce, nonce, self.nodeId(), client);
      return new Step.Send(
          Frame.newBuilder()
              .setServerChallenge(
                  ServerChallenge.newBuilder()
                      .setNodeId(self.nodeId().value())
                      .setNonce(ByteString.copyFrom(nonce))
                      .setProof(ByteString.copyFrom(proof)))
              .build());
    }

    /** Handles the client's proof: welcomes an authenticated peer or refuses it. */
    public Step onProof(ClientProof proof) {
      if (!challenged) {
        return refuse("malformed", "proof before hello");
      }
      byte[] expected =
          mac(self.secret(), "skein-client", nonce, clientNonce, client, self.nodeId());
      if (!MessageDigest.isEqual(expected, proof.getProof().toByteArray())) {
        return refuse("bad_proof", secretsDiffer(client, self.nodeId()));
      }
      return new Step.Authenticated(
          client, Frame.newBuilder().setWelcome(Welcome.getDefaultInstance()).build());
    }
  }

  /** The message of a failed proof: the same words on both sides, naming both nodes. */
  private static String secretsDiffer(NodeId prover, NodeId verifier) {
    return "node "
        + prover
        + " and node "
        + verifier
        + " hold different cluster secrets (node "
        + prover
        + "'s proof does not verify with node "
        + verifier
        + "'s)";
  }

  /** Every refusal code this build sends. */
  public static final Set<String> REFUSAL_CODES =
      Set.of(
          "protocol_version",
          "cluster_mismatch",
          "malformed",
          "bad_proof",
          "duplicate_node_id",
          "unexpected_node_id",
          "unknown_peer");

  /**
   * Returns a received refusal code fit for a metric tag: the code if this build knows it, else
   * {@code other}. Anyone can send a refusal before authenticating, and a tag per made-up code
   * would make a meter each (an unbounded registry).
   */
  public static String knownCode(String code) {
    return REFUSAL_CODES.contains(code) ? code : "other";
  }

  /**
   * Returns text a peer sent, fit for a log line: at most 200 characters, control characters
   * replaced, so that a stranger cannot forge log lines or write kilobytes into each one.
   */
  public static String printable(String text) {
    String shown = text.length() <= 200 ? text : text.substring(0, 200) + "...";
    return shown.replaceAll("\\p{Cntrl}", "?");
  }

  private static Step.Refuse refuse(String code, String message) {
    return new Step.Refuse(code, message, refusedFrame(code, message));
  }

  /** Returns a {@code Refused} frame telling the peer why (also used by the transport). */
  public static Frame refusedFrame(String code, String message) {
    return Frame.newBuilder()
        .setRefused(Refused.newBuilder().setCode(code).setMessage(message))
        .build();
  }

  /** HMAC-SHA256 over a label and length-prefixed fields, so no two transcripts collide. */
  static byte[] mac(
      byte[] secret, String label, byte[] firstNonce, byte[] secondNonce, NodeId a, NodeId b) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      for (byte[] field :
          new byte[][] {
            label.getBytes(StandardCharsets.UTF_8),
            firstNonce,
            secondNonce,
            a.value().getBytes(StandardCharsets.UTF_8),
            b.value().getBytes(StandardCharsets.UTF_8)
          }) {
        mac.update(ByteBuffer.allocate(4).putInt(field.length).array());
        mac.update(field);
      }
      return mac.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is required by every Java platform", e);
    }
  }
}
