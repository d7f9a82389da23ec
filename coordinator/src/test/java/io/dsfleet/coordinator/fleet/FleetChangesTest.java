package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The fleet's version and the watchers told when it moves (what `rollout status` follows instead of a timer). */
class FleetChangesTest {
  final FleetChanges changes = new FleetChanges();

  @AfterEach
  void close() {
    changes.close();
  }

  @Test
  void aWatcherRunsAfterAChangeAndNoLongerOnceUnwatched() throws Exception {
    AtomicInteger runs = new AtomicInteger();
    CountDownLatch first = new CountDownLatch(1);
    Runnable unwatch = changes.watch(() -> {
      runs.incrementAndGet();
      first.countDown();
    });
    assertThat(first.await(200, TimeUnit.MILLISECONDS)).as("nothing changed: not run").isFalse();
    changes.bump();
    assertThat(changes.get()).isEqualTo(1);
    assertThat(first.await(10, TimeUnit.SECONDS)).as("run after the change").isTrue();
    unwatch.run();
    int before = runs.get();
    changes.bump();
    Thread.sleep(200); // longer than the gap between two runs: a run would have come
    assertThat(runs.get()).as("unwatched: not run again").isEqualTo(before);
  }

  @Test
  void changesWhileAWatcherRunsAreToldAgainAndAFloodIsToldFewTimes() throws Exception {
    AtomicInteger runs = new AtomicInteger();
    AtomicInteger seen = new AtomicInteger();
    CountDownLatch inFirst = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    changes.watch(() -> {
      if (runs.incrementAndGet() == 1) {
        inFirst.countDown();
        try {
          release.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      seen.set((int) changes.get());
    });
    changes.bump();
    assertThat(inFirst.await(10, TimeUnit.SECONDS)).isTrue();
    for (int i = 0; i < 1000; i++) {
      changes.bump(); // while the first run is under way
    }
    release.countDown();
    await().atMost(Duration.ofSeconds(10)).until(() -> seen.get() == 1001);
    assertThat(runs.get()).as("a thousand changes during one run told once more, not a thousand times").isLessThanOrEqualTo(3);
  }

  /** A fleet that no longer serves: its changes still go through, nobody is told, a new watch is never run. */
  @Test
  void afterCloseChangesStillMoveTheVersionAndNoWatcherRuns() throws Exception {
    AtomicInteger runs = new AtomicInteger();
    changes.watch(runs::incrementAndGet);
    changes.close();
    changes.bump();
    changes.watch(runs::incrementAndGet);
    changes.bump();
    assertThat(changes.get()).isEqualTo(2);
    Thread.sleep(200);
    assertThat(runs.get()).isZero();
  }

  @Test
  void aFailingWatcherDoesNotStopTheOthers() {
    AtomicInteger runs = new AtomicInteger();
    changes.watch(() -> {
      throw new IllegalStateException("broken watcher");
    });
    changes.watch(runs::incrementAndGet);
    changes.bump();
    await().atMost(Duration.ofSeconds(10)).until(() -> runs.get() == 1);
    changes.bump();
    await().atMost(Duration.ofSeconds(10)).until(() -> runs.get() == 2);
  }
}
