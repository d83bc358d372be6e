package io.skein;

import org.jspecify.annotations.Nullable;

/**
 * One change from the change feed.
 *
 * @param token the feed position of this change: pass it as {@code since} to resume after it
 * @param collection the collection
 * @param id the document id
 * @param operation {@code put} or {@code delete}
 * @param version the version the change gave the document
 * @param json the document for a put, {@code null} for a delete
 */
public record ChangeEvent(
    String token,
    String collection,
    String id,
    String operation,
    String version,
    @Nullable String json) {}
