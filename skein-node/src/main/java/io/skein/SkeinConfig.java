package io.skein;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.skein.core.model.NodeId;
import io.skein.core.replica.ReplicaConfig;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The settings of an embedded {@link Skein} store. Build one with {@link #builder(Path, String)};
 * every setting has a documented default and is validated by {@link Builder#build()}.
 *
 * @param dataDir the directory that holds {@code node-{nodeId}.db}
 * @param nodeId this node's id
 * @param durability when commits reach the disk
 * @param documentBytesMax the largest document, in bytes of compact JSON
 * @param batchOpsMax the most operations in one batch
 * @param writeQueueMax the most writes that may wait for the event loop
 * @param groupCommitMax the most writes committed in one transaction
 * @param readConnections the size of the read connection pool
 * @param maxClockOffsetMs how far ahead a peer's clock may be, in ms
 * @param clock the source of wall-clock time (inject a fake in tests)
 * @param meters where metrics are registered
 * @param peers the other members this node replicates with (multi-writer); empty for one node
 * @param syncIntervalMs the anti-entropy interval, in ms
 * @param replicationTimeoutMs how long a write waits for its write concern, in ms
 * @param oplogRetentionMs how long oplog entries (the change feed, and what peers can fetch one by
 *     one) are kept, in ms; 0 keeps them for ever. Older tombstones are collected once every peer
 *     acknowledged them, and a peer that fell further behind catches up by snapshot.
 * @param discovery whether peers may join at run time (LAN discovery in {@code datastore-node})
 * @param leader leader-follower settings, or {@code null} for multi-writer replication; with peers,
 *     one primary elected among this node and its peers orders every write
 * @param gateway multi-writer mode: the timings of the gateway election (D1) that picks which node
 *     syncs with remote and cloud peers
 */
public record SkeinConfig(
    Path dataDir,
    NodeId nodeId,
    Durability durability,
    int documentBytesMax,
    int batchOpsMax,
    int writeQueueMax,
    int groupCommitMax,
    int readConnections,
    long maxClockOffsetMs,
    InstantSource clock,
    MeterRegistry meters,
    List<NodeId> peers,
    long syncIntervalMs,
    long replicationTimeoutMs,
    long oplogRetentionMs,
    boolean discovery,
    @Nullable Leader leader,
    Gateway gateway) {

  /**
   * Multi-writer mode's gateway election (DESIGN.md D1): the lowest node id that reaches a majority
   * of the members becomes the gateway to remote and cloud peers.
   *
   * @param electionIntervalMs how long a silent gateway is presumed alive, at least 10 ms
   * @param heartbeatMs how often each node beacons whom it follows, below the election interval
   */
  public record Gateway(long electionIntervalMs, long heartbeatMs) {
    /** The defaults: 500 ms and 100 ms, leader mode's election timings. */
    public static final Gateway DEFAULT = new Gateway(500, 100);

    /** Checks the timings. */
    public Gateway {
      if (electionIntervalMs < 10) {
        throw new IllegalArgumentException(
            "gateway electionIntervalMs must be >= 10, was " + electionIntervalMs);
      }
      if (heartbeatMs < 1 || heartbeatMs >= electionIntervalMs) {
        throw new IllegalArgumentException(
            "gateway heartbeatMs ("
                + heartbeatMs
                + ") must be >= 1 and below electionIntervalMs ("
                + electionIntervalMs
                + ")");
      }
    }
  }

  /**
   * Leader-follower settings (DESIGN.md D1-D3).
   *
   * @param electionIntervalMs how long a secondary waits without hearing the primary before it
   *     stands for election (the failure-detection window)
   * @param heartbeatMs how often the primary sends heartbeats: a fifth of the election interval
   * @param startAsPrimary whether to stand for election at once ({@code --role primary}); the
   *     election, not this flag, decides who is primary
   * @param joining whether this node joins a running cluster ({@code --role joining}): it is not a
   *     member until a membership change on the primary adds it, so it never stands for election on
   *     its own; its peers are the current members
   * @param compactEntries compact the log once it holds more applied entries than this
   * @param compactBytes compact the log once its applied entries hold about this many bytes
   */
  public record Leader(
      long electionIntervalMs,
      long heartbeatMs,
      boolean startAsPrimary,
      boolean joining,
      long compactEntries,
      long compactBytes) {
    /** A member the cluster starts with, with the default compaction thresholds. */
    public Leader(long electionIntervalMs, long heartbeatMs, boolean startAsPrimary) {
      this(electionIntervalMs, heartbeatMs, startAsPrimary, false);
    }

    /** The default compaction thresholds. */
    public Leader(
        long electionIntervalMs, long heartbeatMs, boolean startAsPrimary, boolean joining) {
      this(
          electionIntervalMs,
          heartbeatMs,
          startAsPrimary,
          joining,
          io.skein.core.leader.LeaderConfig.COMPACT_ENTRIES_DEFAULT,
          io.skein.core.leader.LeaderConfig.COMPACT_BYTES_DEFAULT);
    }
  }

  /**
   * The settings a running store changes live ({@link Skein#reconfigure}).
   *
   * @param syncIntervalMs the anti-entropy interval, in ms
   * @param replicationTimeoutMs how long a write waits for its write concern, in ms
   * @param oplogRetentionMs how long oplog entries are kept, in ms; 0 keeps them for ever
   * @param documentBytesMax the largest document, in bytes of compact JSON
   * @param electionIntervalMs leader mode: the failure-detection window, in ms (else ignored)
   * @param heartbeatMs leader mode: how often the primary sends heartbeats, in ms (else ignored)
   */
  public record Timings(
      long syncIntervalMs,
      long replicationTimeoutMs,
      long oplogRetentionMs,
      int documentBytesMax,
      long electionIntervalMs,
      long heartbeatMs) {
    /**
     * Checks the bounds.
     *
     * @throws IllegalArgumentException naming the first value out of range
     */
    public Timings {
      Builder.requirePositive("syncIntervalMs", syncIntervalMs);
      Builder.requirePositive("replicationTimeoutMs", replicationTimeoutMs);
      Builder.requirePositive("documentBytesMax", documentBytesMax);
      Builder.requirePositive("electionIntervalMs", electionIntervalMs);
      Builder.requirePositive("heartbeatMs", heartbeatMs);
      if (oplogRetentionMs < 0) {
        throw new IllegalArgumentException(
            "oplogRetentionMs must be >= 0, was " + oplogRetentionMs);
      }
      if (heartbeatMs >= electionIntervalMs) {
        throw new IllegalArgumentException(
            "heartbeatMs ("
                + heartbeatMs
                + ") must be below electionIntervalMs ("
                + electionIntervalMs
                + ")");
      }
    }
  }

  /** Returns the settings a running store can change. */
  public Timings timings() {
    Leader l = leader;
    long election = l == null ? gateway.electionIntervalMs() : l.electionIntervalMs();
    long heartbeat = l == null ? gateway.heartbeatMs() : l.heartbeatMs();
    return new Timings(
        syncIntervalMs,
        replicationTimeoutMs,
        oplogRetentionMs,
        documentBytesMax,
        election,
        heartbeat);
  }

  /** Returns this configuration with other live settings. */
  public SkeinConfig withTimings(Timings t) {
    Leader l = leader;
    return new SkeinConfig(
        dataDir,
        nodeId,
        durability,
        t.documentBytesMax(),
        batchOpsMax,
        writeQueueMax,
        groupCommitMax,
        readConnections,
        maxClockOffsetMs,
        clock,
        meters,
        peers,
        t.syncIntervalMs(),
        t.replicationTimeoutMs(),
        t.oplogRetentionMs(),
        discovery,
        l == null
            ? null
            : new Leader(
                t.electionIntervalMs(),
                t.heartbeatMs(),
                l.startAsPrimary(),
                l.joining(),
                l.compactEntries(),
                l.compactBytes()),
        l == null ? new Gateway(t.electionIntervalMs(), t.heartbeatMs()) : gateway);
  }

  /** Whether writes go through an elected primary (leader mode, with peers). */
  public boolean leaderMode() {
    return leader != null && !peers.isEmpty();
  }

  /** Copies the peer list. */
  public SkeinConfig {
    peers = List.copyOf(peers);
  }

  /** Whether this store replicates: it has peers, or may gain them by discovery. */
  public boolean replicating() {
    return !peers.isEmpty() || discovery;
  }

  /** Default largest document: 1 MiB. */
  public static final int DOCUMENT_BYTES_MAX_DEFAULT = 1 << 20;

  /** Default write queue bound. */
  public static final int WRITE_QUEUE_MAX_DEFAULT = 16_384;

  /** Default group commit bound. */
  public static final int GROUP_COMMIT_MAX_DEFAULT = 4_096;

  /** Default oplog retention: 7 days. */
  public static final long OPLOG_RETENTION_MS_DEFAULT = 7L * 24 * 3600 * 1000;

  /** Default read pool size. */
  public static final int READ_CONNECTIONS_DEFAULT = 8;

  /**
   * Starts a builder.
   *
   * @param dataDir the data directory
   * @param nodeId the node id (1 to 64 characters from {@code [A-Za-z0-9_.-]})
   * @throws io.skein.core.model.InvalidNameException if the node id is invalid
   */
  public static Builder builder(Path dataDir, String nodeId) {
    return new Builder(dataDir, NodeId.of(nodeId));
  }

  /** Builds a {@link SkeinConfig}. Not thread-safe. */
  public static final class Builder {
    private final Path dataDir;
    private final NodeId nodeId;
    private Durability durability = Durability.FSYNC;
    private int documentBytesMax = DOCUMENT_BYTES_MAX_DEFAULT;
    private int batchOpsMax = ReplicaConfig.BATCH_OPS_MAX_DEFAULT;
    private int writeQueueMax = WRITE_QUEUE_MAX_DEFAULT;
    private int groupCommitMax = GROUP_COMMIT_MAX_DEFAULT;
    private int readConnections = READ_CONNECTIONS_DEFAULT;
    private long maxClockOffsetMs = ReplicaConfig.MAX_CLOCK_OFFSET_MS_DEFAULT;
    private InstantSource clock = InstantSource.system();
    private MeterRegistry meters = new SimpleMeterRegistry();
    private List<NodeId> peers = List.of();
    private long syncIntervalMs = ReplicaConfig.SYNC_INTERVAL_MS_DEFAULT;
    private long replicationTimeoutMs = ReplicaConfig.REPLICATION_TIMEOUT_MS_DEFAULT;
    private long oplogRetentionMs = OPLOG_RETENTION_MS_DEFAULT;
    private boolean discovery;
    private @Nullable Leader leader;
    private Gateway gateway = Gateway.DEFAULT;

    private Builder(Path dataDir, NodeId nodeId) {
      this.dataDir = Objects.requireNonNull(dataDir, "dataDir");
      this.nodeId = nodeId;
    }

    /** Sets the durability; default {@link Durability#FSYNC}. */
    public Builder durability(Durability durability) {
      this.durability = Objects.requireNonNull(durability, "durability");
      return this;
    }

    /** Sets the largest document in bytes; default 1 MiB. */
    public Builder documentBytesMax(int bytes) {
      this.documentBytesMax = bytes;
      return this;
    }

    /** Sets the most operations in one batch; default 10,000. */
    public Builder batchOpsMax(int ops) {
      this.batchOpsMax = ops;
      return this;
    }

    /** Sets the write queue bound; default 16,384. */
    public Builder writeQueueMax(int writes) {
      this.writeQueueMax = writes;
      return this;
    }

    /** Sets the most writes in one group commit; default 4,096. */
    public Builder groupCommitMax(int writes) {
      this.groupCommitMax = writes;
      return this;
    }

    /** Sets the read pool size; default 8. */
    public Builder readConnections(int connections) {
      this.readConnections = connections;
      return this;
    }

    /** Sets the max clock offset in ms; default 500. */
    public Builder maxClockOffsetMs(long ms) {
      this.maxClockOffsetMs = ms;
      return this;
    }

    /** Sets the time source; default the system clock. */
    public Builder clock(InstantSource clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** Sets the meter registry; default a private {@link SimpleMeterRegistry}. */
    public Builder meters(MeterRegistry meters) {
      this.meters = Objects.requireNonNull(meters, "meters");
      return this;
    }

    /**
     * Sets the peers this node replicates with, by node id; default none. Entries reach them
     * through a transport the owner attaches ({@code datastore-node} does this).
     *
     * @throws io.skein.core.model.InvalidNameException if an id is invalid
     */
    public Builder peers(List<String> peerIds) {
      List<NodeId> ids = new ArrayList<>();
      for (String id : peerIds) {
        ids.add(NodeId.of(id));
      }
      this.peers = List.copyOf(ids);
      return this;
    }

    /** Sets the anti-entropy interval in ms; default 2,000. */
    public Builder syncIntervalMs(long ms) {
      this.syncIntervalMs = ms;
      return this;
    }

    /** Sets how long a write waits for its write concern, in ms; default 2,000. */
    public Builder replicationTimeoutMs(long ms) {
      this.replicationTimeoutMs = ms;
      return this;
    }

    /** Lets peers join at run time (their transport attaches them); default false. */
    public Builder discovery(boolean enabled) {
      this.discovery = enabled;
      return this;
    }

    /** Sets the oplog retention in ms (0 keeps it for ever); default 7 days. */
    public Builder oplogRetentionMs(long ms) {
      this.oplogRetentionMs = ms;
      return this;
    }

    /**
     * Replicates leader-follower (with peers): one elected primary orders every write; default
     * multi-writer. The heartbeat is a fifth of the election interval.
     *
     * @param electionIntervalMs the failure-detection window, at least 10 ms
     * @param startAsPrimary whether to stand for election at once
     */
    public Builder leaderMode(long electionIntervalMs, boolean startAsPrimary) {
      return leaderMode(electionIntervalMs, Math.max(1, electionIntervalMs / 5), startAsPrimary);
    }

    /**
     * Replicates leader-follower with a heartbeat of its own.
     *
     * @param electionIntervalMs the failure-detection window, at least 10 ms
     * @param heartbeatMs how often the primary sends heartbeats, below the election interval
     * @param startAsPrimary whether to stand for election at once
     */
    public Builder leaderMode(long electionIntervalMs, long heartbeatMs, boolean startAsPrimary) {
      this.leader = new Leader(electionIntervalMs, heartbeatMs, startAsPrimary);
      return this;
    }

    /**
     * Multi-writer mode: sets the gateway election's timings; default {@link Gateway#DEFAULT}.
     *
     * @param electionIntervalMs how long a silent gateway is presumed alive, at least 10 ms
     * @param heartbeatMs how often each node beacons, below the election interval
     * @throws IllegalArgumentException if a value is out of range
     */
    public Builder gatewayElection(long electionIntervalMs, long heartbeatMs) {
      this.gateway = new Gateway(electionIntervalMs, heartbeatMs);
      return this;
    }

    /**
     * Leader mode, joining a running cluster: this node is not a member until the primary adds it
     * (a membership change), and its peers are the current members.
     *
     * @param electionIntervalMs the failure-detection window, at least 10 ms
     * @param heartbeatMs how often the primary sends heartbeats, below the election interval
     */
    public Builder joiningLeaderMode(long electionIntervalMs, long heartbeatMs) {
      this.leader = new Leader(electionIntervalMs, heartbeatMs, false, true);
      return this;
    }

    /**
     * Leader mode: the log's compaction thresholds (issue 13); defaults {@link
     * io.skein.core.leader.LeaderConfig#COMPACT_ENTRIES_DEFAULT} and {@link
     * io.skein.core.leader.LeaderConfig#COMPACT_BYTES_DEFAULT}.
     *
     * @param entries compact once the log holds more applied entries than this, at least 1
     * @param bytes compact once its applied entries hold about this many bytes, at least 1
     */
    public Builder leaderCompaction(long entries, long bytes) {
      requirePositive("compactEntries", entries);
      requirePositive("compactBytes", bytes);
      this.compactEntries = entries;
      this.compactBytes = bytes;
      return this;
    }

    private long compactEntries = io.skein.core.leader.LeaderConfig.COMPACT_ENTRIES_DEFAULT;
    private long compactBytes = io.skein.core.leader.LeaderConfig.COMPACT_BYTES_DEFAULT;

    /**
     * Validates and builds.
     *
     * @throws IllegalArgumentException naming the first setting out of range
     */
    public SkeinConfig build() {
      requirePositive("documentBytesMax", documentBytesMax);
      requirePositive("batchOpsMax", batchOpsMax);
      requirePositive("writeQueueMax", writeQueueMax);
      requirePositive("groupCommitMax", groupCommitMax);
      requirePositive("readConnections", readConnections);
      if (maxClockOffsetMs < 0) {
        throw new IllegalArgumentException(
            "maxClockOffsetMs must be >= 0, was " + maxClockOffsetMs);
      }
      requirePositive("syncIntervalMs", syncIntervalMs);
      requirePositive("replicationTimeoutMs", replicationTimeoutMs);
      if (oplogRetentionMs < 0) {
        throw new IllegalArgumentException(
            "oplogRetentionMs must be >= 0 (0 keeps the oplog for ever), was " + oplogRetentionMs);
      }
      if (leader != null && leader.electionIntervalMs() < 10) {
        throw new IllegalArgumentException(
            "electionIntervalMs must be >= 10, was " + leader.electionIntervalMs());
      }
      if (leader != null && discovery) {
        throw new IllegalArgumentException(
            "discovery is for multi-writer replication; leader mode needs a fixed membership");
      }
      if (peers.contains(nodeId) || peers.stream().distinct().count() != peers.size()) {
        throw new IllegalArgumentException(
            "peers must be distinct and must not contain this node's id " + nodeId);
      }
      return new SkeinConfig(
          dataDir,
          nodeId,
          durability,
          documentBytesMax,
          batchOpsMax,
          writeQueueMax,
          groupCommitMax,
          readConnections,
          maxClockOffsetMs,
          clock,
          meters,
          peers,
          syncIntervalMs,
          replicationTimeoutMs,
          oplogRetentionMs,
          discovery,
          leader == null
              ? null
              : new Leader(
                  leader.electionIntervalMs(),
                  leader.heartbeatMs(),
                  leader.startAsPrimary(),
                  leader.joining(),
                  compactEntries,
                  compactBytes),
          gateway);
    }

    static void requirePositive(String name, long value) {
      if (value < 1) {
        throw new IllegalArgumentException(name + " must be >= 1, was " + value);
      }
    }
  }
}
