package io.skein.node.config;

import static io.skein.core.config.ReloadClass.DYNAMIC;
import static io.skein.core.config.ReloadClass.RESTART_COMPONENT;
import static io.skein.core.config.ReloadClass.STATIC;

import io.skein.core.config.Config;
import io.skein.core.config.ConfigRule;
import io.skein.core.config.Secret;
import io.skein.core.config.Setting;
import io.skein.core.config.SettingsCatalog;
import io.skein.core.config.ValueTypes;
import io.skein.core.model.InvalidNameException;
import io.skein.core.model.NodeId;
import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Every setting of a {@code datastore-node}, each declared once (DESIGN.md D13). The flags, the
 * config-file keys, the environment variables, validation, {@code GET /admin/config} and {@code
 * docs/configuration.md} all come from this class; {@code SettingsCatalogTest} fails if the
 * reference page and the catalog disagree.
 *
 * <p>Reload classes: {@code dynamic} settings are applied live by their owner component; {@code
 * restart-component} ones restart their owner in place; {@code static} ones are refused at run time
 * with an error that names the field.
 *
 * <p>Cluster-wide settings ({@code .clusterWide()}) may also be given for every node at once in the
 * replicated {@code _system_config} collection ({@code PUT /admin/cluster-config}): dynamic values
 * that should be equal everywhere (timings, limits, rate limits, CORS, the log level). What
 * identifies or addresses one node, its files, secrets and TLS material never are.
 *
 * <p>Why one class of just over 1,000 lines: the catalog is one list on purpose (D13), and each
 * declaration is a handful of builder lines; splitting it by section would scatter the single place
 * an operator-facing name is defined and make the catalog's completeness check harder to read. The
 * derived values and cross-setting rules at the end read only the declarations above.
 */
public final class Settings {
  private Settings() {}

  /**
   * The module names {@code reload.enabled-modules} accepts: the node's components that own
   * settings (NodeServer lists them; {@code config-watch} owns the {@code reload} section).
   */
  public static final List<String> MODULES =
      List.of("log", "store", "http", "discovery", "config-watch");

  private static final Duration MS = Duration.ofMillis(1);
  private static final Duration DAY = Duration.ofDays(1);

  // ---------------------------------------------------------------------------------------------
  // node

  /** This node's id. */
  public static final Setting<String> NODE_ID =
      Setting.builder("node.id", ValueTypes.text("1-64 characters of [A-Za-z0-9_.-]", s -> true))
          .flag("--node-id")
          .legacyKey("node-id")
          .defaultValue("1")
          .validator(Settings::nodeIdProblem)
          .reload(RESTART_COMPONENT)
          .description(
              "This node's id; its data lives in DATA_DIR/node-{id}.db. A change reopens the store"
                  + " under the new id, a leave and a rejoin (D9); refused in leader mode with"
                  + " peers.")
          .build();

  /** The address the port binds. */
  public static final Setting<String> NODE_HOST =
      Setting.builder("node.host", ValueTypes.text("a host name or address", s -> !s.isBlank()))
          .flag("--host")
          .legacyKey("host")
          .defaultValue("127.0.0.1")
          .reload(RESTART_COMPONENT)
          .description(
              "Address the HTTP API and peer streams bind; a change binds the new one first (D8).")
          .build();

  /** The port of the HTTP API and the peer streams. */
  public static final Setting<Integer> NODE_PORT =
      Setting.builder("node.port", ValueTypes.integer(0, 65535))
          .flag("--port")
          .legacyKey("port")
          .defaultValue(9000)
          .reload(RESTART_COMPONENT)
          .description(
              "Port of the HTTP API and the peer streams (D11); 0 picks a free one. A change binds"
                  + " the new port first, then drains the old one (D8).")
          .build();

  /** Where the data file lives. */
  public static final Setting<String> NODE_DATA_DIR =
      Setting.builder("node.data-dir", ValueTypes.text("a directory", s -> !s.isBlank()))
          .flag("--data-dir")
          .legacyKey("data-dir")
          .defaultValue("data")
          .reload(STATIC)
          .description("Directory that holds node-{id}.db and peers-{id}.json.")
          .build();

  /** When commits reach the disk. */
  public static final Setting<String> NODE_DURABILITY =
      Setting.builder("node.durability", ValueTypes.oneOf("fsync", "buffered"))
          .flag("--durability")
          .legacyKey("durability")
          .defaultValue("fsync")
          .reload(STATIC)
          .description("fsync: every commit reaches the disk; buffered: the OS decides.")
          .build();

  /** Leader mode: the log's compaction threshold in entries. */
  public static final Setting<Integer> COMPACTION_ENTRIES =
      Setting.builder("storage.compaction-entries", ValueTypes.integer(16, 1_000_000_000))
          .flag("--compaction-entries")
          .unit("entries")
          .defaultValue(100_000)
          .reload(STATIC)
          .description(
              "Leader mode: compact the log once it holds more applied entries than this (the"
                  + " newest quarter stays, so a follower a little behind catches up from it).")
          .build();

  /** Leader mode: the log's compaction threshold in bytes. */
  public static final Setting<Long> COMPACTION_BYTES =
      Setting.builder("storage.compaction-bytes", ValueTypes.bytes(64L << 10, 1L << 40))
          .flag("--compaction-bytes")
          .unit("bytes")
          .defaultValue(256L << 20)
          .reload(STATIC)
          .description(
              "Leader mode: compact the log once its applied entries hold about this many bytes.")
          .build();

  // ---------------------------------------------------------------------------------------------
  // cluster

  /** The replication mode. */
  public static final Setting<String> CLUSTER_MODE =
      Setting.builder("cluster.mode", ValueTypes.oneOf("leader", "dynamo"))
          .flag("--mode")
          .legacyKey("mode")
          .defaultValue("leader")
          .reload(STATIC)
          .description(
              "leader: one elected primary orders writes; dynamo: every node writes (LWW).")
          .build();

  /** The starting role in leader mode. */
  public static final Setting<String> CLUSTER_ROLE =
      Setting.builder("cluster.role", ValueTypes.oneOf("primary", "secondary", "joining"))
          .flag("--role")
          .legacyKey("role")
          .defaultValue("primary")
          .reload(STATIC)
          .description(
              "Leader mode: the role to start in; the election decides after that. `joining`: a"
                  + " new node for a running cluster, with the current members as its peers; it"
                  + " is not a member (never stands) until `datastore-node members add` on the"
                  + " primary adds it.")
          .build();

  /** The statically configured peers. */
  public static final Setting<List<PeerAddress>> CLUSTER_PEERS =
      Setting.builder("cluster.peers", new PeerListType())
          .flag("--peers")
          .legacyKey("peers")
          .defaultValue(List.of())
          .reload(DYNAMIC)
          .description(
              "The other members, in the seed's JSON shape. Dynamo mode: changes live (a new peer"
                  + " is dialled at once; a removed one stays known for tombstones until"
                  + " `forget`). Leader mode: a live change is refused; members join and leave"
                  + " through `datastore-node members add|remove` on the primary.")
          .build();

  /** The remote peers to add at start-up (the seed's {@code InitialRemotePeers}). */
  public static final Setting<List<io.skein.RemotePeer>> REMOTE_INITIAL_PEERS =
      Setting.builder("remote.initial-peers", new RemotePeerListType())
          .flag("--initial-remote-peers")
          .legacyKey("initial-remote-peers")
          .defaultValue(List.of())
          .reload(STATIC)
          .description(
              "Remote peers added to the replicated list at start-up, in its document shape; a"
                  + " peer already in the list is left alone. A client secret is a ${ENV_NAME}"
                  + " reference or a sealed value, never plain text. Leader mode: written by the"
                  + " primary, so give it to every member.")
          .build();

  /** The cluster's name. */
  public static final Setting<String> CLUSTER_ID =
      Setting.builder(
              "cluster.id",
              ValueTypes.text(
                  "1-64 characters of [A-Za-z0-9_.-]", s -> s.matches("[A-Za-z0-9_.-]{1,64}")))
          .flag("--cluster-id")
          .legacyKey("cluster-id")
          .defaultValue("skein")
          .reload(STATIC)
          .description("Cluster name; peers of another cluster are refused at the handshake.")
          .build();

  /** The shared secret peers authenticate with. */
  public static final Setting<Secret> CLUSTER_SECRET =
      Setting.builder("cluster.secret", ValueTypes.secret(16))
          .flag("--cluster-secret")
          .legacyKey("cluster-secret")
          .defaultText("(none: a loopback-only cluster uses a public development secret)")
          .secret()
          .reload(STATIC)
          .description("Peer authentication secret (HMAC, D10); use ${ENV_NAME}.")
          .build();

  // ---------------------------------------------------------------------------------------------
  // replication

  /** The anti-entropy interval. */
  public static final Setting<Duration> SYNC_INTERVAL =
      Setting.builder("replication.sync-interval", ValueTypes.duration(MS, DAY, false))
          .flag("--sync-interval")
          .legacyKey("sync-interval")
          .unit("s")
          .defaultValue(Duration.ofSeconds(2))
          .reload(DYNAMIC)
          .clusterWide()
          .description("Dynamo mode: how often each peer is asked for what this node lacks.")
          .build();

  /** The failure-detection window of leader mode. */
  public static final Setting<Duration> ELECTION_INTERVAL =
      Setting.builder(
              "replication.election-interval",
              ValueTypes.duration(Duration.ofMillis(50), Duration.ofSeconds(60), false))
          .flag("--election-interval")
          .legacyKey("election-interval")
          .unit("s")
          .defaultValue(Duration.ofMillis(500))
          .reload(DYNAMIC)
          .clusterWide()
          .description("Leader mode: a primary silent this long is presumed failed.")
          .build();

  /** How often a primary sends heartbeats. */
  public static final Setting<Duration> HEARTBEAT =
      Setting.builder(
              "replication.heartbeat",
              ValueTypes.duration(Duration.ofMillis(10), Duration.ofSeconds(30), false))
          .flag("--heartbeat")
          .unit("s")
          .defaultText("a fifth of replication.election-interval")
          .reload(DYNAMIC)
          .clusterWide()
          .description("Leader mode: how often the primary sends heartbeats.")
          .build();

  /** How long a write waits for its write concern. */
  public static final Setting<Duration> REPLICATION_TIMEOUT =
      Setting.builder("replication.replication-timeout", ValueTypes.duration(MS, DAY, false))
          .flag("--replication-timeout")
          .legacyKey("replication-timeout")
          .unit("s")
          .defaultValue(Duration.ofSeconds(2))
          .reload(DYNAMIC)
          .clusterWide()
          .description("How long a write waits for its concern before 504 outcome_unknown (D2).")
          .build();

  /** How long oplog entries are kept. */
  public static final Setting<Duration> OPLOG_RETENTION =
      Setting.builder(
              "replication.oplog-retention",
              ValueTypes.duration(Duration.ofMillis(100), Duration.ofDays(3650), true))
          .flag("--oplog-retention")
          .legacyKey("oplog-retention")
          .unit("s")
          .defaultValue(Duration.ofDays(7))
          .reload(DYNAMIC)
          .clusterWide()
          .description("Dynamo mode: how long oplog entries are kept; 0 keeps them for ever.")
          .build();

  /** How far ahead a peer's clock may be. */
  public static final Setting<Duration> MAX_CLOCK_OFFSET =
      Setting.builder(
              "replication.max-clock-offset",
              ValueTypes.duration(Duration.ofMillis(10), Duration.ofMinutes(10), false))
          .flag("--max-clock-offset")
          .unit("s")
          .defaultValue(Duration.ofMillis(500))
          .reload(STATIC)
          .description("Remote HLCs further ahead than this are refused (D4).")
          .build();

  // ---------------------------------------------------------------------------------------------
  // limits

  /** The largest HTTP request body. */
  public static final Setting<Long> MAX_REQUEST_BYTES =
      Setting.builder("limits.max-request-bytes", ValueTypes.bytes(1024, 64L << 20))
          .flag("--max-request-bytes")
          .legacyKey("max-request-bytes")
          .unit("bytes")
          .defaultValue(8L << 20)
          .reload(DYNAMIC)
          .clusterWide()
          .description("Largest HTTP request body; larger ones get 413 body_too_large.")
          .build();

  /** The largest document. */
  public static final Setting<Long> MAX_DOCUMENT_BYTES =
      Setting.builder("limits.max-document-bytes", ValueTypes.bytes(64, 4L << 20))
          .flag("--max-document-bytes")
          .legacyKey("max-document-bytes")
          .unit("bytes")
          .defaultValue(1L << 20)
          .reload(DYNAMIC)
          .clusterWide()
          .description("Largest document (compact JSON); at most 4 MiB so one fits a peer frame.")
          .build();

  /** The time budget of one query. */
  public static final Setting<Duration> QUERY_TIMEOUT =
      Setting.builder(
              "limits.query-timeout",
              ValueTypes.duration(Duration.ofMillis(10), Duration.ofHours(1), false))
          .flag("--query-timeout")
          .unit("s")
          .defaultValue(Duration.ofSeconds(10))
          .reload(DYNAMIC)
          .clusterWide()
          .description("A query (admission wait included) that runs longer gets 408 query_timeout.")
          .build();

  /** How many queries may run at once. */
  public static final Setting<Integer> MAX_CONCURRENT_QUERIES =
      Setting.builder("limits.max-concurrent-queries", ValueTypes.integer(1, 1024))
          .flag("--max-concurrent-queries")
          .unit("queries")
          .defaultText("the processors less one, at least 1")
          .reload(DYNAMIC)
          .description("Queries that run at once; others wait within their budget, then 503.")
          .build();

  /** Requests per second each client may make. */
  public static final Setting<Double> RATE_LIMIT =
      Setting.builder("limits.rate-limit", ValueTypes.decimal(0, 1_000_000))
          .flag("--rate-limit")
          .unit("requests/s")
          .defaultValue(0.0)
          .reload(DYNAMIC)
          .clusterWide()
          .description("Requests per second per client address; 0 turns the limit off.")
          .build();

  /** How many requests a client may make at once above its rate. */
  public static final Setting<Integer> RATE_LIMIT_BURST =
      Setting.builder("limits.rate-limit-burst", ValueTypes.integer(1, 1_000_000))
          .flag("--rate-limit-burst")
          .unit("requests")
          .defaultText("one second of limits.rate-limit")
          .reload(DYNAMIC)
          .clusterWide()
          .description("Requests a client may make at once before the rate applies.")
          .build();

  /** How many clients the rate limiter tracks. */
  public static final Setting<Integer> RATE_LIMIT_CLIENTS =
      Setting.builder("limits.rate-limit-clients", ValueTypes.integer(16, 10_000_000))
          .flag("--rate-limit-clients")
          .unit("clients")
          .defaultValue(65_536)
          .reload(DYNAMIC)
          .clusterWide()
          .description("Client addresses the rate limiter remembers; the least recent go first.")
          .build();

  /** How many change-feed streams may be open on the node. */
  public static final Setting<Integer> CHANGE_STREAMS =
      Setting.builder("limits.change-streams", ValueTypes.integer(1, 100_000))
          .flag("--change-streams")
          .unit("streams")
          .defaultValue(256)
          .reload(DYNAMIC)
          .clusterWide()
          .description("Open SSE change streams per node; more get 503 overloaded.")
          .build();

  /** How many change-feed streams one client may hold. */
  public static final Setting<Integer> CHANGE_STREAMS_PER_CLIENT =
      Setting.builder("limits.change-streams-per-client", ValueTypes.integer(1, 100_000))
          .flag("--change-streams-per-client")
          .unit("streams")
          .defaultValue(32)
          .reload(DYNAMIC)
          .clusterWide()
          .description("Open SSE change streams per client address; more get 429 too_many_streams.")
          .build();

  // ---------------------------------------------------------------------------------------------
  // http

  /** The origins whose pages may read the API (CORS). */
  public static final Setting<List<String>> CORS_ALLOWED_ORIGINS =
      Setting.builder(
              "http.cors-allowed-origins",
              ValueTypes.words(
                  "origins such as https://app.example.com:8443, or *", Settings::isOrigin))
          .flag("--cors-allowed-origins")
          .defaultValue(List.of())
          .defaultText("(none: CORS is off)")
          .reload(DYNAMIC)
          .clusterWide()
          .description("Origins whose pages may call the API from a browser; * allows any.")
          .build();

  /** The request headers a cross-origin page may send. */
  public static final Setting<List<String>> CORS_ALLOWED_HEADERS =
      Setting.builder(
              "http.cors-allowed-headers",
              ValueTypes.words("header names", name -> name.matches("[A-Za-z0-9!#$%&'*+.^_`|~-]+")))
          .flag("--cors-allowed-headers")
          .defaultValue(List.of("Content-Type", "Last-Event-ID"))
          .reload(DYNAMIC)
          .clusterWide()
          .description(
              "Request headers a cross-origin page may send (add Authorization for admin).")
          .build();

  /** How long a browser may cache a preflight answer. */
  public static final Setting<Duration> CORS_MAX_AGE =
      Setting.builder(
              "http.cors-max-age", ValueTypes.duration(Duration.ZERO, Duration.ofDays(1), true))
          .flag("--cors-max-age")
          .unit("s")
          .defaultValue(Duration.ofMinutes(10))
          .reload(DYNAMIC)
          .clusterWide()
          .description("How long a browser may reuse a CORS preflight answer.")
          .build();

  /** The names, besides the bind address, that the Host header may carry. */
  public static final Setting<List<String>> HTTP_ALLOWED_HOSTS =
      Setting.builder(
              "http.allowed-hosts",
              ValueTypes.words("host names or addresses, or *", Settings::isHostName))
          .flag("--allowed-hosts")
          .defaultValue(List.of())
          .defaultText("(the bind address; localhost when it is loopback)")
          .reload(DYNAMIC)
          .description(
              "Names clients reach the node by; other Host headers get 421 (DNS rebinding).")
          .build();

  /** How long a connection may be silent. */
  public static final Setting<Duration> HTTP_IDLE_TIMEOUT =
      Setting.builder(
              "http.idle-timeout",
              ValueTypes.duration(Duration.ofSeconds(1), Duration.ofHours(1), false))
          .flag("--http-idle-timeout")
          .unit("s")
          .defaultValue(Duration.ofSeconds(30))
          .reload(DYNAMIC)
          .clusterWide()
          .description("A connection silent this long is closed; applies to new connections.")
          .build();

  /** How long a client may take to send a request's headers. */
  public static final Setting<Duration> HTTP_HEADER_TIMEOUT =
      Setting.builder(
              "http.header-timeout",
              ValueTypes.duration(Duration.ofMillis(100), Duration.ofMinutes(10), false))
          .flag("--http-header-timeout")
          .unit("s")
          .defaultValue(Duration.ofSeconds(10))
          .reload(DYNAMIC)
          .clusterWide()
          .description("A request whose headers take longer to arrive is dropped (slowloris).")
          .build();

  // ---------------------------------------------------------------------------------------------
  // log

  /** The log level. */
  public static final Setting<String> LOG_LEVEL =
      Setting.builder("log.level", ValueTypes.oneOf("trace", "debug", "info", "warn", "error"))
          .flag("--log-level")
          .legacyKey("log-level")
          .defaultValue("info")
          .reload(DYNAMIC)
          .clusterWide()
          .description("Level of the node's own loggers.")
          .build();

  /** The log format. */
  public static final Setting<String> LOG_FORMAT =
      Setting.builder("log.format", ValueTypes.oneOf("text", "json"))
          .flag("--log-format")
          .legacyKey("log-format")
          .defaultValue("text")
          .reload(STATIC)
          .description("text: one line per event with key=value pairs; json: one object a line.")
          .build();

  // ---------------------------------------------------------------------------------------------
  // reload (the seed's DynamicReloadConfig)

  /** Whether the config file is watched. */
  public static final Setting<Boolean> RELOAD_WATCH =
      Setting.builder("reload.watch", ValueTypes.bool())
          .flag("--reload-watch")
          .defaultValue(true)
          .reload(DYNAMIC)
          .description("Watch the config file (and env file) and reload when they change.")
          .build();

  /** The polling fallback of the file watcher. */
  public static final Setting<Duration> RELOAD_CHECK_INTERVAL =
      Setting.builder(
              "reload.check-interval",
              ValueTypes.duration(Duration.ofMillis(100), Duration.ofDays(1), false))
          .flag("--reload-check-interval")
          .unit("s")
          .defaultValue(Duration.ofSeconds(30))
          .reload(DYNAMIC)
          .description("How often the config file is also polled (filesystem events can be lost).")
          .build();

  /** How long one module may take to reload. */
  public static final Setting<Duration> RELOAD_TIMEOUT =
      Setting.builder(
              "reload.reload-timeout",
              ValueTypes.duration(Duration.ofMillis(10), Duration.ofMinutes(10), false))
          .flag("--reload-timeout")
          .unit("s")
          .defaultValue(Duration.ofSeconds(10))
          .reload(DYNAMIC)
          .description("A module that takes longer to reload is abandoned and the reload fails.")
          .build();

  /** Whether a failed reload rolls back. */
  public static final Setting<Boolean> RELOAD_ENABLE_ROLLBACK =
      Setting.builder("reload.enable-rollback", ValueTypes.bool())
          .flag("--reload-enable-rollback")
          .defaultValue(true)
          .reload(DYNAMIC)
          .description("Roll back the modules already reloaded when a later one fails.")
          .build();

  /** The first backoff of the reload circuit breaker. */
  public static final Setting<Duration> RELOAD_BACKOFF_BASE =
      Setting.builder(
              "reload.backoff-base",
              ValueTypes.duration(Duration.ofMillis(10), Duration.ofHours(1), false))
          .flag("--reload-backoff-base")
          .unit("s")
          .defaultValue(Duration.ofSeconds(1))
          .reload(DYNAMIC)
          .description("First wait after the circuit breaker opens; it doubles on each failure.")
          .build();

  /** The largest backoff of the reload circuit breaker. */
  public static final Setting<Duration> RELOAD_BACKOFF_CAP =
      Setting.builder(
              "reload.backoff-cap",
              ValueTypes.duration(Duration.ofMillis(10), Duration.ofDays(1), false))
          .flag("--reload-backoff-cap")
          .unit("s")
          .defaultValue(Duration.ofSeconds(30))
          .reload(DYNAMIC)
          .description("Longest wait of the reload circuit breaker.")
          .build();

  /** Consecutive failures that open the breaker. */
  public static final Setting<Integer> RELOAD_FAILURE_THRESHOLD =
      Setting.builder("reload.failure-threshold", ValueTypes.integer(1, 100))
          .flag("--reload-failure-threshold")
          .unit("reloads")
          .defaultValue(3)
          .reload(DYNAMIC)
          .description("Consecutive failed reloads that open the circuit breaker.")
          .build();

  /** Which modules take part in reloads. */
  public static final Setting<List<String>> RELOAD_ENABLED_MODULES =
      Setting.builder(
              "reload.enabled-modules",
              ValueTypes.words("module names: " + String.join(", ", MODULES), MODULES::contains))
          .flag("--reload-enabled-modules")
          .defaultValue(List.of())
          .defaultText("(all)")
          .reload(DYNAMIC)
          .description("Modules that reload live; a change owned by another one is refused.")
          .build();

  /** How many reload requests may wait. */
  public static final Setting<Integer> RELOAD_QUEUE_MAX =
      Setting.builder("reload.queue-max", ValueTypes.integer(1, 10_000))
          .flag("--reload-queue-max")
          .unit("requests")
          .defaultValue(64)
          .reload(DYNAMIC)
          .description("Reload requests that may wait (they are coalesced); more get 503.")
          .build();

  // ---------------------------------------------------------------------------------------------
  // tls

  /** The key store; setting it turns TLS on. */
  public static final Setting<String> TLS_KEYSTORE =
      Setting.builder("tls.keystore", ValueTypes.text("a file", s -> !s.isBlank()))
          .flag("--tls-keystore")
          .legacyKey("tls-keystore")
          .defaultText("(none: plain HTTP)")
          .reload(STATIC)
          .description("PKCS12/JKS key store: serve HTTPS, and dial peers over TLS.")
          .build();

  /** The key store's password. */
  public static final Setting<Secret> TLS_KEYSTORE_PASSWORD =
      Setting.builder("tls.keystore-password", ValueTypes.secret(1))
          .flag("--tls-keystore-password")
          .legacyKey("tls-keystore-password")
          .secret()
          .reload(STATIC)
          .description("Key store password, or ${ENV_NAME}.")
          .build();

  /** The trust store for peers' certificates. */
  public static final Setting<String> TLS_TRUSTSTORE =
      Setting.builder("tls.truststore", ValueTypes.text("a file", s -> !s.isBlank()))
          .flag("--tls-truststore")
          .legacyKey("tls-truststore")
          .defaultText("(the key store's certificates)")
          .reload(STATIC)
          .description("Trust store for peers' certificates.")
          .build();

  /** The trust store's password. */
  public static final Setting<Secret> TLS_TRUSTSTORE_PASSWORD =
      Setting.builder("tls.truststore-password", ValueTypes.secret(1))
          .flag("--tls-truststore-password")
          .legacyKey("tls-truststore-password")
          .defaultText("(the key store's)")
          .secret()
          .reload(STATIC)
          .description("Trust store password, or ${ENV_NAME}.")
          .build();

  // ---------------------------------------------------------------------------------------------
  // admin

  /** The admin API's bearer token; the admin API is off without one. */
  public static final Setting<Secret> ADMIN_TOKEN =
      Setting.builder("admin.token", ValueTypes.secret(16))
          .flag("--admin-token")
          .defaultText("(none: the admin API is off)")
          .secret()
          .reload(DYNAMIC)
          .description("Bearer token of /admin/*; use ${ENV_NAME} or SKEIN_ADMIN_TOKEN.")
          .build();

  // ---------------------------------------------------------------------------------------------
  // oauth2: a node that serves as a cloud peer (docs/operating/cloud.md)

  /** The issuer whose tokens {@code POST /v1/sync} accepts; setting it turns site sync on. */
  public static final Setting<String> OAUTH2_ISSUER =
      Setting.builder(
              "oauth2.issuer",
              ValueTypes.text(
                  "an https:// URL (http:// only on a loopback host)",
                  s -> io.skein.internal.oauth2.Discovery.urlProblem(s) == null))
          .flag("--oauth2-issuer")
          .legacyKey("oauth2-issuer")
          .defaultText("(none: this node takes no site-to-site sync)")
          .reload(STATIC)
          .description(
              "Cloud peer: the OAuth2 issuer whose JWTs POST /v1/sync accepts (its keys are found"
                  + " by OIDC discovery); exactly the tokens' iss.")
          .build();

  /** The audience tokens must name. */
  public static final Setting<String> OAUTH2_AUDIENCE =
      Setting.builder("oauth2.audience", ValueTypes.text("a non-empty string", s -> !s.isBlank()))
          .flag("--oauth2-audience")
          .legacyKey("oauth2-audience")
          .defaultText("(none; required with oauth2.issuer)")
          .reload(STATIC)
          .description("Cloud peer: the audience a token's aud must contain.")
          .build();

  /** The scope tokens must carry. */
  public static final Setting<String> OAUTH2_SCOPE =
      Setting.builder(
              "oauth2.scope",
              ValueTypes.text(
                  "1-128 printable characters without spaces, quotes or backslashes",
                  s -> s.matches("[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,128}")))
          .flag("--oauth2-scope")
          .legacyKey("oauth2-scope")
          .defaultValue("skein:sync")
          .reload(STATIC)
          .description("Cloud peer: the scope a token must carry; without it the answer is 403.")
          .build();

  /** How the gateway reaches cloud peers. */
  public static final Setting<String> REMOTE_SCHEME =
      Setting.builder(
              "remote.scheme",
              ValueTypes.text("https or http", s -> s.equals("https") || s.equals("http")))
          .flag("--remote-scheme")
          .defaultValue("https")
          .reload(STATIC)
          .description(
              "Gateway: https (trusting tls.truststore, else the JDK's CAs) or http, for a cloud"
                  + " peer on loopback or a trusted network only: the bearer token crosses in"
                  + " clear.")
          .build();

  // ---------------------------------------------------------------------------------------------
  // discovery

  /** Whether LAN discovery runs. */
  public static final Setting<Boolean> DISCOVERY_ENABLED =
      Setting.builder("discovery.enabled", ValueTypes.bool())
          .flag("--discovery")
          .legacyKey("discovery")
          .defaultValue(false)
          .reload(DYNAMIC)
          .description("Dynamo mode: beacon on the LAN and admit authenticated peers that answer.")
          .build();

  /** The discovery UDP port. */
  public static final Setting<Integer> DISCOVERY_PORT =
      Setting.builder("discovery.port", ValueTypes.integer(1, 65535))
          .flag("--discovery-port")
          .legacyKey("discovery-port")
          .defaultValue(9999)
          .reload(RESTART_COMPONENT)
          .description("UDP port beacons are sent to and received on.")
          .build();

  /** Where beacons go. */
  public static final Setting<List<String>> DISCOVERY_TARGETS =
      Setting.builder(
              "discovery.targets", ValueTypes.words("host:port[,host:port]", Settings::isHostPort))
          .flag("--discovery-targets")
          .legacyKey("discovery-targets")
          .defaultText("255.255.255.255:{discovery.port}")
          .reload(RESTART_COMPONENT)
          .description("Where beacons go.")
          .build();

  /** How long a discovered peer may be silent. */
  public static final Setting<Duration> DISCOVERY_EXPIRY =
      Setting.builder("discovery.expiry", ValueTypes.duration(MS, DAY, false))
          .flag("--discovery-expiry")
          .legacyKey("discovery-expiry")
          .unit("s")
          .defaultValue(Duration.ofSeconds(10))
          .reload(DYNAMIC)
          .description("A discovered peer silent this long leaves the active membership.")
          .build();

  /** How often a beacon goes out. */
  public static final Setting<Duration> DISCOVERY_INTERVAL =
      Setting.builder(
              "discovery.interval",
              ValueTypes.duration(Duration.ofMillis(100), Duration.ofMinutes(10), false))
          .flag("--discovery-interval")
          .unit("s")
          .defaultValue(Duration.ofSeconds(1))
          .reload(RESTART_COMPONENT)
          .description("How often a beacon goes out.")
          .build();

  /** The catalog: every setting above, and the rules over several of them. */
  public static final SettingsCatalog CATALOG =
      new SettingsCatalog(
          List.of(
              NODE_ID,
              NODE_HOST,
              NODE_PORT,
              NODE_DATA_DIR,
              NODE_DURABILITY,
              COMPACTION_ENTRIES,
              COMPACTION_BYTES,
              CLUSTER_MODE,
              CLUSTER_ROLE,
              CLUSTER_PEERS,
              REMOTE_INITIAL_PEERS,
              CLUSTER_ID,
              CLUSTER_SECRET,
              SYNC_INTERVAL,
              ELECTION_INTERVAL,
              HEARTBEAT,
              REPLICATION_TIMEOUT,
              OPLOG_RETENTION,
              MAX_CLOCK_OFFSET,
              MAX_REQUEST_BYTES,
              MAX_DOCUMENT_BYTES,
              QUERY_TIMEOUT,
              MAX_CONCURRENT_QUERIES,
              RATE_LIMIT,
              RATE_LIMIT_BURST,
              RATE_LIMIT_CLIENTS,
              CHANGE_STREAMS,
              CHANGE_STREAMS_PER_CLIENT,
              CORS_ALLOWED_ORIGINS,
              CORS_ALLOWED_HEADERS,
              CORS_MAX_AGE,
              HTTP_ALLOWED_HOSTS,
              HTTP_IDLE_TIMEOUT,
              HTTP_HEADER_TIMEOUT,
              LOG_LEVEL,
              LOG_FORMAT,
              RELOAD_WATCH,
              RELOAD_CHECK_INTERVAL,
              RELOAD_TIMEOUT,
              RELOAD_ENABLE_ROLLBACK,
              RELOAD_BACKOFF_BASE,
              RELOAD_BACKOFF_CAP,
              RELOAD_FAILURE_THRESHOLD,
              RELOAD_ENABLED_MODULES,
              RELOAD_QUEUE_MAX,
              TLS_KEYSTORE,
              TLS_KEYSTORE_PASSWORD,
              TLS_TRUSTSTORE,
              TLS_TRUSTSTORE_PASSWORD,
              ADMIN_TOKEN,
              OAUTH2_ISSUER,
              OAUTH2_AUDIENCE,
              OAUTH2_SCOPE,
              REMOTE_SCHEME,
              DISCOVERY_ENABLED,
              DISCOVERY_PORT,
              DISCOVERY_TARGETS,
              DISCOVERY_EXPIRY,
              DISCOVERY_INTERVAL),
          List.of(
              new ConfigRule(
                  List.of(MAX_DOCUMENT_BYTES.path(), MAX_REQUEST_BYTES.path()),
                  Settings::documentFitsRequest),
              new ConfigRule(
                  List.of(CLUSTER_PEERS.path(), NODE_ID.path()), Settings::peersExcludeSelf),
              new ConfigRule(
                  List.of(HEARTBEAT.path(), ELECTION_INTERVAL.path()),
                  Settings::heartbeatBelowElection),
              new ConfigRule(
                  List.of(REPLICATION_TIMEOUT.path(), HEARTBEAT.path(), ELECTION_INTERVAL.path()),
                  Settings::timeoutCoversHeartbeats),
              new ConfigRule(
                  List.of(DISCOVERY_ENABLED.path(), CLUSTER_MODE.path()),
                  Settings::discoveryNeedsDynamo),
              new ConfigRule(
                  List.of(CLUSTER_SECRET.path(), NODE_HOST.path(), CLUSTER_PEERS.path()),
                  Settings::peersNeedSecret),
              new ConfigRule(
                  List.of(CLUSTER_SECRET.path(), DISCOVERY_ENABLED.path()),
                  Settings::discoveryNeedsSecret),
              new ConfigRule(
                  List.of(TLS_KEYSTORE_PASSWORD.path(), TLS_KEYSTORE.path()),
                  Settings::tlsComplete),
              new ConfigRule(
                  List.of(OAUTH2_ISSUER.path(), OAUTH2_AUDIENCE.path()),
                  c ->
                      (c.find(OAUTH2_ISSUER) == null) != (c.find(OAUTH2_AUDIENCE) == null)
                          ? "oauth2.issuer and oauth2.audience go together: set both (a cloud"
                              + " peer) or neither"
                          : null),
              new ConfigRule(
                  List.of(RELOAD_BACKOFF_BASE.path(), RELOAD_BACKOFF_CAP.path()),
                  c ->
                      c.get(RELOAD_BACKOFF_BASE).compareTo(c.get(RELOAD_BACKOFF_CAP)) > 0
                          ? "reload.backoff-base must not exceed reload.backoff-cap"
                          : null)));

  // ---------------------------------------------------------------------------------------------
  // Derived values: each one reads only the settings above.

  /** Returns the heartbeat: the setting, or a fifth of the election interval. */
  public static Duration heartbeat(Config config) {
    Duration set = config.find(HEARTBEAT);
    return set != null ? set : config.get(ELECTION_INTERVAL).dividedBy(5);
  }

  /**
   * Returns how many queries may run at once: the setting, or the processors less one (at least
   * one). A query is CPU-bound SQLite work on a platform read thread; with as many of them as
   * cores, the replication loop and {@code /health} wait for a core, and a primary under heavy
   * queries misses its heartbeats.
   */
  public static int maxConcurrentQueries(Config config) {
    Integer set = config.find(MAX_CONCURRENT_QUERIES);
    return set != null ? set : Math.max(1, Runtime.getRuntime().availableProcessors() - 1);
  }

  /** Returns the rate limiter's burst: the setting, or one second of the rate (at least 1). */
  public static int rateLimitBurst(Config config) {
    Integer set = config.find(RATE_LIMIT_BURST);
    return set != null ? set : (int) Math.max(1, Math.ceil(config.get(RATE_LIMIT)));
  }

  /** Returns whether a host names the loopback interface (by literal; no DNS lookup). */
  public static boolean isLoopback(String host) {
    return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
  }

  private static @Nullable String nodeIdProblem(String id) {
    try {
      NodeId.of(id);
      return null;
    } catch (InvalidNameException e) {
      return String.valueOf(e.getMessage());
    }
  }

  /** An origin as browsers send it: scheme://host[:port], nothing after; or *. */
  private static boolean isOrigin(String origin) {
    return origin.equals("*")
        || origin.matches("(?i)https?://([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\])(:[0-9]{1,5})?");
  }

  /** A host name or address, optionally with a port, as a Host header carries it; or *. */
  private static boolean isHostName(String host) {
    return host.equals("*")
        || host.matches(
            "([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\]|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)(:[0-9]{1,5})?");
  }

  private static boolean isHostPort(String target) {
    int colon = target.lastIndexOf(':');
    if (colon < 1) {
      return false;
    }
    try {
      int port = Integer.parseInt(target.substring(colon + 1));
      return port >= 1 && port <= 65535;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static @Nullable String documentFitsRequest(Config c) {
    return c.get(MAX_DOCUMENT_BYTES) > c.get(MAX_REQUEST_BYTES)
        ? "limits.max-document-bytes ("
            + c.get(MAX_DOCUMENT_BYTES)
            + ") must not exceed limits.max-request-bytes ("
            + c.get(MAX_REQUEST_BYTES)
            + ")"
        : null;
  }

  private static @Nullable String peersExcludeSelf(Config c) {
    for (PeerAddress peer : c.get(CLUSTER_PEERS)) {
      if (peer.nodeId().value().equals(c.get(NODE_ID))) {
        return "node_id " + peer.nodeId() + " is this node's own id (node.id)";
      }
    }
    return null;
  }

  private static @Nullable String heartbeatBelowElection(Config c) {
    Duration heartbeat = c.find(HEARTBEAT);
    return heartbeat != null && heartbeat.compareTo(c.get(ELECTION_INTERVAL)) >= 0
        ? "replication.heartbeat must be shorter than replication.election-interval"
        : null;
  }

  /**
   * In leader mode the replication timeout is also the primary's step-down window: a primary that
   * hears no majority for that long steps down. Shorter than two heartbeats, it would step down
   * between heartbeats for ever.
   */
  private static @Nullable String timeoutCoversHeartbeats(Config c) {
    Duration heartbeat = heartbeat(c);
    return c.get(CLUSTER_MODE).equals("leader")
            && c.get(REPLICATION_TIMEOUT).compareTo(heartbeat.multipliedBy(2)) < 0
        ? "replication.replication-timeout ("
            + ValueTypes.format(c.get(REPLICATION_TIMEOUT))
            + ") must be at least two heartbeats ("
            + ValueTypes.format(heartbeat.multipliedBy(2))
            + ") in leader mode: it is also how long a primary keeps its role without hearing a"
            + " majority"
        : null;
  }

  private static @Nullable String discoveryNeedsDynamo(Config c) {
    return c.get(DISCOVERY_ENABLED) && c.get(CLUSTER_MODE).equals("leader")
        ? "discovery is for cluster.mode dynamo; leader mode elects among a fixed membership, so"
            + " list every member in cluster.peers (--peers)"
        : null;
  }

  private static @Nullable String peersNeedSecret(Config c) {
    boolean local =
        isLoopback(c.get(NODE_HOST))
            && c.get(CLUSTER_PEERS).stream().allMatch(p -> isLoopback(p.host()));
    return c.find(CLUSTER_SECRET) == null && !c.get(CLUSTER_PEERS).isEmpty() && !local
        ? "peers on other machines need a cluster secret; set --cluster-secret ${ENV_NAME} or the"
            + " SKEIN_CLUSTER_SECRET variable (only a cluster entirely on 127.0.0.1 may run"
            + " without one)"
        : null;
  }

  private static @Nullable String discoveryNeedsSecret(Config c) {
    if (c.find(CLUSTER_SECRET) != null || !c.get(DISCOVERY_ENABLED)) {
      return null;
    }
    List<String> targets = c.find(DISCOVERY_TARGETS);
    boolean local =
        isLoopback(c.get(NODE_HOST))
            && targets != null
            && !targets.isEmpty()
            && targets.stream().allMatch(t -> isLoopback(t.substring(0, t.lastIndexOf(':'))));
    return local
        ? null
        : "LAN discovery beyond 127.0.0.1 needs a cluster secret; set --cluster-secret"
            + " ${ENV_NAME} or the SKEIN_CLUSTER_SECRET variable";
  }

  private static @Nullable String tlsComplete(Config c) {
    boolean keystore = c.find(TLS_KEYSTORE) != null;
    if (!keystore && (c.find(TLS_KEYSTORE_PASSWORD) != null || c.find(TLS_TRUSTSTORE) != null)) {
      return "tls.keystore (--tls-keystore) is required with the other tls settings";
    }
    if (keystore && c.find(TLS_KEYSTORE_PASSWORD) == null) {
      return "tls.keystore-password (--tls-keystore-password) is required with tls.keystore (a"
          + " ${ENV_NAME} reference keeps it out of ps and shell history)";
    }
    return null;
  }
}
