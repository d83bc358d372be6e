package io.skein.core.leader;

import io.skein.core.hlc.Hlc;
import io.skein.core.hlc.HybridClock;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.DocumentKey;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.OplogEntry;
import io.skein.core.replica.Mutation;
import io.skein.core.replica.Outcome;
import io.skein.core.replica.Reply;
import io.skein.core.replica.WriteConcern;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * Leader-follower replication (D1-D3) as a deterministic state machine, driven like {@code
 * ReplicaCore}: inputs in, {@link LeaderReady} out.
 *
 * <p>Design notes. The log and its safety rules are Raft's: one vote per epoch, persisted before it
 * is sent; a vote only for a candidate whose log is at least as up to date (last epoch, then last
 * index); a follower accepts entries only where its log matches the primary's at {@code (prevIndex,
 * prevEpoch)}, truncating a conflicting suffix; a primary commits an index once a majority holds it
 * and it belongs to the primary's epoch, and starts its epoch with a marker entry (a document in
 * {@code _system_epochs}) so that earlier entries commit with it. So at most one primary exists per
 * epoch, and no committed entry is ever lost or truncated.
 *
 * <p>What the seed asks on top, the lowest id: election timeouts are staggered by rank (the
 * election interval plus half of it per lower-ranked member), so the lowest live member whose log
 * is up to date stands first and wins; if its log is behind, the voters refuse it and the next one
 * wins. A pre-vote round, answered "no" by anyone who still hears a primary, keeps a node that was
 * only partitioned or paused from disturbing a healthy primary, and a lower id that returns does
 * not take over until the next election (no flapping). A primary that has not heard from a majority
 * for one replication timeout steps down (it stops accepting writes).
 *
 * <p>Timings are inputs ({@link LeaderInput.Reconfigure}), and only liveness rests on them. Safety
 * comes from votes and logs, which no timer touches: a member votes once per epoch (persisted
 * before the vote leaves) and a majority is needed to win, so an epoch has at most one primary
 * whatever the clocks or intervals say; and a commit needs a majority holding the entry, which any
 * later primary's voters overlap. A primary that keeps the role too long (a long replication
 * timeout) cannot commit against a newer epoch, because followers refuse its appends; strong reads
 * confirm the role with a quorum round, not a time lease. So a reconfiguration, or members that
 * disagree on timings, can slow an election or cause a needless one, never break those rules.
 *
 * <p>Membership changes (issue 10) are Raft's single-server change: a configuration is a log entry
 * ({@link LeaderMembers}), in force as soon as it is in the log, and every majority (commit,
 * step-down, read confirmation, votes) counts the voters of the configuration in force; learners
 * catch up before they vote; one change at a time; see docs/internals/leader-mode.md.
 *
 * <p>Why one class of this size (about 2,150 lines, over the project's 1,000-line guide): it is one
 * state machine whose rules read each other's state at every step. Elections (epoch, vote,
 * pre-votes, rank-staggered timers), the log (append, truncate, open batch ends), commitment (match
 * indexes, the commit rule, pending writes and reads) and membership (the configuration in force,
 * which every majority counts, learners, departing members) and compaction (the snapshot index that
 * log matching and the commit index rest on, snapshot transfers that replace a follower's appends)
 * all change {@code role}, {@code epoch}, {@code commitIndex}, the followers and the unpersisted
 * hard state together, and the safety argument above is about their combination: a configuration's
 * truncation changes the majority the commit rule uses, a commit changes who may stand. Split into
 * classes, those fields would be shared mutable state behind package-private accessors, and a
 * reader checking a rule would have to follow it across files. The immutable parts live elsewhere
 * ({@link LeaderConfig}, {@link LeaderMessage}, {@link LeaderReady}, {@link LeaderRecovered}); the
 * file is ordered by concern (time, writes and reads, persistence, messages) and the simulators
 * test it as one unit.
 *
 * <p>Not thread-safe: one owner drives it.
 */
public final class LeaderCore {
  /** The system collection that records each epoch's start. */
  public static final CollectionName EPOCHS = CollectionName.system("_system_epochs");

  /** The role of this node. */
  public enum Role {
    /** Follows the primary of its epoch (or waits for one). */
    SECONDARY,
    /** Asked for pre-votes. */
    PRE_CANDIDATE,
    /** Stands for election in a new epoch. */
    CANDIDATE,
    /** Orders every write. */
    PRIMARY
  }

  /** The current config; {@link LeaderInput.Reconfigure} replaces it. */
  private LeaderConfig config;

  private final HybridClock clock;
  private long nowMs;

  // Durable (mirrored): epoch, vote, log shape.
  private long epoch;
  private @Nullable NodeId votedFor;
  private long lastIndex;
  private long persistedIndex;
  private final TreeMap<Long, Long> epochStarts = new TreeMap<>();

  /**
   * The configurations in the log, by the index of their entry; key 0 is the configured members, in
   * force until the log holds a configuration entry. The last one is in force, committed or not
   * (Raft's rule: a configuration takes effect when appended); a truncation that removes it brings
   * back the one before.
   */
  private final TreeMap<Long, LeaderMembers> configs = new TreeMap<>();

  private boolean membersDirty = true;

  /**
   * On a primary, members a configuration removed, with its index: they keep receiving the log
   * until they hold that configuration and have answered a heartbeat that says it is committed (so
   * a removed member learns it is out for good, and neither stands nor waits for a primary that
   * will never come), or until they have been silent for a replication timeout. They count for
   * nothing.
   */
  private final Map<NodeId, Long> departing = new HashMap<>();

  // reachableMembers()'s last answer and the inputs it was computed from. A truncation followed
  // by an append can replace a configuration at the same index: that clears the cache too.
  private @Nullable LeaderMembers reachableCache;
  private long reachableFloor = -1;
  private long reachableLast = -1;
  private Role reachableRole = Role.SECONDARY;
  private Set<NodeId> reachableDeparting = Set.of();

  private @Nullable PendingChange pendingChange;

  // Volatile.
  private Role role = Role.SECONDARY;
  private @Nullable NodeId leader;
  private long commitIndex;
  private long lastHeardLeaderMs;
  private boolean pendingInitialTick;

  /**
   * Whether this member has seen a primary since it started: another member leading, or its own
   * leadership confirmed by a majority. Until then a member started as primary keeps its cold-start
   * pace (A31).
   */
  private boolean seenPrimary;

  private long electionStartedMs = Long.MIN_VALUE / 2;
  private final Set<NodeId> votes = new HashSet<>();
  private long epochStartIndex;
  private long round;
  private long lastHeartbeatMs = Long.MIN_VALUE / 2;
  private final Map<NodeId, Follower> followers = new LinkedHashMap<>();
  private final TreeMap<Long, OplogEntry> tail = new TreeMap<>();

  /**
   * The indexes of this log whose entries do not end their write: every entry of a batch but its
   * last. A commit index never stops at one (advanceCommit, receiveAppend), and a new primary
   * truncates a trailing run of them (becomePrimary), so a batch is committed whole or not at all.
   * Kept for the part of the log above the commit index and for the in-memory tail; older flags
   * come back with {@link LeaderInput.Loaded} when a follower needs old entries.
   */
  private final java.util.TreeSet<Long> open = new java.util.TreeSet<>();

  /** The open indexes among {@link #toAppend}, for the shell to persist with the entries. */
  private final List<Long> openToAppend = new ArrayList<>();

  private long localSequence;
  private final LinkedHashMap<Long, PendingWrite> pendingWrites = new LinkedHashMap<>();
  private final List<PendingRead> pendingReads = new ArrayList<>();

  // Ready accumulation.
  private boolean hardStateDirty;
  private long truncateFrom;
  private final List<OplogEntry> toAppend = new ArrayList<>();
  private final List<Reply> replies = new ArrayList<>();
  private final List<LeaderReady.ReadReply> readReplies = new ArrayList<>();
  private final List<LeaderReady.Outgoing> messages = new ArrayList<>();
  private final List<LeaderReady.LogRead> loads = new ArrayList<>();
  private LeaderReady.@Nullable LeadershipChanged leadership;
  private @Nullable NodeId announcedLeader;
  private boolean announcedLeaderSelf;

  /** The most recent entries kept in memory, so followers are fed without storage reads. */
  static final int TAIL_ENTRIES_MAX = 8_192;

  /** The most document bytes the in-memory tail holds (large documents are read back instead). */
  static final long TAIL_BYTES_MAX = 64L << 20;

  /** The most document bytes in one append (the transport also splits appends into frames). */
  public static final long APPEND_BYTES_MAX = 8L << 20;

  /**
   * The time a write's deadline grows by for each entry after its first, in microseconds. A batch
   * of n entries is written, sent and fsynced on every member before it commits, which takes time
   * in proportion to n: about 0.1 ms an entry on this project's test machine (a 10,000-op batch,
   * 0.75 MB, takes about a second to commit on three members). A fixed deadline sized for single
   * writes would time out large batches that are doing nothing wrong, so the deadline scales, with
   * about five times that margin.
   */
  public static final long DEADLINE_MICROS_PER_ENTRY = 500;

  /**
   * How long a write of {@code entries} entries may take to meet its concern before it times out.
   *
   * @param replicationTimeoutMs the configured replication timeout, in ms: a single write's
   *     deadline
   * @param entries how many entries the write has, at least one
   * @return the deadline, in ms from the proposal
   */
  public static long writeTimeoutMs(long replicationTimeoutMs, int entries) {
    return replicationTimeoutMs + (Math.max(entries, 1) - 1) * DEADLINE_MICROS_PER_ENTRY / 1_000;
  }

  private long tailBytes;

  // Compaction and snapshots (issue 13). The log starts after snapshotIndex: every entry up to it
  // is applied, and the documents stand for it. A follower that needs an entry at or below it
  // receives a snapshot of the documents instead (docs/internals/leader-mode.md, "Compaction").

  /** The most documents in one snapshot chunk (the store also bounds a chunk's bytes). */
  static final int SNAPSHOT_DOCS_MAX = 2_048;

  private long snapshotIndex;
  private long snapshotEpoch;

  /** The last index the shell reported applied ({@link LeaderInput.Applied}). */
  private long appliedIndex;

  /** An estimate of the document bytes of the log after {@link #snapshotIndex}. */
  private long logBytes;

  private LeaderReady.@Nullable Compaction compaction;
  private final List<LeaderReady.SnapshotRead> snapshotReads = new ArrayList<>();

  /** A snapshot chunk taken, to hand out with the next ready. */
  private LeaderMessage.@Nullable Snapshot chunkToInstall;

  /** The chunk handed out, until the shell reports it installed. */
  private LeaderReady.@Nullable SnapshotInstall installing;

  /** The transfer this node is receiving: the snapshot's index and the last key applied. */
  private LeaderRecovered.@Nullable Receiving receiving;

  private LeaderRecovered.@Nullable Receiving receivingBeforeInstall;

  /** A snapshot transfer to one follower: what it stands for, and the shared chunk cursor. */
  private record SnapshotSend(
      long index,
      long indexEpoch,
      long membersIndex,
      @Nullable LeaderMembers members,
      io.skein.core.replica.ChunkCursor cursor) {}

  /** A rough size of an entry in memory and on the wire. */
  static long bytes(OplogEntry entry) {
    String document = entry.document();
    return 128L + (document == null ? 0 : document.length());
  }

  /** The longest prefix of {@code entries} within {@link #APPEND_BYTES_MAX}, never empty. */
  private static List<OplogEntry> withinAppendBytes(List<OplogEntry> entries) {
    long total = 0;
    for (int i = 0; i < entries.size(); i++) {
      total += bytes(entries.get(i));
      if (total > APPEND_BYTES_MAX && i > 0) {
        return entries.subList(0, i);
      }
    }
    return entries;
  }

  private static final class Follower {
    long next = 1;
    long match;

    /**
     * Where to resend from when nothing was confirmed for a while: the first index this follower is
     * not known to lack. A new primary does not know its followers' logs: it probes from its own
     * last index, and only a refusal moves the probe back. Resending from {@code match + 1} instead
     * would re-send a whole log to an up-to-date follower whose answer was slow.
     */
    long probe = 1;

    long lastAckMs;
    long lastProgressMs;

    /**
     * A departing member: the first heartbeat round that tells it its removal is committed (0: not
     * sent yet). It is fed until it answers that round, so it knows it is out for good.
     */
    long commitRound;

    /** A learner's catch-up round: the log end it must reach, and when the round began. */
    long catchUpTarget = -1;

    long catchUpStartMs;
    long ackedRound;
    boolean loading;

    /** A snapshot transfer under way; no entries are sent meanwhile. */
    @Nullable SnapshotSend snapshot;
  }

  private record PendingWrite(
      long requestId,
      long index,
      WriteConcern concern,
      long deadlineMs,
      long timeoutMs,
      List<OplogEntry> entries) {}

  private record PendingRead(long requestId, long readIndex, long round) {}

  /**
   * The membership change a client waits on: answered once the configuration that completes it is
   * committed (for an addition, the one that makes the learner a voter).
   */
  private record PendingChange(long requestId, NodeId member, boolean add, long deadlineMs) {}

  private LeaderCore(LeaderConfig config, LeaderRecovered recovered) {
    this.config = config;
    // The log, not the clock, orders leader-mode writes; but every primary must stamp later HLCs
    // than any entry in its log (documents apply by HLC), so remote HLCs are always observed.
    this.clock = new HybridClock(() -> nowMs, Long.MAX_VALUE / 4, recovered.hlcHighWater());
    this.epoch = recovered.epoch();
    this.votedFor = recovered.votedFor();
    this.lastIndex = recovered.lastIndex();
    this.persistedIndex = recovered.lastIndex();
    this.epochStarts.putAll(recovered.epochStarts());
    this.commitIndex = Math.min(recovered.commitIndex(), recovered.lastIndex());
    this.localSequence = recovered.lastIndex();
    configs.put(0L, LeaderMembers.of(config.members()));
    recovered
        .configurations()
        .forEach(
            (index, members) -> {
              if (index > 0 && index <= lastIndex) {
                configs.put(index, members);
              }
            });
    for (long index : recovered.openIndexes()) {
      if (index > commitIndex && index <= lastIndex) {
        open.add(index);
      }
    }
    this.snapshotIndex = recovered.snapshotIndex();
    this.snapshotEpoch = recovered.snapshotEpoch();
    this.commitIndex = Math.max(commitIndex, snapshotIndex);
    this.appliedIndex = commitIndex;
    if (snapshotIndex > 0) {
      epochStarts.headMap(snapshotIndex, true).clear();
      epochStarts.put(snapshotIndex, snapshotEpoch);
    }
    LeaderRecovered.Receiving wasReceiving = recovered.receiving();
    this.receiving =
        wasReceiving != null && wasReceiving.index() > commitIndex ? wasReceiving : null;
  }

  /** Creates a core that resumes from durable state. */
  public static LeaderCore restore(LeaderConfig config, LeaderRecovered recovered) {
    LeaderCore core = new LeaderCore(config, recovered);
    // A node started with --role primary stands for election at once; the others wait.
    core.lastHeardLeaderMs = config.startAsPrimary() ? Long.MIN_VALUE / 2 : 0;
    core.pendingInitialTick = true;
    return core;
  }

  // ---------------------------------------------------------------------------------------------
  // Accessors.

  /** Returns the role. */
  public Role role() {
    return role;
  }

  /** Returns the epoch. */
  public long epoch() {
    return epoch;
  }

  /** Returns the primary this node follows (itself if primary), or {@code null}. */
  public @Nullable NodeId leader() {
    return leader;
  }

  /** Returns the last index in the log (handed out, maybe not yet durable). */
  public long lastIndex() {
    return lastIndex;
  }

  /** Returns the commit index. */
  public long commitIndex() {
    return commitIndex;
  }

  /** Returns the epoch of the entry at an index (0 for index 0 or an unknown index). */
  public long epochAt(long index) {
    if (index <= 0 || index > lastIndex) {
      return 0;
    }
    if (index == snapshotIndex) {
      return snapshotEpoch;
    }
    Map.Entry<Long, Long> start = epochStarts.floorEntry(index);
    return start == null ? 0 : start.getValue();
  }

  /** Returns, per follower, the highest index known to match (primary only; empty otherwise). */
  public Map<NodeId, Long> matchIndexes() {
    Map<NodeId, Long> result = new LinkedHashMap<>();
    if (role == Role.PRIMARY) {
      followers.forEach((id, f) -> result.put(id, f.match));
    }
    return result;
  }

  /** Returns the configuration in force: the last one in the log, committed or not. */
  public LeaderMembers members() {
    return configs.lastEntry().getValue();
  }

  /** Returns the index of the configuration in force (0: the configured members). */
  public long membersIndex() {
    return configs.lastKey();
  }

  /**
   * Returns the members this node must keep talking to: those of the last configuration it knows
   * committed and of every later one. A member that a configuration not yet committed removes still
   * counts until it commits (a primary that removes itself needs its followers' answers to commit
   * its own removal); a member the committed configuration removed does not.
   */
  public LeaderMembers reachableMembers() {
    Map.Entry<Long, LeaderMembers> floor = configs.floorEntry(commitIndex);
    long key = java.util.Objects.requireNonNull(floor).getKey();
    LeaderMembers cached = reachableCache;
    if (cached != null
        && key == reachableFloor
        && configs.lastKey() == reachableLast
        && role == reachableRole
        && departing.keySet().equals(reachableDeparting)) {
      return cached; // called every loop turn: most turns change none of its inputs
    }
    LeaderMembers result = java.util.Objects.requireNonNull(floor).getValue();
    for (LeaderMembers later : configs.tailMap(floor.getKey(), false).values()) {
      result = result.union(later);
    }
    if (role == Role.PRIMARY && !departing.isEmpty()) {
      result =
          result.union(new LeaderMembers(List.of(), List.copyOf(departing.keySet()), Map.of()));
    }
    reachableCache = result;
    reachableFloor = key;
    reachableLast = configs.lastKey();
    reachableRole = role;
    reachableDeparting = Set.copyOf(departing.keySet());
    return result;
  }

  /**
   * Returns whether a membership change is under way: the configuration in force is not committed,
   * or a learner is catching up.
   */
  public boolean changingMembers() {
    return membersIndex() > commitIndex || !members().learners().isEmpty();
  }

  /** Returns the current config: the one it was restored with, or the last reconfigured. */
  public LeaderConfig config() {
    return config;
  }

  // ---------------------------------------------------------------------------------------------
  // Step and Ready.

  /**
   * Feeds one input.
   *
   * @throws IllegalArgumentException if a {@link LeaderInput.Reconfigure} carries timings the
   *     config refuses (the shell validates settings first, so this is a programmer error); the
   *     core is left unchanged
   * @throws IllegalStateException if an invariant breaks (two primaries in one epoch, a committed
   *     entry to truncate, a persisted index beyond the log)
   */
  public void step(LeaderInput input) {
    switch (input) {
      case LeaderInput.Tick tick -> tick(tick.nowMs());
      case LeaderInput.Propose propose -> propose(propose);
      case LeaderInput.ReadIndex read -> readIndex(read.requestId());
      case LeaderInput.Persisted persisted -> persisted(persisted.lastIndex());
      case LeaderInput.Received received -> receive(received.message());
      case LeaderInput.Loaded loaded -> loaded(loaded);
      case LeaderInput.Reconfigure reconfigure -> reconfigure(reconfigure);
      case LeaderInput.Busy busy -> busy(busy.busyMs());
      case LeaderInput.ChangeMembers change -> changeMembers(change);
      case LeaderInput.Applied applied -> applied(applied.index());
      case LeaderInput.SnapshotLoaded loaded -> snapshotLoaded(loaded);
      case LeaderInput.SnapshotInstalled installed -> snapshotInstalled(installed.ok());
    }
  }

  /**
   * Takes a pause of this node's own out of its timers (see {@link LeaderInput.Busy}): whatever it
   * waited on could not have been heard while it was busy.
   */
  private void busy(long busyMs) {
    if (busyMs <= 0) {
      return;
    }
    lastHeardLeaderMs += busyMs;
    electionStartedMs += busyMs;
    for (Follower f : followers.values()) {
      f.lastAckMs += busyMs;
    }
  }

  /** Returns whether there is work for the shell. */
  public boolean hasReady() {
    return replicatePending
        || hardStateDirty
        || truncateFrom != 0
        || !toAppend.isEmpty()
        || !replies.isEmpty()
        || !readReplies.isEmpty()
        || !messages.isEmpty()
        || !loads.isEmpty()
        || leadership != null
        || membersDirty
        || compaction != null
        || !snapshotReads.isEmpty()
        || chunkToInstall != null;
  }

  /** Hands out the accumulated work. */
  public LeaderReady ready() {
    if (replicatePending) {
      replicatePending = false;
      replicate();
    }
    coalesceAppendReplies();
    LeaderReady.SnapshotInstall install = null;
    LeaderMessage.Snapshot chunk = chunkToInstall;
    if (chunk != null && chunk.index() <= commitIndex) {
      // An append after the chunk committed its index here: the log holds that entry, the
      // primary's. Nothing to install (and installing would move the log's start back).
      chunkToInstall = null;
      receiving = receivingBeforeInstall;
      snapshotReply(chunk.from(), chunk.index(), chunk.lastKey(), true);
      chunk = null;
    }
    if (chunk != null) {
      // Decided now, with every entry this ready appends: the shell installs after appending.
      boolean keepLog =
          chunk.done()
              && lastIndex >= chunk.index()
              && epochAt(chunk.index()) == chunk.indexEpoch();
      install =
          new LeaderReady.SnapshotInstall(
              chunk.from(),
              chunk.index(),
              chunk.indexEpoch(),
              chunk.membersIndex(),
              chunk.members(),
              chunk.documents(),
              chunk.lastKey(),
              chunk.done(),
              keepLog);
      installing = install;
      chunkToInstall = null;
    }
    LeaderReady ready =
        new LeaderReady(
            hardStateDirty ? new LeaderReady.HardState(epoch, votedFor) : null,
            truncateFrom,
            toAppend,
            openToAppend,
            clock.last(),
            commitIndex,
            replies,
            readReplies,
            messages,
            loads,
            leadership,
            membersDirty ? members() : null,
            snapshotReads,
            install,
            compaction);
    snapshotReads.clear();
    compaction = null;
    hardStateDirty = false;
    truncateFrom = 0;
    toAppend.clear();
    openToAppend.clear();
    replies.clear();
    readReplies.clear();
    messages.clear();
    loads.clear();
    leadership = null;
    membersDirty = false;
    return ready;
  }

  /**
   * Proposals since the last ready that have not been sent: {@link #ready()} sends them together.
   */
  private boolean replicatePending;

  /**
   * Merges the successful append replies of one ready to the same primary in the same epoch into
   * the last of them, with the highest index and round: a follower that took several appends in one
   * turn answers once. A refusal among them leaves them all as they are.
   */
  private void coalesceAppendReplies() {
    if (messages.size() < 2) {
      return;
    }
    Map<NodeId, LeaderMessage.AppendReply> merged = new HashMap<>();
    Map<NodeId, Integer> count = new HashMap<>();
    java.util.Set<NodeId> mixed = new java.util.HashSet<>();
    for (LeaderReady.Outgoing out : messages) {
      if (out.message() instanceof LeaderMessage.AppendReply reply) {
        LeaderMessage.AppendReply seen = merged.get(out.to());
        if (!reply.success() || (seen != null && seen.epoch() != reply.epoch())) {
          mixed.add(out.to());
          continue;
        }
        merged.put(
            out.to(),
            seen == null
                ? reply
                : new LeaderMessage.AppendReply(
                    reply.from(),
                    reply.epoch(),
                    true,
                    Math.max(seen.index(), reply.index()),
                    Math.max(seen.round(), reply.round())));
        count.merge(out.to(), 1, Integer::sum);
      }
    }
    merged.keySet().removeAll(mixed);
    merged.keySet().removeIf(peer -> count.getOrDefault(peer, 0) < 2);
    if (merged.isEmpty()) {
      return;
    }
    List<LeaderReady.Outgoing> kept = new ArrayList<>(messages.size());
    Map<NodeId, Integer> left = new HashMap<>(count);
    for (LeaderReady.Outgoing out : messages) {
      if (out.message() instanceof LeaderMessage.AppendReply && merged.containsKey(out.to())) {
        if (left.merge(out.to(), -1, Integer::sum) > 0) {
          continue; // an earlier reply: the merged one goes in place of the last
        }
        kept.add(
            new LeaderReady.Outgoing(
                out.to(), java.util.Objects.requireNonNull(merged.get(out.to()))));
      } else {
        kept.add(out);
      }
    }
    messages.clear();
    messages.addAll(kept);
  }

  // ---------------------------------------------------------------------------------------------
  // Time: elections, heartbeats, step-down, write deadlines.

  private void tick(long tickMs) {
    nowMs = tickMs;
    if (pendingInitialTick) {
      pendingInitialTick = false;
      if (!config.startAsPrimary()) {
        // A secondary gives the members started as primary time to connect and win first, so
        // that a cold start elects the configured primary rather than whoever's streams came up
        // first. Later elections use the plain rank-staggered timeout.
        lastHeardLeaderMs = nowMs + config.startupGraceMs();
      }
    }
    switch (role) {
      case PRIMARY -> {
        if (!hasQuorum()) {
          stepDown("no majority heard within " + config.replicationTimeoutMs() + " ms");
        } else if (nowMs - lastHeartbeatMs >= config.heartbeatMs()) {
          heartbeat();
        }
      }
      case SECONDARY, PRE_CANDIDATE, CANDIDATE -> {
        // A member started as primary that has not seen any primary yet asks for pre-votes every
        // heartbeat until its streams are up: at a cold start it must stand before the
        // secondaries' first timeout. A pre-candidate whose round was refused (a voter still
        // heard the old primary) asks again every heartbeat too: the voters stop refusing one
        // election interval after their last heartbeat, before a higher-ranked voter's own
        // staggered timeout, and the lowest live id must ask inside that window to win. Pre-votes
        // change no epoch, so asking often is harmless.
        long timeout =
            (config.startAsPrimary() && !seenPrimary && role != Role.CANDIDATE)
                    || role == Role.PRE_CANDIDATE
                ? config.heartbeatMs()
                : electionTimeoutMs(config);
        if (nowMs - lastHeardLeaderMs >= timeout
            && nowMs - electionStartedMs >= timeout
            && mayStand()) {
          startPreVote(); // a learner, or a member whose removal it knows committed, never stands
        }
      }
    }
    expireWrites();
    expireChange();
    releaseDeparted();
    membershipProgress();
  }

  /**
   * Adopts new timings (see {@link LeaderInput.Reconfigure} for the contract). The config validates
   * them before anything changes, so a refused value leaves the core as it was. No member stands
   * before a full new election timeout has passed since it last heard a primary, and one that
   * follows a primary or is still in its start-up grace also waits a full new timeout from now.
   * Nothing here touches epochs, votes or the log (the design notes say why safety does not need it
   * to).
   */
  private void reconfigure(LeaderInput.Reconfigure reconfigure) {
    LeaderConfig next =
        config.withTimings(
            reconfigure.electionIntervalMs(),
            reconfigure.heartbeatMs(),
            reconfigure.replicationTimeoutMs());
    if (role == Role.SECONDARY
        && leader != null
        && electionTimeoutMs(next) < electionTimeoutMs(config)) {
      // The primary was judged alive under the old, longer timeout and may still beat at the old
      // rate: measured from its last heartbeat, the shorter timeout could fire at the next tick
      // and start a needless election. It gets one full new timeout from now instead.
      lastHeardLeaderMs = Math.max(lastHeardLeaderMs, nowMs);
    } else if (role == Role.SECONDARY && !seenPrimary && lastHeardLeaderMs > nowMs) {
      // Still in the start-up grace, which tick() set to end two election intervals after the
      // first tick: it becomes two new intervals, but never ends before now, so a shorter grace
      // still leaves a full new election timeout before this member stands.
      lastHeardLeaderMs =
          Math.max(nowMs, lastHeardLeaderMs + next.startupGraceMs() - config.startupGraceMs());
    }
    // The rest needs nothing: heartbeats and resends use the new intervals from the next tick; a
    // primary's step-down check (hasQuorum) compares its followers' last answers with the new
    // replication timeout, so a shorter one may make it step down at the next tick, which only
    // costs availability; and pending writes keep the deadlines their clients were given.
    config = next;
  }

  private boolean hasQuorum() {
    LeaderMembers members = members();
    int live = members.isVoter(config.nodeId()) ? 1 : 0;
    for (Map.Entry<NodeId, Follower> f : followers.entrySet()) {
      if (members.isVoter(f.getKey())
          && nowMs - f.getValue().lastAckMs < config.replicationTimeoutMs()) {
        live++;
      }
    }
    return live >= members.majority();
  }

  /**
   * How long this member waits without a primary before it stands: the election interval plus half
   * of it per lower-ranked voter of the configuration in force (see {@link
   * LeaderConfig#electionTimeoutMs()}).
   */
  private long electionTimeoutMs(LeaderConfig timings) {
    int rank = Math.max(0, members().rank(config.nodeId()));
    return timings.electionIntervalMs() + rank * (timings.electionIntervalMs() / 2);
  }

  private void expireWrites() {
    for (Iterator<PendingWrite> it = pendingWrites.values().iterator(); it.hasNext(); ) {
      PendingWrite write = it.next();
      if (nowMs >= write.deadlineMs()) {
        it.remove();
        replies.add(
            new Reply(
                write.requestId(),
                new Outcome.TimedOut(
                    "entry "
                        + write.index()
                        + " was not confirmed by the "
                        + write.concern().name().toLowerCase(java.util.Locale.ROOT)
                        + " concern within "
                        + write.timeoutMs()
                        + " ms")));
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Elections.

  private void startPreVote() {
    electionStartedMs = nowMs;
    leader = null;
    announce();
    LeaderMembers members = members();
    role = Role.PRE_CANDIDATE;
    votes.clear();
    votes.add(config.nodeId());
    if (voteCount() >= members.majority()) {
      startElection(); // this node is the only voter
      return;
    }
    for (NodeId peer : members.othersThan(config.nodeId())) {
      if (!members.isVoter(peer)) {
        continue;
      }
      send(peer, new LeaderMessage.PreVote(config.nodeId(), epoch + 1, lastEpoch(), lastIndex));
    }
  }

  private void startElection() {
    role = Role.CANDIDATE;
    epoch++;
    votedFor = config.nodeId();
    hardStateDirty = true;
    electionStartedMs = nowMs;
    votes.clear();
    votes.add(config.nodeId());
    LeaderMembers members = members();
    if (voteCount() >= members.majority()) {
      becomePrimary();
      return;
    }
    for (NodeId peer : members.othersThan(config.nodeId())) {
      if (!members.isVoter(peer)) {
        continue;
      }
      send(peer, new LeaderMessage.Vote(config.nodeId(), epoch, lastEpoch(), lastIndex));
    }
  }

  /**
   * Whether this node may stand: it is a voter of a configuration it does not know to be replaced
   * by a committed one (the last committed configuration or a later one). A primary that removed
   * itself and stepped down, or crashed, before its removal committed must be able to stand again:
   * the other voters may still be in the configuration that counts it, and need its vote, which it
   * refuses to anyone whose log lacks the removal. Once elected it commits the removal and steps
   * down (thesis section 4.2.2). Votes count by the latest configuration ({@link #voteCount()}), so
   * standing outside it is safe.
   */
  private boolean mayStand() {
    return members().isVoter(config.nodeId())
        || reachableMembers().voters().contains(config.nodeId());
  }

  /** Counts the votes (or pre-votes) of voters of the configuration in force. */
  private int voteCount() {
    LeaderMembers members = members();
    int count = 0;
    for (NodeId voter : votes) {
      if (members.isVoter(voter)) {
        count++;
      }
    }
    return count;
  }

  private long lastEpoch() {
    return epochAt(lastIndex);
  }

  private boolean upToDate(long theirLastEpoch, long theirLastIndex) {
    long mine = lastEpoch();
    return theirLastEpoch > mine || (theirLastEpoch == mine && theirLastIndex >= lastIndex);
  }

  /**
   * Whether a primary was heard within the election interval less one heartbeat. The lowest member
   * stands exactly one election interval after the last heartbeat it got; the others got that
   * heartbeat at about the same time, so with the full interval as the window they would still
   * count the dead primary as alive and refuse its pre-votes, and the election would wait a whole
   * timeout more. A live primary's heartbeats keep arriving well inside this window.
   */
  private boolean hearsPrimary() {
    long window =
        Math.max(config.electionIntervalMs() - config.heartbeatMs(), 2 * config.heartbeatMs());
    return leader != null && nowMs - lastHeardLeaderMs < window;
  }

  /**
   * Whether this member lets {@code asker} stand now: a lower-ranked member always may; a higher
   * one only once this member has given up waiting itself (its own staggered timeout ran out, or it
   * stands already). Otherwise a member whose last heartbeat came early (it lagged under load)
   * would time out first and win over a lower id that is alive and up to date (LeaderClusterIT saw
   * node 3 win this way). If this member cannot win, it stands at its timeout, is refused, and
   * grants.
   */
  private boolean mayStandBeforeMe(NodeId asker) {
    return !seenPrimary // a cold start: the member started as primary stands first, whatever its id
        || members().rank(config.nodeId()) < 0
        || members().rank(asker) < members().rank(config.nodeId())
        || role != Role.SECONDARY
        || nowMs - lastHeardLeaderMs >= electionTimeoutMs(config);
  }

  /**
   * Whether a primary other than {@code asker} was heard recently. The primary this member follows
   * may ask for votes itself: it lost the role (it stepped down, or a member it had not heard from
   * yet was in a later epoch), so there is no live primary to protect from it, and refusing would
   * only keep it from standing again until this member's window ran out (issue 12, item 10).
   */
  private boolean hearsPrimaryOtherThan(NodeId asker) {
    return hearsPrimary() && !asker.equals(leader);
  }

  private void becomePrimary() {
    // An unfinished batch at the end of the log (its primary died before sending the rest) can
    // never be committed whole: the epoch marker below would commit it in part. It was never
    // committed anywhere (commits stop only at batch ends), so truncating it loses no
    // acknowledged write; the shell moves it to _system_rollback.
    long end = lastEndAtOrBelow(lastIndex);
    if (end < lastIndex) {
      truncate(end + 1);
    }
    role = Role.PRIMARY;
    leader = config.nodeId();
    followers.clear();
    departing.clear();
    syncFollowers();
    // The epoch's marker entry: committing it commits everything before it (Raft's no-op).
    OplogEntry marker =
        append(
            Mutation.put(
                EPOCHS,
                DocumentId.of(Long.toString(epoch)),
                "{\"primary\":\"" + config.nodeId().value() + "\",\"epoch\":" + epoch + "}"));
    epochStartIndex = marker.index();
    announce();
    heartbeat();
  }

  private void becomeSecondary(long newEpoch, @Nullable NodeId newLeader) {
    boolean wasPrimary = role == Role.PRIMARY;
    if (newEpoch > epoch) {
      epoch = newEpoch;
      votedFor = null;
      hardStateDirty = true;
    }
    role = Role.SECONDARY;
    leader = newLeader;
    if (newLeader != null) {
      lastHeardLeaderMs = nowMs;
    }
    if (wasPrimary) {
      failPending("this node is no longer primary (epoch " + epoch + ")");
    }
    announce();
  }

  private void stepDown(String why) {
    role = Role.SECONDARY;
    leader = null;
    lastHeardLeaderMs = nowMs; // wait a full timeout before standing again
    failPending("this node stepped down: " + why);
    announce();
  }

  private void failPending(String why) {
    for (PendingWrite write : pendingWrites.values()) {
      replies.add(
          new Reply(
              write.requestId(), new Outcome.TimedOut(why + "; the write's outcome is unknown")));
    }
    pendingWrites.clear();
    for (PendingRead read : pendingReads) {
      readReplies.add(new LeaderReady.ReadReply(read.requestId(), -1, leader));
    }
    pendingReads.clear();
    if (pendingChange != null) {
      replies.add(
          new Reply(
              pendingChange.requestId(),
              new Outcome.TimedOut(why + "; the membership change's outcome is unknown")));
      pendingChange = null;
    }
  }

  private void announce() {
    boolean self = role == Role.PRIMARY;
    // Its own leadership counts only once a majority confirmed it (advanceCommit): a member started
    // as primary that wins in a stale epoch and is deposed at once, by a member it had not heard
    // from whose epoch is higher, has not led, and keeps its cold-start pace (issue 12, item 10;
    // ColdStartSimulation found it).
    seenPrimary |= leader != null && !self;
    if (!java.util.Objects.equals(announcedLeader, leader) || announcedLeaderSelf != self) {
      announcedLeader = leader;
      announcedLeaderSelf = self;
      leadership = new LeaderReady.LeadershipChanged(self, leader, epoch);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Writes and reads on the primary.

  private void propose(LeaderInput.Propose propose) {
    if (role != Role.PRIMARY) {
      replies.add(
          new Reply(
              propose.requestId(), new Outcome.NotPrimary(leader, "this node is not the primary")));
      return;
    }
    if (propose.mutations().isEmpty()) {
      replies.add(
          new Reply(
              propose.requestId(),
              new Outcome.Rejected("invalid_request", "a write needs at least one operation")));
      return;
    }
    if (pendingWrites.size() >= config.pendingRequestsMax()) {
      replies.add(
          new Reply(
              propose.requestId(),
              new Outcome.Rejected(
                  "overloaded",
                  config.pendingRequestsMax() + " writes are already waiting; retry later")));
      return;
    }
    List<OplogEntry> entries = new ArrayList<>();
    List<Mutation> mutations = propose.mutations();
    for (int i = 0; i < mutations.size(); i++) {
      OplogEntry entry = append(mutations.get(i));
      entries.add(entry);
      if (i < mutations.size() - 1) {
        markOpen(entry.index()); // only the batch's last entry ends it
      }
    }
    pendingWrites.put(
        propose.requestId(),
        new PendingWrite(
            propose.requestId(),
            lastIndex,
            propose.concern(),
            nowMs + writeTimeoutMs(config.replicationTimeoutMs(), entries.size()),
            writeTimeoutMs(config.replicationTimeoutMs(), entries.size()),
            entries));
    // Not sent here: every write proposed before the shell takes its ready leaves in one append
    // per follower (see ready()), where sending per proposal cost a message per put per follower.
    replicatePending = true;
  }

  private OplogEntry append(Mutation mutation) {
    lastIndex++;
    localSequence = Math.max(localSequence, lastIndex);
    OplogEntry entry =
        OplogEntry.createInLog(
            config.nodeId(),
            lastIndex,
            clock.now(),
            mutation.operation(),
            mutation.collection(),
            mutation.id(),
            mutation.document(),
            epoch,
            lastIndex);
    noteEpoch(lastIndex, epoch);
    toAppend.add(entry);
    logBytes += bytes(entry);
    remember(entry);
    noteConfiguration(entry);
    return entry;
  }

  /**
   * Puts a configuration entry in force the moment it enters the log (Raft's rule), and on a
   * primary starts or stops replicating to the members it adds or removes.
   *
   * @throws IllegalStateException if the entry's document is not a configuration
   */
  private static boolean isConfiguration(OplogEntry entry) {
    return entry.collection().equals(LeaderMembers.COLLECTION)
        && entry.id().equals(LeaderMembers.DOCUMENT)
        && entry.document() != null;
  }

  private static boolean readsAsConfiguration(OplogEntry entry) {
    try {
      return !LeaderMembers.parse(java.util.Objects.requireNonNull(entry.document()))
          .voters()
          .isEmpty();
    } catch (RuntimeException e) {
      return false;
    }
  }

  private void noteConfiguration(OplogEntry entry) {
    if (!isConfiguration(entry)) {
      return;
    }
    LeaderMembers members;
    try {
      members = LeaderMembers.parse(java.util.Objects.requireNonNull(entry.document()));
    } catch (RuntimeException e) {
      throw new IllegalStateException(
          "entry " + entry.index() + " is not a valid configuration: " + e.getMessage(), e);
    }
    configs.put(entry.index(), members);
    membersDirty = true;
    reachableCache = null;
    if (role == Role.PRIMARY) {
      syncFollowers();
    }
  }

  /**
   * Gives a primary one follower per other voter and learner of the configuration in force, and
   * keeps the followers it removed until they hold the configuration that removed them.
   */
  private void syncFollowers() {
    List<NodeId> others = members().othersThan(config.nodeId());
    for (Iterator<Map.Entry<NodeId, Follower>> it = followers.entrySet().iterator();
        it.hasNext(); ) {
      Map.Entry<NodeId, Follower> f = it.next();
      if (others.contains(f.getKey())) {
        departing.remove(f.getKey());
      } else if (f.getValue().match < membersIndex() && role == Role.PRIMARY) {
        departing.putIfAbsent(f.getKey(), membersIndex());
      } else {
        departing.remove(f.getKey());
        it.remove();
      }
    }
    for (NodeId peer : others) {
      if (!followers.containsKey(peer)) {
        Follower f = new Follower();
        f.next = lastIndex + 1;
        f.probe = lastIndex + 1;
        f.lastAckMs = nowMs;
        f.lastProgressMs = nowMs;
        followers.put(peer, f);
      }
    }
  }

  /** Records where an epoch's run starts; appends are always at the end of the log. */
  private void markOpen(long index) {
    open.add(index);
    openToAppend.add(index);
  }

  /**
   * Returns the highest index at or below {@code index} that ends a write (or the commit index).
   */
  private long lastEndAtOrBelow(long index) {
    long end = index;
    while (end > commitIndex && open.contains(end)) {
      end--;
    }
    return end;
  }

  /** Forgets the flags of entries that are committed and no longer in the in-memory tail. */
  private void pruneOpen() {
    long keepFrom = Math.min(tail.isEmpty() ? lastIndex + 1 : tail.firstKey(), commitIndex + 1);
    open.headSet(keepFrom, false).clear();
  }

  private void noteEpoch(long index, long entryEpoch) {
    if (epochStarts.isEmpty() || epochStarts.lastEntry().getValue() != entryEpoch) {
      epochStarts.put(index, entryEpoch);
    }
  }

  private void remember(OplogEntry entry) {
    OplogEntry replaced = tail.put(entry.index(), entry);
    tailBytes += bytes(entry) - (replaced == null ? 0 : bytes(replaced));
    while (tail.size() > TAIL_ENTRIES_MAX || (tailBytes > TAIL_BYTES_MAX && tail.size() > 1)) {
      tailBytes -= bytes(tail.pollFirstEntry().getValue());
      pruneOpen();
    }
  }

  private void readIndex(long requestId) {
    if (role != Role.PRIMARY) {
      readReplies.add(new LeaderReady.ReadReply(requestId, -1, leader));
      return;
    }
    round++;
    pendingReads.add(new PendingRead(requestId, commitIndex, round));
    heartbeat();
    releaseReads();
  }

  private void releaseReads() {
    if (pendingReads.isEmpty() || commitIndex < epochStartIndex) {
      return; // a new primary serves reads once its epoch's first entry is committed
    }
    for (Iterator<PendingRead> it = pendingReads.iterator(); it.hasNext(); ) {
      PendingRead read = it.next();
      LeaderMembers members = members();
      int confirmed = members.isVoter(config.nodeId()) ? 1 : 0;
      for (Map.Entry<NodeId, Follower> f : followers.entrySet()) {
        if (members.isVoter(f.getKey()) && f.getValue().ackedRound >= read.round()) {
          confirmed++;
        }
      }
      if (confirmed >= members.majority()) {
        it.remove();
        readReplies.add(
            new LeaderReady.ReadReply(
                read.requestId(), Math.max(read.readIndex(), commitIndex), config.nodeId()));
      }
    }
  }

  private void persisted(long index) {
    if (index > lastIndex) {
      throw new IllegalStateException(
          "persisted index " + index + " is beyond the last index " + lastIndex);
    }
    persistedIndex = Math.max(persistedIndex, index);
    if (role == Role.PRIMARY) {
      advanceCommit();
      releaseWrites();
    }
  }

  private void advanceCommit() {
    LeaderMembers members = members();
    boolean selfVotes = members.isVoter(config.nodeId());
    for (long n = lastIndex; n > commitIndex; n--) {
      if (epochAt(n) != epoch) {
        break; // only entries of this epoch commit by counting (Raft, figure 8)
      }
      if (open.contains(n)) {
        continue; // a commit never stops inside a batch
      }
      int holders = selfVotes && persistedIndex >= n ? 1 : 0;
      for (Map.Entry<NodeId, Follower> f : followers.entrySet()) {
        if (members.isVoter(f.getKey()) && f.getValue().match >= n) {
          holders++;
        }
      }
      if (holders >= members.majority()) {
        commitIndex = n;
        pruneOpen();
        break;
      }
    }
    seenPrimary |= commitIndex >= epochStartIndex;
    releaseReads();
    membershipProgress();
  }

  private void releaseWrites() {
    for (Iterator<PendingWrite> it = pendingWrites.values().iterator(); it.hasNext(); ) {
      PendingWrite write = it.next();
      boolean met =
          switch (write.concern()) {
            case ONE -> persistedIndex >= write.index();
            case MAJORITY -> commitIndex >= write.index();
            case ALL ->
                persistedIndex >= write.index()
                    && followers.entrySet().stream()
                        .allMatch(
                            f ->
                                !members().isVoter(f.getKey())
                                    || f.getValue().match >= write.index());
          };
      if (met) {
        it.remove();
        replies.add(new Reply(write.requestId(), new Outcome.Committed(write.entries())));
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Membership changes (Raft's single-server change, thesis §4).

  private void changeMembers(LeaderInput.ChangeMembers change) {
    String refusal = membershipRefusal(change);
    if (refusal != null) {
      int colon = refusal.indexOf(':');
      replies.add(
          new Reply(
              change.requestId(),
              role != Role.PRIMARY
                  ? new Outcome.NotPrimary(leader, refusal.substring(colon + 2))
                  : new Outcome.Rejected(
                      refusal.substring(0, colon), refusal.substring(colon + 2))));
      return;
    }
    LeaderMembers members = members();
    NodeId member = change.member();
    LeaderMembers next = null;
    if (!(change.add() && members.learners().contains(member))) {
      try {
        next = change.add() ? members.withLearner(member, change.url()) : members.without(member);
      } catch (IllegalArgumentException e) {
        replies.add(
            new Reply(
                change.requestId(),
                new Outcome.Rejected("invalid_url", String.valueOf(e.getMessage()))));
        return; // nothing changed: a change already waiting keeps waiting
      }
    }
    if (pendingChange != null) {
      // Only an addition still catching up can be waiting here (anything else is refused above):
      // a second request for it takes over the wait, a removal cancels it.
      replies.add(
          new Reply(
              pendingChange.requestId(),
              change.add()
                  ? new Outcome.TimedOut(
                      "a later request for the same change took over; the change goes on")
                  : new Outcome.Rejected(
                      "change_cancelled", "a removal of " + member + " cancelled its addition")));
      pendingChange = null;
    }
    pendingChange =
        new PendingChange(change.requestId(), member, change.add(), nowMs + change.timeoutMs());
    if (next == null) {
      membershipProgress(); // already a learner: wait for it to catch up
      return;
    }
    appendConfiguration(next);
  }

  /**
   * Returns why a membership change cannot start now, as {@code "code: message"}, or {@code null}.
   */
  private @Nullable String membershipRefusal(LeaderInput.ChangeMembers change) {
    LeaderMembers members = members();
    NodeId member = change.member();
    if (role != Role.PRIMARY) {
      return "not_primary: only the primary changes the members";
    }
    if (commitIndex < epochStartIndex) {
      return "change_in_progress: this primary has not committed its first entry yet; retry"
          + " shortly";
    }
    if (membersIndex() > commitIndex) {
      return "change_in_progress: the configuration at index "
          + membersIndex()
          + " is not committed yet; one change at a time";
    }
    boolean cancelsLearner = !change.add() && members.learners().contains(member);
    boolean sameLearner = change.add() && members.learners().contains(member);
    if (!members.learners().isEmpty() && !cancelsLearner && !sameLearner) {
      return "change_in_progress: "
          + members.learners()
          + " is still catching up as a learner; one change at a time (remove it to cancel)";
    }
    if (change.add()) {
      if (members.isVoter(member)) {
        return "already_member: " + member + " is already a voting member";
      }
      if (members.voters().size() + members.learners().size() >= LeaderMembers.MEMBERS_MAX) {
        return "too_many_members: a cluster has at most " + LeaderMembers.MEMBERS_MAX + " members";
      }
      return null;
    }
    if (!members.contains(member)) {
      return "not_member: " + member + " is not a member (members: " + members.voters() + ")";
    }
    if (cancelsLearner) {
      return null;
    }
    LeaderMembers next = members.without(member);
    if (next.voters().isEmpty()) {
      return "would_lose_quorum: " + member + " is the last voting member";
    }
    int live = next.isVoter(config.nodeId()) ? 1 : 0;
    for (Map.Entry<NodeId, Follower> f : followers.entrySet()) {
      if (next.isVoter(f.getKey())
          && nowMs - f.getValue().lastAckMs < config.replicationTimeoutMs()
          && f.getValue().match > 0) {
        live++;
      }
    }
    if (live < next.majority()) {
      return "would_lose_quorum: without "
          + member
          + " the members "
          + next.voters()
          + " need "
          + next.majority()
          + " live voters and only "
          + live
          + " answered within "
          + config.replicationTimeoutMs()
          + " ms";
    }
    return null;
  }

  private void appendConfiguration(LeaderMembers next) {
    append(Mutation.put(LeaderMembers.COLLECTION, LeaderMembers.DOCUMENT, next.toDocument()));
    replicate();
  }

  /**
   * Moves a membership change on, on a primary, once the configuration in force is committed: makes
   * a learner that caught up a voter (within one append of the log's end, and heard within an
   * election interval), answers the change a client waits on, and steps down if this primary is no
   * longer a voter.
   */
  private void membershipProgress() {
    if (role != Role.PRIMARY || membersIndex() > commitIndex || commitIndex < epochStartIndex) {
      return; // the thesis's rule for every change: this primary's epoch marker commits first
    }
    LeaderMembers members = members();
    if (!members.isVoter(config.nodeId())) {
      PendingChange change = pendingChange;
      if (change != null) {
        pendingChange = null;
        replies.add(new Reply(change.requestId(), new Outcome.Committed(List.of())));
      }
      stepDown("this node was removed from the members at index " + membersIndex());
      return;
    }
    for (NodeId learner : members.learners()) {
      Follower f = followers.get(learner);
      if (f == null || f.match == 0) {
        continue;
      }
      // Rounds (thesis section 4.2.1): a round ends when the learner holds the log's end as it was
      // when the round began. One that ended within an election interval means the learner keeps
      // up with the writes: it votes. A slower one starts another round, so a learner catching up
      // under constant load is promoted once it keeps pace, however far behind the log's end it
      // is at any moment.
      if (f.catchUpTarget < 0) {
        f.catchUpTarget = lastIndex;
        f.catchUpStartMs = nowMs;
      } else if (f.match >= f.catchUpTarget) {
        if (nowMs - f.catchUpStartMs < config.electionIntervalMs()
            && nowMs - f.lastAckMs < config.electionIntervalMs()) {
          appendConfiguration(members.promoted(learner));
          return; // one change at a time: the next waits for this one to commit
        }
        f.catchUpTarget = lastIndex;
        f.catchUpStartMs = nowMs;
      }
    }
    PendingChange change = pendingChange;
    if (change != null && members.isVoter(change.member()) == change.add()) {
      pendingChange = null;
      replies.add(new Reply(change.requestId(), new Outcome.Committed(List.of())));
    }
  }

  /** Stops feeding departing members that hold their removal, or that fell silent. */
  private void releaseDeparted() {
    if (departing.isEmpty()) {
      return;
    }
    for (Iterator<Map.Entry<NodeId, Long>> it = departing.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<NodeId, Long> gone = it.next();
      Follower f = followers.get(gone.getKey());
      long removal = gone.getValue();
      if (f != null && f.match >= removal && commitIndex >= removal && f.commitRound == 0) {
        f.commitRound = round + 1; // the next heartbeat tells it the removal is committed
      }
      boolean told = f != null && f.commitRound > 0 && f.ackedRound >= f.commitRound;
      if (f == null || told || nowMs - f.lastAckMs >= config.replicationTimeoutMs()) {
        it.remove();
        if (f != null && !members().contains(gone.getKey())) {
          followers.remove(gone.getKey());
        }
      }
    }
  }

  private void expireChange() {
    PendingChange change = pendingChange;
    if (change != null && nowMs >= change.deadlineMs()) {
      pendingChange = null;
      replies.add(
          new Reply(
              change.requestId(),
              new Outcome.TimedOut(
                  (change.add() ? "adding " : "removing ")
                      + change.member()
                      + " did not complete in time; the change goes on (members "
                      + members().voters()
                      + ", learners "
                      + members().learners()
                      + ")")));
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Replication from the primary.

  private void heartbeat() {
    lastHeartbeatMs = nowMs;
    round++;
    for (Map.Entry<NodeId, Follower> entry : followers.entrySet()) {
      Follower f = entry.getValue();
      long resendFrom = Math.max(f.match + 1, f.probe);
      if (f.next > resendFrom && nowMs - f.lastProgressMs >= 2 * config.heartbeatMs()) {
        f.next = resendFrom; // nothing confirmed for a while: resend what is outstanding
        f.lastProgressMs = nowMs;
      }
      SnapshotSend snapshot = f.snapshot;
      if (snapshot != null && snapshot.index() < snapshotIndex) {
        // The log after the transfer's index is gone (the follower fell silent and compaction went
        // on): finishing it would only lead to another. Start over at the applied index.
        f.snapshot = null;
      } else if (snapshot != null && snapshot.cursor().stale(nowMs, config.electionIntervalMs())) {
        requestSnapshotRead(entry.getKey(), snapshot); // the chunk or its answer was lost
      }
      // The heartbeat checks the follower's log at the probe point: a follower that holds it
      // answers with it, so a new primary learns an up-to-date follower's match at once. (Never
      // below the compacted start: the epoch of an entry there is no longer known.)
      long prev = Math.max(resendFrom - 1, snapshotIndex);
      send(
          entry.getKey(),
          new LeaderMessage.Append(
              config.nodeId(),
              epoch,
              prev,
              epochAt(prev),
              List.of(),
              Math.min(commitIndex, prev),
              round));
    }
    replicate();
  }

  /** Sends every follower what it lacks, within its in-flight window. */
  private void replicate() {
    for (Map.Entry<NodeId, Follower> entry : followers.entrySet()) {
      NodeId peer = entry.getKey();
      Follower f = entry.getValue();
      if (f.snapshot != null) {
        continue; // entries follow once the snapshot is in
      }
      if (f.next <= snapshotIndex) {
        // Only to a follower that answers: a transfer pins the log after its index (see
        // maybeCompact), and one started to a dead member would stand for a stale index when it
        // comes back. Its next answer to a heartbeat starts it.
        if (nowMs - f.lastAckMs <= config.electionIntervalMs()) {
          startSnapshot(peer, f, null);
        }
        continue;
      }
      while (f.next <= lastIndex
          && f.next - 1 - f.match < config.inflightEntriesMax()
          && !f.loading) {
        long from = f.next;
        long to = Math.min(lastIndex, from + config.appendEntriesMax() - 1);
        if (!tail.containsKey(from)) {
          f.loading = true;
          loads.add(new LeaderReady.LogRead(peer, from, (int) (to - from + 1)));
          break;
        }
        List<OplogEntry> batch =
            withinAppendBytes(new ArrayList<>(tail.subMap(from, true, to, true).values()));
        sendAppend(peer, f, from, batch);
      }
    }
  }

  private void sendAppend(NodeId peer, Follower f, long from, List<OplogEntry> batch) {
    long prev = from - 1;
    List<Long> openInBatch =
        batch.isEmpty()
            ? List.of()
            : new ArrayList<>(open.subSet(from, true, from + batch.size() - 1, true));
    send(
        peer,
        new LeaderMessage.Append(
            config.nodeId(), epoch, prev, epochAt(prev), batch, openInBatch, commitIndex, round));
    f.next = from + batch.size();
  }

  private void loaded(LeaderInput.Loaded loaded) {
    Follower f = followers.get(loaded.peer());
    if (role != Role.PRIMARY || f == null) {
      return;
    }
    f.loading = false;
    if (loaded.entries().isEmpty()
        || loaded.fromIndex() != f.next
        || loaded.entries().get(0).index() != loaded.fromIndex()
        || f.snapshot != null
        || loaded.fromIndex() <= snapshotIndex) {
      return; // moved on meanwhile (or compacted: the next replicate() starts a snapshot)
    }
    for (OplogEntry e : loaded.entries()) {
      if (e.index() > lastIndex) {
        return; // the log changed meanwhile
      }
    }
    open.addAll(loaded.openIndexes()); // forgotten again at the next prune
    sendAppend(loaded.peer(), f, loaded.fromIndex(), withinAppendBytes(loaded.entries()));
    replicate();
  }

  // ---------------------------------------------------------------------------------------------
  // Messages.

  private void send(NodeId to, LeaderMessage message) {
    messages.add(new LeaderReady.Outgoing(to, message));
  }

  private void receive(LeaderMessage message) {
    if (message.from().equals(config.nodeId())) {
      return;
    }
    // Anyone the transport authenticated is heard, member or not (Raft, thesis §4.1): a member
    // whose log lags may not know the primary that a later configuration added, and must follow it
    // to learn that configuration. Votes stay safe (one per epoch, up-to-date logs only), and a
    // removed member that keeps standing is refused while the members hear their primary.
    // Only votes count by membership (receivePreVoteReply, receiveVoteReply).
    switch (message) {
      case LeaderMessage.PreVote pre -> receivePreVote(pre);
      case LeaderMessage.PreVoteReply reply -> receivePreVoteReply(reply);
      case LeaderMessage.Vote vote -> receiveVote(vote);
      case LeaderMessage.VoteReply reply -> receiveVoteReply(reply);
      case LeaderMessage.Append append -> receiveAppend(append);
      case LeaderMessage.AppendReply reply -> receiveAppendReply(reply);
      case LeaderMessage.Snapshot chunk -> receiveSnapshot(chunk);
      case LeaderMessage.SnapshotReply reply -> receiveSnapshotReply(reply);
    }
  }

  private void receivePreVote(LeaderMessage.PreVote pre) {
    boolean granted =
        pre.epoch() > epoch
            && role != Role.PRIMARY
            && !hearsPrimaryOtherThan(pre.from())
            && mayStandBeforeMe(pre.from())
            && upToDate(pre.lastEpoch(), pre.lastIndex());
    send(pre.from(), new LeaderMessage.PreVoteReply(config.nodeId(), pre.epoch(), granted, epoch));
  }

  private void receivePreVoteReply(LeaderMessage.PreVoteReply reply) {
    if (reply.voterEpoch() > epoch) {
      // The voter is in a later epoch: adopt it, so the next attempt can win its pre-votes.
      becomeSecondary(reply.voterEpoch(), null);
      return;
    }
    if (role != Role.PRE_CANDIDATE
        || reply.epoch() != epoch + 1
        || !reply.granted()
        || !members().isVoter(reply.from())) {
      return;
    }
    votes.add(reply.from());
    if (voteCount() >= members().majority()) {
      startElection();
    }
  }

  private void receiveVote(LeaderMessage.Vote vote) {
    if (vote.epoch() > epoch && hearsPrimaryOtherThan(vote.from())) {
      return; // leader stickiness: a live primary is not deposed by a stray candidate
    }
    if (vote.epoch() > epoch) {
      becomeSecondary(vote.epoch(), null);
    }
    boolean granted =
        vote.epoch() == epoch
            && (votedFor == null || votedFor.equals(vote.from()))
            && upToDate(vote.lastEpoch(), vote.lastIndex());
    if (granted) {
      votedFor = vote.from();
      hardStateDirty = true;
      lastHeardLeaderMs = nowMs; // give the candidate time to win
    }
    send(vote.from(), new LeaderMessage.VoteReply(config.nodeId(), epoch, granted));
  }

  private void receiveVoteReply(LeaderMessage.VoteReply reply) {
    if (reply.epoch() > epoch) {
      becomeSecondary(reply.epoch(), null);
      return;
    }
    if (role != Role.CANDIDATE
        || reply.epoch() != epoch
        || !reply.granted()
        || !members().isVoter(reply.from())) {
      return;
    }
    votes.add(reply.from());
    if (voteCount() >= members().majority()) {
      becomePrimary();
    }
  }

  private void receiveAppend(LeaderMessage.Append append) {
    if (append.epoch() < epoch) {
      // Fencing: a stale primary learns the epoch and steps down.
      send(
          append.from(),
          new LeaderMessage.AppendReply(config.nodeId(), epoch, false, 0, append.round()));
      return;
    }
    if (append.epoch() > epoch || role != Role.SECONDARY || !append.from().equals(leader)) {
      if (role == Role.PRIMARY && append.epoch() == epoch) {
        throw new IllegalStateException(
            "two primaries in epoch " + epoch + ": " + config.nodeId() + " and " + append.from());
      }
      becomeSecondary(append.epoch(), append.from());
    }
    lastHeardLeaderMs = nowMs;
    long prev = append.prevIndex();
    if (prev > lastIndex) {
      reply(append, false, lastIndex);
      return;
    }
    if (prev >= snapshotIndex && epochAt(prev) != append.prevEpoch()) {
      // Point the primary before this node's run of the conflicting epoch.
      Long runStart = epochStarts.floorKey(prev);
      reply(append, false, Math.max(0, (runStart == null ? prev : runStart) - 1));
      return;
    }
    long index = prev;
    for (OplogEntry entry : append.entries()) {
      if (isConfiguration(entry) && !readsAsConfiguration(entry)) {
        // Only a primary writes configurations, and it writes valid ones: a garbled one (a bug, or
        // a peer of another version) is refused whole, before anything changes, so this member
        // keeps its log and its role; the primary retries and the lag shows.
        reply(append, false, prev);
        return;
      }
    }
    if (prev < snapshotIndex && prev + append.entries().size() >= snapshotIndex) {
      OplogEntry atSnapshot = append.entries().get((int) (snapshotIndex - prev - 1));
      if (atSnapshot.epoch() != snapshotEpoch) {
        // The primary's entry where this log's snapshot stands differs: the snapshot was never
        // committed by this cluster (a backup seeded into one member only). Accepting would
        // diverge silently; refusing keeps this member out until an operator acts.
        reply(append, false, prev);
        return;
      }
    }
    for (OplogEntry entry : append.entries()) {
      index++;
      if (index <= snapshotIndex) {
        continue; // compacted here: committed, so the same entry
      }
      if (index <= lastIndex) {
        if (epochAt(index) == entry.epoch()) {
          continue; // already held
        }
        truncate(index);
      }
      clock.observe(entry.hlc());
      accept(entry);
      if (append.openIndexes().contains(index)) {
        markOpen(index);
      }
    }
    long matched = prev + append.entries().size();
    // The primary's commit index ends a batch; this node's match may stop inside one.
    long newCommit = lastEndAtOrBelow(Math.min(append.commitIndex(), matched));
    if (newCommit > commitIndex) {
      commitIndex = newCommit;
      pruneOpen();
    }
    LeaderRecovered.Receiving stale = receiving;
    if (stale != null && stale.index() <= commitIndex && chunkToInstall == null) {
      receiving = null; // the log caught up past that transfer: it is moot
    }
    reply(append, true, matched);
  }

  private void reply(LeaderMessage.Append append, boolean success, long index) {
    send(
        append.from(),
        new LeaderMessage.AppendReply(config.nodeId(), epoch, success, index, append.round()));
  }

  private void truncate(long from) {
    if (from <= commitIndex) {
      throw new IllegalStateException(
          "asked to truncate from " + from + " but entries up to " + commitIndex + " committed");
    }
    truncateFrom = truncateFrom == 0 ? from : Math.min(truncateFrom, from);
    toAppend.removeIf(e -> e.index() >= from);
    open.tailSet(from, true).clear();
    openToAppend.removeIf(i -> i >= from);
    Map<Long, OplogEntry> dropped = tail.tailMap(from, true);
    for (OplogEntry entry : dropped.values()) {
      tailBytes -= bytes(entry);
    }
    dropped.clear();
    epochStarts.tailMap(from, true).clear();
    if (!configs.tailMap(from, true).isEmpty()) {
      configs.tailMap(from, true).clear(); // the configuration before comes back in force
      membersDirty = true;
      reachableCache = null;
      if (role == Role.PRIMARY) {
        syncFollowers();
      }
    }
    lastIndex = from - 1;
    persistedIndex = Math.min(persistedIndex, lastIndex);
  }

  private void accept(OplogEntry entry) {
    if (entry.index() != lastIndex + 1) {
      throw new IllegalStateException(
          "entry " + entry.index() + " does not follow the last index " + lastIndex);
    }
    lastIndex = entry.index();
    noteEpoch(lastIndex, entry.epoch());
    toAppend.add(entry);
    logBytes += bytes(entry);
    remember(entry);
    noteConfiguration(entry);
  }

  private void receiveAppendReply(LeaderMessage.AppendReply reply) {
    if (reply.epoch() > epoch) {
      becomeSecondary(reply.epoch(), null);
      return;
    }
    Follower f = followers.get(reply.from());
    if (role != Role.PRIMARY || reply.epoch() != epoch || f == null) {
      return;
    }
    f.lastAckMs = nowMs;
    f.ackedRound = Math.max(f.ackedRound, reply.round());
    if (reply.success()) {
      if (reply.index() > f.match) {
        f.match = reply.index();
        f.lastProgressMs = nowMs;
      }
      f.next = Math.max(f.next, f.match + 1);
      if (f.snapshot != null && f.match >= f.snapshot.index()) {
        f.snapshot = null; // the follower's log reached the snapshot: the transfer is moot
      }
      advanceCommit();
      releaseWrites();
      releaseDeparted();
    } else {
      f.next = Math.max(f.match + 1, Math.min(f.next, reply.index() + 1));
      f.probe = Math.min(f.probe, f.next);
      f.lastProgressMs = nowMs;
      f.loading = false;
    }
    releaseReads();
    replicate();
  }

  // ---------------------------------------------------------------------------------------------
  // Compaction and snapshots (issue 13).

  /** Returns the index the log starts after (0: never compacted). */
  public long snapshotIndex() {
    return snapshotIndex;
  }

  /** Returns the last index the shell reported applied. */
  public long appliedIndex() {
    return appliedIndex;
  }

  /** Returns whether a snapshot transfer to {@code peer} is under way (primary only). */
  public boolean sendingSnapshot(NodeId peer) {
    Follower f = followers.get(peer);
    return role == Role.PRIMARY && f != null && f.snapshot != null;
  }

  private void applied(long index) {
    if (index > appliedIndex) {
      appliedIndex = Math.min(index, commitIndex);
      maybeCompact();
    }
  }

  /**
   * Compacts the applied log once it passes a threshold (entries, or estimated bytes), keeping its
   * newest quarter (of the entry threshold at most) so that a follower a little behind still
   * catches up from the log. A snapshot transfer under way pins the log after its index, so the
   * follower can continue from it, unless that follower fell silent.
   */
  private void maybeCompact() {
    long retained = appliedIndex - snapshotIndex;
    if (retained <= 0
        || (retained <= config.compactEntries() && logBytes <= config.compactBytes())) {
      return;
    }
    long target = appliedIndex - Math.min(config.compactEntries() / 4, retained / 4);
    for (Follower f : followers.values()) {
      SnapshotSend snapshot = f.snapshot;
      if (snapshot != null
          && nowMs - snapshot.cursor().lastAckMs() < 10 * config.electionIntervalMs()) {
        target = Math.min(target, snapshot.index());
      }
    }
    if (target <= snapshotIndex) {
      return;
    }
    long epochThere = epochAt(target);
    Map.Entry<Long, LeaderMembers> inForce = configs.floorEntry(target);
    long membersIndex = inForce.getKey();
    keepLogBytesAfter(target);
    forgetUpTo(target, epochThere);
    compaction =
        new LeaderReady.Compaction(
            target, epochThere, membersIndex, membersIndex == 0 ? null : inForce.getValue());
  }

  /** Scales the estimate of the log's bytes to the part after {@code index}, which stays. */
  private void keepLogBytesAfter(long index) {
    long span = lastIndex - snapshotIndex;
    logBytes = span <= 0 ? 0 : (long) (logBytes * ((double) (lastIndex - index) / span));
  }

  /** Forgets what memory holds of the log up to {@code index}, which now starts after it. */
  private void forgetUpTo(long index, long indexEpoch) {
    Map<Long, OplogEntry> gone = tail.headMap(index, true);
    for (OplogEntry entry : gone.values()) {
      tailBytes -= bytes(entry);
    }
    gone.clear();
    open.headSet(index, true).clear();
    epochStarts.headMap(index, true).clear();
    epochStarts.put(index, indexEpoch);
    Long inForce = configs.floorKey(index);
    if (inForce != null && inForce > 0) {
      configs.subMap(0L, false, inForce, false).clear();
    }
    snapshotIndex = index;
    snapshotEpoch = indexEpoch;
  }

  /**
   * Starts a snapshot transfer to a follower that needs entries this log no longer holds: the
   * applied state, which includes every entry up to the applied index, stands for that index.
   * {@code resume} continues a transfer the follower reports (its index must still be served).
   */
  private void startSnapshot(
      NodeId peer, Follower f, LeaderMessage.@Nullable SnapshotReply resume) {
    long index = resume == null ? appliedIndex : resume.index();
    Map.Entry<Long, LeaderMembers> inForce = configs.floorEntry(index);
    long membersIndex = inForce.getKey();
    SnapshotSend snapshot =
        new SnapshotSend(
            index,
            epochAt(index),
            membersIndex,
            membersIndex == 0 ? null : inForce.getValue(),
            new io.skein.core.replica.ChunkCursor(resume == null ? null : resume.lastKey(), nowMs));
    f.snapshot = snapshot;
    requestSnapshotRead(peer, snapshot);
  }

  private void requestSnapshotRead(NodeId peer, SnapshotSend snapshot) {
    snapshot.cursor().sent(nowMs);
    snapshotReads.add(
        new LeaderReady.SnapshotRead(
            peer, snapshot.index(), snapshot.cursor().ackedKey(), SNAPSHOT_DOCS_MAX));
  }

  private void snapshotLoaded(LeaderInput.SnapshotLoaded loaded) {
    Follower f = followers.get(loaded.peer());
    SnapshotSend snapshot = f == null ? null : f.snapshot;
    if (role != Role.PRIMARY
        || snapshot == null
        || snapshot.index() != loaded.index()
        || !java.util.Objects.equals(loaded.afterKey(), snapshot.cursor().ackedKey())) {
      return; // the transfer ended, moved on or restarted meanwhile
    }
    send(
        loaded.peer(),
        new LeaderMessage.Snapshot(
            config.nodeId(),
            epoch,
            snapshot.index(),
            snapshot.indexEpoch(),
            snapshot.membersIndex(),
            snapshot.members(),
            loaded.afterKey(),
            loaded.documents(),
            loaded.lastKey(),
            loaded.done()));
  }

  private void receiveSnapshotReply(LeaderMessage.SnapshotReply reply) {
    if (reply.epoch() > epoch) {
      becomeSecondary(reply.epoch(), null);
      return;
    }
    Follower f = followers.get(reply.from());
    if (role != Role.PRIMARY || reply.epoch() != epoch || f == null) {
      return;
    }
    f.lastAckMs = nowMs;
    SnapshotSend snapshot = f.snapshot;
    if (reply.done()) {
      if (reply.index() > f.match) {
        f.match = reply.index();
        f.lastProgressMs = nowMs;
      }
      f.next = Math.max(f.next, f.match + 1);
      f.probe = Math.max(f.probe, f.match + 1);
      if (snapshot != null && snapshot.index() <= f.match) {
        f.snapshot = null;
      }
      advanceCommit();
      releaseWrites();
      releaseDeparted();
      releaseReads();
      replicate();
      return;
    }
    if (snapshot == null || snapshot.index() != reply.index()) {
      // The follower is part-way through a transfer this primary has no record of (it restarted,
      // or an earlier primary started it): resume it while its index is still served here, else
      // start over at the applied index (a fresh transfer at another index replaces the
      // follower's).
      if (snapshot == null && f.next > snapshotIndex) {
        return; // the follower needs nothing compacted: its stale transfer does not matter
      }
      boolean served =
          reply.index() >= snapshotIndex && reply.index() <= appliedIndex && reply.index() > 0;
      startSnapshot(reply.from(), f, served ? reply : null);
      return;
    }
    io.skein.core.replica.ChunkCursor cursor = snapshot.cursor();
    if (cursor.confirmed(reply.lastKey(), nowMs)
        || !cursor.inFlight()
        || cursor.stale(nowMs, config.electionIntervalMs())) {
      requestSnapshotRead(reply.from(), snapshot);
    }
  }

  private void receiveSnapshot(LeaderMessage.Snapshot chunk) {
    if (chunk.epoch() < epoch) {
      // Fencing, as for an append: a stale primary learns the epoch and steps down.
      send(chunk.from(), new LeaderMessage.AppendReply(config.nodeId(), epoch, false, 0, 0));
      return;
    }
    if (chunk.epoch() > epoch || role != Role.SECONDARY || !chunk.from().equals(leader)) {
      if (role == Role.PRIMARY && chunk.epoch() == epoch) {
        throw new IllegalStateException(
            "two primaries in epoch " + epoch + ": " + config.nodeId() + " and " + chunk.from());
      }
      becomeSecondary(chunk.epoch(), chunk.from());
    }
    lastHeardLeaderMs = nowMs;
    if (chunk.index() <= commitIndex) {
      // The entry at that index is committed here, so it is the primary's: nothing to install.
      snapshotReply(chunk.from(), chunk.index(), chunk.lastKey(), true);
      return;
    }
    if (chunkToInstall != null || installing != null) {
      return; // one chunk at a time; the primary sends it again
    }
    LeaderRecovered.Receiving open = receiving;
    boolean continues =
        open != null
            && open.index() == chunk.index()
            && java.util.Objects.equals(chunk.afterKey(), open.lastKey());
    boolean fresh =
        chunk.afterKey() == null
            && (open == null || open.index() != chunk.index() || open.lastKey() == null);
    if (!continues && !fresh) {
      // Out of order, or a transfer this node has no record of: say where it is, and the primary
      // resumes there (or starts over).
      if (open != null) {
        snapshotReply(chunk.from(), open.index(), open.lastKey(), false);
      } else {
        snapshotReply(chunk.from(), chunk.index(), null, false);
      }
      return;
    }
    LeaderMembers members = chunk.members();
    if (members != null && members.voters().isEmpty()) {
      return; // a configuration without voters is not one a primary writes (as for appends)
    }
    for (OplogEntry document : chunk.documents()) {
      if (!document.isIntact()) {
        return; // not applied, not acknowledged: the primary resends
      }
    }
    for (OplogEntry document : chunk.documents()) {
      clock.observe(document.hlc());
    }
    receivingBeforeInstall = open;
    receiving = new LeaderRecovered.Receiving(chunk.index(), chunk.lastKey());
    chunkToInstall = chunk;
  }

  private void snapshotReply(NodeId to, long index, @Nullable DocumentKey lastKey, boolean done) {
    send(to, new LeaderMessage.SnapshotReply(config.nodeId(), epoch, index, lastKey, done));
  }

  private void snapshotInstalled(boolean ok) {
    LeaderReady.SnapshotInstall done = installing;
    if (done == null) {
      throw new IllegalStateException("snapshot installed without a pending install");
    }
    installing = null;
    if (!ok) {
      receiving = receivingBeforeInstall;
      return;
    }
    if (!done.done()) {
      snapshotReply(done.source(), done.index(), done.lastKey(), false);
      return;
    }
    receiving = null;
    LeaderReady.Compaction pending = compaction;
    if (pending != null && pending.index() <= done.index()) {
      compaction = null; // the install compacted further than it would have
    }
    if (!done.keepLog()) {
      // The shell removed the whole log: it now ends at the snapshot.
      tail.clear();
      tailBytes = 0;
      open.clear();
      configs.tailMap(0L, false).clear();
      epochStarts.clear();
      lastIndex = done.index();
      persistedIndex = done.index();
      logBytes = 0;
    } else {
      keepLogBytesAfter(done.index());
    }
    LeaderMembers members = done.members();
    if (members != null) {
      configs.put(done.membersIndex(), members);
    }
    if (done.index() > snapshotIndex) {
      forgetUpTo(done.index(), done.indexEpoch());
    }
    membersDirty = true;
    reachableCache = null;
    commitIndex = Math.max(commitIndex, done.index());
    appliedIndex = Math.max(appliedIndex, done.index());
    snapshotReply(done.source(), done.index(), done.lastKey(), true);
  }

  /** Returns how many entries each follower lacks (primary only). */
  public Map<NodeId, Long> lag() {
    Map<NodeId, Long> lag = new HashMap<>();
    if (role == Role.PRIMARY) {
      followers.forEach((id, f) -> lag.put(id, Math.max(0, lastIndex - f.match)));
    }
    return lag;
  }

  /** Returns the HLC's last value. */
  public Hlc lastHlc() {
    return clock.last();
  }
}
