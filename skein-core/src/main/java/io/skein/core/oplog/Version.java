package io.skein.core.oplog;

import io.skein.core.hlc.Hlc;
import io.skein.core.model.InvalidNameException;
import io.skein.core.model.NodeId;

/**
 * The version of a document: the HLC of the write that produced it and the node that made the
 * write. Versions are totally ordered by (HLC, origin node id), which is the last-write-wins order
 * (D4): every replica picks the same winner, so replicas converge.
 *
 * <p>The text form {@code physicalMs.logical@origin} (for example {@code 1763860068000.0@1}) is the
 * document's ETag in the HTTP API; {@link #parse(String)} reads it back.
 *
 * @param hlc the write's timestamp
 * @param origin the node that made the write
 */
public record Version(Hlc hlc, NodeId origin) implements Comparable<Version> {
  @Override
  public int compareTo(Version other) {
    int byHlc = hlc.compareTo(other.hlc);
    return byHlc != 0 ? byHlc : origin.compareTo(other.origin);
  }

  /** Returns whether this version wins over {@code other} under last-write-wins. */
  public boolean supersedes(Version other) {
    return compareTo(other) > 0;
  }

  @Override
  public String toString() {
    return hlc.physicalMs() + "." + hlc.logical() + "@" + origin.value();
  }

  /**
   * Parses the text form produced by {@link #toString()}.
   *
   * @throws IllegalArgumentException if the text is not a version
   */
  public static Version parse(String text) {
    int at = text.indexOf('@');
    int dot = text.indexOf('.');
    if (at < 0 || dot < 0 || dot > at) {
      throw new IllegalArgumentException("'" + text + "' is not a version (physical.logical@node)");
    }
    try {
      long physicalMs = Long.parseLong(text.substring(0, dot));
      int logical = Integer.parseInt(text.substring(dot + 1, at));
      return new Version(new Hlc(physicalMs, logical), NodeId.of(text.substring(at + 1)));
    } catch (NumberFormatException | InvalidNameException e) {
      throw new IllegalArgumentException("'" + text + "' is not a version: " + e.getMessage(), e);
    }
  }
}
