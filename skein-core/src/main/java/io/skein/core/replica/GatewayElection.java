package io.skein.core.replica;

import io.skein.core.model.NodeId;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Dynamo mode's gateway election (DESIGN.md D1): the gateway to remote and cloud peers is the
 * lowest node id among the members that can reach a majority, and there is at most one per epoch.
 *
 * <p>Design notes. The seed's Bully algorithm picks the lowest id a node can see; without a quorum
 * two sides of a partition each pick one. Here the lowest id only decides who <em>stands</em>; a
 * node becomes gateway by winning the votes of a majority of the members for a fresh epoch, and
 * every voter persists its vote (epoch, candidate) before answering, so two majorities of one epoch
 * share a voter that voted once: one gateway per epoch, across crashes too (Raft's election safety,
 * with the candidate chosen by id instead of by timeout).
 *
 * <ul>
 *   <li>Every node sends a {@link PeerMessage.GatewayBeacon} to every member each heartbeat: its
 *       epoch and the gateway it follows. Any message from a peer counts as hearing it; a peer
 *       heard within an election interval is alive.
 *   <li>A node stands when it hears a majority (itself included), no alive member has a lower id,
 *       and no gateway with a lower id is alive. It bumps the epoch, votes for itself, persists,
 *       and asks every member. A lower id that comes back stands the same way, so the lowest id
 *       that reaches a majority ends up gateway (the seed's behaviour, made quorum-safe).
 *   <li>A voter grants a vote in a higher epoch only to a candidate lower than every member it
 *       hears and lower than itself unless it cannot reach a majority itself; it grants the same
 *       epoch again only to the candidate it voted for. A refused request does not move the voter's
 *       epoch. (A refused candidate's beacons do carry its new epoch, and any higher epoch makes a
 *       gateway step down, so a node that cannot hear the gateway but hears a majority makes the
 *       lowest id win again one epoch later: safe, but it churns. A pre-vote would stop that.)
 *   <li>A gateway stays one only while a majority (itself included) beacons that it follows it in
 *       its epoch within an election interval; otherwise it steps down, and the shell stops cloud
 *       sync. Any higher epoch seen makes it step down at once.
 * </ul>
 *
 * <p>The durable part ({@link GatewayTerm}) leaves through {@link #takeTermToPersist()}, and the
 * shell must persist it before sending the messages of the same {@link Ready}. Not thread-safe: its
 * {@link ReplicaCore} drives it.
 */
final class GatewayElection {
  private final NodeId self;
  private boolean enabled;
  private long electionIntervalMs = 500;
  private long heartbeatMs = 100;

  // Durable.
  private long epoch;
  private @Nullable NodeId votedFor;
  private boolean termDirty;

  // Volatile.
  private @Nullable NodeId gateway;
  private long gatewaySeenMs;
  private boolean isGateway;
  private long becameGatewayMs;
  private boolean candidate;
  private long candidacyEndsMs;
  private long nextStandMs;
  private long nextBeaconMs = Long.MIN_VALUE / 2;
  private final Set<NodeId> votes = new LinkedHashSet<>();
  private final Map<NodeId, Long> lastHeardMs = new HashMap<>();
  private final Map<NodeId, View> views = new HashMap<>();
  private GatewayStatus reported = GatewayStatus.NONE;
  private long lastNowMs;
  private @Nullable GatewayStatus changed;

  /** The last beacon of a peer. */
  private record View(long epoch, @Nullable NodeId gateway, long atMs) {}

  GatewayElection(NodeId self, GatewayTerm recovered) {
    this.self = self;
    this.epoch = recovered.epoch();
    this.votedFor = recovered.votedFor();
    this.reported = new GatewayStatus(epoch, null, false);
  }

  void configure(boolean enabled, long electionIntervalMs, long heartbeatMs) {
    if (electionIntervalMs <= 0 || heartbeatMs <= 0 || heartbeatMs >= electionIntervalMs) {
      throw new IllegalArgumentException(
          "gateway timings need 0 < heartbeat < election interval, got heartbeat "
              + heartbeatMs
              + " ms and election interval "
              + electionIntervalMs
              + " ms");
    }
    boolean disabling = this.enabled && !enabled;
    this.enabled = enabled;
    if (disabling) {
      stepDown();
      candidate = false;
      gateway = null;
      noteChange();
    }
    this.electionIntervalMs = electionIntervalMs;
    this.heartbeatMs = heartbeatMs;
  }

  boolean enabled() {
    return enabled;
  }

  GatewayStatus status(long nowMs) {
    return new GatewayStatus(epoch, freshGateway(nowMs), isGateway);
  }

  /** Any message from {@code peer} proves it alive. */
  void heard(NodeId peer, long nowMs) {
    lastHeardMs.put(peer, nowMs);
  }

  /** A member left or was forgotten: it no longer counts or votes. */
  void forget(NodeId peer) {
    lastHeardMs.remove(peer);
    views.remove(peer);
    votes.remove(peer);
  }

  /** The term to persist before the next messages leave, or {@code null}. */
  @Nullable GatewayTerm takeTermToPersist() {
    if (!termDirty) {
      return null;
    }
    termDirty = false;
    return new GatewayTerm(epoch, votedFor);
  }

  /** The status, if it changed since the last call. */
  @Nullable GatewayStatus takeChange() {
    GatewayStatus change = changed;
    changed = null;
    return change;
  }

  boolean hasWork() {
    return termDirty || changed != null;
  }

  void tick(long nowMs, Collection<NodeId> members, List<Envelope> out) {
    if (!enabled) {
      return;
    }
    int majority = majority(members);
    if (isGateway) {
      int following = 1;
      for (NodeId peer : members) {
        View view = views.get(peer);
        if (view != null
            && view.epoch() == epoch
            && self.equals(view.gateway())
            && nowMs - view.atMs() < electionIntervalMs) {
          following++;
        }
      }
      if (following < majority && nowMs - becameGatewayMs >= electionIntervalMs) {
        stepDown();
        nextStandMs = nowMs + electionIntervalMs;
      }
    } else if (candidate && nowMs >= candidacyEndsMs) {
      candidate = false;
      votes.clear();
    }
    if (!isGateway && !candidate && nowMs >= nextStandMs && mayStand(nowMs, members)) {
      stand(nowMs, members, out);
    }
    noteChange(nowMs);
    if (nowMs >= nextBeaconMs) {
      nextBeaconMs = nowMs + heartbeatMs;
      NodeId following = isGateway ? self : freshGateway(nowMs);
      for (NodeId peer : members) {
        out.add(new Envelope(peer, new PeerMessage.GatewayBeacon(self, epoch, following)));
      }
    }
  }

  void receive(PeerMessage message, long nowMs, Collection<NodeId> members, List<Envelope> out) {
    if (!enabled) {
      return;
    }
    switch (message) {
      case PeerMessage.GatewayVoteRequest request -> voteRequested(request, nowMs, members, out);
      case PeerMessage.GatewayVote vote -> voted(vote, nowMs, members, out);
      case PeerMessage.GatewayBeacon beacon -> beacon(beacon, nowMs);
      default -> throw new IllegalArgumentException("not a gateway message: " + message);
    }
    noteChange(nowMs);
  }

  private boolean mayStand(long nowMs, Collection<NodeId> members) {
    if (!reachesMajority(nowMs, members)) {
      return false;
    }
    for (NodeId peer : members) {
      if (alive(peer, nowMs) && peer.compareTo(self) < 0) {
        return false;
      }
    }
    NodeId current = freshGateway(nowMs);
    return current == null || current.compareTo(self) > 0;
  }

  private boolean reachesMajority(long nowMs, Collection<NodeId> members) {
    int alive = 1;
    for (NodeId peer : members) {
      if (alive(peer, nowMs)) {
        alive++;
      }
    }
    return alive >= majority(members);
  }

  private void stand(long nowMs, Collection<NodeId> members, List<Envelope> out) {
    epoch++;
    votedFor = self;
    termDirty = true;
    gateway = null;
    candidate = true;
    candidacyEndsMs = nowMs + electionIntervalMs;
    nextStandMs = nowMs + electionIntervalMs + electionIntervalMs / 2;
    votes.clear();
    votes.add(self);
    if (votes.size() >= majority(members)) {
      win(nowMs, members, out);
      return;
    }
    for (NodeId peer : members) {
      out.add(new Envelope(peer, new PeerMessage.GatewayVoteRequest(self, epoch)));
    }
  }

  private void win(long nowMs, Collection<NodeId> members, List<Envelope> out) {
    candidate = false;
    isGateway = true;
    gateway = self;
    becameGatewayMs = nowMs;
    gatewaySeenMs = nowMs;
    votes.clear();
    // Tell everyone at once rather than at the next heartbeat.
    nextBeaconMs = nowMs + heartbeatMs;
    for (NodeId peer : members) {
      out.add(new Envelope(peer, new PeerMessage.GatewayBeacon(self, epoch, self)));
    }
  }

  private void voteRequested(
      PeerMessage.GatewayVoteRequest request,
      long nowMs,
      Collection<NodeId> members,
      List<Envelope> out) {
    NodeId candidateId = request.from();
    boolean grant;
    if (request.epoch() < epoch) {
      grant = false;
    } else if (request.epoch() == epoch) {
      grant =
          candidateId.equals(votedFor)
              || (votedFor == null && preferred(candidateId, nowMs, members));
    } else {
      grant = preferred(candidateId, nowMs, members);
    }
    if (grant) {
      if (request.epoch() > epoch || votedFor == null) {
        epoch = request.epoch();
        votedFor = candidateId;
        termDirty = true;
      }
      stepDown();
      candidate = false;
      votes.clear();
      gateway = null;
      // Leave the candidate an election interval to collect its votes.
      nextStandMs = Math.max(nextStandMs, nowMs + electionIntervalMs);
    }
    out.add(
        new Envelope(
            candidateId,
            new PeerMessage.GatewayVote(self, grant ? request.epoch() : epoch, grant)));
  }

  /** Whether {@code candidateId} is the node this one would have as gateway. */
  private boolean preferred(NodeId candidateId, long nowMs, Collection<NodeId> members) {
    if (!members.contains(candidateId)) {
      return false;
    }
    for (NodeId peer : members) {
      if (!peer.equals(candidateId) && alive(peer, nowMs) && peer.compareTo(candidateId) < 0) {
        return false;
      }
    }
    return self.compareTo(candidateId) > 0 || !reachesMajority(nowMs, members);
  }

  private void voted(
      PeerMessage.GatewayVote vote, long nowMs, Collection<NodeId> members, List<Envelope> out) {
    if (vote.epoch() > epoch) {
      adopt(vote.epoch());
      return;
    }
    if (!candidate || vote.epoch() != epoch || !vote.granted() || !members.contains(vote.from())) {
      return;
    }
    votes.add(vote.from());
    if (votes.size() >= majority(members)) {
      win(nowMs, members, out);
    }
  }

  private void beacon(PeerMessage.GatewayBeacon beacon, long nowMs) {
    NodeId from = beacon.from();
    views.put(from, new View(beacon.epoch(), beacon.gateway(), nowMs));
    if (beacon.epoch() > epoch) {
      adopt(beacon.epoch());
    }
    if (beacon.epoch() == epoch && from.equals(beacon.gateway()) && !isGateway) {
      gateway = from;
      gatewaySeenMs = nowMs;
      candidate = false;
      votes.clear();
    }
  }

  /** A higher epoch exists: join it without a vote, and give up any claim in the older one. */
  private void adopt(long higher) {
    epoch = higher;
    votedFor = null;
    termDirty = true;
    stepDown();
    candidate = false;
    votes.clear();
    gateway = null;
  }

  private void stepDown() {
    if (isGateway) {
      isGateway = false;
      gateway = null;
    }
  }

  private @Nullable NodeId freshGateway(long nowMs) {
    if (isGateway) {
      return self;
    }
    NodeId known = gateway;
    return known != null && nowMs - gatewaySeenMs < electionIntervalMs ? known : null;
  }

  private boolean alive(NodeId peer, long nowMs) {
    Long heard = lastHeardMs.get(peer);
    return heard != null && nowMs - heard < electionIntervalMs;
  }

  private static int majority(Collection<NodeId> members) {
    return (members.size() + 1) / 2 + 1;
  }

  private void noteChange(long nowMs) {
    lastNowMs = nowMs;
    noteChange();
  }

  private void noteChange() {
    NodeId current = enabled ? freshGateway(lastNowMs) : null;
    if (!Objects.equals(current, reported.gateway()) || isGateway != reported.isGateway()) {
      reported = new GatewayStatus(epoch, current, isGateway);
      changed = reported;
    }
  }

  /** For tests: the members this node heard within an election interval. */
  List<NodeId> alivePeers(long nowMs) {
    List<NodeId> alive = new ArrayList<>();
    lastHeardMs.forEach(
        (peer, at) -> {
          if (nowMs - at < electionIntervalMs) {
            alive.add(peer);
          }
        });
    return alive;
  }
}
