package io.dsfleet.coordinator.fleet;

import io.dsfleet.common.Json;
import io.dsfleet.common.TemplateRefs;
import io.dsfleet.common.match.Placement;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.coordinator.fleet.FleetState.DsEntry;
import io.dsfleet.coordinator.plan.PodAssignment;
import io.dsfleet.coordinator.store.Store.StoredObject;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The bound on one node's desired set: what an agent with the shipped heap (48 MiB) takes in,
 * writes and reads back at its start. A set arrives whole (one message), is parsed, its configs
 * copied out, encoded again and sealed for the state file, beside the set before: the agent holds
 * several copies at once, and one of 7 MiB ran it out of memory at every receipt (helper-178, on
 * loopback with the unit's flags; 6 MiB held, restarts included). Past the bound an apply is
 * refused, naming the node, and a set grown past it otherwise (a node's labels, a taint removed)
 * is not sent: the node keeps the set it has, and says why in a Warning.
 */
final class DesiredSetBound {
  /** The largest desired set sent to a node, in bytes on the wire: 4 MiB (docs/security.md, Limits). */
  static final int MAX_BYTES = 4 << 20;
  /**
   * What an agent holds for each key of a ConfigMap or Secret besides its bytes on the wire (the
   * parsed map's entry, its key's string, its value's object): four ConfigMaps of 84,000 empty
   * keys each, a 4.0 MB set counted in bytes alone, ran the agent out of its 48 MiB heap at each
   * receipt (helper-180, on loopback with the unit's flags); counted so, a set of 11,800 keys of
   * 80 bytes (1.07 MB, 4.1 MB counted) held at 13 MiB live, across a restart too.
   */
  static final int KEY_BYTES = 256;
  /** A pod's entry besides its template: names, hash, revision (an upper bound). */
  private static final int POD_BYTES = 512;

  /** Nodes whose sets {@link #check} counted one by one, for tests: none where {@link #anyNodesBound} says none can be over. */
  long nodesLooked;
  /** Each stored config's size on the wire, by its key, with the resourceVersion it was measured at. */
  private final Map<String, Map.Entry<Long, Long>> configSizes = new HashMap<>();

  /**
   * Under the fleet's lock, before an apply is stored: INVALID_ARGUMENT naming the node whose
   * desired set the apply would grow past {@link #MAX_BYTES} (once its rollouts are done: each
   * node with every DaemonSet placed on it at its new template, and the configs those use), and
   * how many nodes it would be in all. A set already over the bound may shrink.
   *
   * @param daemonSets the apply's DaemonSets
   * @param configs the apply's ConfigMaps and Secrets as they would be stored
   */
  void check(FleetState state, List<DaemonSet> daemonSets, List<StoredObject> configs, Instant now) {
    if (daemonSets.isEmpty() && configs.isEmpty()) {
      return;
    }
    configSizes.keySet().retainAll(state.configs.keySet()); // deleted configs' sizes go
    Map<String, Long> newConfigs = new HashMap<>(); // each applied config's size on the wire
    configs.forEach(o -> newConfigs.put(FleetState.configKey(o.kind(), o.namespace(), o.name()),
        weight(Dispatcher.configObject(o))));
    Map<String, DaemonSet> newDs = new HashMap<>();
    daemonSets.forEach(d -> newDs.put(FleetState.key(d.namespace(), d.name()), d));
    if (anyNodesBound(state, newDs, newConfigs) <= MAX_BYTES) {
      return; // no node's set can be over: every node of a fleet of small templates and configs, at no cost per node
    }
    nodesLooked += state.nodes.size();
    Map<String, Long> before = new HashMap<>(); // by the node's pods (DaemonSet and hash): most nodes share one
    Map<String, Long> after = new HashMap<>();
    String worst = null;
    long worstBytes = 0;
    int over = 0;
    for (NodeEntry n : state.nodes.values()) {
      List<String[]> was = new ArrayList<>();
      List<String[]> will = new ArrayList<>();
      for (PodAssignment p : n.plan == null ? List.<PodAssignment>of() : n.plan.desired()) {
        was.add(new String[] {p.dsKey(), p.hash()});
        if (!newDs.containsKey(p.dsKey())) {
          will.add(new String[] {p.dsKey(), p.hash()});
        }
      }
      for (var d : newDs.entrySet()) {
        if (Placement.evaluate(d.getValue(), n.toNode(), now).shouldRun()) { // not kept: dry runs and refusals too
          will.add(new String[] {d.getKey(), null}); // null: the applied template
        }
      }
      long a = after.computeIfAbsent(signature(will), s -> bytes(state, will, newDs, newConfigs));
      if (a <= MAX_BYTES) {
        continue;
      }
      long b = before.computeIfAbsent(signature(was), s -> bytes(state, was, Map.of(), Map.of()));
      if (a > b && b <= MAX_BYTES) { // one over already is held (DesiredSetTooLarge): it refuses no apply
        over++;
        if (a > worstBytes) {
          worst = n.name;
          worstBytes = a;
        }
      }
    }
    if (worst != null) {
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "node " + worst + "'s desired set would be " + worstBytes + " bytes"
          + (over > 1 ? " (and " + (over - 1) + " other node" + (over > 2 ? "s'" : "'s") + " over the bound too)" : "")
          + ", over the " + MAX_BYTES + " bytes an agent takes (its templates and the ConfigMaps and Secrets they use, each of their keys"
          + " counted " + KEY_BYTES + " bytes more; docs/security.md,"
          + " Limits); nothing applied");
    }
  }

  /**
   * At least the size of any node's set once the apply is done, counted once for the fleet: as many
   * pods as the largest plan holds and one more for each applied DaemonSet, each of the largest
   * template (3 bytes a character: UTF-8's most for a Java char), and every config any revision
   * or applied template uses. Counting each node (placement, its pods' templates and configs) cost
   * 32 ms of the fleet's lock per apply at 10,000 nodes of two DaemonSets each (helper-180); a
   * fleet whose templates and configs are all small needs none of it.
   */
  private long anyNodesBound(FleetState state, Map<String, DaemonSet> newDs, Map<String, Long> newConfigs) {
    int pods = 0;
    for (NodeEntry n : state.nodes.values()) {
      pods = Math.max(pods, n.plan == null ? 0 : n.plan.desired().size());
    }
    long template = 0;
    TreeSet<String> used = new TreeSet<>();
    for (var d : state.daemonSets.entrySet()) {
      String ns = FleetState.namespaceOf(d.getKey());
      for (var r : d.getValue().revisions.values()) {
        template = Math.max(template, 3L * r.templateJson().length());
      }
      d.getValue().refsByHash.values().forEach(refs -> uses(used, ns, refs));
    }
    for (var d : newDs.entrySet()) {
      template = Math.max(template, 3L * Json.canonical(d.getValue().spec().template()).length());
      uses(used, FleetState.namespaceOf(d.getKey()), TemplateRefs.of(d.getValue().spec().template().spec()));
    }
    long total = (long) (pods + newDs.size()) * (POD_BYTES + template);
    for (String key : used) {
      StoredObject o = state.configs.get(key);
      total += newConfigs.containsKey(key) ? newConfigs.get(key) : o == null ? 0 : configSize(key, o);
    }
    return total;
  }

  /** A whole desired set's weight against the bound: its bytes on the wire and {@link #KEY_BYTES} for each key of its configs. */
  static long weight(io.dsfleet.proto.v1.DesiredState set) {
    return set.getSerializedSize() + (long) KEY_BYTES * set.getConfigsList().stream().mapToInt(io.dsfleet.proto.v1.ConfigObject::getDataCount).sum();
  }

  /** A config's weight against the bound: its bytes on the wire and {@link #KEY_BYTES} for each key. */
  static long weight(io.dsfleet.proto.v1.ConfigObject c) {
    return c.getSerializedSize() + (long) KEY_BYTES * c.getDataCount();
  }

  private static void uses(TreeSet<String> used, String ns, TemplateRefs.Refs refs) {
    if (refs != null) {
      refs.configMaps().forEach(name -> used.add(FleetState.configKey("ConfigMap", ns, name)));
      refs.secrets().forEach(name -> used.add(FleetState.configKey("Secret", ns, name)));
    }
  }

  /** The size on the wire of a node's set of pods ({DaemonSet key, hash}; a null hash: the applied template of {@code newDs}). */
  private long bytes(FleetState state, List<String[]> pods, Map<String, DaemonSet> newDs, Map<String, Long> newConfigs) {
    long total = 0;
    TreeSet<String> used = new TreeSet<>();
    for (String[] p : pods) {
      String ns = FleetState.namespaceOf(p[0]);
      TemplateRefs.Refs refs;
      if (p[1] == null) {
        DaemonSet d = newDs.get(p[0]);
        total += Json.canonical(d.spec().template()).getBytes(StandardCharsets.UTF_8).length;
        refs = TemplateRefs.of(d.spec().template().spec());
      } else {
        DsEntry e = state.daemonSets.get(p[0]);
        var rev = e == null ? null : e.byHash(p[1]);
        if (rev == null) {
          total += POD_BYTES;
          continue;
        }
        total += e.bytesOf(rev).size();
        refs = e.refsByHash.get(p[1]);
      }
      total += POD_BYTES;
      uses(used, ns, refs);
    }
    for (String key : used) {
      StoredObject o = state.configs.get(key);
      if (newConfigs.containsKey(key)) {
        total += newConfigs.get(key);
      } else if (o != null) {
        total += configSize(key, o);
      }
    }
    return total;
  }

  /** A stored config's size on the wire, measured once per resourceVersion. */
  private long configSize(String key, StoredObject o) {
    Map.Entry<Long, Long> e = configSizes.get(key);
    if (e == null || e.getKey() != o.resourceVersion()) {
      e = Map.entry(o.resourceVersion(), weight(Dispatcher.configObject(o)));
      configSizes.put(key, e);
    }
    return e.getValue();
  }

  private static String signature(List<String[]> pods) {
    StringBuilder s = new StringBuilder();
    pods.forEach(p -> s.append(p[0]).append('@').append(p[1]).append('\n'));
    return s.toString();
  }
}
