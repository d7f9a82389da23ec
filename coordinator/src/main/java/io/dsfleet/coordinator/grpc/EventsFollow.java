package io.dsfleet.coordinator.grpc;

import io.dsfleet.coordinator.fleet.Events;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.proto.v1.EventView;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * `dsctl events [-w]`: the events kept, then (watch) each one recorded after those already sent,
 * polled twice a second. Only as fast as the client takes them (gRPC flow control): an event is
 * handed to the call only while it is ready, so a client that stops reading costs the coordinator
 * the listing it was given (references to events the fleet keeps anyway) and no more; what it has
 * not taken of later events waits in the fleet's window of recent events, not in this call. Before,
 * every event was handed over at once and gRPC queued what the client did not take in the heap,
 * for as long as the call stayed open, once per call (SlowWatchersTest).
 */
final class EventsFollow {
  private final Fleet fleet;
  private final Predicate<String> which;
  private final ServerCallStreamObserver<EventView> call;
  private final boolean watch;
  /** Of the listing, what the client has not taken yet. */
  private final java.util.ArrayDeque<Events.Recorded> listed;
  /** The sequence number of the last event sent. */
  private long seen;
  private boolean ended;
  private ScheduledFuture<?> poll;

  /** @param watch whether new events follow the listing; else the call completes once the listing was taken */
  EventsFollow(Fleet fleet, Predicate<String> which, Events.Listing listing, boolean watch, ServerCallStreamObserver<EventView> call) {
    this.fleet = fleet;
    this.which = which;
    this.seen = listing.seq();
    this.listed = new java.util.ArrayDeque<>(listing.events());
    this.watch = watch;
    this.call = call;
  }

  /** Sends what the call takes now; polls for new events while it watches. */
  synchronized void start(ScheduledExecutorService scheduler) {
    if (watch) {
      poll = scheduler.scheduleWithFixedDelay(this::drain, 500, 500, TimeUnit.MILLISECONDS);
    }
    drain();
  }

  /** The client can take more (gRPC's onReady), or it is time to look for new events. */
  synchronized void drain() {
    if (ended) {
      return;
    }
    if (call.isCancelled()) {
      stop();
      return;
    }
    while (!listed.isEmpty() && call.isReady()) {
      call.onNext(ControlViews.eventView(listed.removeFirst()));
    }
    if (!listed.isEmpty()) {
      return;
    }
    if (!watch) {
      ended = true;
      call.onCompleted();
      return;
    }
    if (!call.isReady()) {
      return;
    }
    try {
      for (Events.Recorded r : fleet.eventsAfter(seen, which)) {
        if (!call.isReady()) {
          return; // the rest waits in the fleet's window, not in gRPC's queue
        }
        call.onNext(ControlViews.eventView(r));
        seen = r.seq();
      }
    } catch (RuntimeException e) {
      end(Status.UNAVAILABLE.withDescription("following events failed: " + e.getMessage()));
    }
  }

  private void stop() {
    ended = true;
    listed.clear();
    if (poll != null) {
      poll.cancel(false);
    }
  }

  /** The client went away. */
  synchronized void cancel() {
    stop();
  }

  /** Ends the stream with {@code why} (once). */
  synchronized void end(Status why) {
    if (ended) {
      return;
    }
    stop();
    call.onError(io.dsfleet.coordinator.fleet.ControlException.answered(why));
  }
}
