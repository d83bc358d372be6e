package io.skein.core.model;

/**
 * The address of a document: its collection and id.
 *
 * @param collection the collection
 * @param id the id within the collection
 */
public record DocumentKey(CollectionName collection, DocumentId id)
    implements Comparable<DocumentKey> {
  @Override
  public int compareTo(DocumentKey other) {
    int byCollection = collection.compareTo(other.collection);
    return byCollection != 0 ? byCollection : id.compareTo(other.id);
  }

  @Override
  public String toString() {
    return collection + "/" + id;
  }
}
