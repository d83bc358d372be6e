package io.skein.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.skein.InvalidRequestException;
import io.skein.Skein;
import io.skein.SkeinConfig;
import io.skein.SkeinException;
import io.skein.internal.json.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes the path every HTTP body takes (issue 12, item 9): strict UTF-8 decoding and JSON parsing,
 * document compaction, and the batch checks. Properties, for any bytes: the only failures are the
 * typed, documented ones, with a message that names no parser internals; a document that is
 * accepted is stored exactly as sent (its compact text survives UTF-8, reads back as the same tree
 * and compacts to itself). In CI this runs on the seed corpus in {@code RequestBodyFuzzTestInputs};
 * docs/internals/testing.md has the command for a long run.
 */
class RequestBodyFuzzTest {
  private static final int DOCUMENT_BYTES_MAX = 1 << 20;
  private static final Set<String> BODY_CODES = Set.of("invalid_json", "not_an_object");
  private static final Set<String> DOCUMENT_CODES =
      Set.of("invalid_json", "invalid_key", "document_too_large");
  private static final Set<String> BATCH_CODES =
      Set.of(
          "invalid_batch",
          "invalid_request",
          "not_an_object",
          "invalid_collection_name",
          "reserved_collection_name",
          "invalid_document_id",
          "invalid_json",
          "invalid_key",
          "document_too_large",
          "batch_too_large");

  /** Equal nodes, numbers compared by value (the exact decimal, not the Java type or scale). */
  private static final Comparator<JsonNode> SAME_VALUE =
      (left, right) -> {
        if (left.isNumber() && right.isNumber()) {
          return left.decimalValue().compareTo(right.decimalValue());
        }
        return left.equals(right) ? 0 : 1;
      };

  private static Path dir;
  private static Skein skein;

  @BeforeAll
  static void open() throws IOException {
    dir = Files.createTempDirectory("skein-fuzz-body");
    skein = Skein.open(SkeinConfig.builder(dir, "1").build());
  }

  @AfterAll
  static void close() {
    skein.close();
  }

  @FuzzTest(maxDuration = "30s")
  void aBodyIsStoredAsSentOrRefusedWithADocumentedCode(byte[] body) {
    ObjectNode object;
    try {
      object = Json.parseObject(Json.decodeUtf8(body), "the body");
    } catch (InvalidRequestException e) {
      assertDocumented(e, BODY_CODES, body);
      return;
    }
    try {
      String text = Json.compactDocument(object, DOCUMENT_BYTES_MAX);
      byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
      assertThat(new String(utf8, StandardCharsets.UTF_8)).isEqualTo(text);
      JsonNode again = Json.parse(text);
      // Numbers keep their value; the text may take the canonical form (1e000 is stored as 1).
      assertThat(again.equals(SAME_VALUE, object)).as(text).isTrue();
      assertThat(Json.compactDocument(again, DOCUMENT_BYTES_MAX)).isEqualTo(text);
    } catch (SkeinException e) {
      assertDocumented(e, DOCUMENT_CODES, body);
    }
    try {
      // Validation only: a batch writes nothing until it commits.
      DocumentRoutes.addOperations(skein.batch(), object);
    } catch (SkeinException e) {
      assertDocumented(e, BATCH_CODES, body);
    }
  }

  /** The failure is typed, its code documented, and its message says nothing of the parser. */
  static void assertDocumented(SkeinException e, Set<String> codes, byte[] input) {
    assertThat(e.code()).as(String.valueOf(e.getMessage())).isIn(codes);
    String message = String.valueOf(e.getMessage());
    assertThat(message).isNotBlank();
    String sent = new String(input, StandardCharsets.ISO_8859_1);
    for (String internal :
        new String[] {
          "StreamReadConstraints", "com.fasterxml", "java.", "Exception", "Feature", "enable `"
        }) {
      if (!sent.contains(internal)) {
        assertThat(message).as("a message naming parser internals").doesNotContain(internal);
      }
    }
  }
}
