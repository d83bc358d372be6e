package io.skein.internal.site;

import io.skein.Skein;
import io.skein.core.model.CollectionName;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.Operation;
import io.skein.core.oplog.OplogEntry;
import io.skein.internal.transport.WireMessages;
import io.skein.internal.transport.proto.Entry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What both ends of a site-to-site sync share: which entries to send, and the two rules that keep
 * sites apart.
 *
 * <ul>
 *   <li><b>System collections stay home.</b> Every origin numbers its entries densely, and a
 *       receiver takes an origin's entries only in order, so an entry cannot simply be left out. An
 *       entry of a {@code _system_} collection ({@code _system_config}, {@code
 *       _system_remote_peers}, ...) leaves as a delete of a key in {@link #OTHER_SITE} that nothing
 *       reads: the sequence stays dense and the other site's settings and peer list are not
 *       touched. Its tombstone is collected like any other.
 *   <li><b>A site takes only other sites' entries.</b> Entries whose origin is a member of the
 *       receiving cluster come to it over its own peer streams, whole; a copy from another site
 *       (which may have been rewritten by the first rule) is never taken.
 * </ul>
 */
public final class SiteBatches {
  /** The wire protocol version of {@code POST /v1/sync}. */
  public static final int PROTOCOL_VERSION = 1;

  /** The most entries in one request or answer. */
  public static final int ENTRIES_MAX = 2_000;

  /**
   * The most encoded entry bytes in one request or answer: half the default request limit ({@code
   * limits.max-request-bytes}, 8 MiB), so a request fits it with room to spare.
   */
  public static final long BYTES_MAX = 4L << 20;

  /** The collection other sites' system entries are written to, as deletes. */
  public static final CollectionName OTHER_SITE = CollectionName.system("_system_other_site");

  private static final int READ_CHUNK = 500;

  private SiteBatches() {}

  /**
   * Entries to send, with whether more remain and the origins the other side cannot be sent.
   *
   * @param entries in sequence order per origin, already made fit for another site
   * @param more whether the budget ended the batch before everything the other side lacks
   * @param behindHorizon origins whose next entry the other side needs is no longer in this node's
   *     oplog (retention removed it): the other side needs a snapshot, which site sync does not do
   */
  public record Outgoing(List<OplogEntry> entries, boolean more, List<NodeId> behindHorizon) {
    /** Copies the lists. */
    public Outgoing {
      entries = List.copyOf(entries);
      behindHorizon = List.copyOf(behindHorizon);
    }
  }

  /**
   * Reads the entries the other side lacks: for every origin this node holds past {@code theirs},
   * from the next sequence on, in order, up to {@code entriesMax} entries and about {@code
   * bytesMax} bytes in all.
   */
  public static Outgoing select(
      Skein skein,
      Map<NodeId, Long> mine,
      Map<NodeId, Long> theirs,
      int entriesMax,
      long bytesMax) {
    return select(skein, mine, theirs, entriesMax, bytesMax, 0);
  }

  /**
   * As {@link #select(Skein, Map, Map, int, long)}, starting with the origin at {@code rotation}
   * (modulo their number) in id order, so that an origin the other side keeps refusing (its clock
   * too far ahead, say) cannot hold back the origins after it round after round. The byte bound
   * counts each entry's encoded size; the first entry always fits, so a batch is never empty while
   * the other side lacks something.
   */
  public static Outgoing select(
      Skein skein,
      Map<NodeId, Long> mine,
      Map<NodeId, Long> theirs,
      int entriesMax,
      long bytesMax,
      int rotation) {
    List<OplogEntry> out = new ArrayList<>();
    List<NodeId> behind = new ArrayList<>();
    List<Map.Entry<NodeId, Long>> origins = new ArrayList<>(new TreeMap<>(mine).entrySet());
    if (!origins.isEmpty()) {
      java.util.Collections.rotate(origins, -Math.floorMod(rotation, origins.size()));
    }
    long bytes = 0;
    boolean more = false;
    originsLoop:
    for (Map.Entry<NodeId, Long> held : origins) {
      NodeId origin = held.getKey();
      long next = theirs.getOrDefault(origin, 0L) + 1;
      long last = held.getValue();
      while (next <= last) {
        int room = entriesMax - out.size();
        if (room <= 0) {
          more = true;
          break originsLoop;
        }
        List<OplogEntry> chunk =
            skein.oplogEntries(
                origin, next, (int) Math.min(Math.min(room, READ_CHUNK), last - next + 1));
        if (chunk.isEmpty() || chunk.get(0).sequence() != next) {
          behind.add(origin);
          continue originsLoop;
        }
        for (OplogEntry entry : chunk) {
          if (entry.sequence() != next) {
            behind.add(origin);
            continue originsLoop;
          }
          OplogEntry leaving = forOtherSite(entry);
          long size = size(leaving);
          if (!out.isEmpty() && bytes + size > bytesMax) {
            more = true;
            break originsLoop;
          }
          out.add(leaving);
          bytes += size;
          next++;
        }
      }
    }
    return new Outgoing(out, more, behind);
  }

  /** The entry's encoded size in a request or answer, with the field's own overhead. */
  private static long size(OplogEntry entry) {
    return WireMessages.entry(entry).getSerializedSize() + 8L;
  }

  /**
   * Returns the entry as it may leave for another site: itself, or, for a {@code _system_}
   * collection, a delete of the same id in {@link #OTHER_SITE} with the same origin, sequence and
   * clock (the checksum recomputed).
   */
  public static OplogEntry forOtherSite(OplogEntry entry) {
    if (!entry.collection().isSystem() || entry.collection().equals(OTHER_SITE)) {
      return entry;
    }
    return OplogEntry.createInLog(
        entry.origin(),
        entry.sequence(),
        entry.hlc(),
        Operation.DELETE,
        OTHER_SITE,
        entry.id(),
        null,
        0,
        0);
  }

  /**
   * Keeps the entries a site may take from another: those whose origin is not a member of this
   * cluster, and that are fit for another site (no system collection but {@link #OTHER_SITE}).
   *
   * @throws IllegalArgumentException naming the first entry of a system collection
   */
  public static List<OplogEntry> fromOtherSite(List<OplogEntry> entries, Set<NodeId> members) {
    List<OplogEntry> kept = new ArrayList<>(entries.size());
    for (OplogEntry entry : entries) {
      if (entry.collection().isSystem() && !entry.collection().equals(OTHER_SITE)) {
        throw new IllegalArgumentException(
            "entry "
                + entry.origin()
                + "/"
                + entry.sequence()
                + " writes the system collection "
                + entry.collection()
                + ", which no site takes from another");
      }
      if (!members.contains(entry.origin())) {
        kept.add(entry);
      }
    }
    return kept;
  }

  /**
   * Decodes wire entries and checks each one's checksum.
   *
   * @throws IllegalArgumentException naming the first invalid or corrupt entry
   */
  public static List<OplogEntry> decode(List<Entry> wire) {
    List<OplogEntry> entries = new ArrayList<>(wire.size());
    for (int i = 0; i < wire.size(); i++) {
      OplogEntry entry;
      try {
        entry = WireMessages.entry(wire.get(i));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("entry " + i + ": " + e.getMessage(), e);
      }
      if (!entry.isIntact()) {
        throw new IllegalArgumentException(
            "entry " + entry.origin() + "/" + entry.sequence() + " fails its checksum");
      }
      entries.add(entry);
    }
    return entries;
  }
}
