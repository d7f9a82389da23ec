package io.dsfleet.common.match;

import io.dsfleet.common.model.PodSpec;
import io.dsfleet.common.model.Toleration;
import java.util.ArrayList;
import java.util.List;

/**
 * The tolerations Kubernetes' DaemonSet controller adds to every daemon pod
 * (util/daemonset_util.go AddOrUpdateDaemonPodTolerations): not-ready and unreachable NoExecute
 * with no time limit; disk-pressure, memory-pressure, pid-pressure and unschedulable NoSchedule;
 * network-unavailable NoSchedule for hostNetwork pods. The DaemonSet's own toleration replaces a
 * user toleration of the same key and effect (in place), so a manifest's {@code tolerationSeconds}
 * for not-ready or unreachable never evicts a daemon pod. Kubernetes' AddOrUpdateTolerationInPodSpec
 * replaces only one equal in operator and value too (MatchToleration), so there a toleration
 * without {@code operator: Exists} stays first and its time evicts the pod: a deliberate difference
 * (docs/coordinator.md, "The planner").
 */
public final class DaemonTolerations {
  public static final String NOT_READY = "node.kubernetes.io/not-ready";
  public static final String UNREACHABLE = "node.kubernetes.io/unreachable";
  public static final String DISK_PRESSURE = "node.kubernetes.io/disk-pressure";
  public static final String MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure";
  public static final String PID_PRESSURE = "node.kubernetes.io/pid-pressure";
  public static final String UNSCHEDULABLE = "node.kubernetes.io/unschedulable";
  public static final String NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable";

  private DaemonTolerations() {}

  public static List<Toleration> effective(PodSpec pod) {
    List<Toleration> result = new ArrayList<>(pod.tolerations() == null ? List.of() : pod.tolerations());
    addOrUpdate(result, NOT_READY, "NoExecute");
    addOrUpdate(result, UNREACHABLE, "NoExecute");
    addOrUpdate(result, DISK_PRESSURE, "NoSchedule");
    addOrUpdate(result, MEMORY_PRESSURE, "NoSchedule");
    addOrUpdate(result, PID_PRESSURE, "NoSchedule");
    addOrUpdate(result, UNSCHEDULABLE, "NoSchedule");
    if (Boolean.TRUE.equals(pod.hostNetwork())) {
      addOrUpdate(result, NETWORK_UNAVAILABLE, "NoSchedule");
    }
    return List.copyOf(result);
  }

  private static void addOrUpdate(List<Toleration> list, String key, String effect) {
    Toleration own = new Toleration(key, "Exists", null, effect, null);
    boolean updated = false;
    for (int i = 0; i < list.size(); i++) {
      if (key.equals(list.get(i).key()) && effect.equals(list.get(i).effect())) {
        list.set(i, own);
        updated = true;
      }
    }
    if (!updated) {
      list.add(own);
    }
  }
}
