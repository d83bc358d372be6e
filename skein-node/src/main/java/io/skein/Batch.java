package io.skein;

import com.fasterxml.jackson.databind.JsonNode;
import io.skein.core.model.CollectionName;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.replica.Mutation;
import io.skein.core.replica.WriteConcern;
import io.skein.internal.json.Json;
import java.util.ArrayList;
import java.util.List;

/**
 * An atomic group of puts and deletes across collections: {@link #commit()} writes all of them in
 * one transaction, or none. A batch validates each operation as it is added, so a bad one throws
 * before anything is written. Not thread-safe; use it from one thread and commit it once.
 */
public final class Batch {
  private final Skein skein;
  private final List<Mutation> mutations = new ArrayList<>();
  private boolean committed;

  Batch(Skein skein) {
    this.skein = skein;
  }

  /**
   * Adds a put.
   *
   * @throws InvalidRequestException for a bad collection, id or document
   * @throws TooLargeException for a document over the limit, or more than the batch limit of ops
   */
  public Batch put(String collection, String id, String json) {
    return put(collection, id, Json.parseObject(json, "the document"));
  }

  /** Adds a put of a Jackson tree; see {@link #put(String, String, String)}. */
  public Batch put(String collection, String id, JsonNode document) {
    return add(
        DocumentCollection.putMutation(
            Skein.userCollection(collection), id, document, skein.config().documentBytesMax()));
  }

  /**
   * Adds a put to a collection handle (one a {@link Skein} handed out, such as {@link
   * Skein#systemConfig()}); see {@link #put(String, String, String)}.
   */
  public Batch put(DocumentCollection collection, String id, JsonNode document) {
    return add(
        DocumentCollection.putMutation(
            collection.collectionName(),
            id,
            document,
            DocumentCollection.bytesMax(
                collection.collectionName(), skein.config().documentBytesMax())));
  }

  /** Adds a delete to a collection handle; see {@link #delete(String, String)}. */
  public Batch delete(DocumentCollection collection, String id) {
    return add(Mutation.delete(collection.collectionName(), DocumentCollection.documentId(id)));
  }

  /**
   * Adds a delete. In a batch, deleting a document that does not exist is not an error: it writes a
   * tombstone, so the batch stays atomic and idempotent.
   */
  public Batch delete(String collection, String id) {
    CollectionName name = Skein.userCollection(collection);
    return add(Mutation.delete(name, DocumentCollection.documentId(id)));
  }

  /** Returns the number of operations added. */
  public int size() {
    return mutations.size();
  }

  /**
   * Writes every operation in one transaction.
   *
   * @return the new version of each operation, in order
   * @throws IllegalStateException if the batch was already committed
   */
  public List<String> commit() {
    return commit(WriteConcern.ONE);
  }

  /** Writes every operation in one transaction with a write concern; see {@link #commit()}. */
  public List<String> commit(WriteConcern concern) {
    if (committed) {
      throw new IllegalStateException("the batch was already committed");
    }
    if (mutations.isEmpty()) {
      throw new InvalidRequestException("empty_batch", "a batch needs at least one operation");
    }
    committed = true;
    List<OplogEntry> entries =
        DocumentCollection.requireCommitted(skein.write(mutations, concern, false));
    return entries.stream().map(entry -> entry.version().toString()).toList();
  }

  private Batch add(Mutation mutation) {
    if (mutations.size() >= skein.config().batchOpsMax()) {
      throw new TooLargeException(
          "batch_too_large",
          "a batch holds at most " + skein.config().batchOpsMax() + " operations");
    }
    mutations.add(mutation);
    return this;
  }
}
