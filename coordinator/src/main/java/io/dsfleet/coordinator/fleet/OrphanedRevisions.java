package io.dsfleet.coordinator.fleet;

import io.dsfleet.common.Json;
import io.dsfleet.common.match.LabelSelectors;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.model.PodTemplateSpec;
import io.dsfleet.coordinator.fleet.FleetState.DsEntry;
import io.dsfleet.coordinator.plan.DsInfo;
import io.dsfleet.coordinator.plan.ObservedPod;
import io.dsfleet.coordinator.plan.ReleasedPodNames;
import io.dsfleet.coordinator.store.Store.StoredRevision;
import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.PodStatus;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The revisions of a DaemonSet deleted with {@code --cascade=orphan} that its released pods run,
 * kept as Kubernetes keeps an orphan-deleted DaemonSet's ControllerRevisions: rows of the store's
 * revisions table under its namespace and name, of no DaemonSet. A DaemonSet applied again under
 * that name adopts those whose template its selector matches (as Kubernetes' controller adopts the
 * ControllerRevisions its selector matches) into its history, above which its own revision is
 * numbered; the others go in the apply's transaction. A node whose released pod the DaemonSet
 * adopts, running one of its revisions, counts as running that revision: the rolling update moves it
 * within {@code maxUnavailable} (or {@code maxSurge}), and until then it is sent that revision's
 * template, the bytes its pod was made from, so its agent adopts the pod as it runs.
 *
 * <p>Before, the revisions went with the DaemonSet, and the one applied again, knowing none, replaced
 * every adopted pod at once on every node whatever its budget said (helper-160: 3 of 3 nodes in the
 * same moment with {@code maxUnavailable: 1}).
 */
final class OrphanedRevisions {
  private OrphanedRevisions() {}

  /** At an orphan delete of {@code e}: the numbers of its revisions that the released pods run (their {@code hashes}). */
  static List<Long> kept(DsEntry e, Set<String> hashes) {
    return e.revisions.values().stream().filter(r -> hashes.contains(r.hash())).map(StoredRevision::revision).toList();
  }

  /** The orphaned revisions of {@code ds}'s namespace and name, by number (empty when none). */
  static TreeMap<Long, StoredRevision> of(FleetState state, DaemonSet ds) {
    return state.orphanedRevisions.getOrDefault(FleetState.key(ds.namespace(), ds.name()), new TreeMap<>());
  }

  /** Whether {@code ds} adopts the orphaned revision {@code r}: its selector matches the labels of r's template. */
  static boolean adopts(DaemonSet ds, StoredRevision r) {
    PodTemplateSpec t = Json.read(r.templateJson(), PodTemplateSpec.class);
    Map<String, String> labels = t.metadata() == null || t.metadata().labels() == null ? Map.of() : t.metadata().labels();
    return ds.spec().selector() != null && LabelSelectors.matches(ds.spec().selector(), labels);
  }

  /**
   * The history a DaemonSet not yet made under {@code ds}'s name starts from: the orphaned revisions
   * it adopts, as an entry to find its template's hash and number among ({@link RevisionHashes});
   * null when it adopts none.
   */
  static DsEntry history(FleetState state, DaemonSet ds) {
    DsEntry view = null;
    for (StoredRevision r : of(state, ds).values()) {
      if (adopts(ds, r)) {
        if (view == null) {
          view = new DsEntry();
        }
        Catalog.addRevision(view, r);
      }
    }
    return view;
  }

  /** The orphaned revisions {@code ds}, made under their name, does not adopt: they go with its apply. */
  static List<Long> notAdopted(FleetState state, DaemonSet ds) {
    return of(state, ds).values().stream().filter(r -> !adopts(ds, r)).map(StoredRevision::revision).toList();
  }

  /**
   * The released pod of node {@code n} that DaemonSet {@code dsKey} adopts there, as its pod of the
   * revision it runs, or none: only where the node reports no pod of it, and the released pod runs
   * one of its revisions (its hash, and the digest of that revision's bytes where the agent reports
   * one: another template under the hash is replaced at once, as any). Such a pod is Ready as long as
   * its app containers run (its agent probes no released pod; Kubernetes' adopted pod keeps its
   * Ready condition), since it was made: so a healthy one is moved within the budget, not at once as
   * an unavailable one, and one whose containers ended goes first.
   */
  static List<ObservedPod> releasedPods(FleetState state, NodeEntry n, String dsKey) {
    DsEntry e = state.daemonSets.get(dsKey);
    if (e == null || n.released.isEmpty()) {
      return List.of();
    }
    StoredRevision cur = e.current();
    String name = ReleasedPodNames.byDaemonSet(Dispatcher.releasedHere(n), List.of(new DsInfo(dsKey, e.ds, cur.revision(), cur.hash())),
        n.name).get(dsKey);
    PodStatus p = name == null ? null : n.released.get(FleetState.key(e.ds.namespace(), name));
    if (p == null || e.byHash(p.getTemplateHash()) == null
        || !p.getTemplateDigest().isEmpty() && !p.getTemplateDigest().equals(e.digestOf(p.getTemplateHash()))) {
      return List.of();
    }
    List<ContainerStatus> app = p.getContainersList().stream().filter(c -> !c.getInit()).toList();
    boolean running = !app.isEmpty() && app.stream().allMatch(c -> c.getState().equals("running"));
    return List.of(new ObservedPod(dsKey, name, p.getTemplateHash(), running,
        running ? Instant.ofEpochMilli(p.getCreatedAtMillis()) : null));
  }

  /** {@link #releasedPods} of every DaemonSet with no reported pod on {@code n}, added to {@code observed} (its pods by DaemonSet). */
  static void addReleasedPods(FleetState state, NodeEntry n, Map<String, List<ObservedPod>> observed) {
    if (n.released.isEmpty()) {
      return;
    }
    for (PodStatus released : n.released.values()) { // by the DaemonSet each names: a walk of the node's released pods, not of every DaemonSet
      String dsKey = FleetState.key(released.getNamespace(), released.getDaemonSet());
      if (!observed.containsKey(dsKey)) {
        List<ObservedPod> pods = releasedPods(state, n, dsKey);
        if (!pods.isEmpty()) {
          observed.put(dsKey, new ArrayList<>(pods));
        }
      }
    }
  }
}
