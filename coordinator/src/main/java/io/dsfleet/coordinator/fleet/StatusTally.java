package io.dsfleet.coordinator.fleet;

import io.dsfleet.coordinator.plan.DsStatus;
import io.dsfleet.coordinator.plan.StatusCounts;
import io.dsfleet.coordinator.store.Store.StoredObject;
import java.util.HashMap;
import java.util.Map;

/**
 * One DaemonSet's status counters kept from one view of the fleet to the next ({@link FleetView}),
 * with what each node added, so that a view counts again only the nodes changed since the last
 * ({@link FleetState#statusChanged}). Valid for one stored spec and current revision: another
 * spec or revision is counted anew.
 */
final class StatusTally {
  private final StoredObject stored;
  private final String hash;
  private final StatusCounts counts = new StatusCounts();
  /** What each node adds, for the nodes that add anything. */
  private final Map<String, Integer> byNode = new HashMap<>();

  StatusTally(StoredObject stored, String hash) {
    this.stored = stored;
    this.hash = hash;
  }

  /** Whether it counts this stored spec at this revision. */
  boolean counts(StoredObject stored, String hash) {
    return this.stored == stored && this.hash.equals(hash);
  }

  /** Node {@code node} now adds {@code bits} (0: nothing, or it is gone). */
  void set(String node, int bits) {
    Integer before = bits == 0 ? byNode.remove(node) : byNode.put(node, bits);
    if (before != null) {
      counts.remove(before);
    }
    counts.add(bits);
  }

  DsStatus status() {
    return counts.status();
  }
}
