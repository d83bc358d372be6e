package io.skein.core.oplog;

import io.skein.core.hlc.Hlc;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;
import org.jspecify.annotations.Nullable;

/**
 * One mutation in the oplog: the unit that is persisted, replicated and applied.
 *
 * <p>Design notes. {@code (origin, sequence)} names an entry uniquely: each origin numbers its own
 * entries densely from 1, so a replica that holds sequence {@code n} from an origin holds all of
 * {@code 1..n}, and anti-entropy only compares one number per origin. {@code (hlc, origin)} is the
 * document {@link Version} that decides last-write-wins. {@code epoch} and {@code index} place the
 * entry in a leader's log (leader mode); they are 0 when there is no leader. The checksum is a
 * CRC32C over every other field, so a corrupted entry is caught at rest and on the wire.
 *
 * @param origin the node that made the write
 * @param sequence the dense per-origin sequence number, from 1
 * @param hlc the write's timestamp
 * @param operation put or delete
 * @param collection the document's collection
 * @param id the document's id
 * @param document the document as compact JSON text for a put; {@code null} for a delete
 * @param epoch the leader epoch that ordered the entry, or 0
 * @param index the position in the leader's log, or 0
 * @param checksum CRC32C of the other fields (see {@link #computeChecksum})
 */
public record OplogEntry(
    NodeId origin,
    long sequence,
    Hlc hlc,
    Operation operation,
    CollectionName collection,
    DocumentId id,
    @Nullable String document,
    long epoch,
    long index,
    int checksum) {

  /**
   * Checks the shape invariants (not the checksum: see {@link #isIntact()}).
   *
   * @throws IllegalArgumentException if the sequence, epoch or index is out of range, or a put has
   *     no document, or a delete has one
   */
  public OplogEntry {
    if (sequence < 1) {
      throw new IllegalArgumentException("sequence must be >= 1, was " + sequence);
    }
    if (epoch < 0 || index < 0) {
      throw new IllegalArgumentException("epoch and index must be >= 0");
    }
    if ((operation == Operation.PUT) != (document != null)) {
      throw new IllegalArgumentException(
          "a put carries a document and a delete does not; got " + operation + " with document");
    }
  }

  /** Creates an entry with its checksum computed, outside any leader's log (epoch and index 0). */
  public static OplogEntry create(
      NodeId origin,
      long sequence,
      Hlc hlc,
      Operation operation,
      CollectionName collection,
      DocumentId id,
      @Nullable String document) {
    return createInLog(origin, sequence, hlc, operation, collection, id, document, 0, 0);
  }

  /** Creates an entry with its checksum computed, at a position in a leader's log. */
  public static OplogEntry createInLog(
      NodeId origin,
      long sequence,
      Hlc hlc,
      Operation operation,
      CollectionName collection,
      DocumentId id,
      @Nullable String document,
      long epoch,
      long index) {
    int checksum =
        computeChecksum(origin, sequence, hlc, operation, collection, id, document, epoch, index);
    return new OplogEntry(
        origin, sequence, hlc, operation, collection, id, document, epoch, index, checksum);
  }

  /** Returns whether the stored checksum matches the fields. */
  public boolean isIntact() {
    return checksum
        == computeChecksum(
            origin, sequence, hlc, operation, collection, id, document, epoch, index);
  }

  /** Returns the version this entry gives its document. */
  public Version version() {
    return new Version(hlc, origin);
  }

  /** Returns the document's address. */
  public DocumentKey key() {
    return new DocumentKey(collection, id);
  }

  /**
   * Computes the CRC32C of the fields in a fixed, length-prefixed layout, so that no two different
   * entries share an encoding.
   */
  public static int computeChecksum(
      NodeId origin,
      long sequence,
      Hlc hlc,
      Operation operation,
      CollectionName collection,
      DocumentId id,
      @Nullable String document,
      long epoch,
      long index) {
    CRC32C crc = new CRC32C();
    updateText(crc, origin.value());
    ByteBuffer numbers = ByteBuffer.allocate(8 * 4 + 1);
    numbers.putLong(sequence).putLong(hlc.pack()).putLong(epoch).putLong(index);
    numbers.put((byte) (operation == Operation.PUT ? 1 : 2));
    crc.update(numbers.array());
    updateText(crc, collection.value());
    updateText(crc, id.value());
    if (document != null) {
      updateText(crc, document);
    }
    return (int) crc.getValue();
  }

  private static void updateText(CRC32C crc, String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    crc.update(ByteBuffer.allocate(4).putInt(bytes.length).array());
    crc.update(bytes);
  }
}
