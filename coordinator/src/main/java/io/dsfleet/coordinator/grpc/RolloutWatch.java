package io.dsfleet.coordinator.grpc;

import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.fleet.FleetView.DsSnapshot;
import io.dsfleet.coordinator.fleet.RolloutState;
import io.dsfleet.proto.v1.RolloutStatusEvent;
import io.grpc.stub.ServerCallStreamObserver;

/**
 * Follows one DaemonSet's rollout for `dsctl rollout status`: emits an event whenever progress
 * changes and completes when every desired node runs an available pod of the current revision
 * (Kubernetes: updatedNumberScheduled and numberAvailable reach desiredNumberScheduled). A
 * state is sent only while the client takes it; one that does not read is sent the newest state
 * when it reads again (before 2026-12-05 every state was handed to gRPC, which queued what the
 * client did not take in the coordinator's heap).
 */
final class RolloutWatch {
  private final Fleet fleet;
  private final String namespace;
  private final String name;
  private final boolean follow;
  private final ServerCallStreamObserver<RolloutStatusEvent> out;
  private RolloutStatusEvent last;
  private boolean done;
  private Runnable onDone = () -> { };

  RolloutWatch(Fleet fleet, String namespace, String name, boolean follow, ServerCallStreamObserver<RolloutStatusEvent> out) {
    this.fleet = fleet;
    this.namespace = namespace;
    this.name = name;
    this.follow = follow;
    this.out = out;
  }

  synchronized void onDone(Runnable r) {
    onDone = r;
    if (done) {
      r.run();
    }
  }

  synchronized void check() {
    if (done || out.isCancelled()) {
      finish();
      return;
    }
    DsSnapshot d;
    try {
      d = fleet.daemonSet(namespace, name);
    } catch (ControlException e) {
      out.onError(e.toStatus());
      finish();
      return;
    }
    var s = d.status();
    var r = d.rollout();
    // as kubectl: nothing is complete before the controller has acted on the latest spec
    boolean observed = d.observedGeneration() >= d.generation();
    boolean complete = d.rolledOut();
    boolean failed = r.failedOrRolledBack();
    String message = failed ? "error: " + failure(d)
        : r.pause() == RolloutState.Pause.USER ? "daemon set \"" + name + "\" rollout is paused (dsctl rollout resume continues it): "
            + message(name, s, complete)
        : !observed ? "Waiting for daemon set spec update to be observed..."
        : message(name, s, complete);
    RolloutStatusEvent e = RolloutStatusEvent.newBuilder().setRevision(d.revision()).setDesired(s.desired())
        .setUpdated(s.updated()).setAvailable(s.available()).setComplete(complete && !failed).setFailed(failed)
        .setPaused(r.paused()).setMessage(message + (d.waitingNotReady().isEmpty() || complete ? ""
            // nodes down before their turn (updated when back), or moved and down (holding the budget: docs/rollouts.md)
            : " (waiting for NotReady nodes: " + String.join(", ", d.waitingNotReady()) + ")"))
        .build();
    if (!e.equals(last)) {
      if (!out.isReady()) {
        // the client takes nothing now (gRPC flow control): the newest state goes when it does (the
        // next check), rather than every state queued in the heap (SlowWatchersTest)
        return;
      }
      out.onNext(e);
      last = e;
    }
    if (complete || failed || !follow) {
      out.onCompleted();
      finish();
    }
  }

  static String failure(DsSnapshot d) {
    var r = d.rollout();
    if (r.pause() == RolloutState.Pause.FAILED) {
      return "rollout to revision " + d.revision() + " failed and is paused: " + r.reason()
          + (r.rolledBackFrom() == 0 ? "" : " (it is the automatic rollback from revision " + r.rolledBackFrom() + ")");
    }
    return "rolled back from revision " + r.rolledBackFrom() + " to revision " + d.revision() + " (the previous template) after: "
        + r.reason();
  }

  /** kubectl's wording for DaemonSet rollouts. */
  static String message(String name, io.dsfleet.coordinator.plan.DsStatus s, boolean complete) {
    if (complete) {
      return "daemon set \"" + name + "\" successfully rolled out";
    }
    if (s.updated() < s.desired()) {
      return "Waiting for daemon set \"" + name + "\" rollout to finish: " + s.updated() + " out of " + s.desired()
          + " new pods have been updated...";
    }
    return "Waiting for daemon set \"" + name + "\" rollout to finish: " + s.available() + " of " + s.desired()
        + " updated pods are available...";
  }

  /** Ends the stream with this status (its credential was revoked). */
  synchronized void fail(io.grpc.Status status) {
    if (!done) {
      out.onError(status.asRuntimeException());
      finish();
    }
  }

  private void finish() {
    if (!done) {
      done = true;
      onDone.run();
    }
  }
}
