package io.dsfleet.agent.runtime;

import java.time.Instant;
import java.util.Map;

/**
 * What the runtime reports of one container carrying the agent's ownership labels. Nothing here
 * is trusted until {@link OwnedContainer#of} has checked it.
 *
 * @param state "created", "running", "exited", "dead", ...
 * @param health the image HEALTHCHECK status ("healthy", "unhealthy", "starting") or null
 * @param ip the container's IP on its network, null when none (host network or joined)
 * @param error why the runtime could not start it ("" or null when it could)
 * @param imageHasOwnershipLabels its image carries {@code io.dsfleet.*} labels: the agent never
 *     creates a container from such an image, so this container is not the agent's
 * @param imageLabelsUnknown why whether its image carries such labels is not known (Docker answered the image's inspect
 *     with an error), or null when it is known: such a container is neither the agent's nor another's, and its pod is
 *     left as it runs until the labels are known (reconcile/HeldPods)
 * @param oomKilled the kernel's OOM killer killed a process of its last run (Docker's {@code State.OOMKilled}, which an
 *     inspect has and a list line lacks): its end is reported {@code OOMKilled}, as the kubelet reports it
 */
public record ContainerInfo(String id, String name, Map<String, String> labels, String state, int exitCode,
    Instant created, Instant startedAt, Instant finishedAt, String health, String ip, String error, boolean imageHasOwnershipLabels,
    String imageLabelsUnknown, boolean oomKilled) {

  /** A container whose last run the OOM killer did not end, or whose inspect is not known. */
  public ContainerInfo(String id, String name, Map<String, String> labels, String state, int exitCode, Instant created,
      Instant startedAt, Instant finishedAt, String health, String ip, String error, boolean imageHasOwnershipLabels,
      String imageLabelsUnknown) {
    this(id, name, labels, state, exitCode, created, startedAt, finishedAt, health, ip, error, imageHasOwnershipLabels, imageLabelsUnknown,
        false);
  }

  /** A container whose image's labels are known. */
  public ContainerInfo(String id, String name, Map<String, String> labels, String state, int exitCode, Instant created,
      Instant startedAt, Instant finishedAt, String health, String ip, String error, boolean imageHasOwnershipLabels) {
    this(id, name, labels, state, exitCode, created, startedAt, finishedAt, health, ip, error, imageHasOwnershipLabels, null);
  }

  /**
   * Running, or paused (its processes frozen: {@code docker pause}, or {@code docker commit}, which pauses the container while
   * it copies its file system): it still runs, as the kubelet's Docker shim took it ("Up 2 minutes (Paused)"); its probes say
   * whether it serves. Before 2026-12-06 a paused container was taken for one that exited: a second one was started beside
   * it, and ran on beside it once unpaused, and a pod whose sandbox was paused was killed (PausedContainersTest).
   */
  public boolean running() {
    return "running".equals(state) || "paused".equals(state);
  }

  public String label(String key) {
    return labels.get(key);
  }
}
