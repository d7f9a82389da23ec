package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.OwnedContainer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's containers that are the agent's to act on: those whose labels pass the ownership
 * checks ({@link OwnedContainer}; the others are logged once and never touched), without the
 * containers of pods {@link HeldPods} holds. A pass's look (a list, or the last one with the
 * containers that changed inspected again: {@link ContainerView}) is sorted once.
 */
final class OwnedContainers {
  // its lines under the Reconciler's name, as before they moved here: a level set for that logger still covers them
  private static final Logger log = LoggerFactory.getLogger(Reconciler.class);

  private final String node;
  private final HeldPods heldPods;
  private final Set<String> foreignSeen = ConcurrentHashMap.newKeySet();
  /** The look {@link #ofLook} sorted last, and what it found (the pass thread's own). */
  private List<ContainerInfo> lookedAt;
  private List<OwnedContainer> owned = List.of();
  /** The pods the last look holds ({@link HeldPods}), by key, with why, and that look while one is held. */
  private volatile HeldPods.Hold held = HeldPods.Hold.NONE;

  OwnedContainers(String node, HeldPods heldPods) {
    this.node = node;
    this.heldPods = heldPods;
  }

  /** The owned containers of a pass's look, held pods' left out ({@link #held} set from it); sorted again only for a new look. */
  List<OwnedContainer> ofLook(List<ContainerInfo> all) {
    if (all != lookedAt) {
      held = heldPods.of(all);
      owned = HeldPods.without(of(all), held.why()); // a held pod's containers are nobody's to act on
      lookedAt = all;
    }
    return owned;
  }

  /** The pods the last look holds. */
  HeldPods.Hold held() {
    return held;
  }

  /** The containers whose labels pass the ownership checks; the others are logged once and never touched. */
  List<OwnedContainer> of(List<ContainerInfo> all) {
    List<OwnedContainer> out = new ArrayList<>();
    for (ContainerInfo c : all) {
      if (c.imageLabelsUnknown() != null) {
        continue; // neither the agent's nor another's: its pod is held (HeldPods, which logs it)
      }
      StringBuilder why = new StringBuilder();
      OwnedContainer.of(c, node, why).ifPresentOrElse(out::add, () -> {
        if (foreignSeen.add(c.id())) {
          log.warn("container {} ({}) carries dsfleet's labels but is not this agent's ({}); it is left alone", c.name(), c.id(), why);
        }
      });
    }
    return out;
  }
}
