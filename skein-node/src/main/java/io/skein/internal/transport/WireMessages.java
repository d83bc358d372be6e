package io.skein.internal.transport;

import io.skein.core.hlc.Hlc;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.Operation;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.replica.PeerMessage;
import io.skein.internal.transport.proto.Ack;
import io.skein.internal.transport.proto.Entry;
import io.skein.internal.transport.proto.Frame;
import io.skein.internal.transport.proto.GatewayBeacon;
import io.skein.internal.transport.proto.GatewayVote;
import io.skein.internal.transport.proto.GatewayVoteRequest;
import io.skein.internal.transport.proto.Push;
import io.skein.internal.transport.proto.SnapshotAck;
import io.skein.internal.transport.proto.SnapshotChunk;
import io.skein.internal.transport.proto.SyncRequest;
import io.skein.internal.transport.proto.VectorEntry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Maps the core's {@link PeerMessage}s to wire {@link Frame}s and back. Decoding validates every
 * field (names, ranges, the entry checksum), so the core only ever sees well-formed messages.
 */
public final class WireMessages {
  private WireMessages() {}

  /** Encodes a replication message. */
  public static Frame toFrame(PeerMessage message) {
    return switch (message) {
      case PeerMessage.Push push ->
          Frame.newBuilder()
              .setPush(
                  Push.newBuilder()
                      .setFrom(push.from().value())
                      .addAllEntries(push.entries().stream().map(WireMessages::entry).toList()))
              .build();
      case PeerMessage.Ack ack ->
          Frame.newBuilder()
              .setAck(
                  Ack.newBuilder().setFrom(ack.from().value()).addAllDurable(vector(ack.durable())))
              .build();
      case PeerMessage.SyncRequest request ->
          Frame.newBuilder()
              .setSyncRequest(
                  SyncRequest.newBuilder()
                      .setFrom(request.from().value())
                      .addAllDurable(vector(request.durable())))
              .build();
      case PeerMessage.SnapshotChunk chunk -> {
        SnapshotChunk.Builder builder =
            SnapshotChunk.newBuilder()
                .setFrom(chunk.from().value())
                .addAllVector(vector(chunk.vector()))
                .addAllDocuments(chunk.documents().stream().map(WireMessages::entry).toList())
                .setDone(chunk.done());
        DocumentKey after = chunk.afterKey();
        if (after != null) {
          builder.setAfterKey(key(after));
        }
        DocumentKey last = chunk.lastKey();
        if (last != null) {
          builder.setLastKey(key(last));
        }
        yield Frame.newBuilder().setSnapshotChunk(builder).build();
      }
      case PeerMessage.SnapshotAck ack -> {
        SnapshotAck.Builder builder =
            SnapshotAck.newBuilder()
                .setFrom(ack.from().value())
                .addAllVector(vector(ack.vector()))
                .setDone(ack.done());
        DocumentKey last = ack.lastKey();
        if (last != null) {
          builder.setLastKey(key(last));
        }
        yield Frame.newBuilder().setSnapshotAck(builder).build();
      }
      case PeerMessage.GatewayVoteRequest request ->
          Frame.newBuilder()
              .setGatewayVoteRequest(
                  GatewayVoteRequest.newBuilder()
                      .setFrom(request.from().value())
                      .setEpoch(request.epoch()))
              .build();
      case PeerMessage.GatewayVote vote ->
          Frame.newBuilder()
              .setGatewayVote(
                  GatewayVote.newBuilder()
                      .setFrom(vote.from().value())
                      .setEpoch(vote.epoch())
                      .setGranted(vote.granted()))
              .build();
      case PeerMessage.GatewayBeacon beacon -> {
        NodeId gateway = beacon.gateway();
        yield Frame.newBuilder()
            .setGatewayBeacon(
                GatewayBeacon.newBuilder()
                    .setFrom(beacon.from().value())
                    .setEpoch(beacon.epoch())
                    .setGateway(gateway == null ? "" : gateway.value()))
            .build();
      }
    };
  }

  /**
   * Encodes a replication message as one or more frames whose payloads fit {@code payloadBytesMax}:
   * a push too large for one frame is split into consecutive pushes, in order. Acks and sync
   * requests always fit (a vector entry per origin).
   *
   * @throws IllegalArgumentException if a single entry is larger than the limit
   */
  public static List<Frame> toFrames(PeerMessage message, int payloadBytesMax) {
    if (!(message instanceof PeerMessage.Push push)) {
      return List.of(toFrame(message));
    }
    List<Frame> frames = new ArrayList<>();
    Push.Builder current = Push.newBuilder().setFrom(push.from().value());
    // Per-entry overhead inside the Push and the Frame: tag + length varints, at most 12 bytes.
    int base = current.build().getSerializedSize() + 16;
    int size = base;
    for (OplogEntry e : push.entries()) {
      Entry wire = entry(e);
      int entryBytes = wire.getSerializedSize() + 6;
      if (base + entryBytes > payloadBytesMax) {
        throw new IllegalArgumentException(
            "entry "
                + e.origin()
                + "/"
                + e.sequence()
                + " needs "
                + entryBytes
                + " bytes; the frame limit is "
                + payloadBytesMax);
      }
      if (size + entryBytes > payloadBytesMax && current.getEntriesCount() > 0) {
        frames.add(Frame.newBuilder().setPush(current).build());
        current = Push.newBuilder().setFrom(push.from().value());
        size = base;
      }
      current.addEntries(wire);
      size += entryBytes;
    }
    frames.add(Frame.newBuilder().setPush(current).build());
    return frames;
  }

  /** A rough size of a message in memory, for the send queues' byte bounds. */
  static long estimateBytes(PeerMessage message) {
    List<OplogEntry> entries =
        switch (message) {
          case PeerMessage.Push push -> push.entries();
          case PeerMessage.SnapshotChunk chunk -> chunk.documents();
          default -> List.of();
        };
    return estimateBytes(entries);
  }

  /** A rough size of entries in memory: their documents and ids, plus fixed overheads. */
  static long estimateBytes(List<OplogEntry> entries) {
    long bytes = 256;
    for (OplogEntry entry : entries) {
      String document = entry.document();
      bytes += 64 + entry.id().value().length() + (document == null ? 0 : document.length());
    }
    return bytes;
  }

  /**
   * Decodes a replication message.
   *
   * @throws FrameException if the frame is not a replication message or a field is invalid
   */
  public static PeerMessage fromFrame(Frame frame) throws FrameException {
    try {
      return switch (frame.getBodyCase()) {
        case PUSH -> push(frame.getPush());
        case ACK ->
            new PeerMessage.Ack(
                NodeId.of(frame.getAck().getFrom()), vector(frame.getAck().getDurableList()));
        case SYNC_REQUEST ->
            new PeerMessage.SyncRequest(
                NodeId.of(frame.getSyncRequest().getFrom()),
                vector(frame.getSyncRequest().getDurableList()));
        case SNAPSHOT_CHUNK -> snapshotChunk(frame.getSnapshotChunk());
        case SNAPSHOT_ACK -> {
          SnapshotAck ack = frame.getSnapshotAck();
          yield new PeerMessage.SnapshotAck(
              NodeId.of(ack.getFrom()),
              vector(ack.getVectorList()),
              ack.hasLastKey() ? key(ack.getLastKey()) : null,
              ack.getDone());
        }
        case GATEWAY_VOTE_REQUEST ->
            new PeerMessage.GatewayVoteRequest(
                NodeId.of(frame.getGatewayVoteRequest().getFrom()),
                epoch(frame.getGatewayVoteRequest().getEpoch()));
        case GATEWAY_VOTE ->
            new PeerMessage.GatewayVote(
                NodeId.of(frame.getGatewayVote().getFrom()),
                epoch(frame.getGatewayVote().getEpoch()),
                frame.getGatewayVote().getGranted());
        case GATEWAY_BEACON -> {
          GatewayBeacon beacon = frame.getGatewayBeacon();
          yield new PeerMessage.GatewayBeacon(
              NodeId.of(beacon.getFrom()),
              epoch(beacon.getEpoch()),
              beacon.getGateway().isEmpty() ? null : NodeId.of(beacon.getGateway()));
        }
        default ->
            throw new FrameException(
                FrameException.Reason.MALFORMED,
                "expected a replication message, got " + frame.getBodyCase());
      };
    } catch (IllegalArgumentException e) {
      throw new FrameException(
          FrameException.Reason.MALFORMED, "invalid field: " + e.getMessage(), e);
    }
  }

  /** An election epoch: uint64 on the wire, a non-negative long in the core. */
  private static long epoch(long wire) {
    if (wire < 0) {
      throw new IllegalArgumentException("epoch " + Long.toUnsignedString(wire) + " is too large");
    }
    return wire;
  }

  private static PeerMessage push(Push push) throws FrameException {
    List<OplogEntry> entries = new ArrayList<>(push.getEntriesCount());
    for (Entry wire : push.getEntriesList()) {
      OplogEntry entry = entry(wire);
      if (!entry.isIntact()) {
        throw new FrameException(
            FrameException.Reason.CHECKSUM,
            "entry " + entry.origin() + "/" + entry.sequence() + " fails its checksum");
      }
      entries.add(entry);
    }
    return new PeerMessage.Push(NodeId.of(push.getFrom()), entries);
  }

  private static PeerMessage snapshotChunk(SnapshotChunk chunk) throws FrameException {
    List<OplogEntry> documents = new ArrayList<>(chunk.getDocumentsCount());
    for (Entry wire : chunk.getDocumentsList()) {
      OplogEntry entry = entry(wire);
      if (!entry.isIntact()) {
        throw new FrameException(
            FrameException.Reason.CHECKSUM,
            "snapshot document " + entry.key() + " fails its checksum");
      }
      documents.add(entry);
    }
    return new PeerMessage.SnapshotChunk(
        NodeId.of(chunk.getFrom()),
        vector(chunk.getVectorList()),
        chunk.hasAfterKey() ? key(chunk.getAfterKey()) : null,
        documents,
        chunk.hasLastKey() ? key(chunk.getLastKey()) : null,
        chunk.getDone());
  }

  static io.skein.internal.transport.proto.DocumentKey key(DocumentKey key) {
    return io.skein.internal.transport.proto.DocumentKey.newBuilder()
        .setCollection(key.collection().value())
        .setId(key.id().value())
        .build();
  }

  static DocumentKey key(io.skein.internal.transport.proto.DocumentKey wire) {
    return new DocumentKey(new CollectionName(wire.getCollection()), DocumentId.of(wire.getId()));
  }

  /** Encodes an oplog entry. */
  public static Entry entry(OplogEntry e) {
    Entry.Builder builder =
        Entry.newBuilder()
            .setOrigin(e.origin().value())
            .setSequence(e.sequence())
            .setHlc(e.hlc().pack())
            .setOp(e.operation() == Operation.PUT ? 1 : 2)
            .setCollection(e.collection().value())
            .setId(e.id().value())
            .setEpoch(e.epoch())
            .setIndex(e.index())
            .setChecksum(e.checksum());
    String document = e.document();
    if (document != null) {
      builder.setDocument(document);
    }
    return builder.build();
  }

  /**
   * Decodes an oplog entry (its checksum is not checked here).
   *
   * @throws IllegalArgumentException if a field is invalid
   */
  public static OplogEntry entry(Entry wire) {
    Operation operation =
        switch (wire.getOp()) {
          case 1 -> Operation.PUT;
          case 2 -> Operation.DELETE;
          default -> throw new IllegalArgumentException("unknown op " + wire.getOp());
        };
    return new OplogEntry(
        NodeId.of(wire.getOrigin()),
        wire.getSequence(),
        Hlc.unpack(wire.getHlc()),
        operation,
        new CollectionName(wire.getCollection()),
        DocumentId.of(wire.getId()),
        wire.hasDocument() ? wire.getDocument() : null,
        wire.getEpoch(),
        wire.getIndex(),
        wire.getChecksum());
  }

  /** Encodes a version vector, sorted by origin. */
  public static List<VectorEntry> vector(Map<NodeId, Long> vector) {
    return vector.entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .map(
            e ->
                VectorEntry.newBuilder()
                    .setOrigin(e.getKey().value())
                    .setSequence(e.getValue())
                    .build())
        .toList();
  }

  /**
   * Decodes a version vector.
   *
   * @throws IllegalArgumentException if an origin is invalid or repeated, or a sequence negative
   */
  public static Map<NodeId, Long> vector(List<VectorEntry> entries) {
    Map<NodeId, Long> vector = new HashMap<>();
    for (VectorEntry entry : entries) {
      if (entry.getSequence() < 0) {
        throw new IllegalArgumentException("negative sequence for " + entry.getOrigin());
      }
      if (vector.put(NodeId.of(entry.getOrigin()), entry.getSequence()) != null) {
        throw new IllegalArgumentException("origin " + entry.getOrigin() + " appears twice");
      }
    }
    return vector;
  }
}
