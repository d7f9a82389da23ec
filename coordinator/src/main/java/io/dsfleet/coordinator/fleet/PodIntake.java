package io.dsfleet.coordinator.fleet;

import com.google.protobuf.UnknownFieldSet;
import io.dsfleet.common.manifest.Names;
import io.dsfleet.coordinator.plan.ObservedPod;
import io.dsfleet.coordinator.plan.PodNames;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.PodStatus;
import io.dsfleet.proto.v1.PodStatusReport;
import io.grpc.Status;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pod status from the agents (memory only: agents report everything again when they reconnect),
 * and their acknowledgements of desired sets. A node's first report after its session opens lets
 * the coordinator send it anything: until then it does not know what runs there.
 */
final class PodIntake {
  private static final Logger log = LoggerFactory.getLogger(PodIntake.class);
  private final FleetState state;
  private final Store store;
  private final Dispatcher dispatcher;
  private final Events events;

  PodIntake(FleetState state, Store store, Dispatcher dispatcher, Events events) {
    this.state = state;
    this.store = store;
    this.dispatcher = dispatcher;
    this.events = events;
  }

  /** The most pods a node's reports keep: a host runs one pod per DaemonSet (Kubernetes' default maxPods is 110). */
  static final int MAX_PODS_PER_NODE = 256;
  /** The most containers of a reported pod kept (a pod has at most 64, init containers included). */
  static final int MAX_CONTAINERS = 64;
  /**
   * The most a node's reported and released pods weigh together, as kept ({@code getSerializedSize}):
   * what one full report carries at the default message bound. Partial reports (the agent sends none) each
   * add pods, each pod up to 64 containers of texts at their bounds: before 2026-12-07 one node's
   * 256 of them held about 170 MB of the coordinator's heap (ReportMemoryTest). Released pods count
   * too: they were outside it, and a control character sent in one byte is kept as U+FFFD in three,
   * so one full report within the message bound kept 11 MB of them (ReportBoundsTest).
   */
  static final int MAX_REPORTED_BYTES = 4 << 20;

  /**
   * A reported pod as kept: its names checked (null, dropped, when one is not a name), its text
   * bounded ({@link AgentText}), its containers at most {@link #MAX_CONTAINERS}, no field protobuf
   * does not know kept (before 2026-12-07 each pod of a partial report kept up to a message's 4 MiB
   * of them, and one node's 256 pods a gigabyte, the coordinator's whole heap: ReportMemoryTest).
   */
  static PodStatus accepted(PodStatus p) {
    if (Names.dns1123Label(p.getNamespace()) != null || Names.dns1123Subdomain(p.getPodName()) != null
        || Names.dns1123Subdomain(p.getDaemonSet()) != null || !(p.getTemplateHash().length() <= 64 && digitsAndLetters(p.getTemplateHash(), 'z'))) {
      return null;
    }
    PodStatus.Builder b = p.toBuilder().setPhase(AgentText.bounded(p.getPhase(), AgentText.REASON)).setCreatedAtMillis(time(p.getCreatedAtMillis()))
        .setStartedAtMillis(time(p.getStartedAtMillis())).setReadySinceMillis(time(p.getReadySinceMillis()))
        .setTemplateDigest(p.getTemplateDigest().length() == 64 && digitsAndLetters(p.getTemplateDigest(), 'f') ? p.getTemplateDigest() : "")
        .setReason(AgentText.bounded(p.getReason(), AgentText.REASON)).setMessage(AgentText.bounded(p.getMessage(), AgentText.MESSAGE))
        .clearContainers().setUnknownFields(UnknownFieldSet.getDefaultInstance());
    for (ContainerStatus c : p.getContainersList().subList(0, Math.min(MAX_CONTAINERS, p.getContainersCount()))) {
      if (Names.dns1123Label(c.getName()) != null) {
        return null;
      }
      b.addContainers(c.toBuilder().setUnknownFields(UnknownFieldSet.getDefaultInstance()).setStartedAtMillis(time(c.getStartedAtMillis()))
          .setFinishedAtMillis(time(c.getFinishedAtMillis())).setContainerId(AgentText.bounded(c.getContainerId(), AgentText.REASON))
          .setImage(AgentText.bounded(c.getImage(), 1024)).setState(AgentText.bounded(c.getState(), AgentText.REASON))
          .setReason(AgentText.bounded(c.getReason(), AgentText.REASON)).setMessage(AgentText.bounded(c.getMessage(), AgentText.MESSAGE)));
    }
    PodStatus out = b.build();
    return out.equals(p) ? p : out;
  }

  /** The last time Kubernetes' clients read (RFC 3339's four-digit year): 9999-12-31T23:59:59.999Z. */
  static final long LAST_TIME = 253402300799999L;

  /**
   * A reported time (Unix ms) as kept: one before 1970 or after {@link #LAST_TIME} is unknown (0).
   * Served, it was a timestamp Kubernetes' clients cannot read ("+292278994-08-17T07:12:55Z"): before
   * 2026-12-07 one node's pod so created had kubectl describe pods, and any typed client listing the
   * pods of its namespace (informers, kube-state-metrics), fail on the whole list (ReportedTimesTest).
   */
  private static long time(long millis) {
    return millis < 0 || millis > LAST_TIME ? 0 : millis;
  }

  /**
   * Whether the text is only digits and lowercase letters up to {@code last}: a template hash (of
   * dsfleet, 10 hex digits; up to 64 digits and letters, or none, are what describe prints as it
   * is), a template digest (64 hex digits, {@code 'f'}; anything else a node reports is kept as
   * none). A loop, not a regular expression: every pod of every report is checked.
   */
  static boolean digitsAndLetters(String text, char last) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (!(c >= '0' && c <= '9' || c >= 'a' && c <= last)) {
        return false;
      }
    }
    return true;
  }

  /**
   * A reported pod as the planner reads it: Ready only while it is of the template its DaemonSet
   * has under the reported hash, by the digest of that template's bytes where the agent reports one
   * (agents since 2026-12-06). Two templates can share a 40-bit hash: a DaemonSet made again after a
   * delete, with a template made to share the deleted one's, found the nodes' last reports of the old
   * pods (Ready, that hash) and read its rollout complete before any node had the new template.
   */
  static ObservedPod observed(FleetState state, String dsKey, PodStatus p) {
    return new ObservedPod(dsKey, p.getPodName(), p.getTemplateHash(), p.getReady() && ofItsTemplate(state, dsKey, p),
        p.getReadySinceMillis() == 0 ? null : Instant.ofEpochMilli(p.getReadySinceMillis()));
  }

  private static boolean ofItsTemplate(FleetState state, String dsKey, PodStatus p) {
    if (p.getTemplateDigest().isEmpty()) {
      return true; // an agent before 2026-12-06: by its hash alone
    }
    FleetState.DsEntry e = state.daemonSets.get(dsKey);
    String digest = e == null ? null : e.digestOf(p.getTemplateHash());
    return digest == null || digest.equals(p.getTemplateDigest());
  }

  /**
   * A DaemonSet made anew under {@code dsKey}: the pods the nodes last reported under its name (a
   * deleted one's, still going or released) are read again against its revisions ({@link #observed}),
   * and a released pod it adopts where a node reports none of it is its pod at the revision it runs
   * ({@link OrphanedRevisions#releasedPods}).
   */
  static void revisit(FleetState state, String dsKey) {
    for (NodeEntry n : state.nodes.values()) {
      List<ObservedPod> now = new ArrayList<>();
      for (PodStatus p : n.observed.containsKey(dsKey) ? n.reported.values() : List.<PodStatus>of()) {
        if (FleetState.key(p.getNamespace(), p.getDaemonSet()).equals(dsKey)) {
          now.add(observed(state, dsKey, p).readyNoEarlierThan(n.readyAgainAt));
        }
      }
      if (now.isEmpty()) {
        now.addAll(OrphanedRevisions.releasedPods(state, n, dsKey)); // a released pod it adopts, at the revision it runs
      }
      if (!now.isEmpty() || n.observed.containsKey(dsKey)) {
        n.observed.put(dsKey, now);
        state.statusChanged.add(n.name);
      }
    }
  }

  /**
   * The most pods of one report whose names are checked and found not the node's own: a real agent
   * reports none, and each costs up to {@link PodNames#isNameOf}'s hashes; the rest are dropped unchecked.
   */
  static final int MAX_MISNAMED = 8;

  /** The pod was reported by this node before under the same DaemonSet, so its name was checked then, and nobody else holds it. */
  private boolean ownName(NodeEntry n, PodStatus before, PodStatus p) {
    return before != null && before.getNamespace().equals(p.getNamespace()) && before.getDaemonSet().equals(p.getDaemonSet())
        && !heldByAnother(n, p);
  }

  /**
   * The pod's name is one the coordinator gives a pod of its DaemonSet on this node (a DaemonSet
   * whose name pod names cut must exist), and no other (DaemonSet, node) holds it.
   */
  private boolean namedFor(String nodeName, PodStatus p) {
    String dsKey = FleetState.key(p.getNamespace(), p.getDaemonSet());
    if (PodNames.truncates(p.getDaemonSet()) && !state.daemonSets.containsKey(dsKey)) {
      return false;
    }
    return PodNames.isNameOf(p.getPodName(), p.getDaemonSet(), nodeName) && !heldByAnother(state.nodes.get(nodeName), p);
  }

  private boolean heldByAnother(NodeEntry n, PodStatus p) {
    String dsKey = FleetState.key(p.getNamespace(), p.getDaemonSet());
    String owner = state.podNames.ownerOf(dsKey, p.getPodName());
    return owner != null && !owner.equals(dsKey + "|" + n.name) && !tookOwnName(n, dsKey, owner.substring(owner.indexOf('|') + 1), p);
  }

  /**
   * Whether {@code n} takes its pod's name from {@code holder}, a member that joined after it: a
   * name every report checks is one of the reporter's own ({@link PodNames#isNameOf}), so two
   * members hold the same one only where one node's name was chosen to share the other's, and
   * the older member had its name first. The index of names lives in memory: first come alone, a
   * node admitted later under such a name reported the older member's pod first after a
   * coordinator restart or failover, and took its logs, deletion and describe while the older
   * member's report of it was dropped and its pod replaced. Names coordinators before 2026-11-30
   * gave (20 bits of the node name's CRC-32: a million names to try, helper-198) were fixed so
   * first; the names since (47 bits of SHA-256, 64 salts a node: about 2^41 hashes, GPU-hours) the
   * same way on 2026-12-08. The holder's pods are read again at the end of this report
   * ({@link #taken}).
   */
  private boolean tookOwnName(NodeEntry n, String dsKey, String holderName, PodStatus p) {
    NodeEntry holder = state.nodes.get(holderName);
    if (holder == null || !holder.joinedAt.isAfter(n.joinedAt)) {
      return false;
    }
    PodStatus had = holder.reported.get(p.getPodName());
    if (had != null && FleetState.key(had.getNamespace(), had.getDaemonSet()).equals(dsKey)) {
      holder.reported.remove(p.getPodName());
      taken.add(holder);
    }
    state.podNames.take(dsKey, n.name, p.getPodName());
    log.warn("node {} reported pod {}, a name of a pod of {} on node {}, which joined earlier: the name is {}'s", holderName,
        p.getPodName(), dsKey, n.name, n.name);
    return true;
  }

  /** Nodes whose reported pod a member that joined before them took by its name in the report being read ({@link #tookOwnName}). */
  private final java.util.Set<NodeEntry> taken = new java.util.LinkedHashSet<>();

  /**
   * Pods the node newly reports released that this store never released (no orphan delete of
   * theirs: the agent released them on a set from another store, a restore or the wrong data
   * directory, docs/agent.md; or a coordinator before 2026-12-05 on this data directory released
   * them, which forgot the release once the agent acknowledged it): a Warning on the node naming
   * them, so the operator learns of pods that run unmanaged from {@code dsctl events} and {@code
   * kubectl get events}, not from each host. The message names both causes: it named the first
   * alone, and a coordinator upgraded from such a release told the operator to suspect a restore or
   * the wrong data directory (helper-161, on a fleet upgraded from the build of 2026-12-04).
   */
  private void unasked(NodeEntry n, Map<String, PodStatus> releasedNow) {
    n.releasedUnwarned.retainAll(releasedNow.keySet());
    List<String> unasked = releasedNow.entrySet().stream().filter(e -> (!n.released.containsKey(e.getKey()) || n.releasedUnwarned.contains(e.getKey()))
        && !io.dsfleet.common.ReleasedPods.holds(n.orphans, e.getKey(), e.getValue().getPodName())).map(Map.Entry::getKey).toList();
    if (!unasked.isEmpty()) {
      String named = unasked.size() <= NAMED_RELEASED ? unasked.toString()
          : unasked.subList(0, NAMED_RELEASED) + " and " + (unasked.size() - NAMED_RELEASED) + " more (dsctl get pods -A)";
      // one dropped (the node over its event budget) is named at a later report, as a pod's failure is: it was lost for good
      if (events.recordFromAgent(n.name, Events.AgentKind.PODS, List.of(Events.nodeKey(n.name)), "Warning", "PodsReleased",
          AgentText.bounded("pods " + named + " run on " + n.name + " unmanaged: its agent released them, and this store records no"
              + " orphan delete of theirs: a desired set from another coordinator store (a restore, the wrong data directory?), or an orphan"
              + " delete by a coordinator before 2026-12-05, which kept no record once the agent had it; apply their DaemonSets again to"
              + " adopt them, or remove them",
              AgentText.MESSAGE))) {
        n.releasedUnwarned.removeAll(unasked);
      } else {
        n.releasedUnwarned.addAll(unasked);
      }
    }
  }

  /**
   * The most released pods a {@code PodsReleased} event names (the rest counted): a key is up to 317
   * characters, so ten keep its message within {@link AgentText#MESSAGE} as an agent's other events;
   * a node's 256 would make one of about 80 KB, which a node alternating two sets made at each report.
   */
  static final int NAMED_RELEASED = 10;

  /** What pods weigh as sent ({@link #MAX_REPORTED_BYTES}): their sizes are kept by protobuf once computed. */
  private static long weight(java.util.Collection<PodStatus> pods) {
    return pods.stream().mapToLong(PodStatus::getSerializedSize).sum();
  }

  /** Waiting reasons of a container on its way up: not failures. */
  private static final java.util.Set<String> STARTING = java.util.Set.of("", "ContainerCreating", "PodInitializing");

  /**
   * Takes a node's pod report; returns whether it changed what the planner reads (then the node is planned again), or
   * says the agent acted on a newer set while a rollout holds the node (DsEntry#unsure): either way a rollout pass is due.
   */
  boolean report(String nodeName, PodStatusReport report, Instant now) {
    NodeEntry n = state.nodes.get(nodeName);
    if (n == null) {
      throw new ControlException(Status.Code.NOT_FOUND, "node " + nodeName + " is not a member; join first");
    }
    n.reports++;
    Long applied = report.hasAppliedVersion() ? report.getAppliedVersion() : null;
    boolean appliedMoved = !java.util.Objects.equals(applied, n.appliedVersion);
    n.appliedVersion = applied;
    // pods this node reported before: their names were checked then
    Map<String, PodStatus> before = report.getFull() ? new HashMap<>(n.reported) : n.reported;
    if (report.getFull()) {
      n.reported.clear();
    }
    for (String gone : report.getRemovedPodNamesList()) {
      n.reported.remove(gone);
    }
    int dropped = 0;
    int misnamed = 0;
    // its released pods weigh with them: a full report's are counted as taken, a partial one keeps them
    long weight = weight(n.reported.values()) + (report.getFull() ? 0 : weight(n.released.values()));
    Map<String, PodStatus> releasedNow = new java.util.TreeMap<>();
    for (PodStatus raw : report.getPodsList()) {
      PodStatus p = accepted(raw);
      PodStatus was = p == null ? null : n.reported.get(p.getPodName());
      if (p == null || (was == null && n.reported.size() >= MAX_PODS_PER_NODE)
          || weight - (was == null ? 0 : was.getSerializedSize()) + p.getSerializedSize() > MAX_REPORTED_BYTES) {
        dropped++;
        continue;
      }
      // a node reports its own pods only: a name the coordinator gives a pod of that DaemonSet on
      // another node would send that pod's logs, deletion and describe to this one
      if (!ownName(n, before.get(p.getPodName()), p) && (misnamed >= MAX_MISNAMED || !namedFor(nodeName, p))) {
        misnamed++;
        dropped++;
        continue;
      }
      p = n.readySince.taken(before.get(p.getPodName()), p, now);
      weight += p.getSerializedSize() - (was == null ? 0 : was.getSerializedSize());
      n.reported.put(p.getPodName(), p);
      failures(n, p);
    }
    for (PodStatus raw : report.getFull() ? report.getReleasedPodsList() : List.<PodStatus>of()) {
      // released pods: the same checks, their names the node's own, so a DaemonSet applied again may take one's name there
      PodStatus p = accepted(raw);
      if (p == null || releasedNow.size() >= MAX_PODS_PER_NODE) {
        dropped++;
        continue;
      }
      String key = FleetState.key(p.getNamespace(), p.getPodName());
      // a pod this store released on this node has a name it gave there: its DaemonSet is gone, so a
      // name cut at 52 characters could not be checked (namedFor) and such a pod was never shown
      if (!ownName(n, n.released.get(key), p) && !io.dsfleet.common.ReleasedPods.holds(n.orphans, key, p.getPodName())
          && (misnamed >= MAX_MISNAMED || !namedFor(nodeName, p))) {
        misnamed++;
        dropped++;
        continue;
      }
      PodStatus kept = p.toBuilder().setReleased(true).setReady(false).setReadySinceMillis(0).build();
      long grown = kept.getSerializedSize() - (releasedNow.containsKey(key) ? releasedNow.get(key).getSerializedSize() : 0);
      if (weight + grown > MAX_REPORTED_BYTES) {
        dropped++;
        continue;
      }
      weight += grown;
      releasedNow.put(key, kept);
    }
    boolean releasedChanged = report.getFull() && !releasedNow.keySet().equals(n.released.keySet());
    if (report.getFull()) {
      unasked(n, releasedNow);
      n.released.clear();
      n.released.putAll(releasedNow);
    }
    if (dropped > 0 && !n.droppedPodsLogged) {
      n.droppedPodsLogged = true;
      log.warn("node {} reported {} pods this coordinator does not keep (a name that is not a name or not one given a pod on"
          + " this node, or over {} pods or {} bytes on a node); logged once", nodeName, dropped, MAX_PODS_PER_NODE, MAX_REPORTED_BYTES);
    }
    boolean tookFromOthers = !taken.isEmpty();
    for (NodeEntry holder : List.copyOf(taken)) { // their pods read again without the name taken
      observe(holder, now);
    }
    taken.clear();
    Map<String, List<ObservedPod>> observed = observedPods(n);
    if (observed.equals(n.observed) && !n.awaitingReport && !releasedChanged) {
      // nothing the planner reads changed; a set acted on that changed no pod may end a hold all the same
      return tookFromOthers || appliedMoved && state.daemonSets.values().stream().anyMatch(e -> e.unsureReports.containsKey(n.name));
    }
    n.awaitingReport = false;
    n.reportedSinceStart = true;
    observe(n, observed, now);
    return true;
  }

  /** What the planner reads of the node's reported (and released) pods; their names held for it. */
  private Map<String, List<ObservedPod>> observedPods(NodeEntry n) {
    n.failureEvents.keySet().removeIf(k -> !n.reported.containsKey(k.substring(0, k.indexOf('/'))));
    n.readySince.retain(n.reported.keySet());
    Map<String, List<ObservedPod>> observed = new HashMap<>();
    for (PodStatus p : n.reported.values()) {
      String dsKey = FleetState.key(p.getNamespace(), p.getDaemonSet());
      observed.computeIfAbsent(dsKey, x -> new ArrayList<>()).add(observed(state, dsKey, p).readyNoEarlierThan(n.readyAgainAt));
      if (state.daemonSets.containsKey(dsKey)) { // names of DaemonSets that exist only: a report cannot grow the index at will
        state.podNames.reported(dsKey, n.name, p.getPodName());
      }
    }
    OrphanedRevisions.addReleasedPods(state, n, observed); // released pods a DaemonSet adopts, at the revision each runs
    return observed;
  }

  /** The node's pods read again (one was taken from it) and the node planned again. */
  private void observe(NodeEntry n, Instant now) {
    observe(n, observedPods(n), now);
  }

  private void observe(NodeEntry n, Map<String, List<ObservedPod>> observed, Instant now) {
    n.observed.clear();
    n.observed.putAll(observed);
    state.statusChanged.add(n.name);
    dispatcher.replanAndPush(n, now, true);
  }

  /**
   * A pod that starts failing, or fails otherwise than it did, is an event of its DaemonSet and its
   * node (Kubernetes' BackOff, Failed, FailedCreatePodSandBox ...): the pod's reason, and each
   * container's waiting reason, once until it changes. A crash loop is one event, not one a crash
   * (each object keeps only its last events); a container that became Ready again may fail anew.
   */
  private void failures(NodeEntry n, PodStatus p) {
    String ds = Events.dsKey(p.getNamespace(), p.getDaemonSet());
    // a DaemonSet's events only for one that exists and is (or was) placed on this node: a report
    // cannot make objects to hold events, nor fill another DaemonSet's (each keeps its last 50)
    String dsKey = FleetState.key(p.getNamespace(), p.getDaemonSet());
    List<String> objects = state.daemonSets.containsKey(dsKey) && placedHere(n, dsKey)
        ? List.of(ds, Events.nodeKey(n.name)) : List.of(Events.nodeKey(n.name));
    String podKey = p.getPodName() + "/";
    if (p.getReason().isEmpty()) {
      n.failureEvents.remove(podKey);
    } else if (!p.getReason().equals(n.failureEvents.get(podKey))
        && events.recordFromAgent(n.name, Events.AgentKind.PODS, objects, "Warning", p.getReason(),
            "pod " + p.getPodName() + " on " + n.name + ": " + p.getMessage())) {
      n.failureEvents.put(podKey, p.getReason()); // one dropped (over the node's budget) is tried again at the next report
    }
    for (var c : p.getContainersList()) {
      String key = podKey + c.getName();
      if (c.getReady()) {
        n.failureEvents.remove(key);
      } else if (c.getState().equals("waiting") && !STARTING.contains(c.getReason())
          && !c.getReason().equals(n.failureEvents.get(key))
          && events.recordFromAgent(n.name, Events.AgentKind.PODS, objects, "Warning", c.getReason(),
              "pod " + p.getPodName() + " on " + n.name + ", container " + c.getName() + ": " + c.getMessage())) {
        n.failureEvents.put(key, c.getReason());
      }
    }
  }

  /** The node's plan has a pod of the DaemonSet, or the coordinator sent it one's template (a pod being removed, say). */
  private static boolean placedHere(NodeEntry n, String dsKey) {
    return (n.plan != null && n.plan.desired().stream().anyMatch(a -> a.dsKey().equals(dsKey)))
        || n.sentWithTemplate.stream().anyMatch(k -> k.startsWith(dsKey + "@"));
  }

  /**
   * Released pods of the node that a DaemonSet's plan has again (the same name: applied again),
   * adopted as Kubernetes adopts orphans: no longer released, forgotten in the store. A store that
   * refuses the write keeps the row: after a restart the pod is adopted again, nothing lost.
   */
  void adopted(NodeEntry n, List<String> pods) {
    try {
      store.deleteOrphans(n.name, pods);
    } catch (io.dsfleet.coordinator.store.StoreException e) {
      log.warn("pods {} of node {} adopted again; their release is still stored ({}): forgotten at the next adoption", pods, n.name,
          e.getMessage());
    }
  }
}
