package io.skein.core.replica;

import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.DocumentKey;
import io.skein.core.oplog.Operation;
import org.jspecify.annotations.Nullable;

/**
 * One change a client asks for: a put with its document, or a delete.
 *
 * @param operation put or delete
 * @param collection the collection
 * @param id the document id
 * @param document compact JSON text of an object for a put, {@code null} for a delete
 */
public record Mutation(
    Operation operation, CollectionName collection, DocumentId id, @Nullable String document) {
  /** Checks that a put carries a document and a delete does not. */
  public Mutation {
    if ((operation == Operation.PUT) != (document != null)) {
      throw new IllegalArgumentException("a put carries a document and a delete does not");
    }
  }

  /** Returns the document's address. */
  public DocumentKey key() {
    return new DocumentKey(collection, id);
  }

  /** Returns a put. */
  public static Mutation put(CollectionName collection, DocumentId id, String document) {
    return new Mutation(Operation.PUT, collection, id, document);
  }

  /** Returns a delete. */
  public static Mutation delete(CollectionName collection, DocumentId id) {
    return new Mutation(Operation.DELETE, collection, id, null);
  }
}
