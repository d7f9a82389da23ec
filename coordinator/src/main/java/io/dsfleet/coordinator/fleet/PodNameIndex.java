package io.dsfleet.coordinator.fleet;

import io.dsfleet.coordinator.plan.DsInfo;
import io.dsfleet.coordinator.plan.PodNames;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Keeps pod names unique in each namespace: every name the planner gives a new pod, and every name
 * an agent reports, is held for its (DaemonSet, node); a new pod takes the first
 * {@link PodNames#name} salt that nobody else holds and that is not a deleted pod's. Memory only:
 * after a restart the agents' reports hold their names again before anything new is sent to
 * their nodes. Guarded by the Fleet's lock.
 */
final class PodNameIndex implements PodNames.Namer {
  /** (DaemonSet name, node, salt) to a pod name. */
  interface NameFunction {
    String name(String dsName, String node, int salt);
  }

  private final NameFunction names;
  /** namespace -> pod name -> owner ("ds key|node"). */
  private final Map<String, Map<String, String>> owners = new HashMap<>();
  /** owner -> the name the planner gave it. */
  private final Map<String, String> given = new HashMap<>();

  PodNameIndex() {
    this(PodNames::name);
  }

  PodNameIndex(NameFunction names) {
    this.names = names;
  }

  @Override
  public String name(DsInfo ds, String node, Predicate<String> taken) {
    String owner = ds.key() + "|" + node;
    String have = given.get(owner);
    if (have != null && !taken.test(have)) {
      return have;
    }
    Map<String, String> held = owners.computeIfAbsent(FleetState.namespaceOf(ds.key()), x -> new HashMap<>());
    for (int salt = 0; ; salt++) {
      String name = names.name(ds.name(), node, salt);
      String holder = held.get(name);
      if ((holder == null || holder.equals(owner)) && !taken.test(name)) {
        if (have != null && owner.equals(held.get(have))) {
          held.remove(have);
        }
        held.put(name, owner);
        given.put(owner, name);
        return name;
      }
    }
  }

  /** An agent reported this pod: its name is held for it where nobody holds it ({@link #take} settles who does). */
  void reported(String dsKey, String node, String podName) {
    owners.computeIfAbsent(FleetState.namespaceOf(dsKey), x -> new HashMap<>()).putIfAbsent(podName, dsKey + "|" + node);
  }

  /** {@code node} takes {@code podName} from whoever held it ({@link PodIntake}: of two members reporting a name, the one that joined first). */
  void take(String dsKey, String node, String podName) {
    owners.computeIfAbsent(FleetState.namespaceOf(dsKey), x -> new HashMap<>()).put(podName, dsKey + "|" + node);
  }

  /** Who holds {@code podName} in the namespace of {@code dsKey} ("ds key|node"), or null. */
  String ownerOf(String dsKey, String podName) {
    Map<String, String> held = owners.get(FleetState.namespaceOf(dsKey));
    return held == null ? null : held.get(podName);
  }

  void forgetNode(String node) {
    String suffix = "|" + node;
    owners.values().forEach(m -> m.values().removeIf(o -> o.endsWith(suffix)));
    given.keySet().removeIf(o -> o.endsWith(suffix));
  }

  void forgetDaemonSet(String dsKey) {
    String prefix = dsKey + "|";
    owners.values().forEach(m -> m.values().removeIf(o -> o.startsWith(prefix)));
    given.keySet().removeIf(o -> o.startsWith(prefix));
  }
}
