package io.dsfleet.agent.reconcile;

import io.dsfleet.proto.v1.PodStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * How long pods took to start here: from a pod desired to its first report as Running. A new pod
 * counts from when it was first desired; a pod replaced in place by a new revision (a rolling
 * update keeps the name) from the first report of that revision. A pod counts only once it was
 * reported not yet Running: one the agent found running (adopted after the agent's restart) did
 * not start now. Each (pod, revision) counts once; called by the reconcile pass only.
 */
final class PodStarts {
  /** The revision each pod was last reported at. */
  private final Map<String, String> revisions = new HashMap<>();
  /** Pods reported not yet Running, with when their start began. */
  private final Map<String, Instant> starting = new HashMap<>();

  /** Looks at a new report; {@code started} gets each pod's start time that this report completes. */
  void report(List<PodStatus> report, Map<String, Instant> firstSeen, Instant now, Consumer<Duration> started) {
    Set<String> present = new HashSet<>();
    for (PodStatus p : report) {
      String key = p.getNamespace() + "/" + p.getPodName();
      present.add(key);
      boolean running = p.getPhase().equals("Running");
      String was = revisions.put(key, p.getTemplateHash());
      if (was == null || !was.equals(p.getTemplateHash())) {
        starting.remove(key);
        if (!running) {
          starting.put(key, was == null ? firstSeen.getOrDefault(key, now) : now);
        }
        continue;
      }
      Instant since = running ? starting.remove(key) : null;
      if (since != null) {
        started.accept(Duration.between(since, now));
      }
    }
    revisions.keySet().retainAll(present);
    starting.keySet().retainAll(present);
  }
}
