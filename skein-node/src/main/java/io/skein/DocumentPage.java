package io.skein;

import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A page of documents in id order.
 *
 * @param documents the documents
 * @param next the id to pass as {@code after} for the next page, or {@code null} at the end
 */
public record DocumentPage(List<Document> documents, @Nullable String next) {
  /** Copies the list. */
  public DocumentPage {
    documents = List.copyOf(documents);
  }
}
