package io.dsfleet.coordinator.plan;

import io.dsfleet.common.ReleasedPods;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The released pods of a node that a DaemonSet owns there, by the names the coordinator gives its
 * pods on that node ({@link PodNames#isNameOf}: the first name or the surge name, any salt, in the
 * DaemonSet's namespace): the pod the DaemonSet adopts when it has none there, under its own name,
 * as Kubernetes' controller adopts the orphans its selector matches. The planner named a new pod by
 * the first name it gives a node it has heard nothing of, so a pod released under its surge name or
 * another salt was never adopted: a second copy started beside it, and it ran on, unmanaged, for good.
 */
public final class ReleasedPodNames {
  private ReleasedPodNames() {}

  /**
   * @param released the node's released pods ({@link ReleasedPods}: "namespace/name", or a name
   *     alone, which stands for that name in any namespace)
   * @return for each DaemonSet that owns one, the released pod's name: a first name before a surge
   *     name, then the lowest (one pod of a DaemonSet on a node: a second, released mid-surge, stays released)
   */
  public static Map<String, String> byDaemonSet(Collection<String> released, List<DsInfo> daemonSets, String node) {
    if (released.isEmpty()) {
      return Map.of();
    }
    Map<String, String> out = new HashMap<>();
    for (String entry : released) {
      int slash = entry.indexOf('/');
      String name = ReleasedPods.name(entry);
      for (DsInfo ds : daemonSets) {
        if ((slash < 0 || entry.substring(0, slash).equals(ds.namespace())) && PodNames.isNameOf(name, ds.name(), node)) {
          out.merge(ds.key(), name, ReleasedPodNames::preferred);
        }
      }
    }
    return out;
  }

  private static String preferred(String a, String b) {
    boolean surgeA = a.endsWith(PodNames.SURGE);
    if (surgeA != b.endsWith(PodNames.SURGE)) {
      return surgeA ? b : a;
    }
    return a.compareTo(b) <= 0 ? a : b;
  }
}
