package io.dsfleet.coordinator.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.proto.v1.EventView;
import io.grpc.stub.ServerCallStreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A viewer's `dsctl events -w` that never reads its stream (gRPC flow control: the call is not
 * ready): every event the fleet records after it opened was handed to gRPC all the same, which
 * queues what the client does not take in the coordinator's heap, for as long as the call stays
 * open. A few hundred such calls (64 a connection) held every event of a 10,000-node apply (20,000)
 * once each. Events now wait in the fleet's own window of recent events, not per caller.
 */
class SlowWatchersTest {
  @TempDir
  Path dir;

  /** A server stream whose client takes nothing until {@link #ready} is set; counts what it was given. */
  static final class Stalled<T> extends ServerCallStreamObserver<T> {
    final AtomicBoolean ready = new AtomicBoolean(false);
    final AtomicInteger given = new AtomicInteger();
    volatile Runnable onReady = () -> { };

    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public void setOnCancelHandler(Runnable onCancelHandler) {}

    @Override
    public void setCompression(String compression) {}

    @Override
    public boolean isReady() {
      return ready.get();
    }

    @Override
    public void setOnReadyHandler(Runnable onReadyHandler) {
      onReady = onReadyHandler;
    }

    @Override
    public void disableAutoInboundFlowControl() {}

    @Override
    public void request(int count) {}

    @Override
    public void setMessageCompression(boolean enable) {}

    @Override
    public void onNext(T value) {
      given.incrementAndGet();
    }

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}
  }

  @Test
  void anEventsWatchThatNeverReadsIsHandedNothingWhileItIsNotReady() throws Exception {
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    try (CoordinatorFixture f = new CoordinatorFixture(dir)) {
      Fleet fleet = f.server.fleet();
      Stalled<EventView> call = new Stalled<>();
      EventsFollow follow = new EventsFollow(fleet, k -> true, new io.dsfleet.coordinator.fleet.Events.Listing(java.util.List.of(), fleet.events(k -> true).seq()), true, call);
      follow.start(scheduler);
      for (int i = 0; i < 5_000; i++) {
        fleet.securityEvent("node-" + (i % 100), "Test", "event " + i + " " + "x".repeat(200));
      }
      // the polls due before this (one thread, run by time: two or three) have run, however slow the machine
      scheduler.schedule(() -> { }, 1_500, TimeUnit.MILLISECONDS).get(30, TimeUnit.SECONDS);
      assertThat(call.given.get()).as("events handed to a call whose client takes nothing (gRPC queues them in the heap)")
          .isZero();
      call.ready.set(true);
      call.onReady.run();
      await("once it reads again it gets what the fleet still keeps").atMost(Duration.ofSeconds(30))
          .until(() -> call.given.get() == 5_000);
      follow.cancel();

      // `dsctl events -A` (no watch): the listing of every event kept goes as fast as the client takes it too
      Stalled<EventView> list = new Stalled<>();
      EventsFollow listing = new EventsFollow(fleet, k -> true, fleet.events(k -> true), false, list);
      listing.start(scheduler);
      assertThat(list.given.get()).as("a listing handed to a call whose client takes nothing").isZero();
      list.ready.set(true);
      listing.drain(); // gRPC's onReady, as ControlServiceImpl registers it
      assertThat(list.given.get()).as("the events kept: 50 of each of 100 nodes").isEqualTo(5_000);
    } finally {
      scheduler.shutdownNow();
    }
  }

  /**
   * A viewer's `dsctl rollout status -w` that never reads: each change of the rollout (every pod
   * report moves its counts at a large fleet; the message names the NotReady nodes it waits for)
   * was handed to the call and queued by gRPC. Only the newest state is sent, once the client takes it.
   */
  @Test
  void aRolloutWatchThatNeverReadsIsHandedOnlyTheNewestStateOnceItReads() throws Exception {
    try (CoordinatorFixture f = new CoordinatorFixture(dir)) {
      f.control().apply(io.dsfleet.proto.v1.ApplyRequest.newBuilder().setManifests(io.dsfleet.common.manifest.Fixtures.BASE).build());
      f.agent("node-a", java.util.Map.of()); // its pod not reported Ready: the rollout is under way
      Fleet fleet = f.server.fleet();
      Stalled<io.dsfleet.proto.v1.RolloutStatusEvent> call = new Stalled<>();
      RolloutWatch watch = new RolloutWatch(fleet, "ops", "agent", true, call);
      for (int i = 0; i < 200; i++) { // 200 changes of what the watch reports
        fleet.pause("ops", "agent", i % 2 == 0);
        watch.check();
      }
      assertThat(call.given.get()).as("states handed to a call whose client takes nothing (gRPC queues them in the heap)").isZero();
      call.ready.set(true);
      watch.check();
      assertThat(call.given.get()).as("the newest state, once").isEqualTo(1);
    }
  }
}
