package io.dsfleet.coordinator.fleet;

import io.dsfleet.common.match.DaemonTolerations;
import java.util.Set;

/**
 * The taints the coordinator sets on a node itself, as Kubernetes' node lifecycle controller does:
 * {@code node.kubernetes.io/unschedulable} while it is cordoned, {@code unreachable} while its
 * heartbeats are missing, {@code not-ready} while its runtime is down. They follow the cordon and
 * the node's condition alone, never an admin's taint: Kubernetes' controller takes away such a
 * taint that no condition calls for, and puts back one removed while its condition lasts.
 */
public final class CoordinatorTaints {
  private CoordinatorTaints() {}

  private static final Set<String> KEYS = Set.of(DaemonTolerations.UNSCHEDULABLE, DaemonTolerations.UNREACHABLE,
      DaemonTolerations.NOT_READY);

  /** Whether a taint of this key is the coordinator's to set. */
  public static boolean owns(String key) {
    return KEYS.contains(key);
  }
}
