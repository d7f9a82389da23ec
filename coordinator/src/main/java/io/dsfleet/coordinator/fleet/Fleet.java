package io.dsfleet.coordinator.fleet;

import com.fasterxml.jackson.core.type.TypeReference;
import io.dsfleet.common.Json;
import io.dsfleet.common.ProtoMapping;
import io.dsfleet.common.TemplateHash;
import io.dsfleet.common.TemplateRefs;
import io.dsfleet.common.manifest.ManifestParser;
import io.dsfleet.common.manifest.ParsedDocument;
import io.dsfleet.common.manifest.Problem;
import io.dsfleet.common.model.ConfigMap;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.model.KubeObject;
import io.dsfleet.common.model.ObjectMeta;
import io.dsfleet.common.model.PodTemplateSpec;
import io.dsfleet.common.model.Secret;
import io.dsfleet.common.model.Taint;
import io.dsfleet.coordinator.plan.DsInfo;
import io.dsfleet.coordinator.plan.DsStatus;
import io.dsfleet.coordinator.plan.NodePlan;
import io.dsfleet.coordinator.plan.ObservedPod;
import io.dsfleet.coordinator.plan.Planner;
import io.dsfleet.coordinator.plan.PodAssignment;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.coordinator.store.Store.ObjectWrite;
import io.dsfleet.coordinator.store.Store.StoredNode;
import io.dsfleet.coordinator.store.Store.StoredObject;
import io.dsfleet.coordinator.store.Store.StoredRevision;
import io.dsfleet.proto.v1.ConfigObject;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.DesiredPod;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.NodeInfo;
import io.dsfleet.proto.v1.PodStatus;
import io.dsfleet.proto.v1.PodStatusReport;
import io.dsfleet.proto.v1.Removed;
import io.grpc.Status;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's state and the rules that change it: DaemonSets with their revisions,
 * ConfigMaps and Secrets, node membership, and every node's desired pod set.
 *
 * <p>Invariants: (1) a write is in the store before the request that made it is acknowledged;
 * (2) a node is sent a DesiredState only when its content (pods, their templates, the configs
 * they use) changed, or when its session opens; (3) heartbeats touch memory only, never the
 * store, and never re-plan a node unless it was NotReady; (4) leases are issued and expired on
 * the injected clock. All state is guarded by one lock; every public method takes it.
 */
public final class Fleet {
  private static final Logger log = LoggerFactory.getLogger(Fleet.class);
  private static final String CHANGE_CAUSE = "kubernetes.io/change-cause";

  /** Restart grace added per known node: the fleet reconnects at 100 nodes a second or faster. */
  static final long RESTART_MILLIS_PER_NODE = 10;

  private final Store store;
  private final Clock clock;
  private final FleetOptions options;
  private final Random random;
  private final Events events;
  private final Object lock = new Object();

  private final TreeMap<String, DsEntry> daemonSets = new TreeMap<>();
  private final Map<String, StoredObject> configs = new HashMap<>();
  private final Map<String, NodeEntry> nodes = new TreeMap<>();
  private List<DsInfo> dsInfos = List.of();
  private long resourceVersion;
  private final long versionSeed;
  private final List<Consumer<String>> changeListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

  /** A DaemonSet with its revisions, newest last. */
  static final class DsEntry {
    StoredObject stored;
    DaemonSet ds;
    /** Nodes told to move to {@link #movingHash} (in memory; recomputed after a restart). */
    final java.util.Set<String> moving = new java.util.HashSet<>();
    String movingHash;
    /** Durable: paused by dsctl or by a failure, and why it failed. */
    RolloutState rollout = RolloutState.NONE;
    int progress = -1;
    Instant lastProgressAt;
    io.dsfleet.coordinator.plan.RollingUpdate.Decision decision;
    final TreeMap<Long, StoredRevision> revisions = new TreeMap<>();
    final Map<String, TemplateRefs.Refs> refsByHash = new HashMap<>();
    /** Each revision's template as sent, encoded once and shared by every node's message. */
    final Map<String, ByteString> templateBytes = new HashMap<>();

    StoredRevision current() {
      return revisions.lastEntry().getValue();
    }
  }

  public Fleet(Store store, Clock clock, FleetOptions options, Random random) {
    this.store = store;
    this.clock = clock;
    this.options = options;
    this.random = random;
    this.events = new Events(clock, options.eventsKept());
    // Versions sent to agents start above anything an earlier coordinator process sent.
    this.versionSeed = clock.millis() * 1000;
    load();
  }

  private void load() {
    Instant now = clock.instant();
    for (StoredObject o : store.objects()) {
      resourceVersion = Math.max(resourceVersion, o.resourceVersion());
      if (o.kind().equals("DaemonSet")) {
        DsEntry e = new DsEntry();
        e.stored = o;
        e.ds = (DaemonSet) ManifestParser.parseOne(o.json());
        daemonSets.put(key(o.namespace(), o.name()), e);
      } else {
        configs.put(configKey(o.kind(), o.namespace(), o.name()), o);
      }
    }
    for (StoredRevision r : store.revisions()) {
      DsEntry e = daemonSets.get(key(r.namespace(), r.name()));
      if (e != null) {
        addRevision(e, r);
      }
    }
    List<StoredNode> storedNodes = store.nodes();
    // every agent reconnects at once (a TLS handshake, a session, its desired set each): allow at
    // least 100 of them a second on top of the heartbeat grace (measured: docs/benchmarks.md)
    Instant restartLease = lease(now).plusMillis(storedNodes.size() * RESTART_MILLIS_PER_NODE);
    for (StoredNode n : storedNodes) {
      NodeEntry node = new NodeEntry(n.name(), parseInfo(n.infoJson()), Instant.ofEpochMilli(n.joinedAtMillis()));
      node.adminLabels.putAll(Json.read(n.adminLabelsJson(), new TypeReference<Map<String, String>>() {}));
      Json.read(n.adminTaintsJson(), new TypeReference<Map<String, Taint>>() {}).forEach(node.adminTaints::put);
      node.unschedulable = n.unschedulable();
      // A restarted coordinator gives every known node a full grace period to reconnect before
      // calling it NotReady, so a coordinator restart never turns the fleet NotReady.
      node.lastHeartbeat = now;
      node.leaseExpiry = restartLease;
      nodes.put(n.name(), node);
    }
    store.rollouts().forEach((k, json) -> {
      DsEntry e = daemonSets.get(k);
      if (e != null) {
        e.rollout = Json.read(json, RolloutState.class);
      }
    });
    for (Store.Orphan o : store.orphans()) {
      NodeEntry n = nodes.get(o.node());
      if (n != null) {
        n.orphans.add(o.pod());
      }
    }
    refreshDsInfos();
    for (NodeEntry n : nodes.values()) {
      replan(n, now);
    }
    log.info("loaded {} DaemonSets, {} ConfigMaps/Secrets, {} nodes (schema version {})",
        daemonSets.size(), configs.size(), nodes.size(), store.schemaVersion());
  }

  // ------------------------------------------------------------------ membership

  /** Registers or re-registers a node. Idempotent. */
  public void join(NodeInfo info) {
    requireName(info.getName());
    synchronized (lock) {
      Instant now = clock.instant();
      NodeEntry n = nodes.get(info.getName());
      boolean isNew = n == null;
      if (isNew) {
        n = new NodeEntry(info.getName(), info, now);
        NodeEntry fresh = n;
        persist(fresh, () -> { });
        nodes.put(n.name, n);
      } else if (!n.info.equals(info)) {
        NodeEntry existing = n;
        persist(existing, () -> existing.info = info);
      }
      n.lastHeartbeat = now;
      n.leaseExpiry = lease(now);
      if (!n.ready) {
        markReady(n);
      }
      events.record(Events.nodeKey(n.name), "Normal", isNew ? "Joined" : "Rejoined",
          "node joined with agent " + info.getAgentVersion());
      replanAndPush(n, now);
    }
  }

  /**
   * Opens a node's session: attaches the sink, marks the node alive, sends its full desired set.
   *
   * @throws ControlException NOT_FOUND when the node is unknown (the agent must join again)
   */
  public void openSession(String nodeName, AgentSink sink) {
    synchronized (lock) {
      NodeEntry n = nodes.get(nodeName);
      if (n == null) {
        throw new ControlException(Status.Code.NOT_FOUND, "node " + nodeName + " is not a member; join first");
      }
      if (n.session != null && n.session != sink) {
        n.session.close();
      }
      n.session = sink;
      Instant now = clock.instant();
      n.lastHeartbeat = now;
      n.leaseExpiry = lease(now);
      if (!n.ready) {
        markReady(n);
      }
      n.sentFingerprint = null; // always send the full set on open, once the node has said what it runs
      n.awaitingReport = true;
    }
  }

  /** Whether the node is a member with a session open right now. */
  public boolean connected(String nodeName) {
    synchronized (lock) {
      NodeEntry n = nodes.get(nodeName);
      return n != null && n.session != null;
    }
  }

  /** Detaches a session that ended; the node stays Ready until its lease runs out. */
  public void sessionClosed(String nodeName, AgentSink sink) {
    synchronized (lock) {
      NodeEntry n = nodes.get(nodeName);
      if (n != null && n.session == sink) {
        n.session = null;
      }
    }
  }

  /**
   * A heartbeat: memory only. Returns false when the node is unknown.
   *
   * @param runtimeDown the agent says its container runtime does not answer: the node is NotReady
   *     and tainted {@code node.kubernetes.io/not-ready} until it says otherwise
   */
  public boolean heartbeat(String nodeName, boolean runtimeDown, String runtimeMessage) {
    synchronized (lock) {
      NodeEntry n = nodes.get(nodeName);
      if (n == null) {
        return false;
      }
      Instant now = clock.instant();
      n.lastHeartbeat = now;
      n.leaseExpiry = lease(now);
      boolean changed = false;
      if (!n.ready) {
        markReady(n);
        changed = true;
      }
      if (runtimeDown != (n.runtimeDownSince != null)) {
        n.runtimeDownSince = runtimeDown ? now : null;
        n.runtimeMessage = runtimeDown ? runtimeMessage : "";
        if (runtimeDown) {
          events.record(Events.nodeKey(n.name), "Warning", "NodeNotReady", "container runtime unavailable: " + runtimeMessage
              + "; tainted " + io.dsfleet.common.match.DaemonTolerations.NOT_READY);
          log.warn("node {} NotReady: its container runtime is unavailable: {}", n.name, runtimeMessage);
        } else {
          events.record(Events.nodeKey(n.name), "Normal", "NodeReady", "container runtime available again");
          log.info("node {} Ready: its container runtime is back", n.name);
        }
        changed = true;
      }
      if (changed) {
        replanAndPush(n, now);
        notifyChange(n.name);
      }
      return true;
    }
  }

  /** The node applied a desired set: orphans it carried are now the node's to keep, and forgotten here. */
  public void acked(String nodeName, long version) {
    synchronized (lock) {
      NodeEntry n = nodes.get(nodeName);
      if (n != null && !n.orphans.isEmpty() && n.orphansSentInVersion > 0 && version >= n.orphansSentInVersion) {
        store.deleteOrphans(n.name, List.copyOf(n.orphans));
        n.orphans.clear();
        n.orphansSentInVersion = 0;
      }
    }
  }

  public void reportPods(String nodeName, PodStatusReport report) {
    synchronized (lock) {
      NodeEntry n = nodes.get(nodeName);
      if (n == null) {
        throw new ControlException(Status.Code.NOT_FOUND, "node " + nodeName + " is not a member; join first");
      }
      if (report.getFull()) {
        n.reported.clear();
      }
      for (String gone : report.getRemovedPodNamesList()) {
        n.reported.remove(gone);
      }
      for (PodStatus p : report.getPodsList()) {
        n.reported.put(p.getPodName(), p);
      }
      n.observed.clear();
      for (PodStatus p : n.reported.values()) {
        String dsKey = key(p.getNamespace(), p.getDaemonSet());
        n.observed.computeIfAbsent(dsKey, x -> new ArrayList<>()).add(new ObservedPod(dsKey, p.getPodName(), p.getTemplateHash(), p.getPhase(), p.getReady(),
            p.getReadySinceMillis() == 0 ? null : Instant.ofEpochMilli(p.getReadySinceMillis()), restarts(p)));
      }
      n.awaitingReport = false;
      Instant now = clock.instant();
      replanAndPush(n, now);
      if (deferRolloutPasses) {
        rolloutsDirty = true;
      } else {
        updateRollouts(now);
      }
      notifyChange(nodeName);
    }
  }

  public void leave(String nodeName) {
    synchronized (lock) {
      if (!nodes.containsKey(nodeName)) {
        throw new ControlException(Status.Code.NOT_FOUND, "node " + nodeName + " is not a member");
      }
      remove(nodeName, "the agent left");
    }
  }

  public void removeNode(String nodeName) {
    synchronized (lock) {
      if (!nodes.containsKey(nodeName)) {
        throw new ControlException(Status.Code.NOT_FOUND, "node \"" + nodeName + "\" not found");
      }
      remove(nodeName, "removed with dsctl node rm");
    }
  }

  private void remove(String nodeName, String reason) {
    NodeEntry n = nodes.remove(nodeName);
    store.deleteNode(nodeName);
    if (n.session != null) {
      n.session.send(CoordinatorMessage.newBuilder().setRemoved(Removed.newBuilder().setReason(reason)).build());
      n.session.close();
    }
    for (PodAssignment p : n.plan == null ? List.<PodAssignment>of() : n.plan.desired()) {
      events.record("ds/" + p.dsKey(), "Normal", "PodRemoved", "pod " + p.podName() + " removed: node " + nodeName + " " + reason);
    }
    events.forget(Events.nodeKey(nodeName));
    log.info("node {} removed: {}", nodeName, reason);
    notifyChange(nodeName);
  }

  /**
   * Expires leases and collects dead nodes; called periodically by the server's scheduler. At
   * most {@code maxChanges} nodes turn NotReady in one pass (the rest next pass), so one slow
   * pass of the coordinator cannot declare a whole fleet lost at once.
   */
  public void tick() {
    synchronized (lock) {
      Instant now = clock.instant();
      List<String> collect = new ArrayList<>();
      for (NodeEntry n : nodes.values()) {
        if (n.ready && now.isAfter(n.leaseExpiry)) {
          n.ready = false;
          n.notReadySince = now;
          events.record(Events.nodeKey(n.name), "Warning", "NodeNotReady",
              "no heartbeat since " + n.lastHeartbeat + "; tainted " + io.dsfleet.common.match.DaemonTolerations.UNREACHABLE);
          log.warn("node {} NotReady: no heartbeat since {}", n.name, n.lastHeartbeat);
          replanAndPush(n, now);
          notifyChange(n.name);
        } else if (!n.ready && !now.isBefore(n.notReadySince.plus(options.nodeGcAfter()))) {
          collect.add(n.name);
        } else if (n.nextEvaluation != null && !now.isBefore(n.nextEvaluation)) {
          replanAndPush(n, now);
        }
      }
      for (String name : collect) {
        remove(name, "NotReady for longer than " + options.nodeGcAfter());
      }
      updateRollouts(now);
    }
  }

  private void markReady(NodeEntry n) {
    n.ready = true;
    n.notReadySince = null;
    events.record(Events.nodeKey(n.name), "Normal", "NodeReady", "heartbeats resumed");
    log.info("node {} Ready", n.name);
    notifyChange(n.name);
  }

  private Instant lease(Instant now) {
    long graceMillis = options.heartbeatGrace().toMillis();
    long jitter = (long) (graceMillis * options.leaseJitter() * random.nextDouble());
    return now.plusMillis(graceMillis + jitter);
  }

  // ------------------------------------------------------------------ planning and pushing

  private void refreshDsInfos() {
    List<DsInfo> infos = new ArrayList<>();
    for (var e : daemonSets.entrySet()) {
      StoredRevision r = e.getValue().current();
      infos.add(new DsInfo(e.getKey(), e.getValue().ds, r.revision(), r.hash()));
    }
    dsInfos = List.copyOf(infos);
  }

  private void replan(NodeEntry n, Instant now) {
    n.plan = Planner.planNode(dsInfos, n.toNode(), n.observed, now, dsKey -> {
      DsEntry e = daemonSets.get(dsKey);
      // a moving set decided for an earlier revision says nothing about this one
      return e == null || (e.current().hash().equals(e.movingHash) && e.moving.contains(n.name));
    });
    Instant next = null;
    for (var v : n.plan.verdicts().values()) {
      if (v.evictAt() != null && (next == null || v.evictAt().isBefore(next))) {
        next = v.evictAt();
      }
    }
    n.nextEvaluation = next;
  }

  private void replanAndPush(NodeEntry n, Instant now) {
    NodePlan before = n.plan;
    replan(n, now);
    if (before != null) {
      recordPlacementChanges(n, before, n.plan);
    }
    push(n);
  }

  private void replanAll() {
    refreshDsInfos();
    Instant now = clock.instant();
    for (NodeEntry n : nodes.values()) {
      replanAndPush(n, now);
    }
    updateRollouts(now);
    notifyChange("*");
  }

  // ------------------------------------------------------------------ rolling updates

  private boolean inRolloutPass;
  private boolean deferRolloutPasses;
  private boolean rolloutsDirty;

  /**
   * From now on a pod report only marks the rollouts for the next {@link #rolloutPass()} (which
   * the serving coordinator runs every few milliseconds) instead of running a pass itself: a pass
   * looks at every node, so one per report would cost nodes x reports when a fleet reports at
   * once. Tests on a fake clock leave it off and get one pass per report.
   */
  public void deferRolloutPasses() {
    synchronized (lock) {
      deferRolloutPasses = true;
    }
  }

  private long nextRolloutPassNanos;

  /**
   * Runs a rolling-update pass if a pod report came in since the last one, and no sooner than
   * four times the last pass's own duration after it ended: a pass walks every node, so on a
   * large fleet this keeps rollouts to a fifth of the coordinator's time at most.
   */
  public void rolloutPass() {
    synchronized (lock) {
      long start = System.nanoTime();
      if (rolloutsDirty && start >= nextRolloutPassNanos) {
        rolloutsDirty = false;
        updateRollouts(clock.instant());
        long end = System.nanoTime();
        nextRolloutPassNanos = end + 4 * (end - start);
      }
    }
  }

  /**
   * One rolling-update pass over every DaemonSet: which nodes may move to the current revision
   * now ({@link io.dsfleet.coordinator.plan.RollingUpdate}), progress, and failure (no progress
   * within {@code dsfleet.io/progress-deadline-seconds}: pause, or with
   * {@code dsfleet.io/on-failure: rollback} roll the previous revision out again).
   */
  private void updateRollouts(Instant now) {
    if (inRolloutPass) {
      return;
    }
    inRolloutPass = true;
    try {
      for (var entry : List.copyOf(daemonSets.entrySet())) {
        rollout(entry.getKey(), entry.getValue(), now);
      }
    } finally {
      inRolloutPass = false;
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
    List<io.dsfleet.coordinator.plan.RollingUpdate.NodeState> states = new ArrayList<>();
    for (NodeEntry n : nodes.values()) {
      var v = n.plan == null ? null : n.plan.verdicts().get(k);
      if (v != null && v.shouldRun()) {
        states.add(new io.dsfleet.coordinator.plan.RollingUpdate.NodeState(n.name, n.readyForPods() && !n.awaitingReport,
            n.observed.getOrDefault(k, List.of())));
      }
    }
    var d = io.dsfleet.coordinator.plan.RollingUpdate.decide(info, states, e.moving, e.rollout.paused(), now);
    e.decision = d;
    for (String node : d.moving()) {
      if (e.moving.add(node)) {
        NodeEntry n = nodes.get(node);
        List<ObservedPod> pods = n.observed.getOrDefault(k, List.of());
        if (ObservedPod.current(pods, cur.hash()) == null && ObservedPod.bestOld(pods, cur.hash()) != null) {
          events.record("ds/" + k, "Normal", "RolloutStep", "node " + node + " moves to revision " + cur.revision()
              + (d.maxSurge() > 0 ? " (new pod next to the old one; at most " + d.maxSurge() + " nodes surging)"
                  : " (" + d.unavailable() + " of at most " + d.maxUnavailable() + " nodes unavailable)"));
        }
        replanAndPush(n, now);
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
          + cur.revision() + " available", now);
    }
  }

  static final String PROGRESS_DEADLINE = "dsfleet.io/progress-deadline-seconds";
  static final String ON_FAILURE = "dsfleet.io/on-failure";

  private static Long annotationSeconds(DaemonSet ds, String key) {
    var a = ds.metadata().annotations();
    return a == null || !a.containsKey(key) ? null : Long.parseLong(a.get(key));
  }

  private void fail(String k, DsEntry e, String reason, Instant now) {
    var a = e.ds.metadata().annotations();
    boolean rollback = a != null && "rollback".equals(a.get(ON_FAILURE)) && e.revisions.size() > 1 && e.rollout.rolledBackFrom() == 0;
    long failedRevision = e.current().revision();
    log.warn("rollout of {} to revision {} failed: {}", k, failedRevision, reason);
    if (rollback) {
      events.record("ds/" + k, "Warning", "RolloutFailed", "revision " + failedRevision + ": " + reason + "; rolling back");
      String[] ns = k.split("/", 2);
      undo(ns[0], ns[1], 0);
      DsEntry after = daemonSets.get(k);
      setRollout(k, after, new RolloutState(false, "rolled back from revision " + failedRevision + " to revision "
          + after.current().revision() + " (the previous template) after: " + reason, failedRevision));
    } else {
      events.record("ds/" + k, "Warning", "RolloutFailed", "revision " + failedRevision + ": " + reason + "; rollout paused");
      setRollout(k, e, new RolloutState(true, "rollout to revision " + failedRevision + " failed and is paused: " + reason, 0));
    }
    notifyChange(k);
  }

  private void setRollout(String k, DsEntry e, RolloutState state) {
    String[] ns = k.split("/", 2);
    store.putRollout(ns[0], ns[1], state.equals(RolloutState.NONE) ? null : Json.canonical(state));
    e.rollout = state;
  }

  /** Pauses or resumes a DaemonSet's rollout; resuming also clears a failure. */
  public void pause(String namespace, String name, boolean paused) {
    synchronized (lock) {
      String k = key(namespace, name);
      DsEntry e = daemonSets.get(k);
      if (e == null) {
        throw new ControlException(Status.Code.NOT_FOUND, "daemonsets \"" + name + "\" not found in namespace " + namespace);
      }
      setRollout(k, e, paused ? new RolloutState(true, "paused with dsctl rollout pause", 0) : RolloutState.NONE);
      e.lastProgressAt = clock.instant();
      events.record("ds/" + k, "Normal", paused ? "RolloutPaused" : "RolloutResumed", "");
      updateRollouts(clock.instant());
      notifyChange(k);
    }
  }

  /**
   * Deletes a DaemonSet's pod on its node: the node then gets the DaemonSet's current revision
   * (how OnDelete updates move on). A pod that already runs the current revision is refused.
   */
  public String deletePod(String namespace, String podName) {
    synchronized (lock) {
      for (NodeEntry n : nodes.values()) {
        for (PodAssignment p : n.plan == null ? List.<PodAssignment>of() : n.plan.desired()) {
          if (p.podName().equals(podName) && p.dsKey().startsWith(namespace + "/")) {
            DsEntry e = daemonSets.get(p.dsKey());
            if (p.hash().equals(e.current().hash())) {
              throw new ControlException(Status.Code.FAILED_PRECONDITION, "pod " + podName + " on " + n.name
                  + " already runs the current revision " + e.current().revision() + "; nothing to replace");
            }
            e.moving.add(n.name);
            events.record("ds/" + p.dsKey(), "Normal", "PodDeleted", "pod " + podName + " on " + n.name + " deleted with dsctl: moves to revision " + e.current().revision());
            replanAndPush(n, clock.instant());
            return n.name;
          }
        }
      }
      throw new ControlException(Status.Code.NOT_FOUND, "pods \"" + podName + "\" not found in namespace " + namespace);
    }
  }

  private void recordPlacementChanges(NodeEntry n, NodePlan before, NodePlan after) {
    Map<String, PodAssignment> was = new HashMap<>();
    before.desired().forEach(p -> was.put(p.podName(), p));
    Map<String, PodAssignment> successor = new HashMap<>();
    for (PodAssignment p : after.desired()) {
      PodAssignment old = was.remove(p.podName());
      successor.put(p.dsKey(), p);
      if (old == null) {
        events.record("ds/" + p.dsKey(), "Normal", "PodScheduled", "pod " + p.podName() + " scheduled on " + n.name);
        events.record(Events.nodeKey(n.name), "Normal", "PodScheduled", "pod " + p.podName() + " of " + p.dsKey());
      } else if (!old.hash().equals(p.hash())) {
        events.record("ds/" + p.dsKey(), "Normal", "PodUpdated", "pod on " + n.name + " moved to revision " + p.revision());
      }
    }
    for (PodAssignment p : was.values()) {
      var v = after.verdicts().get(p.dsKey());
      PodAssignment next = successor.get(p.dsKey());
      String why = v == null ? "DaemonSet deleted"
          : next != null ? "replaced by pod " + next.podName() + " (revision " + next.revision() + ")" : v.reason();
      events.record("ds/" + p.dsKey(), "Normal", "PodRemoved", "pod " + p.podName() + " removed from " + n.name + ": " + why);
      events.record(Events.nodeKey(n.name), "Normal", "PodRemoved", "pod " + p.podName() + ": " + why);
    }
  }

  /** Sends the node its desired set if it changed since the last send. */
  private void push(NodeEntry n) {
    if (n.awaitingReport) {
      return;
    }
    // what the agent acts on: pods and their templates (by hash), the configs they use, orphans
    List<Object> fingerprint = new ArrayList<>();
    n.plan.desired().forEach(p -> fingerprint.add(p.dsKey() + "/" + p.podName() + "@" + p.hash()));
    List<ConfigObject> used = new ArrayList<>();
    List<DesiredPod> pods = new ArrayList<>();
    for (PodAssignment p : n.plan.desired()) {
      DsEntry e = daemonSets.get(p.dsKey());
      StoredRevision rev = e == null ? null : revisionByHash(e, p.hash());
      DesiredPod.Builder b = DesiredPod.newBuilder().setNamespace(e == null ? "" : e.ds.namespace())
          .setDaemonSet(e == null ? "" : e.ds.name()).setPodName(p.podName()).setTemplateHash(p.hash())
          .setRevision(rev == null ? 0 : rev.revision());
      if (rev != null) {
        b.setTemplateJson(e.templateBytes.computeIfAbsent(rev.hash(), h -> ByteString.copyFromUtf8(rev.templateJson())));
        TemplateRefs.Refs refs = e.refsByHash.get(rev.hash());
        for (String cm : refs.configMaps()) {
          StoredObject o = configs.get(configKey("ConfigMap", e.ds.namespace(), cm));
          if (o != null) {
            used.add(configObject(o));
            fingerprint.add(o.resourceVersion());
          }
        }
        for (String s : refs.secrets()) {
          StoredObject o = configs.get(configKey("Secret", e.ds.namespace(), s));
          if (o != null) {
            used.add(configObject(o));
            fingerprint.add(o.resourceVersion());
          }
        }
      }
      pods.add(b.build());
    }
    fingerprint.add(List.copyOf(n.orphans));
    if (fingerprint.equals(n.sentFingerprint) || n.session == null) {
      return;
    }
    n.version = Math.max(n.version + 1, versionSeed);
    n.session.send(CoordinatorMessage.newBuilder().setDesired(DesiredState.newBuilder().setVersion(n.version)
        .addAllPods(pods).addAllConfigs(dedupe(used)).addAllOrphanedPods(n.orphans)).build());
    if (!n.orphans.isEmpty()) {
      n.orphansSentInVersion = n.version;
    }
    n.sentFingerprint = fingerprint;
  }

  private static List<ConfigObject> dedupe(List<ConfigObject> configs) {
    Map<String, ConfigObject> byKey = new TreeMap<>();
    configs.forEach(c -> byKey.put(c.getKind() + "/" + c.getNamespace() + "/" + c.getName(), c));
    return List.copyOf(byKey.values());
  }

  /** A stored ConfigMap or Secret as it travels on the wire (values decoded from base64). */
  public static ConfigObject configObject(StoredObject o) {
    KubeObject obj = ManifestParser.parseOne(o.json());
    ConfigObject.Builder b = ConfigObject.newBuilder().setNamespace(o.namespace()).setName(o.name());
    if (obj instanceof ConfigMap cm) {
      b.setKind(ConfigObject.Kind.CONFIG_MAP);
      if (cm.data() != null) {
        cm.data().forEach((k, v) -> b.putData(k, ByteString.copyFromUtf8(v)));
      }
      if (cm.binaryData() != null) {
        cm.binaryData().forEach((k, v) -> b.putData(k, ByteString.copyFrom(Base64.getMimeDecoder().decode(v))));
      }
    } else if (obj instanceof Secret s) {
      b.setKind(ConfigObject.Kind.SECRET).setType(s.type() == null ? "Opaque" : s.type());
      if (s.data() != null) {
        s.data().forEach((k, v) -> b.putData(k, ByteString.copyFrom(Base64.getMimeDecoder().decode(v))));
      }
    }
    return b.build();
  }

  // ------------------------------------------------------------------ apply and delete

  /** The outcome of one object of an apply. */
  public record ApplyResult(String kind, String namespace, String name, String action, String note) {}

  public record ApplyOutcome(List<ApplyResult> results, List<String> warnings) {}

  /**
   * Applies manifests all or nothing: every document is parsed and validated, every change
   * checked (selector immutability, resource version), then all writes go to the store in one
   * transaction, and only then to memory and the agents.
   */
  public ApplyOutcome apply(String text, String source, boolean dryRun) {
    List<ParsedDocument> docs = ManifestParser.parse(text, source);
    List<String> errors = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    for (ParsedDocument d : docs) {
      for (Problem p : d.errors()) {
        errors.add(d.label() + ": " + p);
      }
      for (String w : d.warnings()) {
        warnings.add(d.label() + ": " + w);
      }
    }
    if (!errors.isEmpty()) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "invalid manifest, nothing applied:\n" + String.join("\n", errors));
    }
    List<ParsedDocument> objects = docs.stream().filter(d -> d.object() != null).toList();
    if (objects.size() > options.maxObjectsPerApply()) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "too many objects in one apply: " + objects.size()
          + " (at most " + options.maxObjectsPerApply() + ")");
    }
    if (objects.isEmpty() && docs.stream().noneMatch(ParsedDocument::skipped)) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "no objects to apply in " + source);
    }
    synchronized (lock) {
      long now = clock.millis();
      long rv = resourceVersion;
      List<ObjectWrite> writes = new ArrayList<>();
      List<ApplyResult> results = new ArrayList<>();
      java.util.Set<String> seen = new java.util.HashSet<>();
      for (ParsedDocument d : docs) {
        if (d.skipped()) {
          results.add(new ApplyResult(d.kind(), "", d.name(), "skipped", d.skipNote()));
          continue;
        }
        KubeObject o = d.object();
        if (!seen.add(o.kind() + "/" + o.namespace() + "/" + o.name())) {
          throw new ControlException(Status.Code.INVALID_ARGUMENT, d.label() + ": the same object appears twice in one apply");
        }
        String requestedRv = o.metadata().resourceVersion();
        KubeObject clean = withoutResourceVersion(o);
        String json = Json.canonical(clean);
        StoredObject existing = o instanceof DaemonSet
            ? java.util.Optional.ofNullable(daemonSets.get(key(o.namespace(), o.name()))).map(e -> e.stored).orElse(null)
            : configs.get(configKey(o.kind(), o.namespace(), o.name()));
        if (requestedRv != null && !requestedRv.isEmpty()
            && (existing == null || !requestedRv.equals(String.valueOf(existing.resourceVersion())))) {
          throw new ControlException(Status.Code.FAILED_PRECONDITION, d.label() + ": metadata.resourceVersion " + requestedRv
              + " is stale (current: " + (existing == null ? "none, the object does not exist" : existing.resourceVersion())
              + "); read the object again and retry");
        }
        if (existing != null && existing.json().equals(json)) {
          results.add(new ApplyResult(o.kind(), o.namespace(), o.name(), "unchanged", null));
          continue;
        }
        rv++;
        if (o instanceof DaemonSet ds) {
          writes.add(daemonSetWrite(ds, json, existing, rv, now, d.label()));
        } else {
          if (existing != null && Boolean.TRUE.equals(immutable(existing))) {
            throw new ControlException(Status.Code.INVALID_ARGUMENT, d.label() + ": field is immutable when `immutable` is set");
          }
          writes.add(new ObjectWrite(new StoredObject(o.kind(), o.namespace(), o.name(), json, 1, rv,
              existing == null ? now : existing.createdAtMillis()), null, List.of()));
        }
        results.add(new ApplyResult(o.kind(), o.namespace(), o.name(), existing == null ? "created" : "configured", null));
      }
      if (dryRun || writes.isEmpty()) {
        return new ApplyOutcome(results, warnings);
      }
      store.putObjects(writes);
      resourceVersion = rv;
      for (ObjectWrite w : writes) {
        StoredObject so = w.object();
        if (so.kind().equals("DaemonSet")) {
          String k = key(so.namespace(), so.name());
          DsEntry e = daemonSets.computeIfAbsent(k, x -> new DsEntry());
          e.stored = so;
          e.ds = (DaemonSet) ManifestParser.parseOne(so.json());
          if (w.newRevision() != null) {
            addRevision(e, w.newRevision());
            if (!e.rollout.equals(RolloutState.NONE) && !e.rollout.message().startsWith("paused with dsctl")) {
              setRollout(k, e, RolloutState.NONE); // a new template starts a new rollout; a failure is history
            }
            events.record("ds/" + k, "Normal", "RevisionCreated", "revision " + w.newRevision().revision()
                + " (" + w.newRevision().hash() + ")" + (w.newRevision().changeCause() == null ? "" : ": " + w.newRevision().changeCause()));
          }
          w.pruneRevisions().forEach(e.revisions::remove);
          var kept = e.revisions.values().stream().map(StoredRevision::hash).collect(java.util.stream.Collectors.toSet());
          e.templateBytes.keySet().retainAll(kept);
          e.refsByHash.keySet().retainAll(kept);
        } else {
          configs.put(configKey(so.kind(), so.namespace(), so.name()), so);
        }
      }
      replanAll();
      return new ApplyOutcome(results, warnings);
    }
  }

  private ObjectWrite daemonSetWrite(DaemonSet ds, String json, StoredObject existing, long rv, long now, String label) {
    String k = key(ds.namespace(), ds.name());
    DsEntry e = daemonSets.get(k);
    String hash = TemplateHash.of(ds.spec().template());
    if (e != null && !Json.canonical(e.ds.spec().selector()).equals(Json.canonical(ds.spec().selector()))) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, label + ": spec.selector: Invalid value: "
          + Json.canonical(ds.spec().selector()) + ": field is immutable");
    }
    long generation = existing == null ? 1
        : existing.generation() + (Json.canonical(e.ds.spec()).equals(Json.canonical(ds.spec())) ? 0 : 1);
    StoredObject so = new StoredObject("DaemonSet", ds.namespace(), ds.name(), json, generation, rv,
        existing == null ? now : existing.createdAtMillis());
    if (e != null && e.current().hash().equals(hash)) {
      return new ObjectWrite(so, null, List.of());
    }
    long nextRevision = e == null ? 1 : e.revisions.lastKey() + 1;
    String cause = ds.metadata().annotations() == null ? null : ds.metadata().annotations().get(CHANGE_CAUSE);
    StoredRevision rev = new StoredRevision(ds.namespace(), ds.name(), nextRevision, hash,
        Json.canonical(ds.spec().template()), cause, now);
    List<Long> prune = new ArrayList<>();
    if (e != null) {
      // an old revision with the same template is superseded by the new number (as Kubernetes renumbers it)
      e.revisions.values().stream().filter(r -> r.hash().equals(hash)).forEach(r -> prune.add(r.revision()));
      int limit = ds.spec().revisionHistoryLimit() == null ? 10 : ds.spec().revisionHistoryLimit();
      List<Long> olderKept = e.revisions.keySet().stream().filter(r -> !prune.contains(r)).sorted().toList();
      // keep `limit` old revisions besides the new current one
      for (int i = 0; i < olderKept.size() - limit; i++) {
        prune.add(olderKept.get(i));
      }
    }
    return new ObjectWrite(so, rev, prune);
  }

  private void addRevision(DsEntry e, StoredRevision r) {
    e.revisions.put(r.revision(), r);
    PodTemplateSpec t = Json.read(r.templateJson(), PodTemplateSpec.class);
    e.refsByHash.put(r.hash(), TemplateRefs.of(t.spec()));
  }

  private static StoredRevision revisionByHash(DsEntry e, String hash) {
    for (StoredRevision r : e.revisions.descendingMap().values()) {
      if (r.hash().equals(hash)) {
        return r;
      }
    }
    return null;
  }

  private static Boolean immutable(StoredObject o) {
    KubeObject obj = ManifestParser.parseOne(o.json());
    return obj instanceof ConfigMap cm ? cm.immutable() : obj instanceof Secret s ? s.immutable() : null;
  }

  private static KubeObject withoutResourceVersion(KubeObject o) {
    ObjectMeta m = o.metadata();
    ObjectMeta clean = new ObjectMeta(m.name(), m.namespace(), m.labels(), m.annotations(), null);
    if (o instanceof DaemonSet ds) {
      return new DaemonSet(ds.apiVersion(), ds.kind(), clean, ds.spec());
    }
    if (o instanceof ConfigMap cm) {
      return new ConfigMap(cm.apiVersion(), cm.kind(), clean, cm.data(), cm.binaryData(), cm.immutable());
    }
    Secret s = (Secret) o;
    return new Secret(s.apiVersion(), s.kind(), clean, s.data(), s.stringData(), s.type(), s.immutable());
  }

  /**
   * Rolls back to an earlier revision's template (0: the one before the current), which becomes a
   * new revision, as `kubectl rollout undo` does.
   */
  public ApplyOutcome undo(String namespace, String name, long toRevision) {
    String text;
    synchronized (lock) {
      DsEntry e = daemonSets.get(key(namespace, name));
      if (e == null) {
        throw new ControlException(Status.Code.NOT_FOUND, "daemonsets \"" + name + "\" not found in namespace " + namespace);
      }
      StoredRevision target;
      if (toRevision == 0) {
        var previous = e.revisions.lowerEntry(e.revisions.lastKey());
        if (previous == null) {
          throw new ControlException(Status.Code.FAILED_PRECONDITION, "no rollout history found for daemonset \"" + name + "\"");
        }
        target = previous.getValue();
      } else {
        target = e.revisions.get(toRevision);
        if (target == null) {
          throw new ControlException(Status.Code.NOT_FOUND, "unable to find the specified revision " + toRevision
              + " (revisions: " + e.revisions.keySet() + ")");
        }
      }
      PodTemplateSpec template = Json.read(target.templateJson(), PodTemplateSpec.class);
      var spec = e.ds.spec();
      var newSpec = new io.dsfleet.common.model.DaemonSetSpec(spec.selector(), template, spec.updateStrategy(),
          spec.minReadySeconds(), spec.revisionHistoryLimit());
      text = Json.canonical(new DaemonSet(e.ds.apiVersion(), e.ds.kind(), e.ds.metadata(), newSpec));
    }
    return apply(text, "rollout undo", false);
  }

  /**
   * Deletes a DaemonSet. With cascade, every node's pod of it is removed; with orphan, the
   * DaemonSet's record goes but agents are told to leave its containers running unmanaged.
   */
  public void deleteDaemonSet(String namespace, String name, boolean cascade) {
    synchronized (lock) {
      String k = key(namespace, name);
      if (!daemonSets.containsKey(k)) {
        throw new ControlException(Status.Code.NOT_FOUND, "daemonsets \"" + name + "\" not found in namespace " + namespace);
      }
      if (cascade) {
        store.deleteObject("DaemonSet", namespace, name);
      } else {
        // every pod of it that a node runs or should run is released there: left running, unmanaged
        List<Store.Orphan> orphans = new ArrayList<>();
        for (NodeEntry n : nodes.values()) {
          java.util.Set<String> pods = new java.util.TreeSet<>();
          if (n.plan != null) {
            n.plan.desired().stream().filter(p -> p.dsKey().equals(k)).forEach(p -> pods.add(p.podName()));
          }
          n.observed.getOrDefault(k, List.of()).forEach(o -> pods.add(o.podName()));
          pods.forEach(p -> orphans.add(new Store.Orphan(n.name, p)));
        }
        store.deleteDaemonSetOrphaning(namespace, name, orphans);
        orphans.forEach(o -> nodes.get(o.node()).orphans.add(o.pod()));
      }
      daemonSets.remove(k);
      events.forget(Events.dsKey(namespace, name));
      replanAll();
    }
  }

  public void deleteConfig(String kind, String namespace, String name) {
    synchronized (lock) {
      String ck = configKey(kind, namespace, name);
      if (!configs.containsKey(ck)) {
        throw new ControlException(Status.Code.NOT_FOUND, kind.toLowerCase() + "s \"" + name + "\" not found in namespace " + namespace);
      }
      store.deleteObject(kind, namespace, name);
      configs.remove(ck);
      replanAll();
    }
  }

  // ------------------------------------------------------------------ node administration

  /** Sets and removes dsctl labels; see docs/coordinator.md for how they combine with the agent's. */
  public void labelNode(String nodeName, Map<String, String> set, List<String> remove, boolean overwrite) {
    synchronized (lock) {
      NodeEntry n = node(nodeName);
      Map<String, String> effective = n.effectiveLabels();
      for (var e : set.entrySet()) {
        String bad = io.dsfleet.common.manifest.Names.qualifiedName(e.getKey());
        if (bad == null) {
          bad = io.dsfleet.common.manifest.Names.labelValue(e.getValue());
        }
        if (bad != null) {
          throw new ControlException(Status.Code.INVALID_ARGUMENT, "invalid label " + e.getKey() + "=" + e.getValue() + ": " + bad);
        }
        String current = effective.get(e.getKey());
        if (current != null && !current.equals(e.getValue()) && !overwrite) {
          throw new ControlException(Status.Code.FAILED_PRECONDITION, "node " + nodeName + " already has a value (" + current
              + ") for label " + e.getKey() + " and --overwrite is false");
        }
      }
      for (String k : remove) {
        if (!effective.containsKey(k)) {
          throw new ControlException(Status.Code.NOT_FOUND, "label \"" + k + "\" not found on node " + nodeName);
        }
      }
      persist(n, () -> {
        n.adminLabels.putAll(set);
        for (String k : remove) {
          if (n.info.getLabelsMap().containsKey(k)) {
            n.adminLabels.put(k, null);
          } else {
            n.adminLabels.remove(k);
          }
        }
      });
      events.record(Events.nodeKey(nodeName), "Normal", "Labeled", "set " + set + (remove.isEmpty() ? "" : ", removed " + remove));
      replanAndPush(n, clock.instant());
      notifyChange(nodeName);
    }
  }

  /** A taint to remove: its key, and its effect or "" for every effect of the key (kubectl's {@code key-}). */
  public record TaintRemoval(String key, String effect) {
    @Override
    public String toString() {
      return key + (effect.isEmpty() ? "" : ":" + effect) + "-";
    }
  }

  public void taintNode(String nodeName, List<Taint> add, List<TaintRemoval> remove, boolean overwrite) {
    synchronized (lock) {
      NodeEntry n = node(nodeName);
      List<Taint> effective = n.effectiveTaints();
      for (Taint t : add) {
        for (Taint have : effective) {
          if (have.key().equals(t.key()) && have.effect().equals(t.effect()) && !have.value().equals(t.value()) && !overwrite) {
            throw new ControlException(Status.Code.FAILED_PRECONDITION, "node " + nodeName + " already has taint " + have
                + " and --overwrite is false");
          }
        }
      }
      for (TaintRemoval t : remove) {
        boolean found = effective.stream().anyMatch(h -> h.key().equals(t.key()) && (t.effect().isEmpty() || h.effect().equals(t.effect())));
        if (!found) {
          throw new ControlException(Status.Code.NOT_FOUND, "taint \"" + t.key() + (t.effect().isEmpty() ? "" : ":" + t.effect())
              + "\" not found on node " + nodeName);
        }
      }
      Instant now = clock.instant();
      persist(n, () -> {
        for (Taint t : add) {
          n.adminTaints.put(t.key() + ":" + t.effect(), new Taint(t.key(), t.value(), t.effect(), now));
        }
        for (TaintRemoval t : remove) {
          for (String effect : t.effect().isEmpty() ? Taint.EFFECTS : java.util.Set.of(t.effect())) {
            String k = t.key() + ":" + effect;
            boolean agentHas = n.info.getTaintsList().stream().anyMatch(a -> a.getKey().equals(t.key()) && a.getEffect().equals(effect));
            if (agentHas) {
              n.adminTaints.put(k, null);
            } else {
              n.adminTaints.remove(k);
            }
          }
        }
      });
      events.record(Events.nodeKey(nodeName), "Normal", "Tainted", "added " + add + (remove.isEmpty() ? "" : ", removed " + remove));
      replanAndPush(n, now);
      notifyChange(nodeName);
    }
  }

  public void cordon(String nodeName, boolean unschedulable) {
    synchronized (lock) {
      NodeEntry n = node(nodeName);
      persist(n, () -> n.unschedulable = unschedulable);
      events.record(Events.nodeKey(nodeName), "Normal", unschedulable ? "Cordoned" : "Uncordoned", "");
      replanAndPush(n, clock.instant());
      notifyChange(nodeName);
    }
  }

  private NodeEntry node(String nodeName) {
    NodeEntry n = nodes.get(nodeName);
    if (n == null) {
      throw new ControlException(Status.Code.NOT_FOUND, "nodes \"" + nodeName + "\" not found");
    }
    return n;
  }

  /**
   * Applies a change to a node's durable fields and writes them; when the write fails the change
   * is undone in memory too, so a refused request changes nothing.
   */
  private void persist(NodeEntry n, Runnable change) {
    NodeInfo info = n.info;
    Map<String, String> labels = new TreeMap<>(n.adminLabels);
    Map<String, Taint> taints = new TreeMap<>(n.adminTaints);
    boolean unschedulable = n.unschedulable;
    change.run();
    try {
      store.putNode(new StoredNode(n.name, printInfo(n.info), Json.canonical(n.adminLabels),
          Json.canonical(n.adminTaints), n.unschedulable, n.joinedAt.toEpochMilli()));
    } catch (RuntimeException e) {
      n.info = info;
      n.adminLabels.clear();
      n.adminLabels.putAll(labels);
      n.adminTaints.clear();
      n.adminTaints.putAll(taints);
      n.unschedulable = unschedulable;
      throw new ControlException(Status.Code.UNAVAILABLE, "the store refused the write, nothing changed: " + e.getMessage());
    }
  }

  // ------------------------------------------------------------------ reading

  /** A consistent copy of one node, for views. */
  public record NodeSnapshot(String name, NodeInfo info, Map<String, String> labels, List<Taint> taints,
      Map<String, String> adminLabels, List<Taint> adminTaints, boolean ready, String notReadyReason, boolean unschedulable, Instant joinedAt,
      Instant lastHeartbeat, List<PodStatus> pods, List<PodAssignment> desired, Map<String, io.dsfleet.common.match.Placement.Verdict> verdicts) {}

  public record DsSnapshot(String namespace, String name, DaemonSet ds, long generation, long resourceVersion,
      long createdAtMillis, long revision, String hash, DsStatus status, List<StoredRevision> revisions,
      RolloutState rollout, int maxUnavailable, List<String> waitingNotReady) {}

  public List<NodeSnapshot> nodes() {
    synchronized (lock) {
      return nodes.values().stream().map(this::snapshot).toList();
    }
  }

  public NodeSnapshot node(String name, boolean mustExist) {
    synchronized (lock) {
      NodeEntry n = mustExist ? node(name) : nodes.get(name);
      return n == null ? null : snapshot(n);
    }
  }

  private NodeSnapshot snapshot(NodeEntry n) {
    List<Taint> admin = new ArrayList<>();
    n.adminTaints.values().stream().filter(Objects::nonNull).forEach(admin::add);
    Map<String, String> adminLabels = new TreeMap<>();
    n.adminLabels.forEach((k, v) -> {
      if (v != null) {
        adminLabels.put(k, v);
      }
    });
    return new NodeSnapshot(n.name, n.info, n.effectiveLabels(), n.effectiveTaints(), adminLabels, admin, n.readyForPods(),
        n.notReadyReason(), n.unschedulable, n.joinedAt, n.lastHeartbeat, List.copyOf(n.reported.values()),
        n.plan == null ? List.of() : n.plan.desired(), n.plan == null ? Map.of() : n.plan.verdicts());
  }

  public List<DsSnapshot> daemonSets() {
    synchronized (lock) {
      Instant now = clock.instant();
      return daemonSets.keySet().stream().map(k -> dsSnapshot(k, now)).toList();
    }
  }

  public DsSnapshot daemonSet(String namespace, String name) {
    synchronized (lock) {
      String k = key(namespace, name);
      if (!daemonSets.containsKey(k)) {
        throw new ControlException(Status.Code.NOT_FOUND, "daemonsets \"" + name + "\" not found in namespace " + namespace);
      }
      return dsSnapshot(k, clock.instant());
    }
  }

  private DsSnapshot dsSnapshot(String k, Instant now) {
    DsEntry e = daemonSets.get(k);
    StoredRevision cur = e.current();
    DsInfo info = new DsInfo(k, e.ds, cur.revision(), cur.hash());
    List<Planner.NodeFacts> facts = new ArrayList<>(nodes.size());
    for (NodeEntry n : nodes.values()) {
      facts.add(new Planner.NodeFacts(n.plan == null ? null : n.plan.verdicts().get(k), n.observed.get(k)));
    }
    return new DsSnapshot(e.ds.namespace(), e.ds.name(), e.ds, e.stored.generation(), e.stored.resourceVersion(),
        e.stored.createdAtMillis(), cur.revision(), cur.hash(), Planner.status(info, facts, now),
        List.copyOf(e.revisions.values()), e.rollout, e.decision == null ? 0 : e.decision.maxUnavailable(),
        e.decision == null ? List.of() : e.decision.waitingNotReady());
  }

  public List<StoredObject> configs(String kind) {
    synchronized (lock) {
      return configs.values().stream().filter(o -> o.kind().equals(kind))
          .sorted(java.util.Comparator.comparing(StoredObject::namespace).thenComparing(StoredObject::name)).toList();
    }
  }

  public List<Events.Event> events(String objectKey) {
    return events.of(objectKey);
  }

  /** The session of a node, for log requests; null when not connected. */
  public AgentSink session(String nodeName) {
    synchronized (lock) {
      NodeEntry n = nodes.get(nodeName);
      return n == null ? null : n.session;
    }
  }

  /** Called (outside no particular lock order) whenever status may have changed: rollout watchers poll on it. */
  public void addChangeListener(Consumer<String> listener) {
    changeListeners.add(listener);
  }

  private void notifyChange(String what) {
    for (Consumer<String> l : changeListeners) {
      l.accept(what);
    }
  }

  public Clock clock() {
    return clock;
  }

  public FleetOptions options() {
    return options;
  }

  // ------------------------------------------------------------------ helpers

  public static String key(String namespace, String name) {
    return namespace + "/" + name;
  }

  private static String configKey(String kind, String namespace, String name) {
    return kind + "/" + namespace + "/" + name;
  }

  /** @throws ControlException INVALID_ARGUMENT unless the name is a valid node name (an RFC 1123 subdomain) */
  public static void requireName(String name) {
    String bad = io.dsfleet.common.manifest.Names.dns1123Subdomain(name == null ? "" : name);
    if (name == null || name.isEmpty() || bad != null) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "node name \"" + name + "\" is invalid: "
          + (bad == null ? "Required value" : bad));
    }
  }

  private static int restarts(PodStatus p) {
    return p.getContainersList().stream().mapToInt(c -> c.getRestartCount()).sum();
  }

  private static String printInfo(NodeInfo info) {
    try {
      return JsonFormat.printer().omittingInsignificantWhitespace().print(info);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }

  private static NodeInfo parseInfo(String json) {
    try {
      NodeInfo.Builder b = NodeInfo.newBuilder();
      JsonFormat.parser().merge(json, b);
      return b.build();
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("stored node info is not valid: " + e.getMessage(), e);
    }
  }
}
