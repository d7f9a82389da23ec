package io.dsfleet.agent.runtime;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * Running containers a list of the node's containers leaves out are looked up one by one before
 * the list is taken: a container that runs is stopped (a {@code die}) before it goes, and stays
 * in the list meanwhile, so one missing from the next list was removed while it ran ({@code docker
 * rm -f}), or the answer was wrong (a daemon, or something in front of its socket, answering a
 * list with a part of it, or none). The agent plans from the list: a pod whose sandbox is missing
 * has its containers stopped and a new sandbox made, a pod missing whole is started again beside
 * itself and its old containers then stopped as an older sandbox's. Before 2026-12-06 one list
 * answered empty restarted every pod of the node that has a sandbox. A container the runtime no
 * longer knows is gone; one it knows is added to the list as its inspect says.
 */
final class VanishedContainers {
  /** The running containers of the last lists and inspects, by id, with their labels (a pod's list is held to those it would show). */
  private final Map<String, Map<String, String>> running = new HashMap<>();

  /**
   * The list, with each container that ran at the last look, matches {@code filter} (the list's labels: its node's, and a
   * pod's for a pod's list) and is missing from it, added when {@code inspect} still finds it.
   */
  synchronized List<ContainerInfo> fill(Map<String, String> filter, List<ContainerInfo> listed,
      Function<String, Optional<ContainerInfo>> inspect) {
    Set<String> ids = new HashSet<>();
    listed.forEach(c -> ids.add(c.id()));
    List<ContainerInfo> out = listed;
    for (var e : List.copyOf(running.entrySet())) {
      if (ids.contains(e.getKey()) || !filter.entrySet().stream().allMatch(f -> f.getValue().equals(e.getValue().get(f.getKey())))) {
        continue;
      }
      Optional<ContainerInfo> still = inspect.apply(e.getKey());
      if (still.isPresent()) {
        out = out == listed ? new ArrayList<>(listed) : out;
        out.add(still.get());
      } else {
        running.remove(e.getKey());
      }
    }
    out.forEach(this::seen);
    return out;
  }

  /** A container as a list or its own inspect shows it now: remembered while it runs (a pass that inspects what changed lists nothing). */
  synchronized void seen(ContainerInfo c) {
    if (c.running()) {
      running.put(c.id(), c.labels());
    } else {
      running.remove(c.id());
    }
  }

  /** How many running containers are remembered (a test's). */
  synchronized int remembered() {
    return running.size();
  }
}
