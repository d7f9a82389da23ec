package io.dsfleet.coordinator.fleet;

import io.dsfleet.common.Json;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.coordinator.fleet.FleetState.DsEntry;
import io.dsfleet.coordinator.plan.DsInfo;
import io.dsfleet.coordinator.plan.ObservedPod;
import io.dsfleet.coordinator.plan.PodAssignment;
import io.dsfleet.coordinator.plan.RollingUpdate;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.coordinator.store.Store.StoredRevision;
import io.grpc.Status;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The DaemonSet controller's rollout side: which nodes move to a DaemonSet's current revision now
 * ({@link RollingUpdate}), progress, and failure (no progress within
 * {@code dsfleet.io/progress-deadline-seconds}: pause, or with {@code dsfleet.io/on-failure:
 * rollback} roll the previous revision out again); pause and resume; deleting a pod (how OnDelete
 * updates move on).
 */
final class DaemonSetController {
  private static final Logger log = LoggerFactory.getLogger(DaemonSetController.class);
  static final String PROGRESS_DEADLINE = "dsfleet.io/progress-deadline-seconds";
  static final String ON_FAILURE = "dsfleet.io/on-failure";

  /** Rolls a DaemonSet back to its previous template (a new revision); see {@link Catalog#undo}. */
  interface Rollback {
    void rollback(String namespace, String name);
  }

  private final FleetState state;
  private final Store store;
  private final Events events;
  private final Dispatcher dispatcher;
  private final Consumer<String> notify;
  private Rollback rollback;
  private boolean inPass;

  DaemonSetController(FleetState state, Store store, Events events, Dispatcher dispatcher, Consumer<String> notify) {
    this.state = state;
    this.store = store;
    this.events = events;
    this.dispatcher = dispatcher;
    this.notify = notify;
  }

  void rollbackWith(Rollback rollback) {
    this.rollback = rollback;
  }

  /** One rolling-update pass over every DaemonSet. */
  void pass(Instant now) {
    if (inPass) {
      return;
    }
    inPass = true;
    try {
      for (var entry : List.copyOf(state.daemonSets.entrySet())) {
        rollout(entry.getKey(), entry.getValue(), now);
      }
    } finally {
      inPass = false;
    }
  }

  private void rollout(String k, DsEntry e, Instant now) {
    StoredRevision cur = e.current();
    if (!cur.hash().equals(e.movingHash)) {
      e.moving.clear();
      e.movingHash = cur.hash();
      e.progress = -1;
      e.lastProgressAt = now;
    }
    DsInfo info = new DsInfo(k, e.ds, cur.revision(), cur.hash());
    List<RollingUpdate.NodeState> states = new ArrayList<>();
    for (NodeEntry n : state.nodes.values()) {
      var v = n.plan == null ? null : n.plan.verdicts().get(k);
      if (v != null && v.shouldRun()) {
        states.add(new RollingUpdate.NodeState(n.name, n.readyForPods() && !n.awaitingReport, n.observed.getOrDefault(k, List.of())));
      }
    }
    var d = RollingUpdate.decide(info, states, e.moving, e.rollout.paused(), now);
    e.decision = d;
    for (String node : d.moving()) {
      if (e.moving.add(node)) {
        NodeEntry n = state.nodes.get(node);
        List<ObservedPod> pods = n.observed.getOrDefault(k, List.of());
        if (ObservedPod.current(pods, cur.hash()) == null && ObservedPod.bestOld(pods, cur.hash()) != null) {
          events.record("ds/" + k, "Normal", "RolloutStep", "node " + node + " moves to revision " + cur.revision()
              + (d.maxSurge() > 0 ? " (new pod next to the old one; at most " + d.maxSurge() + " nodes surging)"
                  : " (" + d.unavailable() + " of at most " + d.maxUnavailable() + " nodes unavailable)"));
        }
        dispatcher.replanAndPush(n, now);
      }
    }
    int done = 0;
    boolean complete = true;
    for (var st : states) {
      ObservedPod pod = st.current(cur.hash());
      boolean ok = pod != null && pod.available(info.minReadySeconds(), now);
      if (ok) {
        done++;
      } else if (st.nodeReady()) {
        complete = false;
      }
    }
    if (done > e.progress) {
      e.progress = done;
      e.lastProgressAt = now;
    }
    if (complete || e.rollout.paused()) {
      return;
    }
    Long deadline = annotationSeconds(e.ds, PROGRESS_DEADLINE);
    if (deadline != null && now.isAfter(e.lastProgressAt.plusSeconds(deadline))) {
      fail(k, e, "no progress for " + deadline + " s: " + done + " of " + states.size() + " nodes run revision "
          + cur.revision() + " available");
    }
  }

  private static Long annotationSeconds(DaemonSet ds, String key) {
    var a = ds.metadata().annotations();
    return a == null || !a.containsKey(key) ? null : Long.parseLong(a.get(key));
  }

  private void fail(String k, DsEntry e, String reason) {
    var a = e.ds.metadata().annotations();
    boolean rollback = a != null && "rollback".equals(a.get(ON_FAILURE)) && e.revisions.size() > 1 && e.rollout.rolledBackFrom() == 0;
    long failedRevision = e.current().revision();
    log.warn("rollout of {} to revision {} failed: {}", k, failedRevision, reason);
    if (rollback) {
      events.record("ds/" + k, "Warning", "RolloutFailed", "revision " + failedRevision + ": " + reason + "; rolling back");
      String[] ns = k.split("/", 2);
      this.rollback.rollback(ns[0], ns[1]);
      DsEntry after = state.daemonSets.get(k);
      setRollout(k, after, new RolloutState(false, "rolled back from revision " + failedRevision + " to revision "
          + after.current().revision() + " (the previous template) after: " + reason, failedRevision));
    } else {
      events.record("ds/" + k, "Warning", "RolloutFailed", "revision " + failedRevision + ": " + reason + "; rollout paused");
      setRollout(k, e, new RolloutState(true, "rollout to revision " + failedRevision + " failed and is paused: " + reason, 0));
    }
    notify.accept(k);
  }

  void setRollout(String k, DsEntry e, RolloutState rollout) {
    String[] ns = k.split("/", 2);
    store.putRollout(ns[0], ns[1], rollout.equals(RolloutState.NONE) ? null : Json.canonical(rollout));
    e.rollout = rollout;
  }

  /** Pauses or resumes a DaemonSet's rollout; resuming also clears a failure. */
  void pause(String namespace, String name, boolean paused, Instant now) {
    String k = FleetState.key(namespace, name);
    DsEntry e = state.daemonSet(namespace, name);
    setRollout(k, e, paused ? new RolloutState(true, "paused with dsctl rollout pause", 0) : RolloutState.NONE);
    e.lastProgressAt = now;
    events.record("ds/" + k, "Normal", paused ? "RolloutPaused" : "RolloutResumed", "");
    pass(now);
    notify.accept(k);
  }

  /**
   * Deletes a DaemonSet's pod on its node: the node then gets the DaemonSet's current revision
   * (how OnDelete updates move on). A pod that already runs the current revision is refused.
   */
  String deletePod(String namespace, String podName, Instant now) {
    for (NodeEntry n : state.nodes.values()) {
      for (PodAssignment p : n.plan == null ? List.<PodAssignment>of() : n.plan.desired()) {
        if (p.podName().equals(podName) && p.dsKey().startsWith(namespace + "/")) {
          DsEntry e = state.daemonSets.get(p.dsKey());
          if (p.hash().equals(e.current().hash())) {
            throw new ControlException(Status.Code.FAILED_PRECONDITION, "pod " + podName + " on " + n.name
                + " already runs the current revision " + e.current().revision() + "; nothing to replace");
          }
          e.moving.add(n.name);
          events.record("ds/" + p.dsKey(), "Normal", "PodDeleted", "pod " + podName + " on " + n.name
              + " deleted with dsctl: moves to revision " + e.current().revision());
          dispatcher.replanAndPush(n, now);
          return n.name;
        }
      }
    }
    throw new ControlException(Status.Code.NOT_FOUND, "pods \"" + podName + "\" not found in namespace " + namespace);
  }
}
