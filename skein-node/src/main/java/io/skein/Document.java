package io.skein;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.skein.internal.json.Json;

/**
 * A stored document.
 *
 * @param id the document id
 * @param version its version, an opaque string that orders writes (the HTTP ETag)
 * @param json the document as compact JSON text of an object
 */
public record Document(String id, String version, String json) {
  /** Parses the JSON text into a Jackson tree (a new copy each call). */
  public ObjectNode toObjectNode() {
    return Json.parseObject(json, "the document");
  }
}
