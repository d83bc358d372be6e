package io.skein.core.replica;

import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The multi-writer replication protocol between two nodes (docs/internals/replication.md).
 *
 * <p>Every node keeps a version vector: for each origin, the highest sequence it holds durably.
 * Because each origin numbers its entries densely, one number per origin says exactly which entries
 * a node holds, and the difference between two vectors is a set of contiguous ranges.
 */
public sealed interface PeerMessage {
  /** Returns the sender. */
  NodeId from();

  /**
   * Entries for the receiver to apply: new local commits pushed at once, or a range the receiver
   * asked for. Entries of one origin are in sequence order.
   *
   * @param from the sender
   * @param entries the entries, at most the push batch bound
   */
  record Push(NodeId from, List<OplogEntry> entries) implements PeerMessage {
    /** Copies the list. */
    public Push {
      entries = List.copyOf(entries);
    }
  }

  /**
   * The sender now holds these entries durably (sent after persisting pushed entries). It drives
   * write quorums ({@code w=majority|all}).
   *
   * @param from the sender
   * @param durable the sender's durable version vector
   */
  record Ack(NodeId from, Map<NodeId, Long> durable) implements PeerMessage {
    /** Copies the map. */
    public Ack {
      durable = Map.copyOf(durable);
    }
  }

  /**
   * Anti-entropy: "this is what I hold; send me what I lack". Sent every sync interval, and at once
   * when a push reveals a gap.
   *
   * @param from the sender
   * @param durable the sender's durable version vector
   */
  record SyncRequest(NodeId from, Map<NodeId, Long> durable) implements PeerMessage {
    /** Copies the map. */
    public SyncRequest {
      durable = Map.copyOf(durable);
    }
  }

  /**
   * A chunk of a snapshot, for a peer that needs entries this node no longer holds one by one
   * (behind its horizon). Chunks go one at a time, each after the previous one's {@link
   * SnapshotAck}.
   *
   * @param from the sender
   * @param vector the snapshot's version vector (its identity)
   * @param afterKey the key the chunk starts after, or {@code null} for the first chunk
   * @param documents the winning entries of the chunk's documents, tombstones included
   * @param lastKey the last key the chunk covers (where the next one starts)
   * @param done whether this is the last chunk
   */
  record SnapshotChunk(
      NodeId from,
      Map<NodeId, Long> vector,
      @Nullable DocumentKey afterKey,
      List<OplogEntry> documents,
      @Nullable DocumentKey lastKey,
      boolean done)
      implements PeerMessage {
    /** Copies the collections. */
    public SnapshotChunk {
      vector = Map.copyOf(vector);
      documents = List.copyOf(documents);
    }
  }

  /**
   * The receiver of a snapshot applied everything up to {@code lastKey} durably. Also sent every
   * sync interval while a transfer is open, so a sender that restarted resumes where the receiver
   * is.
   *
   * @param from the receiver
   * @param vector the snapshot's version vector
   * @param lastKey the last key applied, or {@code null} if none yet
   * @param done whether the whole snapshot is applied
   */
  record SnapshotAck(
      NodeId from, Map<NodeId, Long> vector, @Nullable DocumentKey lastKey, boolean done)
      implements PeerMessage {
    /** Copies the map. */
    public SnapshotAck {
      vector = Map.copyOf(vector);
    }
  }

  /**
   * Gateway election (D1): {@code from} asks for this node's vote to be the gateway in {@code
   * epoch}. See {@link GatewayElection}.
   */
  record GatewayVoteRequest(NodeId from, long epoch) implements PeerMessage {}

  /**
   * Gateway election: the answer to a {@link GatewayVoteRequest}. A refusal carries the voter's own
   * epoch, so a candidate behind it catches up.
   */
  record GatewayVote(NodeId from, long epoch, boolean granted) implements PeerMessage {}

  /**
   * Gateway election: sent by every node every heartbeat. It says which epoch the sender is in and
   * which gateway it follows ({@code null}: none; the sender itself: it is the gateway), so a
   * gateway counts its followers and a node notices a live one.
   */
  record GatewayBeacon(NodeId from, long epoch, @Nullable NodeId gateway) implements PeerMessage {}
}
