package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The lease sweep writes its events without the fleet's lock: a slow write holds no other call. */
class TickFlushOutsideLockTest {
  @TempDir Path dir;

  @Test
  void aSlowEventWriteHoldsNoCallThatTakesTheFleetsLock() throws Exception {
    try (FleetHarness h = new FleetHarness(dir)) {
      h.agent("n1");
      h.apply(FleetHarness.manifest());
      CountDownLatch writing = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      h.failing = (method, args) -> {
        if (method.equals("putEvents") && writing.getCount() > 0) {
          writing.countDown();
          try {
            release.await(10, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        return false;
      };
      Thread tick = new Thread(h.fleet::tick);
      tick.start();
      try {
        assertThat(writing.await(10, TimeUnit.SECONDS)).as("the tick writes events").isTrue();
        CompletableFuture<Void> label = CompletableFuture.runAsync(() -> h.fleet.labelNode("n1", Map.of("zone", "a"), List.of(), false));
        label.get(5, TimeUnit.SECONDS); // a TimeoutException here: the write held the fleet's lock
      } finally {
        release.countDown();
        tick.join(10_000);
      }
      assertThat(tick.isAlive()).isFalse();
    }
  }
}
