package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.store.SqliteStore;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.coordinator.store.Store.StoredEvent;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The event recorder's writes to the store (a real SQLite store behind a proxy that sees each batch). */
class EventsTest {
  private static final int KEEP = 5;

  @TempDir Path dir;

  private final List<List<StoredEvent>> batches = new CopyOnWriteArrayList<>();
  /** Counted down when a batch is being written; the write waits for {@link #release} when set. */
  private volatile CountDownLatch writing;
  private volatile CountDownLatch release;

  private Store store(SqliteStore real) {
    return (Store) Proxy.newProxyInstance(Store.class.getClassLoader(), new Class<?>[] {Store.class}, (proxy, m, args) -> {
      if (m.getName().equals("putEvents")) {
        @SuppressWarnings("unchecked")
        List<StoredEvent> batch = (List<StoredEvent>) args[0];
        batches.add(List.copyOf(batch));
        if (release != null) {
          writing.countDown();
          assertThat(release.await(10, TimeUnit.SECONDS)).isTrue();
        }
      }
      try {
        return m.invoke(real, args);
      } catch (InvocationTargetException e) {
        throw e.getCause();
      }
    });
  }

  private static List<String> messages(List<StoredEvent> events, String object) {
    return events.stream().filter(e -> e.object().equals(object)).map(StoredEvent::message).toList();
  }

  /**
   * A flush the store keeps refusing (a full disk) is logged when it first fails, then a line a
   * minute, and once when it is written: before 2026-12-06 a line at every flush, a second apart.
   */
  @Test
  void aFlushTheStoreKeepsRefusingIsLoggedOnceAMinuteNotEveryFlush() {
    java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong(1_000_000);
    Clock clock = movable(now);
    java.util.concurrent.atomic.AtomicBoolean full = new java.util.concurrent.atomic.AtomicBoolean(true);
    try (SqliteStore real = new SqliteStore(dir)) {
      Store refusing = refusingEvents(real, full::get);
      Events events = new Events(clock, KEEP, refusing);
      String log = stderrOf(() -> {
        events.record("ds/default/agent", "Warning", "RolloutFailed", "a pass failed");
        for (int i = 0; i < 90; i++) {
          assertThat(events.flush()).isFalse();
          now.addAndGet(1_000);
        }
        full.set(false);
        assertThat(events.flush()).as("written after refusals").isTrue();
      });
      assertThat(log.lines().filter(l -> l.contains("events failed"))).as(log).hasSize(2);
      assertThat(log).contains("writing 1 events failed; trying again at each flush", "failed 61 times in a row, lately: store write failed",
          "1 events written, after 90 failed tries");
      assertThat(real.events()).extracting(StoredEvent::message).containsExactly("a pass failed");
    }
  }

  /**
   * The wall clock stepped back an hour while the store refuses the flushes (NTP setting it
   * right): the minute's line still comes a minute after, not once the clock is past the last
   * line's time again; before this fix (helper-149) an hour of failed flushes said nothing.
   */
  @Test
  void aFlushRefusedAcrossAClockSteppedBackIsStillLoggedOnceAMinute() {
    java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong(10_000_000);
    Clock clock = movable(now);
    try (SqliteStore real = new SqliteStore(dir)) {
      Store refusing = refusingEvents(real, () -> true);
      Events events = new Events(clock, KEEP, refusing);
      String log = stderrOf(() -> {
        events.record("ds/default/agent", "Warning", "RolloutFailed", "a pass failed");
        assertThat(events.flush()).isFalse();
        now.addAndGet(-3_600_000); // stepped back an hour
        for (int i = 0; i < 70; i++) {
          now.addAndGet(1_000);
          assertThat(events.flush()).isFalse();
        }
      });
      assertThat(log.lines().filter(l -> l.contains("events failed"))).as(log).hasSize(3);
    }
  }

  /** Keeping no events would write none, and the store would never prune an object's older rows. */
  @Test
  void aFleetThatWouldKeepNoEventsIsRefused() {
    var d = FleetOptions.defaults();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new FleetOptions(d.heartbeatInterval(), d.heartbeatGrace(), d.leaseJitter(),
        d.nodeGcAfter(), d.maxObjectsPerApply(), 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("eventsKept");
  }

  @Test
  void aFlushWritesNoMoreOfAnObjectThanTheStoreKeeps() {
    try (SqliteStore real = new SqliteStore(dir)) {
      Events events = new Events(Clock.systemUTC(), KEEP, store(real));
      for (int i = 0; i < 20; i++) { // an apply: a PodScheduled on the DaemonSet and one on each node
        events.record("ds/default/agent", "Normal", "PodScheduled", "pod " + i);
        if (i % 7 == 0) {
          events.record(Events.nodeKey("n" + i), "Normal", "PodScheduled", "pod " + i);
        }
      }
      events.flush();
      assertThat(batches).hasSize(1);
      assertThat(messages(batches.get(0), "ds/default/agent")).as("the newest %d, in order", KEEP)
          .containsExactly("pod 15", "pod 16", "pod 17", "pod 18", "pod 19");
      assertThat(batches.get(0)).hasSize(KEEP + 3);
      // what the store holds is what writing every event would have left
      List<StoredEvent> stored = real.events();
      assertThat(messages(stored, "ds/default/agent")).containsExactly("pod 15", "pod 16", "pod 17", "pod 18", "pod 19");
      assertThat(stored).extracting(StoredEvent::object).containsSubsequence("node/n0", "node/n7", "node/n14");
      events.flush();
      assertThat(batches).as("nothing waits: no second write").hasSize(1);
      assertThat(new Events(Clock.systemUTC(), KEEP, real).of("ds/default/agent")).extracting(Events.Event::message)
          .containsExactly("pod 15", "pod 16", "pod 17", "pod 18", "pod 19");
    }
  }

  /**
   * A flush writes without the recorder's monitor (and, in the fleet, without the fleet's lock):
   * events recorded meanwhile wait for the next flush, and an object forgotten meanwhile loses its
   * events on disk too, whatever the order.
   */
  @Test
  void whatIsRecordedAndForgottenWhileAFlushWritesIsWrittenByTheNext() throws Exception {
    try (SqliteStore real = new SqliteStore(dir)) {
      Events events = new Events(Clock.systemUTC(), KEEP, store(real));
      events.record("ds/default/gone", "Normal", "PodScheduled", "before");
      events.record("ds/default/again", "Normal", "PodScheduled", "a0");
      events.forget("ds/default/again"); // deleted, then made again before the flush
      events.record("ds/default/again", "Normal", "PodScheduled", "a1");
      events.record("ds/default/kept", "Normal", "PodScheduled", "k1");
      events.record("ds/default/kept", "Normal", "PodScheduled", "k2");
      writing = new CountDownLatch(1);
      release = new CountDownLatch(1);
      Thread flush = new Thread(events::flush);
      flush.start();
      assertThat(writing.await(10, TimeUnit.SECONDS)).isTrue();
      // while the first batch is written: the object is deleted (its pending events dropped), others recorded
      events.forget("ds/default/gone");
      events.forget("ds/default/again"); // deleted once more
      events.record("ds/default/kept", "Normal", "PodScheduled", "k3");
      events.record("ds/default/new", "Normal", "PodScheduled", "n1");
      release.countDown();
      flush.join(10_000);
      release = null;
      events.flush();
      List<StoredEvent> stored = real.events();
      assertThat(messages(stored, "ds/default/kept")).containsExactly("k1", "k2", "k3");
      assertThat(messages(stored, "ds/default/new")).containsExactly("n1");
      assertThat(messages(stored, "ds/default/gone")).as("forgotten while its event was written").isEmpty();
      assertThat(messages(stored, "ds/default/again")).as("forgotten again while its new event was written").isEmpty();
    }
  }

  /** A clock at {@code millis}, moved by the test. */
  private static Clock movable(java.util.concurrent.atomic.AtomicLong millis) {
    return new Clock() {
      @Override
      public java.time.ZoneId getZone() {
        return java.time.ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(java.time.ZoneId zone) {
        return this;
      }

      @Override
      public java.time.Instant instant() {
        return java.time.Instant.ofEpochMilli(millis.get());
      }
    };
  }

  /** {@code real}, its events' writes refused as a full disk refuses them while {@code full} says so. */
  private static Store refusingEvents(SqliteStore real, java.util.function.BooleanSupplier full) {
    return (Store) Proxy.newProxyInstance(Store.class.getClassLoader(), new Class<?>[] {Store.class}, (proxy, m, args) -> {
      if (m.getName().equals("putEvents") && full.getAsBoolean()) {
        throw new io.dsfleet.coordinator.store.StoreException("store write failed: [SQLITE_FULL] database or disk is full", null);
      }
      try {
        return m.invoke(real, args);
      } catch (InvocationTargetException e) {
        throw e.getCause();
      }
    });
  }

  /** What {@code run} printed on standard error. */
  private static String stderrOf(Runnable run) {
    java.io.PrintStream stderr = System.err;
    var printed = new java.io.ByteArrayOutputStream();
    System.setErr(new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
    try {
      run.run();
    } finally {
      System.setErr(stderr);
    }
    return printed.toString(java.nio.charset.StandardCharsets.UTF_8);
  }
}
