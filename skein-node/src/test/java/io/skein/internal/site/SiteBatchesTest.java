package io.skein.internal.site;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.skein.RemotePeer;
import io.skein.Skein;
import io.skein.SkeinConfig;
import io.skein.core.hlc.Hlc;
import io.skein.core.model.CollectionName;
import io.skein.core.model.DocumentId;
import io.skein.core.model.NodeId;
import io.skein.core.oplog.Operation;
import io.skein.core.oplog.OplogEntry;
import io.skein.internal.crypto.SealedSecrets;
import io.skein.internal.transport.WireMessages;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SiteBatchesTest {
  private static final NodeId ONE = NodeId.of("1");
  private static final CollectionName ORDERS = CollectionName.user("orders");

  @TempDir Path dir;

  private static OplogEntry entry(String origin, long seq, CollectionName collection, String doc) {
    return OplogEntry.create(
        NodeId.of(origin),
        seq,
        new Hlc(1_000 + seq, 0),
        Operation.PUT,
        collection,
        DocumentId.of("d" + seq),
        doc);
  }

  @Test
  void aSystemEntryLeavesAsANoOpWithItsSequenceAndClock() {
    OplogEntry config = entry("1", 7, CollectionName.system("_system_config"), "{\"v\":1}");
    OplogEntry out = SiteBatches.forOtherSite(config);
    assertThat(out.collection()).isEqualTo(SiteBatches.OTHER_SITE);
    assertThat(out.operation()).isEqualTo(Operation.DELETE);
    assertThat(out.document()).isNull();
    assertThat(out.origin()).isEqualTo(config.origin());
    assertThat(out.sequence()).isEqualTo(7);
    assertThat(out.hlc()).isEqualTo(config.hlc());
    assertThat(out.isIntact()).isTrue();
    OplogEntry user = entry("1", 8, ORDERS, "{}");
    assertThat(SiteBatches.forOtherSite(user)).isSameAs(user);
  }

  @Test
  void aSiteTakesOnlyOtherSitesEntriesAndRefusesTheirSystemWrites() {
    List<OplogEntry> kept =
        SiteBatches.fromOtherSite(
            List.of(entry("cloud", 1, ORDERS, "{}"), entry("2", 1, ORDERS, "{}")),
            Set.of(ONE, NodeId.of("2")));
    assertThat(kept).extracting(e -> e.origin().value()).containsExactly("cloud");
    assertThatThrownBy(
            () ->
                SiteBatches.fromOtherSite(
                    List.of(entry("cloud", 1, CollectionName.system("_system_config"), "{}")),
                    Set.of(ONE)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cloud/1 writes the system collection _system_config");
  }

  @Test
  void aCorruptEntryIsRefusedNamingIt() {
    var wire = WireMessages.entry(entry("cloud", 3, ORDERS, "{\"a\":1}")).toBuilder();
    wire.setDocument("{\"a\":2}");
    assertThatThrownBy(() -> SiteBatches.decode(List.of(wire.build())))
        .hasMessage("entry cloud/3 fails its checksum");
  }

  @Test
  void selectionSendsWhatTheOtherSideLacksInOrderBoundedAndRewritten() throws Exception {
    try (Skein skein = Skein.open(SkeinConfig.builder(dir, "1").build())) {
      for (int i = 1; i <= 5; i++) {
        skein.collection("orders").put("o" + i, "{\"i\":" + i + "}");
      }
      skein.remotePeers().addStaticPeer("far", "far.example.com:9000");
      Map<NodeId, Long> mine = skein.durableVector();
      assertThat(mine).containsEntry(ONE, 6L);

      SiteBatches.Outgoing all = SiteBatches.select(skein, mine, Map.of(ONE, 2L), 100, 1 << 20);
      assertThat(all.entries()).extracting(OplogEntry::sequence).containsExactly(3L, 4L, 5L, 6L);
      assertThat(all.more()).isFalse();
      // The peer-list write went out as a no-op.
      assertThat(all.entries().get(3).collection()).isEqualTo(SiteBatches.OTHER_SITE);

      SiteBatches.Outgoing bounded = SiteBatches.select(skein, mine, Map.of(), 2, 1 << 20);
      assertThat(bounded.entries()).extracting(OplogEntry::sequence).containsExactly(1L, 2L);
      assertThat(bounded.more()).isTrue();
      assertThat(SiteBatches.select(skein, mine, mine, 100, 1 << 20).entries()).isEmpty();

      // The byte bound counts encoded entries: one entry always goes, then it stops.
      SiteBatches.Outgoing tiny = SiteBatches.select(skein, mine, Map.of(), 100, 10);
      assertThat(tiny.entries()).extracting(OplogEntry::sequence).containsExactly(1L);
      assertThat(tiny.more()).isTrue();

      // Entries from another site are taken in order and the vector says so.
      Map<NodeId, Long> after =
          skein
              .ingestFromSite(
                  NodeId.of("cloud"),
                  List.of(entry("cloud", 1, ORDERS, "{}"), entry("cloud", 2, ORDERS, "{}")))
              .get(10, TimeUnit.SECONDS);
      assertThat(after).containsEntry(NodeId.of("cloud"), 2L).containsEntry(ONE, 6L);
      assertThat(skein.collection("orders").get("d2")).isPresent();

      // A rotation starts with another origin, so one the other side refuses cannot starve the
      // rest.
      Map<NodeId, Long> none = Map.of();
      assertThat(SiteBatches.select(skein, after, none, 1, 1 << 20, 0).entries().get(0).origin())
          .isEqualTo(ONE);
      assertThat(SiteBatches.select(skein, after, none, 1, 1 << 20, 1).entries().get(0).origin())
          .isEqualTo(NodeId.of("cloud"));
    }
  }

  @Test
  void aClientSecretIsOpenedFromItsSealOrItsReferenceAndAMissingOneIsNamed() {
    RemotePeer peer =
        new RemotePeer(
            "cloud-1",
            "cloud.example.com:443",
            RemotePeer.Type.CLOUD_REMOTE,
            new RemotePeer.OAuth2("https://login.example.com", "lan", "${X}", List.of()),
            true);
    String cluster = "a-cluster-secret-of-some-length";
    String sealed = SealedSecrets.fromClusterSecret(cluster).seal("s3cret");
    assertThat(CloudSync.resolveSecret(peer, sealed, cluster, name -> null))
        .isEqualTo("s3cret".toCharArray());
    assertThat(
            CloudSync.resolveSecret(
                peer, "${CLOUD_SECRET}", cluster, name -> name.equals("CLOUD_SECRET") ? "v" : null))
        .isEqualTo("v".toCharArray());
    assertThatThrownBy(() -> CloudSync.resolveSecret(peer, "${MISSING}", cluster, name -> null))
        .hasMessage(
            "the environment variable MISSING (oauth2.clientSecret of cloud peer cloud-1) is not"
                + " set on this node");
  }
}
