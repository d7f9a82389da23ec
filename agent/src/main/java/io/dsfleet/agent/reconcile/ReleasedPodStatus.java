package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.runtime.OwnedContainer;
import io.dsfleet.common.ReleasedPods;
import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.PodStatus;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The pods the node leaves running, unmanaged (released by an orphan delete, or by a set from
 * another coordinator store: docs/agent.md), as reported for the operator to see: phase
 * "Released", each container as Docker lists it (its newest run), no probes, never Ready. Only a
 * released pod of which a container is still here is reported (one whose containers an operator
 * removed stays released in the file, with nothing to show). Before 2026-12-06 no released pod was
 * reported: only the agent's log and {@code STATE_DIR/orphans} on each host said what ran there.
 */
final class ReleasedPodStatus {
  private ReleasedPodStatus() {}

  /** The entries of {@code released} that {@code desired} takes back: by key, or by name alone as a coordinator before 2026-12-05 released it. */
  static Set<String> adopted(Set<String> released, java.util.Collection<DesiredPod> desired) {
    Set<String> adopted = new java.util.TreeSet<>();
    for (DesiredPod d : desired) {
      for (String entry : ReleasedPods.entries(d.key(), d.name())) {
        if (released.contains(entry)) {
          adopted.add(entry);
        }
      }
    }
    return adopted;
  }

  /** The released pods among {@code owned}; a pod the set desires again is the set's, not released. */
  static List<PodStatus> of(List<OwnedContainer> owned, Set<String> released, Map<String, DesiredPod> desired) {
    if (released.isEmpty()) {
      return List.of();
    }
    Map<String, List<OwnedContainer>> byPod = new TreeMap<>();
    for (OwnedContainer c : owned) {
      if (ReleasedPods.holds(released, c.podKey(), c.pod()) && !desired.containsKey(c.podKey())) {
        byPod.computeIfAbsent(c.podKey(), k -> new ArrayList<>()).add(c);
      }
    }
    List<PodStatus> out = new ArrayList<>(byPod.size());
    for (List<OwnedContainer> cs : byPod.values()) {
      out.add(status(cs));
    }
    return out;
  }

  private static PodStatus status(List<OwnedContainer> cs) {
    OwnedContainer first = cs.get(0);
    PodStatus.Builder b = PodStatus.newBuilder().setNamespace(first.namespace()).setDaemonSet(first.daemonSet()).setPodName(first.pod())
        .setTemplateHash(first.hash()).setTemplateDigest(first.digest() == null ? "" : first.digest()).setPhase("Released").setReleased(true);
    cs.stream().map(c -> c.info().created()).filter(java.util.Objects::nonNull).min(Comparator.naturalOrder())
        .ifPresent(t -> b.setCreatedAtMillis(t.toEpochMilli()));
    Map<String, OwnedContainer> newest = new TreeMap<>(); // a container's newest run (a restart is a new container)
    for (OwnedContainer c : cs) {
      if (!c.isSandbox()) {
        newest.merge(c.container(), c, (x, y) -> created(y) > created(x) ? y : x);
      }
    }
    for (OwnedContainer c : newest.values()) {
      b.addContainers(ContainerStatus.newBuilder().setName(c.container()).setContainerId(c.id())
          .setState(c.running() ? "running" : "terminated").setExitCode(c.info().exitCode()).setInit(io.dsfleet.agent.runtime.Labels.INIT.equals(c.role())));
    }
    return b.build();
  }

  private static long created(OwnedContainer c) {
    return c.info().created() == null ? 0 : c.info().created().toEpochMilli();
  }
}
