package io.skein.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.skein.Durability;
import io.skein.core.hlc.Hlc;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.query.IndexSpec;
import io.skein.core.query.Query;
import io.skein.core.replica.Mutation;
import io.skein.core.replica.RecoveredState;
import io.skein.core.replica.ReplicaConfig;
import io.skein.core.replica.ReplicaCore;
import io.skein.core.replica.WriteConcern;
import io.skein.internal.storage.Change;
import io.skein.internal.storage.ChangePage;
import io.skein.internal.storage.SqliteStore;
import io.skein.internal.storage.Store;
import io.skein.internal.storage.StoredDocument;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Concurrent writers share one transaction: while the first commit is held on "disk", 63 more
 * writers queue up, and all of them go into the second commit.
 */
class GroupCommitTest {
  @TempDir Path dir;

  /** Delegates to a real store, holding the first append until released, and records appends. */
  static final class GatedStore implements Store {
    final SqliteStore delegate;
    final CountDownLatch firstAppendEntered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final List<Integer> appendSizes = new CopyOnWriteArrayList<>();

    GatedStore(SqliteStore delegate) {
      this.delegate = delegate;
    }

    @Override
    public List<Change> append(List<OplogEntry> entries, Hlc hlcHighWater) {
      if (appendSizes.isEmpty()) {
        firstAppendEntered.countDown();
        try {
          release.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      appendSizes.add(entries.size());
      return delegate.append(entries, hlcHighWater);
    }

    @Override
    public RecoveredState recoveredState() {
      return delegate.recoveredState();
    }

    @Override
    public void saveGatewayTerm(io.skein.core.replica.GatewayTerm term) {
      delegate.saveGatewayTerm(term);
    }

    @Override
    public Optional<StoredDocument> get(DocumentKey key) {
      return delegate.get(key);
    }

    @Override
    public List<StoredDocument> list(
        CollectionName collection, @Nullable DocumentId afterId, int limit) {
      return delegate.list(collection, afterId, limit);
    }

    @Override
    public List<StoredDocument> query(CollectionName collection, Query query) {
      return delegate.query(collection, query);
    }

    @Override
    public ChangePage changes(long afterLsn, @Nullable CollectionName collection, int limit) {
      return delegate.changes(afterLsn, collection, limit);
    }

    @Override
    public long lastLsn() {
      return delegate.lastLsn();
    }

    @Override
    public List<OplogEntry> entries(NodeId origin, long fromSequence, int limit) {
      return delegate.entries(origin, fromSequence, limit);
    }

    @Override
    public Map<NodeId, Long> versionVector() {
      return delegate.versionVector();
    }

    @Override
    public Map<NodeId, Long> prune(long cutoffPhysicalMs, Map<NodeId, Long> tombstoneStable) {
      return delegate.prune(cutoffPhysicalMs, tombstoneStable);
    }

    @Override
    public io.skein.internal.storage.SnapshotPage snapshotDocuments(
        Map<NodeId, Long> vector,
        io.skein.core.model.@org.jspecify.annotations.Nullable DocumentKey afterKey,
        int limit) {
      return delegate.snapshotDocuments(vector, afterKey, limit);
    }

    @Override
    public List<Change> applySnapshot(io.skein.core.replica.SnapshotApply apply, Hlc hlcHighWater) {
      return delegate.applySnapshot(apply, hlcHighWater);
    }

    @Override
    public long oldestLsn() {
      return delegate.oldestLsn();
    }

    @Override
    public void createIndex(CollectionName collection, IndexSpec spec) {
      delegate.createIndex(collection, spec);
    }

    @Override
    public List<IndexSpec> indexes(CollectionName collection) {
      return delegate.indexes(collection);
    }

    @Override
    public void close() {
      delegate.close();
    }
  }

  @Test
  void writersThatQueueDuringACommitShareTheNextTransaction() throws Exception {
    NodeId id = NodeId.of("1");
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    GatedStore store = new GatedStore(SqliteStore.open(dir, id, Durability.FSYNC, 2, meters));
    ReplicaCore core = ReplicaCore.restore(ReplicaConfig.defaults(id), store.recoveredState());
    ChangeNotifier notifier = new ChangeNotifier(0);
    try (EventLoop loop =
        new EventLoop(core, false, store, InstantSource.system(), notifier, 1_000, 1_000, meters)) {
      CollectionName c = CollectionName.user("c");
      CompletableFuture<WriteResult> first =
          loop.submit(
              List.of(Mutation.put(c, DocumentId.of("first"), "{}")), WriteConcern.ONE, false);
      assertThat(store.firstAppendEntered.await(10, TimeUnit.SECONDS)).isTrue();

      List<CompletableFuture<WriteResult>> rest = new ArrayList<>();
      for (int i = 0; i < 63; i++) {
        rest.add(
            loop.submit(
                List.of(Mutation.put(c, DocumentId.of("w" + i), "{\"i\":" + i + "}")),
                WriteConcern.ONE,
                false));
      }
      assertThat(first).isNotDone();
      store.release.countDown();

      assertThat(first.get(10, TimeUnit.SECONDS)).isInstanceOf(WriteResult.Committed.class);
      for (CompletableFuture<WriteResult> write : rest) {
        assertThat(write.get(10, TimeUnit.SECONDS)).isInstanceOf(WriteResult.Committed.class);
      }
      assertThat(store.appendSizes).containsExactly(1, 63);
      assertThat(meters.get("skein.storage.commits").counter().count()).isEqualTo(2.0);
    } finally {
      store.close();
    }
  }

  @Test
  void aMustExistDeleteSeesAPutProposedEarlierInTheSameGroup() throws Exception {
    NodeId id = NodeId.of("1");
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    GatedStore store = new GatedStore(SqliteStore.open(dir, id, Durability.FSYNC, 2, meters));
    ReplicaCore core = ReplicaCore.restore(ReplicaConfig.defaults(id), store.recoveredState());
    try (EventLoop loop =
        new EventLoop(
            core, false, store, InstantSource.system(), new ChangeNotifier(0), 100, 100, meters)) {
      CollectionName c = CollectionName.user("c");
      CompletableFuture<WriteResult> gate =
          loop.submit(List.of(Mutation.put(c, DocumentId.of("g"), "{}")), WriteConcern.ONE, false);
      assertThat(store.firstAppendEntered.await(10, TimeUnit.SECONDS)).isTrue();
      CompletableFuture<WriteResult> put =
          loop.submit(List.of(Mutation.put(c, DocumentId.of("x"), "{}")), WriteConcern.ONE, false);
      CompletableFuture<WriteResult> delete =
          loop.submit(List.of(Mutation.delete(c, DocumentId.of("x"))), WriteConcern.ONE, true);
      CompletableFuture<WriteResult> deleteMissing =
          loop.submit(List.of(Mutation.delete(c, DocumentId.of("nope"))), WriteConcern.ONE, true);
      store.release.countDown();
      gate.get(10, TimeUnit.SECONDS);
      assertThat(put.get(10, TimeUnit.SECONDS)).isInstanceOf(WriteResult.Committed.class);
      assertThat(delete.get(10, TimeUnit.SECONDS)).isInstanceOf(WriteResult.Committed.class);
      assertThat(deleteMissing.get(10, TimeUnit.SECONDS)).isInstanceOf(WriteResult.NotFound.class);
    } finally {
      store.close();
    }
  }
}
