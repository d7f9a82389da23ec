package io.dsfleet.agent.session;

import io.dsfleet.common.ReleasedPods;
import io.dsfleet.proto.v1.DesiredPod;
import io.dsfleet.proto.v1.DesiredState;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A desired set from another coordinator store than the one the node's last set came from ({@link
 * DesiredState#getStoreId}: a store restored from a backup, or a new one, say started by mistake on
 * the wrong data directory): the pods the node ran that it drops are released, as by {@code delete
 * --cascade=orphan}, not removed. Such a store knows nothing of what the old one told this node
 * since its backup (or ever), and its sets would remove pods fleet-wide on its word alone: a restore
 * of the wrong backup, or an empty store, every pod of every node. The operator decides what goes:
 * a DaemonSet applied again adopts its released pods, and deleted then removes them. A coordinator
 * that names no store (an older one), or a node with no earlier set, compares nothing.
 */
final class StoreChange {
  private StoreChange() {}

  /**
   * The keys ("namespace/name") of the pods of {@code last} that {@code next} drops, when the two
   * came from different stores; none when they came from the same one, or either names none. Pods
   * released already ({@code released}) are not counted again.
   */
  static List<String> dropped(DesiredState last, DesiredState next, Set<String> released) {
    if (last == null || last.getStoreId().isEmpty() || next.getStoreId().isEmpty() || last.getStoreId().equals(next.getStoreId())) {
      return List.of();
    }
    Set<String> kept = new HashSet<>();
    for (DesiredPod p : next.getPodsList()) {
      kept.add(ReleasedPods.key(p.getNamespace(), p.getPodName()));
    }
    return last.getPodsList().stream()
        .filter(p -> !kept.contains(ReleasedPods.key(p.getNamespace(), p.getPodName()))
            && !ReleasedPods.holds(released, ReleasedPods.key(p.getNamespace(), p.getPodName()), p.getPodName()))
        .map(p -> ReleasedPods.key(p.getNamespace(), p.getPodName()))
        .toList();
  }
}
