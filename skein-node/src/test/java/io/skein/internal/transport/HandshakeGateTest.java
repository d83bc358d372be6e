package io.skein.internal.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The gate's bookkeeping, with made-up source addresses: on loopback every peer and stranger is
 * 127.0.0.1, so the per-address share and the choice of the stream to evict are shown here.
 */
@Timeout(60)
class HandshakeGateTest {
  private final MeterRegistry meters = new SimpleMeterRegistry();

  private HandshakeGate gate(int streamsMax, int perAddressMax) {
    return new HandshakeGate(
        new HandshakeGate.Limits(Handshake.MESSAGE_BYTES_MAX, 2_000, streamsMax, perAddressMax),
        meters);
  }

  /** A stream from {@code host} (an IP address), from a new port each time, like a real client. */
  private static InetSocketAddress from(String host) {
    return new InetSocketAddress(host, 40_000 + PORTS.incrementAndGet() % 20_000);
  }

  private static final AtomicInteger PORTS = new AtomicInteger();

  /** One stream as the transport sees it: its slot, and why the gate evicted it, if it did. */
  private record Stream(HandshakeGate.Slot slot, List<String> evictions) {
    boolean evicted() {
      return !evictions.isEmpty();
    }
  }

  /** A stream from {@code host}. */
  private static Stream enter(HandshakeGate gate, String host) {
    List<String> evictions = new java.util.concurrent.CopyOnWriteArrayList<>();
    return new Stream(gate.enter(from(host), evictions::add), evictions);
  }

  private double closed(String reason) {
    var counter = meters.find("skein.peer.streams.refused").tag("reason", reason).counter();
    return counter == null ? 0 : counter.count();
  }

  private double gauge() {
    return meters.get("skein.peer.streams.unauthenticated").gauge().value();
  }

  @Test
  void oneAddressHoldsAtMostItsShareWhateverThePortAndItsOldestMakesWay() {
    HandshakeGate gate = gate(8, 3);
    List<Stream> mine = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      mine.add(enter(gate, "192.0.2.1"));
    }
    Stream fourth = enter(gate, "192.0.2.1");
    assertThat(mine.get(0).evictions()).containsExactly("per_address_max");
    assertThat(mine.get(0).slot().held()).isFalse();
    assertThat(mine.subList(1, 3)).noneMatch(Stream::evicted);
    assertThat(fourth.slot().held()).isTrue();
    assertThat(closed("per_address_max")).isEqualTo(1);
    assertThat(gate.openFrom(from("192.0.2.1"))).isEqualTo(3);
    assertThat(gate.open()).as("below the whole: the address's share bound it").isEqualTo(3);

    enter(gate, "192.0.2.2");
    assertThat(gate.open()).isEqualTo(4);
    assertThat(gauge()).isEqualTo(4);
    assertThat(closed("evicted")).isZero();

    // A slot given back makes room for the address again, once.
    assertThat(mine.get(1).slot().release()).isTrue();
    assertThat(mine.get(1).slot().release()).isFalse();
    assertThat(mine.get(0).slot().release()).as("an evicted slot is not given back").isFalse();
    enter(gate, "192.0.2.1");
    assertThat(mine.get(2).evicted()).isFalse();
    assertThat(gate.open()).isEqualTo(4);
  }

  @Test
  void anAddressAtItsShareEvictsOnlyItsOwnStreamsEvenWhenEverySlotIsTaken() {
    HandshakeGate gate = gate(4, 2);
    Stream b1 = enter(gate, "192.0.2.2");
    Stream a1 = enter(gate, "192.0.2.1");
    Stream b2 = enter(gate, "192.0.2.2");
    Stream a2 = enter(gate, "192.0.2.1");
    enter(gate, "192.0.2.1");
    assertThat(a1.evictions()).containsExactly("per_address_max");
    assertThat(List.of(b1, b2, a2)).noneMatch(Stream::evicted);
    assertThat(closed("evicted")).isZero();
    assertThat(gate.open()).isEqualTo(4);
  }

  @Test
  void atTheCapANewcomerEvictsTheOldestStreamOfTheAddressHoldingTheMost() {
    HandshakeGate gate = gate(4, 2);
    Stream c1 = enter(gate, "192.0.2.3");
    Stream a1 = enter(gate, "192.0.2.1");
    Stream a2 = enter(gate, "192.0.2.1");
    Stream b1 = enter(gate, "192.0.2.2");

    // 192.0.2.1 holds the most: its oldest goes, although c1 is older.
    Stream d1 = enter(gate, "192.0.2.4");
    assertThat(a1.evictions()).containsExactly("evicted");
    assertThat(a1.slot().held()).isFalse();
    assertThat(a1.slot().release()).as("an evicted slot is not given back twice").isFalse();
    assertThat(List.of(c1, a2, b1, d1)).noneMatch(Stream::evicted);
    assertThat(List.of(c1, a2, b1, d1)).allMatch(s -> s.slot().held());
    assertThat(closed("evicted")).isEqualTo(1);
    assertThat(gate.open()).isEqualTo(4);
    assertThat(gauge()).isEqualTo(4);

    // Every address holds one now: the oldest stream overall goes.
    enter(gate, "192.0.2.5");
    assertThat(c1.evictions()).containsExactly("evicted");
    assertThat(List.of(a2, b1, d1)).noneMatch(Stream::evicted);
    assertThat(closed("evicted")).isEqualTo(2);
    assertThat(gate.open()).isEqualTo(4);
  }

  @Test
  void strangersOnAFewAddressesReopeningWithoutPauseNeverEvictARealPeersStream() {
    // Four strangers' addresses fill every slot (4 x 4) and each reopens what it loses, for as
    // long as they like; the peer's one stream is never the largest holder's.
    HandshakeGate gate = gate(16, 4);
    String[] strangers = {"198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"};
    for (int i = 0; i < 16; i++) {
      enter(gate, strangers[i % 4]);
    }
    Stream peer = enter(gate, "203.0.113.7");
    Random random = new Random(7);
    for (int round = 0; round < 1_000; round++) {
      enter(gate, strangers[random.nextInt(strangers.length)]);
    }
    assertThat(closed("evicted") + closed("per_address_max"))
        .as("the strangers turned every slot over many times")
        .isGreaterThan(16 * 10);
    assertThat(peer.evicted()).isFalse();
    assertThat(peer.slot().held()).isTrue();
    assertThat(gate.open()).isEqualTo(16);
    assertThat(peer.slot().release()).as("the peer authenticates").isTrue();
    assertThat(gate.open()).isEqualTo(15);
  }

  @Test
  void aPeerSharingAStrangersAddressKeepsItsSlotUntilTheAddressesShareOfNewerStreamsArrives() {
    // Behind one NAT, proxy or host (and on loopback), a stranger holding the address's share
    // does not keep the peer out: the peer's stream goes only after a share's worth of newer ones.
    HandshakeGate gate = gate(64, 16);
    for (int i = 0; i < 16; i++) {
      enter(gate, "192.0.2.9");
    }
    Stream peer = enter(gate, "192.0.2.9");
    assertThat(peer.slot().held()).as("the peer gets a slot at once").isTrue();
    for (int i = 0; i < 15; i++) {
      enter(gate, "192.0.2.9");
    }
    assertThat(peer.evicted()).isFalse();
    enter(gate, "192.0.2.9");
    assertThat(peer.evictions()).containsExactly("per_address_max");
    assertThat(gate.open()).isEqualTo(16);
  }

  @Test
  void streamsFromUnknownAddressesCountAsOneAddress() {
    HandshakeGate gate = gate(8, 2);
    List<String> first = new ArrayList<>();
    gate.enter(null, first::add);
    gate.enter(null, reason -> {});
    gate.enter(null, reason -> {});
    assertThat(first).containsExactly("per_address_max");
    gate.enter(InetSocketAddress.createUnresolved("peer.example", 1), reason -> {});
    assertThat(gate.open()).isEqualTo(3);
  }

  @Test
  void theLimitsRefuseAPerAddressShareLargerThanTheWhole() {
    assertThatThrownBy(() -> new HandshakeGate.Limits(Handshake.MESSAGE_BYTES_MAX, 2_000, 4, 5))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new HandshakeGate.Limits(Handshake.MESSAGE_BYTES_MAX, 2_000, 4, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void underConcurrentEntriesEvictionsAndReleasesEverySlotIsGivenBackExactlyOnce()
      throws Exception {
    HandshakeGate gate = gate(16, 6);
    int threads = 4;
    int perThread = 20_000;
    AtomicInteger evictions = new AtomicInteger();
    AtomicInteger givenBack = new AtomicInteger();
    AtomicInteger entered = new AtomicInteger();
    AtomicInteger overCap = new AtomicInteger();
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int seed = t;
        done.add(
            pool.submit(
                () -> {
                  Random random = new Random(seed);
                  List<HandshakeGate.Slot> mine = new ArrayList<>();
                  go.await();
                  for (int i = 0; i < perThread; i++) {
                    if (mine.isEmpty() || random.nextInt(3) > 0) {
                      mine.add(
                          gate.enter(
                              from("192.0.2." + random.nextInt(5)),
                              reason -> evictions.incrementAndGet()));
                      entered.incrementAndGet();
                    } else if (mine.remove(random.nextInt(mine.size())).release()) {
                      // Closed, authenticated or late; some of these lose a race with an eviction.
                      givenBack.incrementAndGet();
                    }
                    if (gate.open() > 16) {
                      overCap.incrementAndGet();
                    }
                  }
                  for (HandshakeGate.Slot slot : mine) {
                    if (slot.release()) {
                      givenBack.incrementAndGet();
                    }
                    assertThat(slot.release()).isFalse();
                  }
                  return null;
                }));
      }
      go.countDown();
      for (Future<?> f : done) {
        f.get(50, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(evictions.get()).as("the caps were reached").isPositive();
    assertThat(givenBack.get() + evictions.get())
        .as("every slot taken was given back or evicted, once")
        .isEqualTo(entered.get());
    assertThat(gate.open()).isZero();
    assertThat(gauge()).isZero();
    assertThat(overCap).hasValue(0);
    for (int i = 0; i < 5; i++) {
      assertThat(gate.openFrom(from("192.0.2." + i))).isZero();
    }
    assertThat(closed("evicted") + closed("per_address_max")).isEqualTo(evictions.get());
  }
}
