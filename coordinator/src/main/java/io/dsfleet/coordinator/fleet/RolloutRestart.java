package io.dsfleet.coordinator.fleet;

import java.time.Instant;

/** A DaemonSet's manifest made ready to restart every pod, as kubectl's {@code rollout restart} does. */
public final class RolloutRestart {
  private RolloutRestart() {}

  /**
   * kubectl's `rollout restart`: the manifest with the template annotated restartedAt (a new
   * revision whose only change is that, so every pod is replaced under the rollout's budget) and
   * the resourceVersion to compare-and-set against: a change in between is refused, not lost.
   * dsctl and the dashboard both make it here.
   */
  public static String manifest(com.fasterxml.jackson.databind.JsonNode manifest, long resourceVersion, Instant at) {
    var o = (com.fasterxml.jackson.databind.node.ObjectNode) manifest.deepCopy();
    o.withObject("/metadata").put("resourceVersion", String.valueOf(resourceVersion));
    o.withObject("/spec/template/metadata/annotations").put("kubectl.kubernetes.io/restartedAt", at.toString());
    return o.toString();
  }
}
