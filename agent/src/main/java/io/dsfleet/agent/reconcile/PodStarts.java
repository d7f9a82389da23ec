package io.dsfleet.agent.reconcile;

import io.dsfleet.proto.v1.PodStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * How long pods took to start here: from a pod first desired to its first report as Running. A pod
 * counts only once it was reported not yet Running: one the agent found running (adopted after a
 * restart of the agent) did not start now. Each pod counts once; called by the reconcile pass only.
 */
final class PodStarts {
  private final Set<String> starting = new HashSet<>();
  private final Set<String> seen = new HashSet<>();

  /** Looks at a new report; {@code started} gets each pod's start time that this report completes. */
  void report(List<PodStatus> report, Map<String, Instant> firstSeen, Instant now, Consumer<Duration> started) {
    Set<String> present = new HashSet<>();
    for (PodStatus p : report) {
      String key = p.getNamespace() + "/" + p.getPodName();
      present.add(key);
      boolean running = p.getPhase().equals("Running");
      if (seen.add(key)) {
        if (!running) {
          starting.add(key);
        }
        continue;
      }
      Instant since = firstSeen.get(key);
      if (running && starting.remove(key) && since != null) {
        started.accept(Duration.between(since, now));
      }
    }
    seen.retainAll(present);
    starting.retainAll(present);
  }
}
