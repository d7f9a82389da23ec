package io.dsfleet.coordinator.fleet;

import io.dsfleet.common.manifest.Names;
import io.dsfleet.common.model.Taint;
import io.grpc.Status;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What an operator sets on a node with dsctl (kubectl's label, taint and cordon): checked against
 * the node's effective labels and taints, written before memory changes ({@link NodeWrites}), then
 * recorded as an event and the node planned again. What the node's agent reports and may change
 * is {@link NodeRegistry}'s.
 */
final class NodeSettings {
  private final FleetState state;
  private final Clock clock;
  private final Events events;
  private final Dispatcher dispatcher;
  private final NodeWrites writes;

  NodeSettings(FleetState state, Clock clock, Events events, Dispatcher dispatcher, NodeWrites writes) {
    this.state = state;
    this.clock = clock;
    this.events = events;
    this.dispatcher = dispatcher;
    this.writes = writes;
  }

  /** Sets and removes dsctl labels; see docs/coordinator.md for how they combine with the agent's. */
  void label(String nodeName, Map<String, String> set, List<String> remove, boolean overwrite) {
    NodeEntry n = state.node(nodeName);
    List<String> both = remove.stream().filter(set::containsKey).toList();
    if (!both.isEmpty()) { // kubectl's refusal too: until 2026-12-08 both were done, and evented as both
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "can not both modify and remove a label in the same command: " + both);
    }
    Map<String, String> effective = n.effectiveLabels();
    for (var e : set.entrySet()) {
      String bad = Names.label(e.getKey(), e.getValue());
      if (bad != null) {
        throw new ControlException(Status.Code.INVALID_ARGUMENT, "invalid label " + e.getKey() + "=" + e.getValue() + ": " + bad);
      }
      String current = effective.get(e.getKey());
      if (current != null && !current.equals(e.getValue()) && !overwrite) {
        throw new ControlException(Status.Code.FAILED_PRECONDITION, "node " + nodeName + " already has a value (" + current
            + ") for label " + e.getKey() + " and --overwrite is false");
      }
    }
    for (String k : remove) {
      if (!effective.containsKey(k)) {
        throw new ControlException(Status.Code.NOT_FOUND, "label \"" + k + "\" not found on node " + nodeName);
      }
    }
    dispatcher.grantCurrent(n); // what it may have now stays its own, whatever the change
    Map<String, String> own = n.ownLabels();
    writes.persist(n, () -> {
      n.adminLabels.putAll(set);
      for (String k : remove) {
        // a label of the node's own is hidden, the well-known ones too: until 2026-12-08 only the agent's were, and a
        // removal of kubernetes.io/os, hostname or arch was answered done and evented while the label stayed
        if (own.containsKey(k)) {
          n.adminLabels.put(k, null);
        } else {
          n.adminLabels.remove(k);
        }
      }
    });
    events.record(Events.nodeKey(nodeName), "Normal", "Labeled", "set " + set + (remove.isEmpty() ? "" : ", removed " + remove));
    dispatcher.replanAndPush(n, clock.instant());
  }

  void taint(String nodeName, List<Taint> add, List<Fleet.TaintRemoval> remove, boolean overwrite) {
    NodeEntry n = state.node(nodeName);
    // the coordinator's own (the cordon's, the node's condition's) are no admin's to set or take away
    for (String key : java.util.stream.Stream.concat(add.stream().map(Taint::key), remove.stream().map(Fleet.TaintRemoval::key)).toList()) {
      if (CoordinatorTaints.owns(key)) {
        throw new ControlException(Status.Code.INVALID_ARGUMENT, "taint " + key + " is the coordinator's: it follows "
            + (key.equals(io.dsfleet.common.match.DaemonTolerations.UNSCHEDULABLE) ? "the node's cordon (dsctl cordon, uncordon)"
                : "the node's condition (its heartbeats, its runtime)") + ", not a taint of an admin's");
      }
    }
    List<String> both = remove.stream().filter(r -> add.stream().anyMatch(t -> t.key().equals(r.key())
        && (r.effect().isEmpty() || t.effect().equals(r.effect())))).map(Fleet.TaintRemoval::toString).toList();
    if (!both.isEmpty()) { // kubectl's refusal too: until 2026-12-08 the taint was added and removed in one call
      throw new ControlException(Status.Code.INVALID_ARGUMENT, "can not both modify and remove the following taint(s) in the same command: "
          + both);
    }
    List<Taint> effective = n.effectiveTaints();
    for (Taint t : add) {
      for (Taint have : effective) {
        if (have.key().equals(t.key()) && have.effect().equals(t.effect()) && !have.value().equals(t.value()) && !overwrite) {
          throw new ControlException(Status.Code.FAILED_PRECONDITION, "node " + nodeName + " already has taint " + have
              + " and --overwrite is false");
        }
      }
    }
    for (Fleet.TaintRemoval t : remove) {
      boolean found = effective.stream().anyMatch(h -> h.key().equals(t.key()) && (t.effect().isEmpty() || h.effect().equals(t.effect())));
      if (!found) {
        throw new ControlException(Status.Code.NOT_FOUND, "taint \"" + t.key() + (t.effect().isEmpty() ? "" : ":" + t.effect())
            + "\" not found on node " + nodeName);
      }
    }
    dispatcher.grantCurrent(n); // what it may have now stays its own, whatever the change
    Instant now = clock.instant();
    writes.persist(n, () -> {
      for (Taint t : add) {
        // the same taint again keeps its time (a script re-applying it must not put off a NoExecute eviction)
        Instant added = effective.stream().filter(h -> h.key().equals(t.key()) && h.effect().equals(t.effect())
            && h.value().equals(t.value()) && h.timeAdded() != null).map(Taint::timeAdded).findFirst().orElse(now);
        n.adminTaints.put(t.key() + ":" + t.effect(), new Taint(t.key(), t.value(), t.effect(), added));
      }
      for (Fleet.TaintRemoval t : remove) {
        for (String effect : t.effect().isEmpty() ? Taint.EFFECTS : Set.of(t.effect())) {
          String k = t.key() + ":" + effect;
          boolean agentHas = n.info.getTaintsList().stream().anyMatch(a -> a.getKey().equals(t.key()) && a.getEffect().equals(effect));
          if (agentHas) {
            n.adminTaints.put(k, null);
          } else {
            n.adminTaints.remove(k);
          }
        }
      }
    });
    events.record(Events.nodeKey(nodeName), "Normal", "Tainted", "added " + add + (remove.isEmpty() ? "" : ", removed " + remove));
    dispatcher.replanAndPush(n, now);
  }

  void cordon(String nodeName, boolean unschedulable) {
    NodeEntry n = state.node(nodeName);
    if (n.unschedulable == unschedulable) {
      // already so, as kubectl's "already cordoned": until 2026-12-08 each cordon again was written and
      // evented, and a script cordoning its nodes at every run pushed their other events out of the 50 kept
      return;
    }
    writes.persist(n, () -> n.unschedulable = unschedulable);
    events.record(Events.nodeKey(nodeName), "Normal", unschedulable ? "Cordoned" : "Uncordoned", "");
    dispatcher.replanAndPush(n, clock.instant());
  }
}
