package io.dsfleet.coordinator.fleet;

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
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.LongSupplier;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The DaemonSet controller's rollout side: which nodes move to a DaemonSet's current revision now
 * ({@link RollingUpdate}), progress, and failure (no progress within
 * {@code dsfleet.io/progress-deadline-seconds}: pause, or with {@code dsfleet.io/on-failure:
 * rollback} roll the previous revision out again, once); pause and resume; deleting a pod; pruning
 * revision history. Every change of a rollout is in the store ({@link RolloutState}) before a
 * node hears of it. One DaemonSet whose pass fails is retried with back-off (cut short when the
 * store takes writes again after refusing them) and never stops the others.
 */
final class DaemonSetController {
  private static final Logger log = LoggerFactory.getLogger(DaemonSetController.class);
  static final String PROGRESS_DEADLINE = "dsfleet.io/progress-deadline-seconds";
  static final String ON_FAILURE = "dsfleet.io/on-failure";
  /** The longest wait before a failing DaemonSet's pass is tried again. */
  static final long MAX_RETRY_SECONDS = 300;
  /**
   * How long a carried node's report from before it was told to move is not taken for what runs there (FleetState's
   * unsureReports) when no report comes, for an agent whose reports carry no applied_version (before 2026-12-07): it
   * reports a change within a second; one that reports nothing never had the move (the set it was told was replaced
   * before it went out) and runs what it reported. A later agent's report says which set it acted on: no timer.
   */
  static final long UNSURE_REPORT_NANOS = 10_000_000_000L;

  /** Rolls a DaemonSet back to its previous template (a new revision), its rollout state after it written with it. */
  interface Rollback {
    void rollback(String namespace, String name, UnaryOperator<RolloutState> after);
  }

  private final FleetState state;
  private final Store store;
  private final Events events;
  private final Dispatcher dispatcher;
  private final LongSupplier nanoTime;
  private Rollback rollback;
  private boolean inPass;
  /** Time this pass spent sending moved nodes their sets (see {@link #pass}). */
  private long sendingNanos;
  /** Whether time alone may move a rollout as the last pass left it ({@link #timeMoves}). */
  private boolean timeMoves = true;

  DaemonSetController(FleetState state, Store store, Events events, Dispatcher dispatcher, LongSupplier nanoTime) {
    this.state = state;
    this.store = store;
    this.events = events;
    this.dispatcher = dispatcher;
    this.nanoTime = nanoTime;
  }

  void rollbackWith(Rollback rollback) {
    this.rollback = rollback;
  }

  /**
   * One rolling-update pass over every DaemonSet; a DaemonSet whose pass throws waits and is tried
   * again. Returns the nanoseconds of it spent planning and sending the nodes it moved their new
   * sets: the rollout's own work, which the pace of passes (Fleet) does not count as scanning.
   */
  long pass(Instant now) {
    if (inPass) {
      return 0;
    }
    inPass = true;
    sendingNanos = 0;
    try {
      Map<String, Set<String>> running = runningRevisions();
      boolean unreported = state.nodes.values().stream().anyMatch(n -> !n.reportedSinceStart);
      boolean timed = false;
      for (var entry : List.copyOf(state.daemonSets.entrySet())) {
        DsEntry e = entry.getValue();
        if (e.retryAtNanos != null && nanoTime.getAsLong() - e.retryAtNanos < 0) {
          timed = true; // its retry comes with time
          continue;
        }
        try {
          timed |= sync(entry.getKey(), e, now, running.getOrDefault(entry.getKey(), Set.of()), unreported);
          if (e.passFailures > 0) {
            events.record("ds/" + entry.getKey(), "Normal", "RolloutPassRecovered", "after " + e.passFailures + " failed passes");
            e.passFailures = 0;
            e.retryAtNanos = null;
          }
        } catch (RuntimeException ex) {
          e.passFailures++;
          long wait = Math.min(MAX_RETRY_SECONDS, 1L << Math.min(e.passFailures, 9));
          e.retryAtNanos = nanoTime.getAsLong() + wait * 1_000_000_000L;
          log.error("rollout pass of {} failed ({} in a row); next try in {} s", entry.getKey(), e.passFailures, wait, ex);
          events.record("ds/" + entry.getKey(), "Warning", "RolloutPassFailed", ex + "; next try in " + wait + " s");
          timed = true;
        }
      }
      timeMoves = timed;
    } finally {
      inPass = false;
    }
    return sendingNanos;
  }

  /**
   * The store took a write after refusing one (a full or failing disk works again): every
   * DaemonSet backing off is tried at the next pass. Its count of failures stays: should its pass
   * fail again, it waits as long as it would have (a disk failing on and off is not hammered), and
   * {@code RolloutPassRecovered} counts them. A pass failing while the store takes other writes
   * (its own write refused) keeps its back-off: the disk did not come back.
   */
  void storeTakesWrites() {
    state.daemonSets.values().forEach(e -> e.retryAtNanos = null);
  }

  /**
   * Whether time alone may move a rollout as the last pass left it, with no change to the fleet: a
   * DaemonSet's retry after a failed pass, a report not yet sure or an adopted pod within its grace
   * ({@link FleetState.DsEntry}), a pod Ready and not yet available (minReadySeconds), a node down
   * whose pod stays while a taint there is tolerated for a time, a progress deadline running. While
   * none is, the lease sweep asks for no pass of its own: a change asks for one ({@link RolloutPacing#swept}).
   */
  boolean timeMoves() {
    return timeMoves;
  }

  /** @return whether time alone may move this DaemonSet's rollout ({@link #timeMoves}) */
  private boolean sync(String k, DsEntry e, Instant now, Set<String> running, boolean unreported) {
    boolean timed = rollout(k, e, now);
    if (state.daemonSets.get(k) == e) {
      pruneHistory(k, e, running, unreported);
      e.observedGeneration = e.stored.generation();
    }
    return timed;
  }

  /** @return whether time alone may move it ({@link #timeMoves}) */
  private boolean rollout(String k, DsEntry e, Instant now) {
    StoredRevision cur = e.current();
    RolloutState r = e.rollout;
    DsInfo info = new DsInfo(k, e.ds, cur.revision(), cur.hash());
    List<RollingUpdate.NodeState> states = new ArrayList<>();
    // nodes not desired whose pods stay: NotReady ones (not desired only because of their condition's taints) hold
    // budget when this rollout moved them; misscheduled Ready ones while their new pod is not available (RollingUpdate)
    List<RollingUpdate.NodeState> down = new ArrayList<>();
    // a node whose pod was deleted and still goes is a replacement in flight: it takes budget
    Set<String> inFlight = new HashSet<>(r.moving());
    Map<String, String> deleted = new HashMap<>(r.deleted());
    // a Ready node that has not reported since this coordinator started may be mid-replacement:
    // nothing new moves until every such node has said what it runs (or its lease ran out)
    boolean unheard = false;
    boolean tolerationRuns = false;
    for (NodeEntry n : state.nodes.values()) {
      var v = n.plan == null ? null : n.plan.verdicts().get(k);
      List<ObservedPod> pods = n.observed.getOrDefault(k, List.of());
      List<ObservedPod> live = pods.stream().filter(p -> !n.name.equals(r.deleted().get(p.podName()))).toList();
      if (live.size() < pods.size()) {
        inFlight.add(n.name);
      }
      if (e.unsure(n, nanoTime.getAsLong())) {
        live = List.of(); // its pod as last reported may be going: a replacement in flight, with its share of the budget
      }
      live = OrphanedRevisions.asAdopted(e, n, live, nanoTime.getAsLong()); // a pod taken over released, while first probed
      if (v != null && v.shouldRun()) {
        states.add(new RollingUpdate.NodeState(n.name, n.readyForPods() && !n.awaitingReport, live));
        unheard |= n.ready && n.awaitingReport;
      } else if (v != null && v.shouldContinueRunning() && (!n.readyForPods() || n.awaitingReport)
          && (!live.isEmpty() || inFlight.contains(n.name))) {
        // (a node told to move that reported its old pod gone and then went down is a replacement in flight too; one
        // back from down whose agent has not reported yet is still down here: its plan is the one made while it was
        // down, and its last report from before)
        var placed = n.verdict(e.ds.spec().template().spec(), true, now);
        if (placed.shouldRun()) {
          down.add(new RollingUpdate.NodeState(n.name, false, live));
          tolerationRuns |= placed.evictAt() != null; // a taint tolerated for a time: when it runs out, the node is no longer down here
        }
      } else if (v != null && v.shouldContinueRunning() && n.readyForPods() && !n.awaitingReport && !live.isEmpty()) {
        down.add(new RollingUpdate.NodeState(n.name, true, live)); // misscheduled: its new pod, while not available, counts
      }
    }
    // a deletion is done once its node no longer reports the pod (or the node is gone)
    deleted.entrySet().removeIf(d -> {
      NodeEntry n = state.nodes.get(d.getValue());
      return n == null || !n.awaitingReport && n.reported.get(d.getKey()) == null;
    });
    var d = RollingUpdate.decide(info, states, down, inFlight, r.paused(), now);
    e.decision = d;
    Set<String> moving = new TreeSet<>(r.moving());
    List<NodeEntry> told = new ArrayList<>();
    for (String node : d.moving()) {
      NodeEntry n = state.nodes.get(node);
      // only replacements are remembered as moving: a node with no pod gets the revision anyway, and one
      // whose pod is current already (a rollback's node not reached by the rollout) was not moved by this
      // rollout, so it holds no budget when NotReady (RollingUpdate rule 4)
      List<ObservedPod> has = n.observed.getOrDefault(k, List.of());
      if (!unheard && !has.isEmpty() && ObservedPod.current(has, cur.hash()) == null && !inFlight.contains(node) && moving.add(node)) {
        told.add(n);
      }
    }
    moving.retainAll(state.nodes.keySet());
    d.surgeLeftovers().forEach(moving::remove);
    int progress = 0;
    boolean complete = true;
    int done = 0;
    boolean onDelete = RollingUpdate.onDelete(e.ds);
    // progress: a node reaching a step it had not reached before in this rollout (see DsEntry.progressBest)
    boolean fresh = e.progressBest == null || !cur.hash().equals(e.progressHash) || r.progress() < 0;
    if (fresh) {
      e.progressBest = new HashMap<>();
      e.progressHash = cur.hash();
    }
    boolean advanced = false;
    for (var st : states) {
      ObservedPod pod = st.current(cur.hash());
      boolean available = pod != null && pod.available(info.minReadySeconds(), now);
      int p = (pod != null ? 1 : 0) + (pod != null && pod.ready() ? 1 : 0) + (available ? 1 : 0);
      progress += p;
      // a node's first report since this coordinator started is what it ran, not a step: the coordinator starts
      // knowing no pods, and each restart made every node's pods "progress" (a stuck rollout behind a restarting
      // coordinator never failed). A node not heard from yet is not judged.
      NodeEntry heard = state.nodes.get(st.node());
      if (heard != null && heard.reportedSinceStart && !heard.awaitingReport) {
        Integer best = e.progressBest.get(st.node());
        if (best == null) {
          e.progressBest.put(st.node(), p);
        } else if (p > best) {
          e.progressBest.put(st.node(), p);
          advanced = true;
        }
      }
      // OnDelete: a node keeping its old pod waits for the operator to delete it, which is no rollout stuck
      boolean waitsForOperator = onDelete && pod == null && st.old(cur.hash()) != null && !inFlight.contains(st.node());
      // a node this rollout moved that is NotReady and still desired (no unreachable taint in a full disruption, or not
      // yet) holds the rollout as a tainted one does (below): its pod as last reported is not known to hold
      boolean movedAndDown = heard != null && !heard.readyForPods() && inFlight.contains(st.node());
      if (available && !movedAndDown) {
        done++;
      } else if (st.nodeReady() && !waitsForOperator || movedAndDown) {
        complete = false;
      }
    }
    for (var st : down) {
      // a node this rollout moved that is down (tainted, so no longer desired) still holds it (RollingUpdate rule 4):
      // the rollout is not complete, and its deadline runs (before, the last node a revision took down left it complete)
      if (!st.nodeReady() && inFlight.contains(st.node())) {
        complete = false;
      }
    }
    RolloutState next = r.withMoving(moving).withDeleted(deleted);
    // after a restart, or for a new rollout, the stored sum is the mark: a restart shows no progress that was not made
    if (fresh ? progress > r.progress() : advanced) {
      next = next.withProgress(progress, now.toEpochMilli());
    }
    // every desired node (all heard from) runs an available pod of the revision, none moved is down: the rollout is
    // done, and its deadline no longer applies, as Kubernetes' DeploymentTimedOut once NewReplicaSetAvailable
    if (complete && !unheard && !states.isEmpty() && done == states.size() && !r.paused()) {
      next = next.completed();
    }
    if (!next.equals(r)) {
      save(k, e, next);
    }
    for (NodeEntry n : told) {
      List<ObservedPod> pods = n.observed.getOrDefault(k, List.of());
      var verdict = n.plan == null ? null : n.plan.verdicts().get(k);
      if (verdict != null && !verdict.shouldRun()) {
        events.record("ds/" + k, "Normal", "RolloutStep", "node " + n.name + ": its pod of an old revision goes, and none comes back"
            + " while the node takes no new pods (" + verdict.reason() + ")");
      } else if (ObservedPod.current(pods, cur.hash()) == null && ObservedPod.bestOld(pods, cur.hash()) != null) {
        events.record("ds/" + k, "Normal", "RolloutStep", "node " + n.name + " moves to revision " + cur.revision()
            + (d.maxSurge() > 0 ? " (new pod next to the old one; at most " + d.maxSurge() + " nodes surging)"
                : " (" + d.unavailable() + " of at most " + d.maxUnavailable() + " nodes unavailable)"));
      }
      long sendStart = nanoTime.getAsLong();
      dispatcher.replanAndPush(n, now);
      sendingNanos += nanoTime.getAsLong() - sendStart;
    }
    boolean timed = !e.unsureReports.isEmpty() || !e.adopted.isEmpty()
        || tolerationRuns
        || info.minReadySeconds() > 0 && (availableLater(states, info, now) || availableLater(down, info, now));
    if (complete || e.rollout.paused() || e.rollout.complete()) {
      return timed; // (a rollout done once is not failed by a pod that fails later: that is no rollout stuck; helper-83)
    }
    Long deadline = annotationSeconds(e.ds, PROGRESS_DEADLINE);
    if (deadline != null && noProgressNanos(e, now) > deadline * 1_000_000_000L) {
      fail(k, e, "no progress for " + deadline + " s: " + done + " of " + states.size() + " nodes run revision "
          + cur.revision() + " available" + (d.waitingNotReady().isEmpty() ? "" : "; NotReady: " + String.join(", ", d.waitingNotReady())));
    }
    return timed || deadline != null;
  }

  /**
   * Whether a node's pod is Ready and not yet available: minReadySeconds alone makes it so. Not one Ready since no time
   * its agent said (readySince 0): it is never available under minReadySeconds ({@link ObservedPod#available}), and
   * before helper-188 it had a pass at every lease sweep for as long as it ran.
   */
  private static boolean availableLater(List<RollingUpdate.NodeState> nodes, DsInfo info, Instant now) {
    for (var st : nodes) {
      for (ObservedPod p : st.pods()) {
        if (p.ready() && p.readySince() != null && !p.available(info.minReadySeconds(), now)) {
          return true;
        }
      }
    }
    return false;
  }

  /** How long the rollout has made no progress, on the monotonic clock (anchored from the wall clock when its stored time changed). */
  private long noProgressNanos(DsEntry e, Instant now) {
    long nanos = nanoTime.getAsLong();
    long at = e.rollout.lastProgressAtMillis();
    if (e.progressSeenMillis != at) {
      long ageMillis = Math.max(0, Math.min(now.toEpochMilli() - at, java.time.Duration.ofDays(365).toMillis()));
      e.progressSeenMillis = at;
      e.progressAtNanos = nanos - ageMillis * 1_000_000L;
    }
    return nanos - e.progressAtNanos;
  }

  /** The revisions (hashes) of each DaemonSet the nodes run or are told to run, by DaemonSet key: one walk of the fleet a pass. */
  private Map<String, Set<String>> runningRevisions() {
    Map<String, Set<String>> out = new HashMap<>();
    for (NodeEntry n : state.nodes.values()) {
      n.observed.forEach((k, pods) -> pods.forEach(p -> out.computeIfAbsent(k, x -> new HashSet<>()).add(p.hash())));
      if (n.plan != null) {
        n.plan.desired().forEach(p -> out.computeIfAbsent(p.dsKey(), x -> new HashSet<>()).add(p.hash()));
      }
    }
    return out;
  }

  /**
   * Kubernetes' cleanupHistory: beyond {@code revisionHistoryLimit} (default 10) old revisions,
   * the oldest go, but never one that a node still runs or is told to run. What nodes run is
   * known from their reports ({@code running}); a node that has not reported since this
   * coordinator started ({@code unreported}: after a restart, a node away) runs what it ran when
   * the last coordinator knew, so the revisions live then are stored with the rollout state
   * ({@link RolloutState#live}: what runs, and the current revision, which a node may have been
   * told a moment before a crash) and kept, as they were at the start, until every node has
   * reported. Only those: what runs anywhere meanwhile is known, so a node away for good holds
   * back no revision made after the start.
   */
  private void pruneHistory(String k, DsEntry e, Set<String> running, boolean unreported) {
    Set<String> live = new HashSet<>(running);
    live.add(e.current().hash());
    if (unreported) {
      live.addAll(e.liveWhenLoaded);
    }
    // only revisions that exist: a node reporting a pruned or unknown one keeps nothing
    live.retainAll(e.revisions.values().stream().map(StoredRevision::hash).collect(java.util.stream.Collectors.toSet()));
    if (!live.equals(e.rollout.live())) {
      save(k, e, e.rollout.withLive(live));
    }
    Integer configured = e.ds.spec().revisionHistoryLimit();
    int limit = configured == null ? 10 : configured;
    int old = e.revisions.size() - 1;
    if (old <= limit) {
      return;
    }
    List<Long> prune = new ArrayList<>();
    int toKill = old - limit;
    for (StoredRevision r : e.revisions.headMap(e.revisions.lastKey()).values()) {
      if (toKill == 0) {
        break;
      }
      if (!live.contains(r.hash())) {
        prune.add(r.revision());
        toKill--;
      }
    }
    if (!prune.isEmpty()) {
      String[] ns = k.split("/", 2);
      store.pruneRevisions(ns[0], ns[1], prune);
      prune.forEach(e.revisions::remove);
      Set<String> kept = new HashSet<>();
      e.revisions.values().forEach(r -> kept.add(r.hash()));
      e.templateBytes.keySet().retainAll(kept);
      e.templateDigests.keySet().retainAll(kept);
      e.refsByHash.keySet().retainAll(kept);
      e.specByHash.keySet().retainAll(kept);
    }
  }

  private static Long annotationSeconds(DaemonSet ds, String key) {
    var a = ds.metadata().annotations();
    return a == null || !a.containsKey(key) ? null : Long.parseLong(a.get(key));
  }

  private void fail(String k, DsEntry e, String reason) {
    var a = e.ds.metadata().annotations();
    boolean rollBack = a != null && "rollback".equals(a.get(ON_FAILURE)) && e.revisions.size() > 1 && e.rollout.rolledBackFrom() == 0;
    long failedRevision = e.current().revision();
    log.warn("rollout of {} to revision {} failed: {}", k, failedRevision, reason);
    String refused = null;
    if (rollBack) {
      String[] ns = k.split("/", 2);
      try {
        rollback.rollback(ns[0], ns[1], after -> after.rolledBack(failedRevision, reason));
        events.record("ds/" + k, "Warning", "RolloutFailed", "revision " + failedRevision + ": " + reason
            + "; rolled back to the previous template as revision " + state.daemonSets.get(k).current().revision());
        return;
      } catch (ControlException e2) {
        // the previous template no longer passes validation (stored under older rules): paused, as without a rollback,
        // not retried at every pass (helper-79)
        refused = e2.getMessage();
        log.warn("rollout of {}: the rollback to the previous template was refused: {}", k, refused);
      }
    }
    if (refused != null) {
      save(k, e, e.rollout.failed(reason + "; rollback refused: " + refused));
      events.record("ds/" + k, "Warning", "RolloutFailed", "revision " + failedRevision + ": " + reason + "; the rollback was refused ("
          + refused + "); rollout paused");
    } else {
      save(k, e, e.rollout.failed(reason));
      events.record("ds/" + k, "Warning", "RolloutFailed", "revision " + failedRevision + ": " + reason + "; rollout paused");
    }
  }

  /** Writes a DaemonSet's rollout state, then holds it in memory. */
  private void save(String k, DsEntry e, RolloutState rollout) {
    String[] ns = k.split("/", 2);
    store.putRollout(ns[0], ns[1], rollout.toJson());
    e.rollout = rollout;
  }

  /** Pauses or resumes a DaemonSet's rollout; resuming also clears a failure and starts the deadline again. */
  void pause(String namespace, String name, boolean paused, Instant now) {
    String k = FleetState.key(namespace, name);
    DsEntry e = state.daemonSet(namespace, name);
    if (!paused || e.rollout.pause() != RolloutState.Pause.USER) { // pausing a paused one changes nothing (until 2026-12-08: written, evented again)
      save(k, e, e.rollout.paused(paused, now.toEpochMilli()));
      events.record("ds/" + k, "Normal", paused ? "RolloutPaused" : "RolloutResumed", "");
    }
  }

  /**
   * Deletes one pod, as `kubectl delete pod` does to a DaemonSet's pod: it stops, then its node
   * gets a new pod of the current revision under another name (how OnDelete updates move on, and
   * how a pod is restarted from scratch). The deletion is stored before the node hears of it.
   *
   * @return the node the pod was on
   */
  String deletePod(String namespace, String podName, Instant now) {
    for (NodeEntry n : state.nodes.values()) {
      String dsKey = dsOf(n, namespace, podName);
      if (dsKey == null) {
        continue;
      }
      DsEntry e = state.daemonSets.get(dsKey);
      if (e == null) {
        break;
      }
      if (!n.name.equals(e.rollout.deleted().get(podName))) {
        Map<String, String> deleted = new HashMap<>(e.rollout.deleted());
        deleted.put(podName, n.name);
        RolloutState next = e.rollout.withDeleted(deleted);
        if (RollingUpdate.onDelete(e.ds)) {
          // OnDelete moves on when a pod is deleted: the progress deadline counts from this step
          next = next.withProgress(next.progress(), now.toEpochMilli());
        }
        save(dsKey, e, next);
        events.record("ds/" + dsKey, "Normal", "PodDeleted", "pod " + podName + " on " + n.name
            + " deleted (dsctl or kubectl delete pod): a new pod of revision " + e.current().revision() + " starts once it has stopped");
        dispatcher.replanAndPush(n, now);
      }
      return n.name;
    }
    throw new ControlException(Status.Code.NOT_FOUND, "pods \"" + podName + "\" not found in namespace " + namespace);
  }

  /** The DaemonSet (key) of the pod of this name in this namespace that the node runs or is told to run; null when none. */
  private static String dsOf(NodeEntry n, String namespace, String podName) {
    for (var o : n.observed.entrySet()) {
      if (o.getKey().startsWith(namespace + "/") && o.getValue().stream().anyMatch(p -> p.podName().equals(podName))) {
        return o.getKey();
      }
    }
    for (PodAssignment p : n.plan == null ? List.<PodAssignment>of() : n.plan.desired()) {
      if (p.podName().equals(podName) && p.dsKey().startsWith(namespace + "/")) {
        return p.dsKey();
      }
    }
    return null;
  }
}
