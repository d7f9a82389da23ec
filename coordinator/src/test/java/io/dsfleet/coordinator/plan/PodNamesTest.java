package io.dsfleet.coordinator.plan;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Which reported names {@link PodNames#isNameOf} takes for a pod of a DaemonSet on a node. */
class PodNamesTest {
  @Test
  void aNodesOwnNamesAreTakenInEveryFormItMayHave() {
    for (String ds : new String[] {"agent", "a".repeat(57), "b".repeat(63)}) {
      String first = PodNames.name(ds, "node-a", 0);
      assertTrue(PodNames.isNameOf(first, ds, "node-a"), first);
      assertTrue(PodNames.isNameOf(first + PodNames.SURGE, ds, "node-a"), "the surge's second name of " + first);
      assertTrue(PodNames.isNameOf(PodNames.name(ds, "node-a", PodNames.MAX_SALT - 1), ds, "node-a"), "the last salt tried");
      String legacy = PodNames.legacyName(ds, "node-a");
      assertTrue(PodNames.isNameOf(legacy, ds, "node-a"), "the name before 2026-11-30: " + legacy);
      assertTrue(PodNames.isNameOf(legacy + PodNames.SURGE, ds, "node-a"), "its surge name");
    }
  }

  @Test
  void anotherNodesOrDaemonSetsNamesAreNot() {
    String ds = "agent";
    assertFalse(PodNames.isNameOf(PodNames.name(ds, "node-b", 0), ds, "node-a"), "another node's name");
    assertFalse(PodNames.isNameOf(PodNames.legacyName(ds, "node-b"), ds, "node-a"), "another node's name before 2026-11-30");
    assertFalse(PodNames.isNameOf(PodNames.name("agent2", "node-a", 0), ds, "node-a"), "another DaemonSet's");
    assertFalse(PodNames.isNameOf(PodNames.name(ds, "node-a", PodNames.MAX_SALT), ds, "node-a"), "a salt past the last tried");
    assertFalse(PodNames.isNameOf(ds + "-xxxxx", ds, "node-a"), "a name of the old shape");
    assertFalse(PodNames.isNameOf(ds, ds, "node-a"), "the DaemonSet's own name");
  }
}
