package io.skein.core.replica;

import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import java.util.List;
import java.util.Map;

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
}
