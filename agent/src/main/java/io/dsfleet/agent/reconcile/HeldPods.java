package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.agent.runtime.OwnedContainer;
import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.PodStatus;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pods left as they run while a container of theirs is of an image whose labels Docker cannot say
 * ({@link ContainerInfo#imageLabelsUnknown}: it answered the image's inspect with an error, as dockerd
 * 20.10 does when the image's layer cannot be read). Such a container is neither the agent's (it
 * would be acted on, though its image may carry the agent's labels and make it another's) nor taken
 * for none (its pod, seen without it, would be started a second time beside it, or its volumes
 * removed as no running pod's): its whole pod is held. Nothing of a held pod is started, stopped,
 * replaced, collected, evicted or emptied; it is reported as it was last reported, with why (reason
 * {@link #REASON}), a container of that report the list shows ended as ended, or as Unknown when it never was; and it is looked at again at the next list of
 * the node (an event of its containers, the relist). Only that pod waits: the node's other pods go
 * on, and the node's runtime is not said down. Before 2026-12-06 the image's error failed every
 * list of the node ({@code FailingDockerCallsTest.anImageWhoseInspectFailsHoldsItsPodAloneAndNoOtherPodBack}).
 */
final class HeldPods {
  private static final Logger log = LoggerFactory.getLogger(HeldPods.class);
  static final String REASON = "ImageLabelsUnknown";

  private final String node;
  /** The containers a hold was logged for, once each while it lasts. */
  private final Set<String> logged = ConcurrentHashMap.newKeySet();

  HeldPods(String node) {
    this.node = node;
  }

  /**
   * The held pods of a list of the node's containers, and the list.
   *
   * @param why by pod key, why it is held
   * @param listed the list's containers by ID while a pod is held (empty while none is): what the report says of a
   *     held pod's containers ({@link #report})
   * @param templates the templates of the held pods' containers, kept while they are held ({@link Templates}): neither a
   *     desired pod nor a container of the pass's list may be of one (a DaemonSet deleted, a rollout meanwhile), and
   *     before 2026-12-06 two passes forgot it, so the stop of its containers once the hold was over ran no preStop hook
   */
  record Hold(Map<String, String> why, Map<String, ContainerInfo> listed, Set<Templates.Id> templates) {
    static final Hold NONE = new Hold(Map.of(), Map.of(), Set.of());
  }

  /** The held pods of a full list of the node's containers, by key, with why; logged once per container while it lasts. */
  Hold of(List<ContainerInfo> all) {
    Map<String, String> held = new HashMap<>();
    Set<String> ids = new java.util.HashSet<>();
    for (ContainerInfo c : all) {
      String pod = OwnedContainer.heldPod(c, node);
      if (pod == null) {
        continue;
      }
      ids.add(c.id());
      held.putIfAbsent(pod, "the labels of container " + c.name() + "'s image are not known (" + c.imageLabelsUnknown()
          + "): the pod is left as it runs until Docker says them");
      if (logged.add(c.id())) {
        log.warn("pod {}: container {} ({}): {}; the pod is left as it runs, neither stopped nor started again, and looked at again"
            + " at the next list", pod, c.name(), c.id(), c.imageLabelsUnknown());
      }
    }
    logged.retainAll(ids);
    if (held.isEmpty()) {
      return Hold.NONE;
    }
    Map<String, ContainerInfo> listed = new HashMap<>();
    Set<Templates.Id> templates = new java.util.HashSet<>();
    for (ContainerInfo c : all) {
      listed.put(c.id(), c);
      String pod = OwnedContainer.heldPod(c, node);
      if (pod == null) {
        pod = OwnedContainer.of(c, node, new StringBuilder()).map(OwnedContainer::podKey).orElse(null);
      }
      if (pod != null && held.containsKey(pod)) {
        templates.add(new Templates.Id(c.label(Labels.HASH), c.label(Labels.DIGEST)));
      }
    }
    return new Hold(Map.copyOf(held), listed, templates);
  }

  /** Whether a list of a pod's containers holds one of this pod's whose image's labels are not known. */
  boolean holds(List<ContainerInfo> listed, String podKey) {
    return listed.stream().anyMatch(c -> podKey.equals(OwnedContainer.heldPod(c, node)));
  }

  /** The containers of pods not held. */
  static List<OwnedContainer> without(List<OwnedContainer> owned, Map<String, String> held) {
    return held.isEmpty() ? owned : owned.stream().filter(c -> !held.containsKey(c.podKey())).toList();
  }

  /** The desired pods not held. */
  static Map<String, DesiredPod> without(Map<String, DesiredPod> want, Set<String> held) {
    if (held.isEmpty()) {
      return want;
    }
    Map<String, DesiredPod> out = new java.util.LinkedHashMap<>(want);
    out.keySet().removeAll(held);
    return out;
  }

  /**
   * Tells a leave's progress ({@code ds-agent leave}'s output, the journal of the coordinator's removal) of each held pod it
   * left running, its containers and directory kept, and what removes them: the node's state is cleared by then, and
   * before 2026-12-06 nothing but the journal line of the hold's start said that a pod of a node that left still ran.
   */
  static void leftRunning(Map<String, String> held, java.util.function.Consumer<String> progress) {
    new java.util.TreeMap<>(held).forEach((pod, why) -> progress.accept("pod " + pod + " left running, its containers and directory"
        + " kept: " + why + "; `ds-agent leave` again removes them once Docker answers that image's inspect, or remove them by hand"
        + " (docker rm -f, their label io.dsfleet.pod=" + pod.substring(pod.indexOf('/') + 1) + ")"));
  }

  /**
   * The report with each held pod as it was last reported ({@code last}), or Unknown, and why; a container that report
   * said running and the list shows ended (or no longer lists) is reported so, and the pod not ready: a held pod is not
   * restarted, and before 2026-12-06 its crashed container was reported running and ready for as long as the hold
   * lasted (for good with an image's layer that cannot be read), the pod counted available.
   */
  static List<PodStatus> report(List<PodStatus> built, Hold hold, List<PodStatus> last) {
    Map<String, String> held = hold.why();
    if (held.isEmpty()) {
      return built;
    }
    List<PodStatus> out = new ArrayList<>(built.size());
    for (PodStatus p : built) {
      String why = held.get(p.getNamespace() + "/" + p.getPodName());
      if (why == null) {
        out.add(p);
        continue;
      }
      // not its status as a released pod (ReleasedPodStatus), which the last report holds when a set adopts it in this pass:
      // copied, the adopted pod went up as released, apart from the node's pods, for as long as the hold lasted
      PodStatus before = last == null ? null : last.stream().filter(x -> !x.getReleased() && x.getNamespace().equals(p.getNamespace())
          && x.getPodName().equals(p.getPodName()) && x.getTemplateHash().equals(p.getTemplateHash())).findFirst().orElse(null);
      PodStatus.Builder b = before != null ? asListed(before, hold.listed())
          : p.toBuilder().clearContainers().setPhase("Unknown").setReady(false);
      out.add(b.setReason(REASON).setMessage(why).build());
    }
    return List.copyOf(out);
  }

  /** The last report of a held pod, each container it said running that the list shows ended, or lists no more, so. */
  private static PodStatus.Builder asListed(PodStatus before, Map<String, ContainerInfo> listed) {
    PodStatus.Builder b = before.toBuilder();
    for (int i = 0; i < b.getContainersCount(); i++) {
      ContainerStatus c = b.getContainers(i);
      ContainerInfo now = listed.get(c.getContainerId());
      if (!c.getState().equals("running") || now != null && now.running()) {
        continue;
      }
      ContainerStatus.Builder ended = c.toBuilder().setState("terminated").setReady(false);
      if (now == null) { // as the kubelet says of a container it cannot find
        ended.setExitCode(137).setReason("ContainerStatusUnknown").setMessage("the container is no longer listed by Docker");
      } else {
        // OOMKilled as the pod's own report says it (StatusBuilder); until 2026-12-08 a held pod's said Error
        ended.setExitCode(now.exitCode()).setReason(StatusBuilder.endReason(now));
        if (now.finishedAt() != null) {
          ended.setFinishedAtMillis(now.finishedAt().toEpochMilli());
        }
      }
      b.setContainers(i, ended).setReady(false).setReadySinceMillis(0);
    }
    return b;
  }
}
