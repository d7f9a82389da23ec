package io.dsfleet.agent.session;

import io.dsfleet.proto.v1.ConfigObject;
import io.dsfleet.proto.v1.DesiredPod;
import io.dsfleet.proto.v1.DesiredState;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/** What a new desired set changes against the one on disk. */
final class DesiredChanges {
  private DesiredChanges() {}

  /**
   * Whether {@code next} only adds pods to {@code onDisk}: every pod and config object of it is in
   * {@code next} unchanged, no config object is added in a namespace where it has a pod (a pod's
   * volumes follow every ConfigMap and Secret of its namespace), at least one pod is new, none of
   * the new ones is a released pod taken back, and {@code next} releases none. Such a set may be
   * acted on before it is written: a crash in between costs only the new pods (the set on disk
   * does not have them), never a running one.
   */
  static boolean onlyAdds(DesiredState onDisk, DesiredState next, Set<String> released) {
    if (next.getOrphanedPodsCount() > 0 || next.getPodsCount() <= onDisk.getPodsCount()) {
      return false;
    }
    Map<String, DesiredPod> now = new HashMap<>();
    for (DesiredPod p : next.getPodsList()) {
      now.put(p.getNamespace() + "/" + p.getPodName(), p);
    }
    for (DesiredPod p : onDisk.getPodsList()) {
      if (!p.equals(now.remove(p.getNamespace() + "/" + p.getPodName()))) {
        return false;
      }
    }
    if (now.values().stream().anyMatch(p -> released.contains(p.getPodName()))) {
      return false;
    }
    Set<ConfigObject> before = new HashSet<>(onDisk.getConfigsList());
    if (!new HashSet<>(next.getConfigsList()).containsAll(before)) {
      return false;
    }
    Set<String> running = new HashSet<>();
    onDisk.getPodsList().forEach(p -> running.add(p.getNamespace()));
    return next.getConfigsList().stream().noneMatch(c -> !before.contains(c) && running.contains(c.getNamespace()));
  }
}
