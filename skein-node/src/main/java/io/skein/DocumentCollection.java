package io.skein;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.InvalidNameException;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.query.InMemoryQuery;
import io.skein.core.query.IndexSpec;
import io.skein.core.query.InvalidQueryException;
import io.skein.core.query.Query;
import io.skein.core.query.QueryParser;
import io.skein.core.replica.Mutation;
import io.skein.core.replica.WriteConcern;
import io.skein.internal.json.Json;
import io.skein.internal.storage.StoredDocument;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A handle on one collection of a {@link Skein} store. Thread-safe and cheap: get one with {@link
 * Skein#collection(String)} whenever needed.
 *
 * <p>Every write is durable (per the store's durability) when the method returns, and every method
 * throws {@link InvalidRequestException} for a malformed id, document or query, {@link
 * TooLargeException} for a document over the limit, {@link OverloadedException} when the write
 * queue is full, and {@link ClosedException} after close. A write that throws did not happen,
 * except {@link OutcomeUnknownException}, whose write may have happened.
 */
public final class DocumentCollection {
  /** The largest page of {@link #list}. */
  public static final int PAGE_LIMIT_MAX = 10_000;

  private final Skein skein;
  private final CollectionName name;

  DocumentCollection(Skein skein, CollectionName name) {
    this.skein = skein;
    this.name = name;
  }

  /** Returns the collection's checked name (a batch writes to it). */
  CollectionName collectionName() {
    return name;
  }

  /** Returns the collection's name. */
  public String name() {
    return name.value();
  }

  /**
   * Writes a whole document (create or replace).
   *
   * @param json the document, a JSON object
   * @return the new version
   */
  public String put(String id, String json) {
    return put(id, Json.parseObject(json, "the document"), WriteConcern.ONE);
  }

  /**
   * Writes a whole document (create or replace).
   *
   * @return the new version
   */
  public String put(String id, ObjectNode document) {
    return put(id, document, WriteConcern.ONE);
  }

  /**
   * Writes a whole document with a write concern.
   *
   * @return the new version
   */
  public String put(String id, JsonNode document, WriteConcern concern) {
    return putChecked(id, document, concern);
  }

  /**
   * The most bytes a document in {@code collection} may hold: the configured limit for user
   * collections; a fixed {@link #SYSTEM_DOCUMENT_BYTES_MAX} for system ones, whose documents the
   * node writes itself (a cluster-wide {@code limits.max-document-bytes} set very low must not stop
   * the node from writing the next cluster-wide setting).
   */
  static int bytesMax(CollectionName collection, int userBytesMax) {
    return collection.isSystem() ? SYSTEM_DOCUMENT_BYTES_MAX : userBytesMax;
  }

  /** The size limit of a document in a system collection, whatever the user limit is. */
  static final int SYSTEM_DOCUMENT_BYTES_MAX = 64 * 1024;

  private String putChecked(String id, JsonNode document, WriteConcern concern) {
    Mutation mutation =
        putMutation(name, id, document, bytesMax(name, skein.config().documentBytesMax()));
    List<OplogEntry> entries = skein.write(List.of(mutation), concern, false);
    return requireCommitted(entries).get(0).version().toString();
  }

  /** Returns the live document, or empty if it does not exist or is deleted. */
  public Optional<Document> get(String id) {
    skein.ensureOpen();
    return skein
        .store()
        .get(new DocumentKey(name, documentId(id)))
        .filter(stored -> !stored.isTombstone())
        .map(DocumentCollection::document);
  }

  /**
   * Deletes a document.
   *
   * @return the tombstone's version, or empty if the document did not exist
   */
  public Optional<String> delete(String id) {
    return delete(id, WriteConcern.ONE);
  }

  /**
   * Deletes a document with a write concern.
   *
   * @return the tombstone's version, or empty if the document did not exist
   */
  public Optional<String> delete(String id, WriteConcern concern) {
    Mutation mutation = Mutation.delete(name, documentId(id));
    List<OplogEntry> entries = skein.write(List.of(mutation), concern, true);
    return entries == null ? Optional.empty() : Optional.of(entries.get(0).version().toString());
  }

  /**
   * Lists live documents in id order.
   *
   * @param after the {@code next} of the previous page, or {@code null} for the first page
   * @param limit the page size, 1 to {@value #PAGE_LIMIT_MAX}
   */
  public DocumentPage list(@Nullable String after, int limit) {
    skein.ensureOpen();
    if (limit < 1 || limit > PAGE_LIMIT_MAX) {
      throw new InvalidRequestException(
          "invalid_limit", "limit must be 1 to " + PAGE_LIMIT_MAX + ", was " + limit);
    }
    DocumentId afterId = after == null || after.isEmpty() ? null : documentId(after);
    // One row more than asked tells whether another page exists, so the last page has no next.
    List<StoredDocument> rows = skein.store().list(name, afterId, limit + 1);
    boolean more = rows.size() > limit;
    if (more) {
      rows = rows.subList(0, limit);
    }
    List<Document> documents = rows.stream().map(DocumentCollection::document).toList();
    String next = more ? rows.get(rows.size() - 1).key().id().value() : null;
    return new DocumentPage(documents, next);
  }

  /**
   * Runs a Mango query: {@code {"selector":{...}, "sort":[...], "skip":n, "limit":n,
   * "fields":[...]}}. See {@code docs/http-api.md} for the operators and their semantics.
   */
  public List<Document> query(String queryJson) {
    return query(Json.parse(queryJson));
  }

  /** Runs a Mango query given as a Jackson tree. */
  public List<Document> query(JsonNode queryBody) {
    skein.ensureOpen();
    Query query = parseQuery(queryBody);
    List<StoredDocument> rows;
    try {
      rows = skein.store().query(name, query);
    } catch (InvalidQueryException e) {
      // A condition refused while evaluating, such as a $regex too costly for a long string.
      throw new InvalidRequestException(e.code(), e.getMessage(), e);
    }
    if (query.fields().isEmpty()) {
      return rows.stream().map(DocumentCollection::document).toList();
    }
    return rows.stream().map(row -> projected(row, query)).toList();
  }

  /**
   * Declares an index over one or more fields (dotted paths); idempotent. Queries that compare or
   * sort on the first field use it.
   */
  public void createIndex(String... fields) {
    skein.ensureOpen();
    IndexSpec spec;
    try {
      spec = IndexSpec.parse(Json.MAPPER.valueToTree(java.util.Map.of("fields", fields)));
    } catch (InvalidQueryException e) {
      throw new InvalidRequestException(e.code(), e.getMessage(), e);
    }
    skein.store().createIndex(name, spec);
  }

  /** Declares an index from a body {@code {"fields": ["a.b", ...]}}; idempotent. */
  public void createIndex(JsonNode body) {
    skein.ensureOpen();
    try {
      skein.store().createIndex(name, IndexSpec.parse(body));
    } catch (InvalidQueryException e) {
      throw new InvalidRequestException(e.code(), e.getMessage(), e);
    }
  }

  /** Returns the fields of each index declared on this collection. */
  public List<List<String>> indexes() {
    skein.ensureOpen();
    return skein.store().indexes(name).stream()
        .map(spec -> spec.fields().stream().map(Object::toString).toList())
        .toList();
  }

  /**
   * Subscribes to the changes of this collection after {@code since}.
   *
   * @param since a token, {@code null} for the beginning, or {@code "now"}
   */
  public Subscription subscribe(@Nullable String since, ChangeListener listener) {
    return skein.subscribe(since, name, listener);
  }

  // ---------------------------------------------------------------------------------------------

  static Mutation putMutation(
      CollectionName collection, String id, JsonNode document, int documentBytesMax) {
    if (!document.isObject()) {
      throw new InvalidRequestException(
          "not_an_object", "a document must be a JSON object, got " + Json.typeName(document));
    }
    String text = Json.compactDocument(document, documentBytesMax);
    return Mutation.put(collection, documentId(id), text);
  }

  static DocumentId documentId(String id) {
    try {
      return DocumentId.of(id);
    } catch (InvalidNameException e) {
      throw new InvalidRequestException(e.code(), String.valueOf(e.getMessage()), e);
    }
  }

  static List<OplogEntry> requireCommitted(@Nullable List<OplogEntry> entries) {
    if (entries == null) {
      throw new IllegalStateException("a put reported not-found");
    }
    return entries;
  }

  private static Query parseQuery(JsonNode body) {
    try {
      return QueryParser.parse(body);
    } catch (InvalidQueryException e) {
      throw new InvalidRequestException(e.code(), e.getMessage(), e);
    }
  }

  private static Document document(StoredDocument stored) {
    String body = stored.body();
    if (body == null) {
      throw new IllegalStateException("tombstone " + stored.key() + " reached a reader");
    }
    return new Document(stored.key().id().value(), stored.version().toString(), body);
  }

  private static Document projected(StoredDocument stored, Query query) {
    Document whole = document(stored);
    ObjectNode projection =
        InMemoryQuery.project(Json.parse(whole.json()), whole.id(), query.fields());
    return new Document(whole.id(), whole.version(), projection.toString());
  }
}
