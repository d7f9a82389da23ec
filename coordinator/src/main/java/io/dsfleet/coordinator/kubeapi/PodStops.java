package io.dsfleet.coordinator.kubeapi;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Clock;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A pod its agent reports stopping (phase {@code Terminating}, docs/agent.md) as Kubernetes shows
 * a pod being deleted: phase {@code Running} (Terminating is no phase of Kubernetes, whose clients
 * read phase as one of five), {@code metadata.deletionTimestamp} and
 * {@code deletionGracePeriodSeconds}; kubectl prints STATUS Terminating (the Table's, as dsctl's). The
 * timestamp is the time this API first served the pod stopping, kept per pod in memory until it
 * is read not stopping (or not at all, in a read of its namespace), so each read of one stop
 * answers the same: Kubernetes sets it at the delete request, plus the grace period.
 */
final class PodStops {
  static final String TERMINATING = "Terminating";

  private final Clock clock;
  /** When each pod (namespace/name) was first served stopping. */
  private final Map<String, Long> since = new ConcurrentHashMap<>();

  PodStops(Clock clock) {
    this.clock = clock;
  }

  /** Marks {@code pod} (as KubeObjects.pod made it) deleted when its agent reports it stopping; forgets it otherwise. */
  void show(ObjectNode pod, String namespace, String name, boolean stopping) {
    String key = namespace + "/" + name;
    if (!stopping) {
      since.remove(key);
      return;
    }
    long at = since.computeIfAbsent(key, k -> clock.millis());
    long grace = pod.path("spec").path("terminationGracePeriodSeconds").asLong(30);
    pod.with("metadata").put("deletionTimestamp", KubeObjects.timestamp(at)).put("deletionGracePeriodSeconds", grace);
  }

  /** After a read of every pod of {@code namespace} (null: all): forgets the pods of it not among {@code stopping}. */
  void keepOnly(String namespace, Set<String> stopping) {
    since.keySet().removeIf(k -> (namespace == null || k.startsWith(namespace + "/")) && !stopping.contains(k));
  }

  /** The pods remembered stopping (tests). */
  int remembered() {
    return since.size();
  }
}
