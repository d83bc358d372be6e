package io.skein.core.leader;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.NodeId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A leader-mode configuration (Raft's, thesis §4): the voting members, and the learners that
 * receive the log but neither vote nor count for a majority. A configuration is a log entry, a
 * document in {@link #COLLECTION}, and a member uses the latest one in its log, committed or not.
 * Changes go one member at a time: a new member is first a learner, and becomes a voter once it has
 * caught up.
 *
 * @param voters the voting members, sorted (their order is the election rank: lowest id first)
 * @param learners members catching up, sorted, none of them a voter
 * @param urls where members listen, for the members' transports ({@code http(s)://host:port}); a
 *     member without one is dialled at the address it was configured with
 */
public record LeaderMembers(List<NodeId> voters, List<NodeId> learners, Map<NodeId, String> urls) {

  /** The system collection whose entries carry configurations. */
  public static final CollectionName COLLECTION = CollectionName.system("_system_members");

  /** The one document id every configuration entry writes (the latest applied is the current). */
  public static final DocumentId DOCUMENT = DocumentId.of("configuration");

  /** The most members a configuration holds (voters and learners). */
  public static final int MEMBERS_MAX = 64;

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Sorts and checks the lists. */
  public LeaderMembers {
    voters = sorted(voters);
    learners = sorted(learners);
    urls = Map.copyOf(new TreeMap<>(urls));
    for (NodeId learner : learners) {
      if (voters.contains(learner)) {
        throw new IllegalArgumentException(learner + " is both a voter and a learner");
      }
    }
    if (voters.size() + learners.size() > MEMBERS_MAX) {
      throw new IllegalArgumentException(
          "a configuration holds at most " + MEMBERS_MAX + " members");
    }
    for (String url : urls.values()) {
      if (!url.matches("https?://[A-Za-z0-9.:\\[\\]_-]+(:[0-9]{1,5})?/?")) {
        throw new IllegalArgumentException("not a member url: " + url);
      }
    }
  }

  private static List<NodeId> sorted(List<NodeId> ids) {
    List<NodeId> copy = new ArrayList<>(ids);
    copy.sort(null);
    if (copy.stream().distinct().count() != copy.size()) {
      throw new IllegalArgumentException("members must be distinct: " + copy);
    }
    return List.copyOf(copy);
  }

  /** A configuration of voters only, with no addresses. */
  public static LeaderMembers of(List<NodeId> voters) {
    return new LeaderMembers(voters, List.of(), Map.of());
  }

  /** Returns whether {@code id} is a voter. */
  public boolean isVoter(NodeId id) {
    return voters.contains(id);
  }

  /** Returns whether {@code id} is a voter or a learner. */
  public boolean contains(NodeId id) {
    return voters.contains(id) || learners.contains(id);
  }

  /** Returns how many voters make a majority (1 if there are none, which no one can reach). */
  public int majority() {
    return voters.size() / 2 + 1;
  }

  /** Returns the rank of {@code id} among the voters (0 for the lowest), or -1. */
  public int rank(NodeId id) {
    return voters.indexOf(id);
  }

  /** Returns the voters and learners other than {@code self}: who a primary replicates to. */
  public List<NodeId> othersThan(NodeId self) {
    List<NodeId> others = new ArrayList<>();
    for (NodeId id : voters) {
      if (!id.equals(self)) {
        others.add(id);
      }
    }
    for (NodeId id : learners) {
      if (!id.equals(self)) {
        others.add(id);
      }
    }
    return others;
  }

  /** Returns this configuration with {@code id} as a learner, dialled at {@code url} if given. */
  public LeaderMembers withLearner(NodeId id, @org.jspecify.annotations.Nullable String url) {
    List<NodeId> nextLearners = new ArrayList<>(learners);
    nextLearners.add(id);
    Map<NodeId, String> nextUrls = new TreeMap<>(urls);
    if (url != null) {
      nextUrls.put(id, url);
    }
    return new LeaderMembers(voters, nextLearners, nextUrls);
  }

  /** Returns this configuration with the learner {@code id} made a voter. */
  public LeaderMembers promoted(NodeId id) {
    List<NodeId> nextVoters = new ArrayList<>(voters);
    nextVoters.add(id);
    List<NodeId> nextLearners = new ArrayList<>(learners);
    nextLearners.remove(id);
    return new LeaderMembers(nextVoters, nextLearners, urls);
  }

  /** Returns this configuration without {@code id}, voter or learner. */
  public LeaderMembers without(NodeId id) {
    List<NodeId> nextVoters = new ArrayList<>(voters);
    nextVoters.remove(id);
    List<NodeId> nextLearners = new ArrayList<>(learners);
    nextLearners.remove(id);
    Map<NodeId, String> nextUrls = new TreeMap<>(urls);
    nextUrls.remove(id);
    return new LeaderMembers(nextVoters, nextLearners, nextUrls);
  }

  /**
   * Returns the members of this configuration and of {@code other}: voters of either (learners of
   * either that vote in neither stay learners), with both addresses ({@code other}'s win).
   */
  public LeaderMembers union(LeaderMembers other) {
    java.util.Set<NodeId> allVoters = new java.util.TreeSet<>(voters);
    allVoters.addAll(other.voters);
    java.util.Set<NodeId> allLearners = new java.util.TreeSet<>(learners);
    allLearners.addAll(other.learners);
    allLearners.removeAll(allVoters);
    Map<NodeId, String> allUrls = new TreeMap<>(urls);
    allUrls.putAll(other.urls);
    return new LeaderMembers(List.copyOf(allVoters), List.copyOf(allLearners), allUrls);
  }

  /** Returns the document a configuration entry carries. */
  public String toDocument() {
    ObjectNode root = JSON.createObjectNode();
    ArrayNode v = root.putArray("voters");
    voters.forEach(id -> v.add(id.value()));
    ArrayNode l = root.putArray("learners");
    learners.forEach(id -> l.add(id.value()));
    ObjectNode u = root.putObject("urls");
    urls.forEach((id, url) -> u.put(id.value(), url));
    return root.toString();
  }

  /**
   * Reads a configuration entry's document.
   *
   * @throws IllegalArgumentException if it is not one {@link #toDocument()} writes
   */
  public static LeaderMembers parse(String document) {
    JsonNode root;
    try {
      root = JSON.readTree(document);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("a configuration entry is not JSON", e);
    }
    if (root == null
        || !root.path("voters").isArray()
        || !root.path("learners").isArray()
        || !root.path("urls").isObject()) {
      throw new IllegalArgumentException("a configuration entry lacks voters, learners or urls");
    }
    List<NodeId> voters = ids(root.get("voters"));
    List<NodeId> learners = ids(root.get("learners"));
    Map<NodeId, String> urls = new TreeMap<>();
    for (Map.Entry<String, JsonNode> field : root.get("urls").properties()) {
      if (!field.getValue().isTextual()) {
        throw new IllegalArgumentException("a member url is not a string");
      }
      urls.put(id(field.getKey()), field.getValue().asText());
    }
    return new LeaderMembers(voters, learners, urls);
  }

  private static NodeId id(String value) {
    try {
      return NodeId.of(value);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("not a member id: " + value, e);
    }
  }

  private static List<NodeId> ids(JsonNode array) {
    List<NodeId> ids = new ArrayList<>();
    for (JsonNode id : array) {
      if (!id.isTextual()) {
        throw new IllegalArgumentException("a member id is not a string");
      }
      ids.add(id(id.asText()));
    }
    return ids;
  }
}
