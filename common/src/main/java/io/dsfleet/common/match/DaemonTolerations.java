package io.dsfleet.common.match;

import io.dsfleet.common.model.PodSpec;
import io.dsfleet.common.model.Toleration;
import java.util.ArrayList;
import java.util.List;

/**
 * The tolerations Kubernetes' DaemonSet controller adds to every daemon pod
 * (util/daemonset_util.go AddOrUpdateDaemonPodTolerations): not-ready and unreachable NoExecute
 * with no time limit; disk-pressure, memory-pressure, pid-pressure and unschedulable NoSchedule;
 * network-unavailable NoSchedule for hostNetwork pods. A user toleration for the same key and
 * effect wins.
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
    addIfMissing(result, NOT_READY, "NoExecute");
    addIfMissing(result, UNREACHABLE, "NoExecute");
    addIfMissing(result, DISK_PRESSURE, "NoSchedule");
    addIfMissing(result, MEMORY_PRESSURE, "NoSchedule");
    addIfMissing(result, PID_PRESSURE, "NoSchedule");
    addIfMissing(result, UNSCHEDULABLE, "NoSchedule");
    if (Boolean.TRUE.equals(pod.hostNetwork())) {
      addIfMissing(result, NETWORK_UNAVAILABLE, "NoSchedule");
    }
    return List.copyOf(result);
  }

  private static void addIfMissing(List<Toleration> list, String key, String effect) {
    boolean present = list.stream().anyMatch(t -> key.equals(t.key()) && effect.equals(t.effect()));
    if (!present) {
      list.add(new Toleration(key, "Exists", null, effect, null));
    }
  }
}
