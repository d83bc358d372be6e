package io.skein.node;

import static io.skein.node.DynamoClusterTest.await;
import static io.skein.node.DynamoClusterTest.connected;
import static io.skein.node.DynamoClusterTest.members;
import static io.skein.node.DynamoClusterTest.metric;
import static org.assertj.core.api.Assertions.assertThat;

import io.skein.internal.transport.Handshake;
import io.skein.internal.transport.PeerTransport;
import io.skein.node.DynamoClusterTest.Member;
import io.skein.node.config.ConfigSources;
import io.skein.testkit.HttpJson;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The peer endpoint gives nothing to strangers (issue 12, item 4): before the handshake completes a
 * stream may send only a handshake-sized message, must finish within a deadline, and only so many
 * such streams are open, from one address and in all; yet a real peer connects and replicates, even
 * while a stranger keeps every slot busy. Every stream here, peer or stranger, comes from
 * 127.0.0.1: the choice among addresses is shown in {@code HandshakeGateTest}; the flood test sets
 * the address's share to the whole, so that one stranger can hold every slot; and the tests that
 * hold slots set a deadline far beyond their own, so that nothing they show waits for it.
 */
@Timeout(120)
class PeerEndpointTest {
  private static final String SECRET = "a-test-cluster-secret-of-some-length";

  @TempDir Path dir;
  private final List<NodeServer> servers = new ArrayList<>();
  private final List<WebSocket> strangers = new ArrayList<>();
  private final HttpClient client = HttpClient.newHttpClient();

  @AfterEach
  void stopAll() {
    strangers.forEach(WebSocket::abort);
    client.close();
    servers.forEach(NodeServer::close);
  }

  /** A handshake deadline no test waits for: what these tests show happens without it. */
  private static final long NO_DEADLINE_MS = TimeUnit.MINUTES.toMillis(10);

  private NodeServer start(Member self, List<Member> all) {
    return start(self, all, UnaryOperator.identity());
  }

  /** Starts a node whose bounds on strangers are {@code streamsMax}, all from one address. */
  private NodeServer start(Member self, List<Member> all, int streamsMax) {
    return start(
        self, all, options -> options.withStrangerLimits(NO_DEADLINE_MS, streamsMax, streamsMax));
  }

  private NodeServer start(
      Member self, List<Member> all, UnaryOperator<PeerTransport.Options> tuning) {
    List<String> peers = new ArrayList<>();
    for (Member m : all) {
      if (!m.id().equals(self.id())) {
        peers.add(m.peerJson());
      }
    }
    NodeServer server =
        NodeServer.start(
            ConfigSources.builder()
                .flag("--port", String.valueOf(self.port()))
                .flag("--node-id", self.id())
                .flag("--mode", "dynamo")
                .flag("--data-dir", String.valueOf(dir.resolve("data-" + self.id())))
                .flag("--peers", "[" + String.join(",", peers) + "]")
                .flag("--sync-interval", "0.2")
                .flag("--cluster-secret", SECRET)
                .build(),
            tuning);
    servers.add(server);
    return server;
  }

  /** Opens a stream to the peer endpoint that says nothing; completes with its close status. */
  private CompletableFuture<String> silentStranger(NodeServer server) throws Exception {
    return silentStrangers(server, 1).get(0);
  }

  /** Opens {@code count} silent streams at once; each future completes with its close status. */
  private List<CompletableFuture<String>> silentStrangers(NodeServer server, int count)
      throws Exception {
    List<CompletableFuture<String>> closes = new ArrayList<>();
    List<CompletableFuture<WebSocket>> opening = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      CompletableFuture<String> closed = new CompletableFuture<>();
      closes.add(closed);
      opening.add(open(server, closed));
    }
    for (CompletableFuture<WebSocket> ws : opening) {
      strangers.add(ws.get(10, TimeUnit.SECONDS));
    }
    return closes;
  }

  private CompletableFuture<WebSocket> open(NodeServer server, CompletableFuture<String> closed) {
    return client
        .newWebSocketBuilder()
        .buildAsync(
            URI.create("ws://127.0.0.1:" + server.port() + PeerTransport.PATH),
            new WebSocket.Listener() {
              @Override
              public @Nullable CompletionStage<?> onClose(WebSocket w, int code, String reason) {
                closed.complete(code + " " + reason);
                return null;
              }

              @Override
              public void onError(WebSocket w, Throwable error) {
                closed.complete("error " + error);
              }
            });
  }

  @Test
  void anOversizedFrameBeforeTheHandshakeIsRefusedFromItsHeader() throws Exception {
    List<Member> all = members("1");
    NodeServer one = start(all.get(0), all);
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), one.port())) {
      socket.setSoTimeout(10_000);
      upgrade(socket, one.port());
      // A binary frame that declares 16 MiB, of which only 64 KiB are ever sent. A node that
      // buffered it would wait for the rest; a bounded one refuses it from what it has seen.
      OutputStream out = socket.getOutputStream();
      out.write(frameHeader(16L << 20));
      out.write(new byte[64 << 10]);
      out.flush();
      assertThat(closeStatus(socket.getInputStream()))
          .as("closed with 1009 (message too big) before the 16 MiB arrived")
          .isEqualTo(1009);
    }
    assertThat(
            await(
                Duration.ofSeconds(10),
                () -> {
                  try {
                    return metric(one, "skein_peer_streams_refused_total{reason=\"too_large\"}")
                        == 1;
                  } catch (Exception e) {
                    return false;
                  }
                }))
        .isTrue();
    assertThat(metric(one, "skein_peer_frames_refused_total{reason=\"too_large\"}")).isEqualTo(1);
    assertThat(
            await(
                Duration.ofSeconds(10),
                () -> {
                  try {
                    return metric(one, "skein_peer_streams_unauthenticated") == 0;
                  } catch (Exception e) {
                    return false;
                  }
                }))
        .as("the stream gave its slot back")
        .isTrue();
  }

  /** Sends the HTTP upgrade to the peer endpoint and reads the 101 answer's head. */
  private static void upgrade(Socket socket, int port) throws IOException {
    String key = Base64.getEncoder().encodeToString(new byte[16]);
    String request =
        "GET "
            + PeerTransport.PATH
            + " HTTP/1.1\r\nHost: 127.0.0.1:"
            + port
            + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
            + key
            + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
    socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
    InputStream in = socket.getInputStream();
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("closed during the upgrade: " + head);
      }
      head.append((char) b);
    }
    assertThat(head.toString()).startsWith("HTTP/1.1 101");
  }

  /** A masked binary frame's header (FIN, opcode 2) declaring {@code length} bytes; mask 0. */
  private static byte[] frameHeader(long length) {
    byte[] header = new byte[2 + 8 + 4];
    header[0] = (byte) 0x82;
    header[1] = (byte) (0x80 | 127);
    for (int i = 0; i < 8; i++) {
      header[2 + i] = (byte) (length >>> (8 * (7 - i)));
    }
    return header; // the mask key is the last four bytes: zeros, so the payload goes as is
  }

  /** Reads frames from the server until a close frame; returns its status code. */
  private static int closeStatus(InputStream raw) throws IOException {
    DataInputStream in = new DataInputStream(raw);
    while (true) {
      int first = in.readUnsignedByte();
      int second = in.readUnsignedByte();
      long length = second & 0x7F;
      if (length == 126) {
        length = in.readUnsignedShort();
      } else if (length == 127) {
        length = in.readLong();
      }
      byte[] payload = new byte[(int) length];
      in.readFully(payload);
      if ((first & 0x0F) == 8) {
        return payload.length < 2 ? -1 : ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF);
      }
    }
  }

  @Test
  void aSilentStrangerIsClosedAtTheHandshakeDeadline() throws Exception {
    List<Member> all = members("1");
    NodeServer one = start(all.get(0), all);
    long start = System.nanoTime();
    CompletableFuture<String> closed = silentStranger(one);
    // The idle timeout (30 s) would close it too, but much later than the handshake deadline.
    assertThat(
            closed.get(PeerTransport.Options.HANDSHAKE_DEADLINE_MS + 10_000, TimeUnit.MILLISECONDS))
        .isEqualTo("1008 handshake_timeout");
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .isGreaterThanOrEqualTo(Duration.ofMillis(PeerTransport.Options.HANDSHAKE_DEADLINE_MS));
    assertThat(metric(one, "skein_peer_streams_refused_total{reason=\"handshake_timeout\"}"))
        .isEqualTo(1);
    assertThat(awaitUnauthenticated(one, 0)).isTrue();
  }

  /** Waits until {@code skein_peer_streams_unauthenticated} reads {@code count}. */
  private static boolean awaitUnauthenticated(NodeServer server, int count) throws Exception {
    return await(
        Duration.ofSeconds(20),
        () -> {
          try {
            return metric(server, "skein_peer_streams_unauthenticated") == count;
          } catch (Exception e) {
            return false;
          }
        });
  }

  @Test
  void pastItsAddressesShareTheOldestStrangerMakesWayAndRealPeersStillConnect() throws Exception {
    List<Member> all = members("1", "2", "3");
    UnaryOperator<PeerTransport.Options> noDeadline =
        options ->
            options.withStrangerLimits(
                NO_DEADLINE_MS,
                PeerTransport.Options.UNAUTHENTICATED_STREAMS_MAX,
                PeerTransport.Options.UNAUTHENTICATED_STREAMS_PER_ADDRESS_MAX);
    NodeServer one = start(all.get(0), all, noDeadline);
    NodeServer two = start(all.get(1), all, noDeadline);
    assertThat(await(Duration.ofSeconds(20), () -> connected(one, "2") && connected(two, "1")))
        .isTrue();

    // One at a time, so that the node saw them in this order.
    int share = PeerTransport.Options.UNAUTHENTICATED_STREAMS_PER_ADDRESS_MAX;
    List<CompletableFuture<String>> held = new ArrayList<>();
    for (int i = 0; i < share; i++) {
      held.add(silentStranger(one));
      assertThat(awaitUnauthenticated(one, i + 1)).isTrue();
    }
    CompletableFuture<String> newcomer = silentStranger(one);
    assertThat(held.get(0).get(10, TimeUnit.SECONDS))
        .as("the oldest stranger from 127.0.0.1 makes way for the newcomer")
        .isEqualTo("1013 per_address_max");
    assertThat(newcomer).isNotDone();
    assertThat(held.subList(1, share)).noneMatch(CompletableFuture::isDone);
    assertThat(metric(one, "skein_peer_streams_refused_total{reason=\"per_address_max\"}"))
        .isEqualTo(1);
    assertThat(metric(one, "skein_peer_streams_unauthenticated")).isEqualTo(share);

    // Authenticated streams are not strangers: replication goes on.
    try (HttpJson h2 = new HttpJson(URI.create("http://127.0.0.1:" + two.port()))) {
      assertThat(h2.put("/v1/collections/c/docs/during?w=majority", "{}").status()).isEqualTo(200);
    }
    // A peer that starts now, from the strangers' address, gets in although no deadline comes.
    NodeServer three = start(all.get(2), all, noDeadline);
    assertThat(
            await(
                Duration.ofSeconds(30),
                () -> connected(three, "1") && connected(one, "3") && connected(three, "2")))
        .isTrue();
    assertThat(metric(one, "skein_peer_streams_refused_total{reason=\"handshake_timeout\"}"))
        .isZero();

    // Every slot comes back once, whether its stream was evicted, authenticated or closed.
    strangers.forEach(WebSocket::abort);
    assertThat(awaitUnauthenticated(one, 0)).isTrue();
  }

  @Test
  void aRealPeerConnectsWhileAStrangerKeepsEverySlotBusy() throws Exception {
    int slots = PeerTransport.Options.UNAUTHENTICATED_STREAMS_MAX;
    List<Member> all = members("1", "2");
    NodeServer one = start(all.get(0), all, slots);
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger opened = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    // The stranger opens stream after stream, for as long as the test runs, keeping its newest
    // open; each one past the slots evicts its oldest. It never waits for a deadline.
    Thread flood =
        new Thread(
            () -> {
              List<WebSocket> mine = new ArrayList<>();
              List<CompletableFuture<String>> closes = new ArrayList<>();
              try {
                while (!stop.get()) {
                  CompletableFuture<String> closed = new CompletableFuture<>();
                  try {
                    mine.add(open(one, closed).get(10, TimeUnit.SECONDS));
                    closes.add(closed);
                    opened.incrementAndGet();
                  } catch (Exception e) {
                    failed.incrementAndGet();
                  }
                  for (int i = closes.size() - 1; i >= 0; i--) {
                    if (closes.get(i).isDone()) {
                      closes.remove(i);
                      mine.remove(i).abort();
                    }
                  }
                }
              } finally {
                mine.forEach(WebSocket::abort);
              }
            },
            "stranger-flood");
    flood.setDaemon(true);
    flood.start();
    try {
      assertThat(awaitUnauthenticated(one, slots)).as("the stranger holds every slot").isTrue();
      String evicted = "skein_peer_streams_refused_total{reason=\"per_address_max\"}";
      double evictedBefore = metric(one, evicted);
      int openedBefore = opened.get();

      NodeServer two = start(all.get(1), all, slots);
      assertThat(await(Duration.ofSeconds(60), () -> connected(two, "1") && connected(one, "2")))
          .as("the peer's stream into the flooded node authenticated")
          .isTrue();

      assertThat(opened.get() - openedBefore)
          .as("the stranger kept reopening while the peer connected")
          .isPositive();
      assertThat(metric(one, evicted)).isGreaterThan(evictedBefore);
      assertThat(metric(one, "skein_peer_streams_refused_total{reason=\"handshake_timeout\"}"))
          .isZero();
      assertThat(flood.isAlive()).isTrue();
    } finally {
      stop.set(true);
      flood.join(TimeUnit.SECONDS.toMillis(20));
    }
    assertThat(failed).as("no stranger's upgrade failed").hasValue(0);
    assertThat(awaitUnauthenticated(one, 0)).as("every slot came back once").isTrue();
  }

  @Test
  void aStrangersMadeUpRefusalCodeMintsNoMeterAndForgesNoLogLine() throws Exception {
    List<Member> all = members("1");
    NodeServer one = start(all.get(0), all);
    CompletableFuture<String> closed = new CompletableFuture<>();
    WebSocket ws = open(one, closed).get(10, TimeUnit.SECONDS);
    strangers.add(ws);
    String code = "made-up-" + System.nanoTime();
    byte[] refusal =
        new io.skein.internal.transport.FrameCodec(1 << 10)
            .encode(Handshake.refusedFrame(code, "line one\n2099-01-01 ERROR forged"));
    ws.sendBinary(java.nio.ByteBuffer.wrap(refusal), true).get(10, TimeUnit.SECONDS);
    assertThat(closed.get(10, TimeUnit.SECONDS)).isEqualTo("1008 refused");
    assertThat(metric(one, "skein_peer_handshake_refusals_total{reason=\"other\",side=\"remote\"}"))
        .isEqualTo(1);
    try (HttpJson http = new HttpJson(URI.create("http://127.0.0.1:" + one.port()))) {
      assertThat(http.get("/metrics").body()).doesNotContain(code);
    }
    assertThat(Handshake.printable("a\nb\u0000c")).isEqualTo("a?b?c");
  }

  @Test
  void aHandshakeFrameFitsTheLimitWithRoom() {
    // The largest hello: 64-character cluster and node ids, both random values and a long URL.
    io.skein.internal.transport.proto.Frame hello =
        io.skein.internal.transport.proto.Frame.newBuilder()
            .setClientHello(
                io.skein.internal.transport.proto.ClientHello.newBuilder()
                    .setProtocolVersion(Handshake.PROTOCOL_VERSION)
                    .setClusterId("c".repeat(64))
                    .setNodeId("n".repeat(64))
                    .setNonce(com.google.protobuf.ByteString.copyFrom(new byte[32]))
                    .setIncarnation(com.google.protobuf.ByteString.copyFrom(new byte[16]))
                    .setUrl("https://" + "h".repeat(253) + ":65535"))
            .build();
    assertThat(hello.getSerializedSize()).isLessThan(Handshake.MESSAGE_BYTES_MAX / 4);
  }
}
