package io.dsfleet.coordinator.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Calls open under a certificate end when it is revoked, whichever of the two comes first. */
class OpenStreamsTest {
  final Set<String> revoked = ConcurrentHashMap.newKeySet();
  final OpenStreams streams = new OpenStreams(revoked::contains);

  @Test
  void aCallEndsWhenItsCertificateIsRevokedAndNotAfterItUnregistered() {
    AtomicInteger first = new AtomicInteger();
    AtomicInteger second = new AtomicInteger();
    streams.register("a1", first::incrementAndGet);
    Runnable unregister = streams.register("a1", second::incrementAndGet);
    unregister.run();
    revoked.add("a1");
    streams.end(List.of("a1"));
    assertThat(first.get()).isOne();
    assertThat(second.get()).as("unregistered: its call had ended").isZero();
    assertThat(streams.size()).isZero();
  }

  @Test
  void aCallRegisteredAfterItsCertificateWasRevokedEndsAtOnce() {
    AtomicInteger ended = new AtomicInteger();
    revoked.add("b2");
    streams.end(List.of("b2"));
    streams.register("b2", ended::incrementAndGet);
    assertThat(ended.get()).isOne();
    assertThat(streams.size()).as("nothing left behind for a revoked certificate").isZero();
  }

  /**
   * A registration and a revocation at the same moment, many times over: the call ends in every
   * round. (Before, a registration could land in the set a revocation had just taken and run, and
   * its own check then found nothing left to end: the call stayed open.)
   */
  @Test
  void aRegistrationRacingARevocationNeverLeavesTheCallOpen() throws Exception {
    ExecutorService two = Executors.newFixedThreadPool(2);
    try {
      int rounds = 20_000;
      int open = 0;
      for (int i = 0; i < rounds; i++) {
        String serial = "s" + i;
        AtomicInteger ended = new AtomicInteger();
        CyclicBarrier go = new CyclicBarrier(2);
        Future<?> register = two.submit(() -> {
          go.await();
          return streams.register(serial, ended::incrementAndGet);
        });
        Future<?> revoke = two.submit(() -> {
          go.await();
          revoked.add(serial); // as the CA does: recorded, then the calls ended
          streams.end(List.of(serial));
          return null;
        });
        register.get();
        revoke.get();
        if (ended.get() == 0) {
          open++;
        }
      }
      assertThat(open).as("rounds of " + rounds + " whose call stayed open").isZero();
      assertThat(streams.size()).isZero();
    } finally {
      two.shutdownNow();
    }
  }
}
