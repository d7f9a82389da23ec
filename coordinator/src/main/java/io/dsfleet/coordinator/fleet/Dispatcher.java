package io.dsfleet.coordinator.fleet;

import com.google.protobuf.ByteString;
import io.dsfleet.common.TemplateRefs;
import io.dsfleet.common.manifest.ManifestParser;
import io.dsfleet.common.match.Placement;
import io.dsfleet.common.model.ConfigMap;
import io.dsfleet.common.model.KubeObject;
import io.dsfleet.common.model.Secret;
import io.dsfleet.coordinator.fleet.FleetState.DsEntry;
import io.dsfleet.coordinator.plan.DsInfo;
import io.dsfleet.coordinator.plan.NodePlan;
import io.dsfleet.coordinator.plan.ObservedPod;
import io.dsfleet.coordinator.plan.Planner;
import io.dsfleet.coordinator.plan.PodAssignment;
import io.dsfleet.coordinator.store.Store.StoredObject;
import io.dsfleet.coordinator.store.Store.StoredRevision;
import io.dsfleet.proto.v1.ConfigObject;
import io.dsfleet.proto.v1.CoordinatorMessage;
import io.dsfleet.proto.v1.DesiredPod;
import io.dsfleet.proto.v1.DesiredState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The plan applier: turns the state into each node's plan through the pure {@link Planner}, and
 * sends a node its full desired set when what the agent acts on changed (pods, their templates,
 * the ConfigMaps and Secrets they use, orphans), or when its session opened. Placement changes
 * become events.
 */
final class Dispatcher {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Dispatcher.class);
  private final FleetState state;
  private final Events events;
  /** Versions sent to agents start above anything an earlier coordinator process sent. */
  private final long versionSeed;
  /** The store's identity, sent with every set ({@code DesiredState.store_id}). */
  private final String storeId;
  /** This coordinator's build, in every set's digest: read as the fleet loads, not at its first set, under the lock. */
  private final String build = SetDigest.BUILD;
  /**
   * Above any version a coordinator sends a node (its seed is its wall clock's milliseconds times 1,000: 1.8e15 in 2026,
   * and one more each set): an agent that names a held set at a version over it names none (the holder of a node
   * certificate may name any). Before, it was taken for the node's version, and the next set's, one above it, wrapped
   * around past Long.MAX_VALUE to this coordinator's seed, below the versions the node had been sent.
   */
  static final long MAX_HELD_VERSION = Long.MAX_VALUE / 2;

  /** The monotonic clock ({@code System::nanoTime}), which times how long a node's taints have been there ({@link TaintAges}). */
  private final java.util.function.LongSupplier nanoTime;
  private long replans;

  Dispatcher(FleetState state, Events events, long versionSeed, String storeId, java.util.function.LongSupplier nanoTime) {
    this.nanoTime = nanoTime;
    this.state = state;
    this.events = events;
    this.versionSeed = versionSeed;
    this.storeId = storeId;
  }

  /** Told when a node needs a grant its row does not hold: written at once (rare: an admin's change of the node). */
  private java.util.function.Consumer<NodeEntry> grantsAdded = n -> { };
  /**
   * Told when a node's row holds a grant it no longer needs (a pod deleted, a DaemonSet gone, a
   * taint removed): written with the next sweep's rows, in one transaction for the fleet (a
   * DaemonSet deleted may touch every node; a crash within that second leaves the grant stored).
   */
  private java.util.function.Consumer<NodeEntry> grantsDropped = n -> { };

  /** Told the released pods of a node its plan has again (adopted): to forget them in the store. */
  private java.util.function.BiConsumer<NodeEntry, List<String>> orphansAdopted = (n, pods) -> { };

  void onOrphansAdopted(java.util.function.BiConsumer<NodeEntry, List<String>> adopted) {
    this.orphansAdopted = adopted;
  }

  void onGrantsChanged(java.util.function.Consumer<NodeEntry> added, java.util.function.Consumer<NodeEntry> dropped) {
    this.grantsAdded = added;
    this.grantsDropped = dropped;
  }

  /** Sets the grants the node needs stored, and has its row written if they differ from what it holds. */
  private void hold(NodeEntry n, java.util.Set<String> held) {
    if (!held.equals(n.heldGrants)) {
      n.heldGrants.clear();
      n.heldGrants.addAll(held);
    }
    if (!n.storedGrants.containsAll(held)) {
      grantsAdded.accept(n);
    } else if (!held.containsAll(n.storedGrants)) {
      grantsDropped.accept(n);
    }
  }

  /** Nodes planned so far: whether a lease sweep planned any ({@link Fleet#tick}). */
  long replans() {
    return replans;
  }

  void replan(NodeEntry n, Instant now) {
    replans++;
    state.statusChanged.add(n.name);
    n.measureTaintAges(now, nanoTime.getAsLong());
    n.plan = Planner.planNode(state.dsInfos, n.name, ds -> n.verdict(ds.ds().spec().template().spec(), false, now), n.observed, now, dsKey -> {
      DsEntry e = state.daemonSets.get(dsKey);
      return e == null || e.rollout.moving().contains(n.name);
    }, (dsKey, pod) -> {
      DsEntry e = state.daemonSets.get(dsKey);
      return e != null && n.name.equals(e.rollout.deleted().get(pod));
    }, state.podNames, io.dsfleet.coordinator.plan.ReleasedPodNames.byDaemonSet(releasedHere(n), state.dsInfos, n.name));
    Instant next = null;
    for (var v : n.plan.verdicts().values()) {
      if (v.evictAt() != null && (next == null || v.evictAt().isBefore(next))) {
        next = v.evictAt();
      }
    }
    // a new pod next to an old one (a surge) that is Ready but not yet for minReadySeconds: the plan
    // drops the old pod once it is, which time alone brings about (a Ready pod is not reported again).
    // Before, nothing planned the node again: the old pod ran on, and the node never counted as updated
    for (DsInfo ds : state.dsInfos) {
      List<ObservedPod> pods = n.observed.get(ds.key());
      if (pods == null || pods.size() < 2 || ds.minReadySeconds() <= 0) {
        continue;
      }
      ObservedPod cur = ObservedPod.current(pods, ds.hash());
      if (cur != null && cur.ready() && cur.readySince() != null && !cur.available(ds.minReadySeconds(), now)) {
        Instant at = cur.readySince().plusSeconds(ds.minReadySeconds());
        next = next == null || at.isBefore(next) ? at : next;
      }
    }
    n.nextEvaluation = next;
    n.plannedAt = now;
    if (!n.awaitingReport && !(n.sentWithTemplate.isEmpty() && n.heldGrants.isEmpty())) {
      // a pod that left the plan (deleted, its DaemonSet gone) is granted nothing more; not while
      // the node has not reported, when the plan does not yet hold the pods it keeps. A grant of a
      // revision (made before the node reported) becomes one of the pod the node has of it.
      java.util.Set<String> planned = new java.util.HashSet<>();
      for (PodAssignment p : n.plan.desired()) {
        DsEntry e = state.daemonSets.get(p.dsKey());
        if (e != null) {
          String key = grantKey(e, p);
          planned.add(key);
          String revision = revisionGrantKey(e, p.hash());
          if (n.sentWithTemplate.contains(revision)) {
            n.sentWithTemplate.add(key);
          }
          if (n.heldGrants.contains(revision)) {
            n.heldGrants.add(key);
          }
        }
      }
      n.sentWithTemplate.retainAll(planned);
      java.util.Set<String> held = new java.util.HashSet<>(n.heldGrants);
      held.retainAll(planned);
      hold(n, held);
    }
  }

  /** The node's released pods: those the store released (orphan deletes) and those its agent reports released (a store change too). */
  static java.util.Collection<String> releasedHere(NodeEntry n) {
    if (n.released.isEmpty()) {
      return n.orphans;
    }
    java.util.Set<String> all = new java.util.TreeSet<>(n.orphans);
    all.addAll(n.released.keySet());
    return all;
  }

  void replanAndPush(NodeEntry n, Instant now) {
    replanAndPush(n, now, false);
  }

  /**
   * @param reported the node's own report moved its plan: the PodScheduled, PodUpdated and
   *     PodRemoved events count against the node's budget ({@link Events.AgentKind#PLACEMENT}). A
   *     node reporting its pod under another of the names it may give it (a salt of PodNames), in
   *     turn, had four recorded a report: before 2026-12-07 it pushed every other node's events out of
   *     the DaemonSet's kept ones, and flooded dsctl events -w (PlacementEventsTest)
   */
  void replanAndPush(NodeEntry n, Instant now, boolean reported) {
    NodePlan before = n.plan;
    replan(n, now);
    if (before != null) {
      recordPlacementChanges(n, before, n.plan, reported);
    }
    push(n);
  }

  void replanAll(Instant now) {
    state.refreshDsInfos();
    encodedConfigs.keySet().retainAll(state.configs.keySet()); // deleted configs' wire forms go
    for (NodeEntry n : state.nodes.values()) {
      replanAndPush(n, now);
    }
  }

  /** A placement change's event: one the node's report caused within its budget, one of an admin or the controller always. */
  private void placement(NodeEntry n, boolean reported, String object, String reason, String message) {
    if (reported) {
      events.recordFromAgent(n.name, Events.AgentKind.PLACEMENT, List.of(object), "Normal", reason, message);
    } else {
      events.record(object, "Normal", reason, message);
    }
  }

  private void recordPlacementChanges(NodeEntry n, NodePlan before, NodePlan after, boolean reported) {
    Map<String, PodAssignment> was = new HashMap<>();
    before.desired().forEach(p -> was.put(p.podName(), p));
    Map<String, PodAssignment> successor = new HashMap<>();
    for (PodAssignment p : after.desired()) {
      PodAssignment old = was.remove(p.podName());
      successor.put(p.dsKey(), p);
      if (old == null) {
        placement(n, reported, "ds/" + p.dsKey(), "PodScheduled", "pod " + p.podName() + " scheduled on " + n.name);
        placement(n, reported, Events.nodeKey(n.name), "PodScheduled", "pod " + p.podName() + " of " + p.dsKey());
      } else if (!old.hash().equals(p.hash())) {
        placement(n, reported, "ds/" + p.dsKey(), "PodUpdated", "pod on " + n.name + " moved to revision " + p.revision());
      }
    }
    for (PodAssignment p : was.values()) {
      var v = after.verdicts().get(p.dsKey());
      PodAssignment next = successor.get(p.dsKey());
      String why = v == null ? "DaemonSet deleted"
          : next != null ? "replaced by pod " + next.podName() + " (revision " + next.revision() + ")" : v.reason();
      placement(n, reported, "ds/" + p.dsKey(), "PodRemoved", "pod " + p.podName() + " removed from " + n.name + ": " + why);
      placement(n, reported, Events.nodeKey(n.name), "PodRemoved", "pod " + p.podName() + ": " + why);
    }
  }

  /**
   * Sends the node its desired set if it changed since the last send. What the agent acts on is
   * compared first (pods and their templates by hash, the configs they use by resourceVersion,
   * orphans): nothing is encoded for a node whose set did not change.
   */
  void push(NodeEntry n) {
    if (n.awaitingReport) {
      return;
    }
    List<String> adopted = null; // a released pod the plan has again (its DaemonSet applied again): managed again
    for (PodAssignment p : n.plan.desired()) {
      String key = io.dsfleet.common.ReleasedPods.key(FleetState.namespaceOf(p.dsKey()), p.podName());
      for (String entry : io.dsfleet.common.ReleasedPods.entries(key, p.podName())) {
        if (n.orphans.remove(entry)) {
          (adopted == null ? adopted = new ArrayList<>() : adopted).add(entry);
        }
      }
    }
    if (adopted != null) {
      orphansAdopted.accept(n, adopted);
    }
    List<Object> fingerprint = new ArrayList<>();
    java.util.Set<String> entitled = new java.util.HashSet<>();
    java.util.Set<String> held = new java.util.HashSet<>(); // the grants the node needs: pods its plan keeps that would not be placed now
    for (PodAssignment p : n.plan.desired()) {
      DsEntry e = state.daemonSets.get(p.dsKey());
      Entitlement by = entitlement(n, p, e);
      fingerprint.add(p.dsKey() + "/" + p.podName() + "@" + p.hash() + (by == Entitlement.NONE ? " by name" : ""));
      if (by != Entitlement.NONE) { // another DaemonSet's configs changing is no news to this node (nor a way to learn of it)
        String key = grantKey(e, p);
        entitled.add(key);
        if (by == Entitlement.GRANT) {
          held.add(key);
        }
        usedConfigs(e.ds.namespace(), e.refsByHash.get(p.hash()), o -> fingerprint.add(o.resourceVersion()));
      }
    }
    fingerprint.add(List.copyOf(n.orphans));
    hold(n, held); // whether or not anything is sent: an admin's taint turns a pod from placed to kept without changing the set
    if (n.session == null || fingerprint.equals(n.sentFingerprint) || n.oversizeFingerprints.contains(fingerprint)) {
      return; // unchanged since sent, or since found over the bound: not encoded again at each of the node's reports
    }
    String digest = SetDigest.of(build, storeId, fingerprint);
    String agentHolds = n.heldDigest;
    n.heldDigest = null; // said on the open, compared once: the first set after it
    if (digest.equals(agentHolds) && n.heldVersion >= n.version && n.heldVersion <= MAX_HELD_VERSION) {
      // the agent holds this very set (it said so on its open): nothing sent; its version is the one its reports will
      // name (reportedAfterLastSet), and the next set's is above it. Not when this coordinator sent the node a newer
      // set since (one lost with its session): the set is sent, at a version above that one.
      n.version = n.heldVersion;
      io.dsfleet.coordinator.metrics.CoordinatorMetrics.DESIRED_SETS_HELD.inc();
      sent(n, entitled, fingerprint);
      return;
    }
    Map<String, ConfigObject> used = new TreeMap<>();
    List<DesiredPod> pods = new ArrayList<>();
    for (PodAssignment p : n.plan.desired()) {
      DsEntry e = state.daemonSets.get(p.dsKey());
      StoredRevision rev = e == null ? null : e.byHash(p.hash());
      DesiredPod.Builder b = DesiredPod.newBuilder().setNamespace(e == null ? "" : e.ds.namespace())
          .setDaemonSet(e == null ? "" : e.ds.name()).setPodName(p.podName()).setTemplateHash(p.hash())
          .setRevision(rev == null ? 0 : rev.revision());
      if (e != null && entitled.contains(grantKey(e, p))) {
        b.setTemplateJson(e.bytesOf(rev));
        usedConfigs(e.ds.namespace(), e.refsByHash.get(rev.hash()), o -> used.put(o.kind() + "/" + o.namespace() + "/" + o.name(), encoded(o)));
      }
      pods.add(b.build());
    }
    DesiredState set = DesiredState.newBuilder().setVersion(Math.max(n.version + 1, versionSeed)).setStoreId(storeId).setDigest(digest)
        .addAllPods(pods).addAllConfigs(used.values())
        .addAllOrphanedPods(n.orphans.stream().map(io.dsfleet.common.ReleasedPods::name).distinct().toList()) // agents before 2026-12-05
        .addAllOrphanedPodKeys(n.orphans).build(); // keys; a name alone where it was released so before 2026-12-05
    long bytes = DesiredSetBound.weight(set);
    if (bytes > DesiredSetBound.MAX_BYTES) { // grown past it without an apply (labels, a taint gone): the node keeps the set it has
      n.oversizeFingerprints.add(fingerprint);
      if (n.oversizeFingerprints.size() > NodeEntry.OVERSIZE_KEPT) {
        n.oversizeFingerprints.remove(n.oversizeFingerprints.iterator().next());
      }
      String why = "desired set of " + bytes + " bytes (each ConfigMap and Secret key counted " + DesiredSetBound.KEY_BYTES + " more) not sent:"
          + " over the " + DesiredSetBound.MAX_BYTES + " bytes an agent takes"
          + " (docs/security.md, Limits); the node keeps its last set until its DaemonSets, ConfigMaps and Secrets fit";
      log.warn("node {}: {}", n.name, why);
      events.record(Events.nodeKey(n.name), "Warning", "DesiredSetTooLarge", why);
      return;
    }
    n.oversizeFingerprints.clear();
    n.version = set.getVersion();
    try {
      n.session.send(CoordinatorMessage.newBuilder().setDesired(set).build());
    } catch (RuntimeException e) {
      // the stream ended under us (a client cancelling as we send): the agent reconnects and gets
      // its whole set then; nothing else waits on this node
      log.warn("sending node {} its desired set failed: {}; it gets it when its session opens again", n.name, e.toString());
      n.session = null;
      return;
    }
    io.dsfleet.coordinator.metrics.CoordinatorMetrics.DESIRED_SETS_SENT.inc();
    sent(n, entitled, fingerprint);
  }

  /** The node has the set of {@code fingerprint}: with the templates of {@code entitled} (the grants it was given). */
  private static void sent(NodeEntry n, java.util.Set<String> entitled, List<Object> fingerprint) {
    n.sentWithTemplate.clear();
    n.sentWithTemplate.addAll(entitled);
    n.sentFingerprint = fingerprint;
  }

  /** Why a pod goes to its node with its template and configs, if it does. */
  private enum Entitlement { NONE, PLACEMENT, GRANT }

  /**
   * Whether a pod of the node's plan goes with its template and the ConfigMaps and Secrets it uses
   * (Kubernetes' node authorizer: a node reads the Secrets of the pods bound to it, never of what
   * it reports). Either the pod's own revision, current or older, would be placed on the node as it
   * is now (its selector, affinity and tolerations against the node's labels and taints, those of
   * its condition aside: unreachable, not-ready); or the
   * coordinator granted the node that pod before: sent it with them, or held it placed when an
   * admin changed the node ({@code sentWithTemplate}; those the node needs, pods kept that would
   * not be placed now, are stored with it as they change, so a pod kept after a NoSchedule taint
   * keeps its configs across a restart, and a grant dropped never comes back from the store). Otherwise (a node reporting a pod of a
   * DaemonSet, or of a revision, never placed on it) it is sent by name alone: the agent keeps the
   * template it has for a pod sent without one.
   */
  private Entitlement entitlement(NodeEntry n, PodAssignment p, DsEntry e) {
    StoredRevision rev = e == null ? null : e.byHash(p.hash());
    if (rev == null) {
      return Entitlement.NONE;
    }
    // the revision's own placement, the node's condition aside (a NotReady node keeps what it may have)
    Placement.Verdict v = n.verdict(e.specByHash.get(rev.hash()), true, n.plannedAt);
    if (v != null && v.shouldRun()) {
      return Entitlement.PLACEMENT;
    }
    return n.sentWithTemplate.contains(grantKey(e, p)) ? Entitlement.GRANT : Entitlement.NONE;
  }

  /**
   * A grant's key: the DaemonSet as created (one deleted and made again under its name is another),
   * the pod and its revision.
   */
  private static String grantKey(DsEntry e, PodAssignment p) {
    return p.dsKey() + "@" + e.stored.createdAtMillis() + "/" + p.podName() + "@" + p.hash();
  }

  /** A grant of a revision, any pod of it: made before the node reported, narrowed to its pod when it does. */
  private static String revisionGrantKey(DsEntry e, String hash) {
    return e.ds.namespace() + "/" + e.ds.name() + "@" + e.stored.createdAtMillis() + "/*@" + hash;
  }

  /**
   * An admin is about to change the node (labels, taints): what it may have now is granted first,
   * so a pod the change no longer places but keeps (a NoSchedule taint) keeps its configs, also
   * across a restart, whether or not it was sent since this coordinator started. Stored by the
   * change's own write. Once the node has reported: each pod of its plan it may have (those it does
   * not need after the change are dropped with the next sweep's rows). Before (a restart, a node
   * that is off): every revision placeable on it now, whatever its pods are named.
   */
  void grantCurrent(NodeEntry n) {
    if (n.awaitingReport) {
      for (DsEntry e : state.daemonSets.values()) {
        for (StoredRevision r : e.revisions.values()) {
          Placement.Verdict v = n.verdict(e.specByHash.get(r.hash()), true, n.plannedAt);
          if (v.shouldRun()) {
            n.sentWithTemplate.add(revisionGrantKey(e, r.hash()));
            n.heldGrants.add(revisionGrantKey(e, r.hash()));
          }
        }
      }
      return;
    }
    if (n.plan == null) {
      return;
    }
    for (PodAssignment p : n.plan.desired()) {
      DsEntry e = state.daemonSets.get(p.dsKey());
      if (entitlement(n, p, e) != Entitlement.NONE) {
        n.sentWithTemplate.add(grantKey(e, p));
        n.heldGrants.add(grantKey(e, p)); // in the change's own write: no crash between the change and its grant
      }
    }
  }

  /** The stored ConfigMaps and Secrets a template refers to (those that exist). */
  private void usedConfigs(String namespace, TemplateRefs.Refs refs, java.util.function.Consumer<StoredObject> each) {
    for (String name : refs.configMaps()) {
      StoredObject o = state.configs.get(FleetState.configKey("ConfigMap", namespace, name));
      if (o != null) {
        each.accept(o);
      }
    }
    for (String name : refs.secrets()) {
      StoredObject o = state.configs.get(FleetState.configKey("Secret", namespace, name));
      if (o != null) {
        each.accept(o);
      }
    }
  }

  /** Wire forms of configs by {@link FleetState#configKey}, each with the resourceVersion it was encoded from. */
  private final Map<String, Map.Entry<Long, ConfigObject>> encodedConfigs = new HashMap<>();

  /** A config's wire form, encoded once per resourceVersion (a YAML parse and base64 decoding each). */
  private ConfigObject encoded(StoredObject o) {
    String key = FleetState.configKey(o.kind(), o.namespace(), o.name());
    Map.Entry<Long, ConfigObject> e = encodedConfigs.get(key);
    if (e == null || e.getKey() != o.resourceVersion()) {
      e = Map.entry(o.resourceVersion(), configObject(o));
      encodedConfigs.put(key, e);
    }
    return e.getValue();
  }

  /** A stored ConfigMap or Secret as it travels on the wire (values decoded from base64). */
  static ConfigObject configObject(StoredObject o) {
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
}
