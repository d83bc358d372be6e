package io.skein;

import io.skein.core.model.CollectionName;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * The replicated remote-peer list (seeds 000/001, DESIGN.md "Remote peers and cloud"): one document
 * per peer in {@value #COLLECTION}, replicated like any collection in both modes, last write wins
 * per peer, a removal a tombstone. Any node can change it; in leader mode a change made on a
 * secondary throws {@link NotPrimaryException} (the HTTP API answers {@code 307}).
 *
 * <p>Every change is checked first ({@link RemotePeer}): a field that is wrong is named, and
 * nothing is written. A client secret is never plain text (D7). Get one with {@link
 * Skein#remotePeers()}; thread-safe.
 */
public final class RemotePeers {
  /** The system collection that holds the list. */
  public static final String COLLECTION = "_system_remote_peers";

  /** The most remote peers a cluster keeps. */
  public static final int PEERS_MAX = 256;

  private final DocumentCollection documents;

  RemotePeers(Skein skein) {
    this.documents = new DocumentCollection(skein, CollectionName.system(COLLECTION));
  }

  /**
   * Adds (or replaces) a static remote peer, enabled.
   *
   * @throws InvalidRequestException naming the field that is wrong
   */
  public RemotePeer addStaticPeer(String nodeId, String address) {
    return put(new RemotePeer(nodeId, address, RemotePeer.Type.STATIC_REMOTE, null, true));
  }

  /**
   * Adds (or replaces) a cloud peer, enabled.
   *
   * @param clientSecret a {@code ${ENV_NAME}} reference, a sealed value, or {@code null}
   * @throws InvalidRequestException naming the field that is wrong (a plain-text secret included)
   */
  public RemotePeer addCloudPeer(
      String nodeId,
      String address,
      String authority,
      String clientId,
      @Nullable String clientSecret,
      List<String> scopes) {
    return put(
        new RemotePeer(
            nodeId,
            address,
            RemotePeer.Type.CLOUD_REMOTE,
            new RemotePeer.OAuth2(authority, clientId, clientSecret, scopes),
            true));
  }

  /**
   * Writes a peer (create or replace).
   *
   * @throws InvalidRequestException with code {@code too_many_peers} if the list is full
   */
  public RemotePeer put(RemotePeer peer) {
    if (get(peer.nodeId()).isEmpty() && listPeers().size() >= PEERS_MAX) {
      throw new InvalidRequestException(
          "too_many_peers", "a cluster keeps at most " + PEERS_MAX + " remote peers");
    }
    documents.put(peer.nodeId(), peer.toDocument());
    return peer;
  }

  /**
   * Enables a peer.
   *
   * @return the peer, or empty if there is none with that id
   */
  public Optional<RemotePeer> enablePeer(String nodeId) {
    return setEnabled(nodeId, true);
  }

  /**
   * Disables a peer (kept in the list; the gateway stops syncing with it).
   *
   * @return the peer, or empty if there is none with that id
   */
  public Optional<RemotePeer> disablePeer(String nodeId) {
    return setEnabled(nodeId, false);
  }

  private Optional<RemotePeer> setEnabled(String nodeId, boolean enabled) {
    Optional<RemotePeer> peer = get(nodeId);
    if (peer.isEmpty()) {
      return peer;
    }
    if (peer.get().enabled() == enabled) {
      return peer;
    }
    return Optional.of(put(peer.get().withEnabled(enabled)));
  }

  /**
   * Removes a peer (a tombstone, replicated like any delete).
   *
   * @return whether there was one
   */
  public boolean removePeer(String nodeId) {
    return documents.delete(checkedId(nodeId)).isPresent();
  }

  /** Returns one peer. */
  public Optional<RemotePeer> get(String nodeId) {
    return documents
        .get(checkedId(nodeId))
        .map(d -> RemotePeer.fromDocument(d.id(), d.toObjectNode()));
  }

  /**
   * Returns every peer, by node id. A document that does not read as a peer (written behind this
   * API's back) is skipped.
   */
  public List<RemotePeer> listPeers() {
    List<RemotePeer> peers = new ArrayList<>();
    String after = null;
    while (true) {
      DocumentPage page = documents.list(after, PEERS_MAX);
      for (Document doc : page.documents()) {
        try {
          peers.add(RemotePeer.fromDocument(doc.id(), doc.toObjectNode()));
        } catch (InvalidRequestException e) {
          // Not a peer this version can read; the list shows the others.
        }
      }
      if (page.next() == null || peers.size() >= 4 * PEERS_MAX) {
        return peers;
      }
      after = page.next();
    }
  }

  private static String checkedId(String nodeId) {
    try {
      return io.skein.core.model.NodeId.of(nodeId).value();
    } catch (IllegalArgumentException e) {
      throw new InvalidRequestException("invalid_remote_peer", "nodeId: " + e.getMessage());
    }
  }
}
