package io.dsfleet.coordinator.fleet;

import io.dsfleet.common.TemplateRefs;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.coordinator.plan.DsInfo;
import io.dsfleet.coordinator.plan.RollingUpdate;
import io.dsfleet.coordinator.store.Store.StoredObject;
import io.dsfleet.coordinator.store.Store.StoredRevision;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The coordinator's working state, in memory: DaemonSets with their revisions and rollout state,
 * ConfigMaps and Secrets, nodes. A cache of the store: it changes only after the store committed.
 * Guarded by the {@link Fleet}'s lock; the classes of this package share it, each owning its rules.
 */
final class FleetState {
  final TreeMap<String, DsEntry> daemonSets = new TreeMap<>();
  final Map<String, StoredObject> configs = new HashMap<>();
  /**
   * The nodes whose facts for the DaemonSets' status counters (their plan, reported pods, condition;
   * joined or gone) changed since the last view of the fleet: {@link FleetView} counts only these
   * again ({@link StatusTally}), and forgets them.
   */
  final Set<String> statusChanged = new java.util.HashSet<>();
  /** The nodes not ready for pods (NotReady, or their runtime down), as of the last view ({@link FleetView}); null before it. */
  Set<String> notReadyForPods;
  final NodeTable nodes = new NodeTable(statusChanged);
  final PodNameIndex podNames = new PodNameIndex();
  /** By DaemonSet key, the revisions of one deleted with orphan that its released pods run, by number ({@link OrphanedRevisions}). */
  final Map<String, TreeMap<Long, StoredRevision>> orphanedRevisions = new HashMap<>();
  /** Every DaemonSet's current revision, in a stable order, for the planner. */
  List<DsInfo> dsInfos = List.of();

  /**
   * The nodes: walked in name order (plans, views, sweeps) and looked up by name, by every
   * heartbeat without the lock (a skip list's lookup, a pointer chase per level, was a sixth of the
   * heartbeats' samples at 10,000 nodes: docs/benchmarks.md). Both concurrent; changed only under
   * the fleet's lock, through {@link #put} and {@link #remove}.
   */
  static final class NodeTable {
    private final java.util.concurrent.ConcurrentSkipListMap<String, NodeEntry> sorted = new java.util.concurrent.ConcurrentSkipListMap<>();
    private final java.util.concurrent.ConcurrentHashMap<String, NodeEntry> byName = new java.util.concurrent.ConcurrentHashMap<>();
    private final Set<String> changed;

    NodeTable(Set<String> changed) {
      this.changed = changed;
    }

    NodeEntry get(String name) {
      return byName.get(name);
    }

    boolean containsKey(String name) {
      return byName.containsKey(name);
    }

    void put(String name, NodeEntry n) {
      sorted.put(name, n);
      byName.put(name, n);
      changed.add(name);
    }

    NodeEntry remove(String name) {
      byName.remove(name);
      changed.add(name);
      return sorted.remove(name);
    }

    /** In name order. */
    java.util.Collection<NodeEntry> values() {
      return java.util.Collections.unmodifiableCollection(sorted.values());
    }

    java.util.Set<String> keySet() {
      return java.util.Collections.unmodifiableSet(sorted.keySet());
    }

    int size() {
      return byName.size();
    }
  }

  /**
   * A node's count of reports when its last one became unsure (DsEntry#unsureReports), and until when (System.nanoTime;
   * null before the first look): for an agent whose reports carry no applied_version (before 2026-12-07) alone.
   */
  static final class UnsureReport {
    final long reports;
    Long untilNanos;

    UnsureReport(long reports) {
      this.reports = reports;
    }
  }

  /** A DaemonSet with its revisions, newest last. */
  static final class DsEntry {
    StoredObject stored;
    /** Memory only: its status counters as the last view of the fleet counted them ({@link FleetView}); null: counted anew. */
    StatusTally tally;
    DaemonSet ds;
    /** Durable: the rollout of the current revision (moving nodes, progress, pause, failure, pod deletions). */
    RolloutState rollout;
    /**
     * The revisions nodes ran when the last coordinator knew ({@link RolloutState#live} as loaded):
     * history pruning keeps them until every node has reported to this one.
     */
    Set<String> liveWhenLoaded = Set.of();
    RollingUpdate.Decision decision;
    /** The generation the controller last acted on (Kubernetes' status.observedGeneration). */
    long observedGeneration;
    /**
     * Memory only: the furthest step (pod started, Ready, available: 1 to 3) each node reached in
     * the rollout of {@link #progressHash}. Progress is a node reaching a step it had not reached
     * before, so nodes that leave (removed, NotReady) take nothing from the others' progress, and a
     * pod that flaps is no progress. Before, progress was the sum over the nodes there now and had
     * to pass its highest mark: a healthy rollout that lost finished nodes showed none until it had
     * made their steps again, and failed at its deadline (helper-80). After a restart, or for a new
     * rollout, the stored sum ({@link RolloutState#progress}) is the mark, as before.
     */
    Map<String, Integer> progressBest;
    String progressHash;
    /**
     * Memory only: nodes this rollout carried over from the last one (told to move, no report since) whose last report
     * shows a pod of the current revision, from before they were told to leave it (a rollback while they moved), and,
     * for a DaemonSet made again under a deleted one's name, nodes whose last report shows pods under that name: by
     * node, their {@link NodeEntry#reports} then and, from the first look on, until when that report is not taken
     * for what runs there ({@link DaemonSetController}, {@link #unsure}).
     */
    final Map<String, UnsureReport> unsureReports = new HashMap<>();

    /** By node, the released pod this DaemonSet adopted there, Ready when taken ({@link OrphanedRevisions#asAdopted}). */
    final Map<String, OrphanedRevisions.Adopted> adopted = new HashMap<>();

    /**
     * Whether the node's last report may be from before it was told to move ({@link #unsureReports}), so not what runs
     * there; forgotten once it is sure. A report that says which set its agent had acted on ({@link
     * NodeEntry#appliedVersion}) is sure once that is the last set this coordinator sent to the node ({@link
     * NodeEntry#reportedAfterLastSet}), and not before, however long that takes: a node whose link stalled right after the set holds its share
     * of the budget until it reports or goes NotReady (then the rollout counts it down), and a report built before the
     * set, arriving late, ends nothing. Before 2026-12-07 the hold ended on any report, or after {@link
     * DaemonSetController#UNSURE_REPORT_NANOS} (counted from the first look) without one, as it still does for an
     * agent whose report carries no version: such an agent reports nothing for a set that changes no pod. The rollout
     * pass and an apply's carried nodes both ask, so a template applied in that moment (a rollout restart, an undo of
     * the undo) carries the node on.
     */
    boolean unsure(NodeEntry n, long nanos) {
      UnsureReport u = unsureReports.get(n.name);
      if (u == null) {
        return false;
      }
      boolean sure;
      Boolean after = n.reportedAfterLastSet();
      if (after != null) {
        sure = after;
      } else {
        if (u.untilNanos == null) {
          u.untilNanos = nanos + DaemonSetController.UNSURE_REPORT_NANOS;
        }
        sure = n.reports != u.reports || nanos - u.untilNanos >= 0;
      }
      if (sure) {
        unsureReports.remove(n.name);
        return false;
      }
      return true;
    }
    /** Rollout passes of this DaemonSet that failed in a row, and when to try again (System.nanoTime: a wall clock stepped back does not stretch it). */
    int passFailures;
    Long retryAtNanos;
    /**
     * {@link RolloutState#lastProgressAtMillis} as last seen, and that moment on the monotonic clock,
     * which times the progress deadline (a step of the wall clock fails no rollout). Anchored when
     * the stored time changes (progress, a new revision, a resume, a load), from its age as the wall
     * clock says then.
     */
    long progressSeenMillis = Long.MIN_VALUE;
    long progressAtNanos;
    final TreeMap<Long, StoredRevision> revisions = new TreeMap<>();
    final Map<String, TemplateRefs.Refs> refsByHash = new HashMap<>();
    /** Each revision's pod spec, for its own placement verdict (which revision a node may have its template and configs of). */
    final Map<String, io.dsfleet.common.model.PodSpec> specByHash = new HashMap<>();
    /** Each revision's template as sent, encoded once and shared by every node's message. */
    final Map<String, ByteString> templateBytes = new HashMap<>();
    /** Each revision's template digest: the SHA-256 of its bytes as sent ({@link #digestOf}). */
    final Map<String, String> templateDigests = new HashMap<>();

    /** The bytes sent for the revision of {@code hash} (its stored text, unchanged: docs/wire.md). */
    ByteString bytesOf(StoredRevision r) {
      return templateBytes.computeIfAbsent(r.hash(), h -> ByteString.copyFromUtf8(r.templateJson()));
    }

    /**
     * The SHA-256 (hex) of the template sent under {@code hash}, as an agent reports it with the
     * hash (PodStatus.template_digest); null when no revision has the hash.
     */
    String digestOf(String hash) {
      String d = templateDigests.get(hash);
      if (d == null) {
        StoredRevision r = byHash(hash);
        if (r == null) {
          return null;
        }
        d = io.dsfleet.common.Sha256.hex(bytesOf(r).asReadOnlyByteBuffer());
        templateDigests.put(hash, d);
      }
      return d;
    }

    StoredRevision current() {
      return revisions.lastEntry().getValue();
    }

    StoredRevision byHash(String hash) {
      for (StoredRevision r : revisions.descendingMap().values()) {
        if (r.hash().equals(hash)) {
          return r;
        }
      }
      return null;
    }
  }

  void refreshDsInfos() {
    List<DsInfo> infos = new ArrayList<>();
    for (var e : daemonSets.entrySet()) {
      StoredRevision r = e.getValue().current();
      infos.add(new DsInfo(e.getKey(), e.getValue().ds, r.revision(), r.hash()));
    }
    dsInfos = List.copyOf(infos);
  }

  DsEntry daemonSet(String namespace, String name) {
    DsEntry e = daemonSets.get(key(namespace, name));
    if (e == null) {
      throw new ControlException(Status.Code.NOT_FOUND, "daemonsets \"" + name + "\" not found in namespace " + namespace);
    }
    return e;
  }

  NodeEntry node(String nodeName) {
    NodeEntry n = nodes.get(nodeName);
    if (n == null) {
      throw new ControlException(Status.Code.NOT_FOUND, "nodes \"" + nodeName + "\" not found");
    }
    return n;
  }

  /** The namespace of a key ("namespace/name"). */
  static String namespaceOf(String key) {
    return key.substring(0, key.indexOf('/'));
  }

  static String key(String namespace, String name) {
    return namespace + "/" + name;
  }

  static String configKey(String kind, String namespace, String name) {
    return kind + "/" + namespace + "/" + name;
  }
}
