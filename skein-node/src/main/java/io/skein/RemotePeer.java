package io.skein;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.skein.core.model.NodeId;
import io.skein.internal.crypto.SealedSecrets;
import io.skein.internal.json.Json;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * A remote peer: a node outside this LAN cluster that the gateway syncs with (seeds 000/001,
 * DESIGN.md "Remote peers and cloud"). Stored as one document per peer in {@code
 * _system_remote_peers}, keyed by its node id, in the contract's shape: {@code
 * {"nodeId","address":"host:port","type":"StaticRemote"|"CloudRemote","oauth2":{"authority",
 * "clientId","clientSecret","scopes"},"enabled":true}}.
 *
 * <p>A client secret is never plain text (D7): it is a {@code ${ENV_NAME}} reference, resolved on
 * each node from its own environment, or a value sealed with the cluster key ({@code datastore-node
 * seal-secret}). {@link #toString()} and every answer show {@code [SEALED]} for a sealed one.
 *
 * @param nodeId the peer's node id
 * @param address where it listens, {@code host:port}
 * @param type a static LAN-style peer (cluster secret) or a cloud peer (OAuth2)
 * @param oauth2 a cloud peer's OAuth2 client settings; {@code null} for a static peer
 * @param enabled whether the gateway syncs with it
 */
public record RemotePeer(
    String nodeId, String address, Type type, @Nullable OAuth2 oauth2, boolean enabled) {

  /** The kind of remote peer. */
  public enum Type {
    /** A remote node that authenticates with the cluster secret. */
    STATIC_REMOTE("StaticRemote"),
    /** A cloud node behind an OAuth2 authorization server. */
    CLOUD_REMOTE("CloudRemote");

    private final String wireName;

    Type(String wireName) {
      this.wireName = wireName;
    }

    /** Returns the name in documents and answers. */
    public String wireName() {
      return wireName;
    }

    static Type parse(String text) {
      for (Type type : values()) {
        if (type.wireName.equals(text)) {
          return type;
        }
      }
      throw new InvalidRequestException(
          "invalid_remote_peer",
          "type must be StaticRemote or CloudRemote, was '" + abbreviate(text) + "'");
    }
  }

  /**
   * A cloud peer's OAuth2 client-credentials settings.
   *
   * @param authority the authorization server's issuer URL ({@code https://...}; {@code http://}
   *     only on a loopback host, for tests)
   * @param clientId the client id
   * @param clientSecret a {@code ${ENV_NAME}} reference or a sealed value, or {@code null} (a
   *     client without a secret)
   * @param scopes the scopes to ask for
   */
  public record OAuth2(
      String authority, String clientId, @Nullable String clientSecret, List<String> scopes) {
    /** Copies the scopes. */
    public OAuth2 {
      scopes = List.copyOf(scopes);
    }

    @Override
    public String toString() {
      return "OAuth2[authority="
          + authority
          + ", clientId="
          + clientId
          + ", clientSecret="
          + shownSecret(clientSecret)
          + ", scopes="
          + scopes
          + "]";
    }
  }

  private static final Pattern ENV_REFERENCE = Pattern.compile("\\$\\{[A-Za-z_][A-Za-z0-9_]*}");
  private static final Pattern SCOPE = Pattern.compile("[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,128}");
  private static final Pattern HOST =
      Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\\[[0-9A-Fa-f:.]{2,45}]");

  /** The most scopes a cloud peer asks for. */
  public static final int SCOPES_MAX = 32;

  /** Checks every field; see {@link #validate}. */
  public RemotePeer {
    validate(nodeId, address, type, oauth2);
  }

  /** How a client secret is shown: a reference as itself, a sealed value as {@code [SEALED]}. */
  static String shownSecret(@Nullable String secret) {
    if (secret == null) {
      return "null";
    }
    return ENV_REFERENCE.matcher(secret).matches() ? secret : "[SEALED]";
  }

  /**
   * Checks a peer's fields, naming the first one that is wrong.
   *
   * @throws InvalidRequestException with code {@code invalid_remote_peer}
   */
  static void validate(String nodeId, String address, Type type, @Nullable OAuth2 oauth2) {
    try {
      NodeId.of(nodeId);
    } catch (IllegalArgumentException e) {
      throw invalid("nodeId", String.valueOf(e.getMessage()));
    }
    checkAddress(address);
    if (type == Type.STATIC_REMOTE) {
      if (oauth2 != null) {
        throw invalid("oauth2", "a StaticRemote peer authenticates with the cluster secret");
      }
      return;
    }
    if (oauth2 == null) {
      throw invalid("oauth2", "a CloudRemote peer needs oauth2 {authority, clientId}");
    }
    checkAuthority(oauth2.authority());
    if (oauth2.clientId().isBlank() || oauth2.clientId().length() > 256) {
      throw invalid("oauth2.clientId", "must be 1 to 256 characters");
    }
    String secret = oauth2.clientSecret();
    if (secret != null
        && !ENV_REFERENCE.matcher(secret).matches()
        && !SealedSecrets.isSealed(secret)) {
      throw invalid(
          "oauth2.clientSecret",
          "a client secret is never stored in plain text: give a ${ENV_NAME} reference (resolved"
              + " on each node), or a value sealed with `datastore-node seal-secret`");
    }
    if (secret != null && secret.length() > 8_192) {
      throw invalid("oauth2.clientSecret", "is over 8,192 characters");
    }
    if (oauth2.scopes().size() > SCOPES_MAX) {
      throw invalid("oauth2.scopes", "at most " + SCOPES_MAX + " scopes");
    }
    for (String scope : oauth2.scopes()) {
      if (!SCOPE.matcher(scope).matches()) {
        throw invalid("oauth2.scopes", "a scope must be 1 to 128 printable characters, no spaces");
      }
    }
  }

  private static void checkAddress(String address) {
    int colon = address.lastIndexOf(':');
    if (colon <= 0 || colon == address.length() - 1) {
      throw invalid("address", "must be host:port, was '" + abbreviate(address) + "'");
    }
    String host = address.substring(0, colon);
    String port = address.substring(colon + 1);
    if (!HOST.matcher(host).matches()) {
      throw invalid(
          "address", "the host of '" + abbreviate(address) + "' is not a host name or IP");
    }
    int number;
    try {
      number = Integer.parseInt(port);
    } catch (NumberFormatException e) {
      number = -1;
    }
    if (number < 1 || number > 65_535 || !port.matches("[0-9]{1,5}")) {
      throw invalid("address", "the port of '" + abbreviate(address) + "' must be 1 to 65535");
    }
  }

  private static void checkAuthority(String authority) {
    URI uri;
    try {
      uri = new URI(authority);
    } catch (URISyntaxException e) {
      throw invalid("oauth2.authority", "is not a URL: '" + abbreviate(authority) + "'");
    }
    String scheme = String.valueOf(uri.getScheme()).toLowerCase(Locale.ROOT);
    String host = uri.getHost();
    if (host == null || uri.getUserInfo() != null || uri.getFragment() != null) {
      throw invalid("oauth2.authority", "must be an https:// issuer URL with a host");
    }
    boolean loopback = host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]");
    if (!scheme.equals("https") && !(scheme.equals("http") && loopback)) {
      throw invalid(
          "oauth2.authority",
          "must be https:// (http:// only on a loopback host, for tests): '"
              + abbreviate(authority)
              + "'");
    }
  }

  private static String abbreviate(String text) {
    return text.length() <= 100 ? text : text.substring(0, 100) + "…";
  }

  private static InvalidRequestException invalid(String field, String message) {
    return new InvalidRequestException("invalid_remote_peer", field + ": " + message);
  }

  /** Returns this peer enabled or disabled. */
  public RemotePeer withEnabled(boolean value) {
    return new RemotePeer(nodeId, address, type, oauth2, value);
  }

  /** Returns the document this peer is stored as. */
  public ObjectNode toDocument() {
    ObjectNode doc = Json.MAPPER.createObjectNode();
    doc.put("nodeId", nodeId).put("address", address).put("type", type.wireName());
    OAuth2 auth = oauth2;
    if (auth != null) {
      ObjectNode o = doc.putObject("oauth2");
      o.put("authority", auth.authority()).put("clientId", auth.clientId());
      if (auth.clientSecret() == null) {
        o.putNull("clientSecret");
      } else {
        o.put("clientSecret", auth.clientSecret());
      }
      ArrayNode scopes = o.putArray("scopes");
      auth.scopes().forEach(scopes::add);
    }
    doc.put("enabled", enabled);
    return doc;
  }

  /** Returns this peer as an API answer shows it: a sealed secret as {@code [SEALED]}. */
  public ObjectNode toShown() {
    ObjectNode doc = toDocument();
    OAuth2 auth = oauth2;
    if (auth != null && auth.clientSecret() != null) {
      ((ObjectNode) doc.get("oauth2")).put("clientSecret", shownSecret(auth.clientSecret()));
    }
    return doc;
  }

  /**
   * Reads a peer from its document (or a request body of the same shape).
   *
   * @param id the node id the document is stored under (or the request's path), which the
   *     document's {@code nodeId}, if present, must match
   * @throws InvalidRequestException naming the field that is wrong
   */
  public static RemotePeer fromDocument(String id, JsonNode doc) {
    if (!doc.isObject()) {
      throw invalid("(body)", "a remote peer is a JSON object");
    }
    for (var names = doc.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!List.of("nodeId", "address", "type", "oauth2", "enabled").contains(name)) {
        throw invalid(
            abbreviate(name),
            "unknown field (a remote peer has nodeId, address, type, oauth2, enabled)");
      }
    }
    JsonNode nodeId = doc.get("nodeId");
    if (nodeId != null && (!nodeId.isTextual() || !nodeId.asText().equals(id))) {
      throw invalid("nodeId", "must be the peer's id '" + id + "' when given");
    }
    String address = java.util.Objects.requireNonNull(text(doc, "address", true));
    String typeText = text(doc, "type", false);
    JsonNode oauthNode = doc.get("oauth2");
    OAuth2 oauth2 = null;
    if (oauthNode != null && !oauthNode.isNull()) {
      if (!oauthNode.isObject()) {
        throw invalid("oauth2", "must be an object");
      }
      for (var names = oauthNode.fieldNames(); names.hasNext(); ) {
        String name = names.next();
        if (!List.of("authority", "clientId", "clientSecret", "scopes").contains(name)) {
          throw invalid("oauth2." + abbreviate(name), "unknown field");
        }
      }
      List<String> scopes = new ArrayList<>();
      JsonNode scopeNode = oauthNode.get("scopes");
      if (scopeNode != null && !scopeNode.isNull()) {
        if (!scopeNode.isArray()) {
          throw invalid("oauth2.scopes", "must be an array of strings");
        }
        for (JsonNode scope : scopeNode) {
          if (!scope.isTextual()) {
            throw invalid("oauth2.scopes", "must be an array of strings");
          }
          scopes.add(scope.asText());
        }
      }
      JsonNode secret = oauthNode.get("clientSecret");
      if (secret != null && !secret.isNull() && !secret.isTextual()) {
        throw invalid("oauth2.clientSecret", "must be a string");
      }
      oauth2 =
          new OAuth2(
              text(oauthNode, "authority", "oauth2.authority"),
              text(oauthNode, "clientId", "oauth2.clientId"),
              secret == null || secret.isNull() ? null : secret.asText(),
              scopes);
    }
    Type type =
        typeText != null
            ? Type.parse(typeText)
            : oauth2 != null ? Type.CLOUD_REMOTE : Type.STATIC_REMOTE;
    JsonNode enabled = doc.get("enabled");
    if (enabled != null && !enabled.isBoolean()) {
      throw invalid("enabled", "must be true or false");
    }
    return new RemotePeer(id, address, type, oauth2, enabled == null || enabled.asBoolean());
  }

  private static @Nullable String text(JsonNode doc, String field, boolean required) {
    JsonNode value = doc.get(field);
    if (value == null || value.isNull()) {
      if (required) {
        throw invalid(field, "is required");
      }
      return null;
    }
    if (!value.isTextual()) {
      throw invalid(field, "must be a string");
    }
    return value.asText();
  }

  private static String text(JsonNode doc, String field, String name) {
    JsonNode value = doc.get(field);
    if (value == null || value.isNull()) {
      throw invalid(name, "is required");
    }
    if (!value.isTextual()) {
      throw invalid(name, "must be a string");
    }
    return value.asText();
  }

  @Override
  public String toString() {
    return "RemotePeer[nodeId="
        + nodeId
        + ", address="
        + address
        + ", type="
        + type.wireName()
        + ", oauth2="
        + oauth2
        + ", enabled="
        + enabled
        + "]";
  }
}
