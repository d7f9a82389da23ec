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

/** Follows the events kept for `dsctl events -w`: each one recorded after those already sent, polled twice a second. */
final class EventsFollow {
  private final Fleet fleet;
  private final Predicate<String> which;
  private final ServerCallStreamObserver<EventView> call;
  /** The sequence number of the last event sent. */
  private long seen;
  private boolean ended;
  private ScheduledFuture<?> poll;

  EventsFollow(Fleet fleet, Predicate<String> which, long seen, ServerCallStreamObserver<EventView> call) {
    this.fleet = fleet;
    this.which = which;
    this.seen = seen;
    this.call = call;
  }

  synchronized void start(ScheduledExecutorService scheduler) {
    poll = scheduler.scheduleWithFixedDelay(this::check, 500, 500, TimeUnit.MILLISECONDS);
  }

  private synchronized void check() {
    if (call.isCancelled() || ended) {
      poll.cancel(false);
      return;
    }
    try {
      for (Events.Recorded r : fleet.eventsAfter(seen, which)) {
        call.onNext(ControlViews.eventView(r));
        seen = r.seq();
      }
    } catch (RuntimeException e) {
      end(Status.UNAVAILABLE.withDescription("following events failed: " + e.getMessage()));
    }
  }

  /** The client went away. */
  synchronized void cancel() {
    poll.cancel(false);
  }

  /** Ends the stream with {@code why} (once). */
  synchronized void end(Status why) {
    if (ended) {
      return;
    }
    ended = true;
    poll.cancel(false);
    call.onError(io.dsfleet.coordinator.fleet.ControlException.answered(why));
  }
}
