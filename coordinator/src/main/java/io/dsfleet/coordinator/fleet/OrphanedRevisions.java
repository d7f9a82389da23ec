package io.dsfleet.coordinator.fleet;

import io.dsfleet.common.model.DaemonSet;
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
 * that name adopts them all into its history, above which its own revision is numbered, whatever its
 * selector: it takes the released pods by name ({@link ReleasedPodNames}), not by selector as
 * Kubernetes' controller does (which adopts only the ControllerRevisions and pods its selector
 * matches, and leaves the others running beside its new pods), so their revisions go with them; one
 * dropped for a selector its labels do not match (Kubernetes' way to change the immutable selector)
 * left every node's released pod of no known revision, replaced at once. A node whose released pod the DaemonSet
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

  /**
   * The history a DaemonSet not yet made under {@code ds}'s name starts from: the orphaned revisions
   * it adopts (all of its name's), as an entry to find its template's hash and number among
   * ({@link RevisionHashes}); null when there are none.
   */
  static DsEntry history(FleetState state, DaemonSet ds) {
    DsEntry view = null;
    for (StoredRevision r : of(state, ds).values()) {
      if (view == null) {
        view = new DsEntry();
      }
      Catalog.addRevision(view, r);
    }
    return view;
  }

  /**
   * The revisions live when a DaemonSet is made with the {@code history} it adopts and its current
   * revision {@code hash}: the adopted ones are those its released pods ran at the delete, so they are
   * stored with its first rollout state ({@link RolloutState#live}), which a coordinator restarted
   * before its nodes report keeps from pruning, as for any DaemonSet's revisions its nodes ran.
   */
  static Set<String> live(DsEntry history, String hash) {
    Set<String> live = new java.util.HashSet<>();
    history.revisions.values().forEach(r -> live.add(r.hash()));
    live.add(hash);
    return live;
  }

  /**
   * The released pod of node {@code n} that DaemonSet {@code dsKey} adopts there, as its pod of the
   * revision it runs ({@link #released}), or none; one taken Ready is remembered ({@link Adopted}).
   */
  static List<ObservedPod> releasedPods(FleetState state, NodeEntry n, String dsKey) {
    DsEntry e = state.daemonSets.get(dsKey);
    ObservedPod p = e == null ? null : released(e, e.ds, n);
    if (p == null || !p.ready()) {
      if (e != null) {
        e.adopted.remove(n.name);
      }
      return p == null ? List.of() : List.of(p);
    }
    e.adopted.put(n.name, new Adopted(p.podName(), p.hash(), p.readySince(), restarts(n.released.get(FleetState.key(e.ds.namespace(), p.podName())))));
    return List.of(p);
  }

  /**
   * The released pod of node {@code n} that {@code ds}, with the revisions of {@code history} (its
   * own, or those it would adopt: {@link #history}), adopts there, as its pod of the revision it
   * runs; null when none does: only one of the name it adopts ({@link ReleasedPodNames}) that runs
   * one of those revisions (its hash, and the digest of that revision's bytes where the agent reports
   * one: another template under the hash is replaced at once, as any). Such a pod is Ready as long as
   * its app containers run (its agent probes no released pod; Kubernetes' adopted pod keeps its
   * Ready condition), since it was made: so a healthy one is moved within the budget, not at once as
   * an unavailable one, and one whose containers ended goes first.
   */
  static ObservedPod released(DsEntry history, DaemonSet ds, NodeEntry n) {
    if (n.released.isEmpty() || history.revisions.isEmpty()) {
      return null;
    }
    String dsKey = FleetState.key(ds.namespace(), ds.name());
    String name = ReleasedPodNames.byDaemonSet(Dispatcher.releasedHere(n), List.of(new DsInfo(dsKey, ds, 0, "")), n.name).get(dsKey);
    PodStatus p = name == null ? null : n.released.get(FleetState.key(ds.namespace(), name));
    if (p == null || history.byHash(p.getTemplateHash()) == null
        || !p.getTemplateDigest().isEmpty() && !p.getTemplateDigest().equals(history.digestOf(p.getTemplateHash()))) {
      return null;
    }
    boolean running = runs(p);
    // Ready anew once its node is back from NotReady, as the node's reported pods are (NodeEntry#readyAgainAt): until
    // 2026-12-08 an adopted pod counted available on the time it was made until its agent's next report
    return new ObservedPod(dsKey, name, p.getTemplateHash(), running, running ? Instant.ofEpochMilli(p.getCreatedAtMillis()) : null)
        .readyNoEarlierThan(n.readyAgainAt);
  }

  /** Whether the pod's app containers all run (none reported waiting or terminated: crashed, backing off, never started). */
  private static boolean runs(PodStatus p) {
    List<ContainerStatus> app = p.getContainersList().stream().filter(c -> !c.getInit()).toList();
    return !app.isEmpty() && app.stream().allMatch(c -> c.getState().equals("running"));
  }

  /** Its app containers' restarts: more than when it was taken is a crash since, whatever runs now. */
  private static long restarts(PodStatus p) {
    return p == null ? 0 : p.getContainersList().stream().filter(c -> !c.getInit()).mapToLong(ContainerStatus::getRestartCount).sum();
  }

  /**
   * A released pod a DaemonSet took over Ready (its containers running), until its node runs another
   * pod of it or its agent reports it Ready: the rolling update judges it by that while its agent,
   * which probed no released pod, runs its first probes (a report of the adopted pod can come before
   * them, not Ready). Judged so from the first look at it not Ready for as long as its probes take to
   * decide ({@link #grace}), and only while its agent reports its containers running, none restarted
   * since it was taken ({@link #restarts}): one crashed is down, not unprobed.
   */
  static final class Adopted {
    final String pod;
    final String hash;
    final Instant readySince;
    final long restarts;
    Long untilNanos;

    Adopted(String pod, String hash, Instant readySince, long restarts) {
      this.pod = pod;
      this.hash = hash;
      this.readySince = readySince;
      this.restarts = restarts;
    }
  }

  /**
   * The node's pods of {@code e} as the rolling update judges them: its adopted pod ({@link Adopted})
   * reported not Ready within its grace is Ready since it was taken, so it moves within the budget,
   * not at once as an old pod already unavailable (rule 2 of {@link io.dsfleet.coordinator.plan.RollingUpdate}):
   * every node's adopted pod reported so in the moment before its first probe answered moved them all.
   * Forgotten once the node runs another pod of it (moved, replaced), its agent reports it Ready (its
   * probes answered: not Ready after that is what it is), crashed, or the grace is over.
   */
  static List<ObservedPod> asAdopted(DsEntry e, NodeEntry n, List<ObservedPod> live, long nanos) {
    Adopted a = e.adopted.get(n.name);
    if (a == null) {
      return live;
    }
    ObservedPod p = live.size() == 1 ? live.get(0) : null;
    if (p == null || !p.podName().equals(a.pod) || !p.hash().equals(a.hash)) {
      e.adopted.remove(n.name);
      return live;
    }
    PodStatus reported = n.reported.get(a.pod); // its agent's report of it as its DaemonSet's pod: null while still released
    if (reported != null && (p.ready() || !runs(reported) || restarts(reported) > a.restarts)) {
      e.adopted.remove(n.name); // probed Ready once, or crashed since it was taken: judged as reported from now on
      return live;
    }
    if (p.ready() || reported == null) {
      return live;
    }
    if (a.untilNanos == null) {
      a.untilNanos = nanos + grace(e, a.hash).toNanos();
    }
    if (nanos - a.untilNanos >= 0) {
      e.adopted.remove(n.name); // its probes had their time: not Ready is what it is
      return live;
    }
    return List.of(new ObservedPod(p.dsKey(), p.podName(), p.hash(), true, a.readySince));
  }

  /**
   * How long the agent's first probes of a taken-over pod of revision {@code hash} take to decide its
   * readiness at most: for each container its startup probe's and its readiness probe's period times
   * their thresholds and timeout (their initial delays count from the containers' start, long past),
   * at least 30 s (an image's Docker HEALTHCHECK decides without a readiness probe: its default interval).
   */
  static java.time.Duration grace(DsEntry e, String hash) {
    long seconds = 30;
    var spec = e.specByHash.get(hash);
    for (var c : spec == null ? List.<io.dsfleet.common.model.Container>of() : spec.containers()) {
      seconds = Math.max(seconds, decides(c.startupProbe()) + decides(c.readinessProbe()));
    }
    return java.time.Duration.ofSeconds(seconds);
  }

  private static long decides(io.dsfleet.common.model.Probe p) {
    if (p == null) {
      return 0;
    }
    long period = p.periodSeconds() == null ? 10 : p.periodSeconds();
    long timeout = p.timeoutSeconds() == null ? 1 : p.timeoutSeconds();
    int thresholds = Math.max(p.failureThreshold() == null ? 3 : p.failureThreshold(), p.successThreshold() == null ? 1 : p.successThreshold());
    return period * thresholds + timeout;
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
