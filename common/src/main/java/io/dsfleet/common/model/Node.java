package io.dsfleet.common.model;

import java.util.List;
import java.util.Map;

/**
 * What placement needs to know of a node: its name, effective labels and taints (agent's merged
 * with the operator's, plus coordinator-managed ones such as unreachable), and the cordon flag.
 */
public record Node(String name, Map<String, String> labels, List<Taint> taints, boolean unschedulable) {
  public Node {
    labels = Map.copyOf(labels);
    taints = List.copyOf(taints);
  }
}
