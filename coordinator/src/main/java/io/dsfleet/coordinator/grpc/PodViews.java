package io.dsfleet.coordinator.grpc;

import io.dsfleet.coordinator.fleet.Fleet;
import io.dsfleet.coordinator.fleet.FleetView.DsSnapshot;
import io.dsfleet.coordinator.fleet.FleetView.NodeSnapshot;
import io.dsfleet.coordinator.plan.PodAssignment;
import io.dsfleet.proto.v1.PodStatus;
import io.dsfleet.proto.v1.PodView;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The fleet's pods as dsctl get pods and the Kubernetes API show them: from the fleet's view. */
public final class PodViews {
  private PodViews() {}

  /**
   * Pods per node: what agents reported, plus desired pods not yet reported (pending); each
   * filter null (or an empty pod name) for any.
   */
  public static List<PodView> of(Fleet fleet, String namespace, String podName, String dsName) {
    Map<String, Long> revisionByHash = new HashMap<>();
    for (DsSnapshot d : fleet.daemonSets()) {
      for (var r : d.revisions()) {
        revisionByHash.put(Fleet.key(d.namespace(), d.name()) + "@" + r.hash(), r.revision());
      }
    }
    List<PodView> out = new ArrayList<>();
    for (NodeSnapshot n : fleet.nodes()) {
      java.util.Set<String> reported = new java.util.HashSet<>();
      for (PodStatus p : n.pods()) {
        reported.add(p.getPodName());
        if (matches(p.getNamespace(), p.getPodName(), p.getDaemonSet(), namespace, podName, dsName)) {
          // a NotReady node's pod is not Ready (what it last reported is not known to hold), as Kubernetes'
          // node controller marks it; its containers show as reported, and the status counters count it so
          PodStatus shown = n.ready() || !p.getReady() ? p : p.toBuilder().setReady(false).setReadySinceMillis(0).build();
          out.add(PodView.newBuilder().setNodeName(n.name()).setStatus(shown)
              .setRevision(revisionByHash.getOrDefault(Fleet.key(p.getNamespace(), p.getDaemonSet()) + "@" + p.getTemplateHash(), 0L)).build());
        }
      }
      for (PodAssignment a : n.desired()) {
        String[] k = a.dsKey().split("/", 2);
        if (!reported.contains(a.podName()) && matches(k[0], a.podName(), k[1], namespace, podName, dsName)) {
          out.add(PodView.newBuilder().setNodeName(n.name()).setRevision(a.revision()).setPending(true)
              .setStatus(PodStatus.newBuilder().setNamespace(k[0]).setDaemonSet(k[1]).setPodName(a.podName())
                  .setTemplateHash(a.hash()).setPhase("Pending")).build());
        }
      }
    }
    return out;
  }

  /**
   * The pods agents report they leave running, unmanaged (released: by an orphan delete, or by a
   * set from another coordinator store), filtered as {@link #of}: shown (dsctl get pods, describe
   * node) with {@code released} set, counted by no DaemonSet, not reachable by logs or a delete.
   */
  public static List<PodView> released(Fleet fleet, String namespace, String podName) {
    List<PodView> out = new ArrayList<>();
    for (NodeSnapshot n : fleet.nodes()) {
      for (PodStatus p : n.released()) {
        if (matches(p.getNamespace(), p.getPodName(), p.getDaemonSet(), namespace, podName, null)) {
          out.add(PodView.newBuilder().setNodeName(n.name()).setStatus(p).setReleased(true).build());
        }
      }
    }
    return out;
  }

  private static boolean matches(String ns, String pod, String ds, String wantNs, String wantPod, String wantDs) {
    return (wantNs == null || wantNs.equals(ns)) && (wantPod == null || wantPod.isEmpty() || wantPod.equals(pod))
        && (wantDs == null || wantDs.equals(ds));
  }

}
