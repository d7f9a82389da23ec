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
    AtomicInteger after = new AtomicInteger(); // watched after it, so run after it in every run
    changes.watch(after::incrementAndGet);
    assertThat(first.await(200, TimeUnit.MILLISECONDS)).as("nothing changed: not run").isFalse();
    changes.bump();
    assertThat(changes.get()).isEqualTo(1);
    assertThat(first.await(10, TimeUnit.SECONDS)).as("run after the change").isTrue();
    unwatch.run();
    int before = runs.get();
    int afterBefore = after.get();
    changes.bump();
    await().atMost(Duration.ofSeconds(10)).until(() -> after.get() > afterBefore); // a run after the unwatch went by it
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
    watchersThreadRan();
    assertThat(runs.get()).isZero();
  }

  /**
   * Returns once the watchers' thread, if one was made (the only one that runs them), has run every
   * run due before a rest of {@link FleetChanges#MAX_GAP_NANOS}: a task due after them has run.
   */
  void watchersThreadRan() throws Exception {
    java.lang.reflect.Field f = FleetChanges.class.getDeclaredField("thread");
    f.setAccessible(true);
    var thread = (java.util.concurrent.ScheduledExecutorService) f.get(changes);
    if (thread != null && !thread.isShutdown()) {
      thread.schedule(() -> { }, FleetChanges.MAX_GAP_NANOS, TimeUnit.NANOSECONDS).get(10, TimeUnit.SECONDS);
    }
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

  @Test
  void aRunRestsNineTimesAsLongAsItTookWithinTheBoundsEvenUnderAFloodOfChangesAndTheLastIsTold() throws Exception {
    assertThat(FleetChanges.gap(100_000)).as("a quick run").isEqualTo(FleetChanges.MIN_GAP_NANOS);
    assertThat(FleetChanges.gap(1_000_000)).isEqualTo(9_000_000);
    assertThat(FleetChanges.gap(4_000_000)).as("a slow run").isEqualTo(FleetChanges.MAX_GAP_NANOS);
    java.util.List<long[]> runs = new java.util.concurrent.CopyOnWriteArrayList<>(); // each run's start and end
    AtomicInteger seen = new AtomicInteger();
    changes.watch(() -> {
      long start = System.nanoTime();
      seen.set((int) changes.get());
      try {
        Thread.sleep(1); // a watcher that takes a millisecond or more, as a view rebuilt at scale
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      runs.add(new long[] {start, System.nanoTime()});
    });
    long until = System.nanoTime() + 400_000_000L;
    while (System.nanoTime() < until) { // changes every 0.2 ms, during the runs as between them
      changes.bump();
      java.util.concurrent.locks.LockSupport.parkNanos(200_000);
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> seen.get() == changes.get()); // the last change is told too
    assertThat(runs).as("told again and again while changes come").hasSizeGreaterThan(3);
    for (int i = 1; i < runs.size(); i++) {
      long[] before = runs.get(i - 1);
      assertThat(runs.get(i)[0] - before[1]).as("the rest before run %d (the one before took %d us)", i, (before[1] - before[0]) / 1000)
          .isGreaterThanOrEqualTo(FleetChanges.gap(before[1] - before[0]));
    }
  }
}
