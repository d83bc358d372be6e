package io.skein.node;

import io.skein.ClosedException;
import io.skein.NotPrimaryException;
import io.skein.RemotePeer;
import io.skein.Skein;
import io.skein.SkeinException;
import io.skein.internal.runtime.Threads;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies {@code remote.initial-peers} (the seed's {@code InitialRemotePeers}) at start-up: each
 * configured peer that the replicated list does not hold yet is written; a peer already in the
 * list, from this node or any other, is left alone (so a restart, or every node starting with the
 * same file, changes nothing). In leader mode only the primary writes: a secondary keeps trying
 * every retry interval until the peer is in the list (the primary, given the same setting, writes
 * it) or this node becomes primary. Gives up when the node closes.
 *
 * <p>One daemon thread, ended by {@link #close()} or when every peer is in the list.
 */
final class InitialRemotePeers implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(InitialRemotePeers.class);

  /** How long to wait before trying again (a secondary, an election, a full queue). */
  static final long RETRY_MS = 1_000;

  private final Supplier<Skein> store;
  private final List<RemotePeer> pending;
  private final Thread thread;
  private volatile boolean closed;
  private volatile int remaining;

  InitialRemotePeers(Supplier<Skein> store, List<RemotePeer> peers) {
    this.store = store;
    this.pending = new ArrayList<>(peers);
    this.remaining = peers.size();
    this.thread = Threads.platform("skein-initial-remote-peers", true, this::run);
  }

  private void run() {
    boolean waitingLogged = false;
    while (!closed && !pending.isEmpty()) {
      for (var it = pending.iterator(); it.hasNext() && !closed; ) {
        RemotePeer peer = it.next();
        try {
          var peers = store.get().remotePeers();
          if (peers.get(peer.nodeId()).isPresent()) {
            it.remove(); // in the list already: left alone
            continue;
          }
          peers.put(peer);
          log.atInfo()
              .addKeyValue("peer", peer.nodeId())
              .addKeyValue("type", peer.type().wireName())
              .log("initial remote peer added");
          it.remove();
        } catch (NotPrimaryException e) {
          if (!waitingLogged) {
            log.info(
                "initial remote peers wait for the primary to hold them (this node is not"
                    + " primary)");
            waitingLogged = true;
          }
        } catch (ClosedException e) {
          return;
        } catch (SkeinException | IllegalStateException e) {
          log.atWarn()
              .addKeyValue("peer", peer.nodeId())
              .log("initial remote peer not added yet; retrying: {}", e.getMessage());
        }
      }
      remaining = pending.size();
      if (pending.isEmpty()) {
        return;
      }
      try {
        Thread.sleep(RETRY_MS);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** Whether every configured peer is in the list (for tests and the log). */
  boolean done() {
    return !thread.isAlive() && remaining == 0;
  }

  @Override
  public void close() {
    closed = true;
    thread.interrupt();
  }
}
