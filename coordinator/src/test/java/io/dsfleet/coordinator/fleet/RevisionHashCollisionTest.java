package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.TemplateHash;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.manifest.ManifestParser;
import io.dsfleet.coordinator.fleet.FleetHarness.Agent;
import io.dsfleet.coordinator.store.Store.StoredRevision;
import io.dsfleet.proto.v1.DesiredPod;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two different templates whose hashes (the first 40 bits of a SHA-256, TemplateHash) are equal are
 * two revisions, as Kubernetes' collisionCount makes them: the second gets another hash. Before,
 * the second was taken for the first: applied over it, no revision was made and the fleet ran on
 * the first template while the DaemonSet showed the second; applied after another, it renumbered
 * the first's revision with the second's template, and nodes still running the first counted as
 * updated. The pair below was found by a birthday search over the annotation's value (2^20 tries).
 */
class RevisionHashCollisionTest {
  static final String A = "b346048";
  static final String B = "b1619926";
  @TempDir Path dir;
  FleetHarness h;
  List<Agent> agents;

  @BeforeEach
  void fleet() {
    h = new FleetHarness(dir);
    agents = h.agents(2);
  }

  @AfterEach
  void close() {
    h.close();
  }

  static String build(String value, String... more) {
    String[] all = new String[more.length + 2];
    all[0] = "spec.template.metadata.annotations";
    all[1] = "{build: '" + value + "'}";
    System.arraycopy(more, 0, all, 2, more.length);
    return FleetHarness.manifest(all);
  }

  static String plainHash(String manifest) {
    return TemplateHash.of(((DaemonSet) ManifestParser.parseOne(manifest)).spec().template());
  }

  static String template(DesiredPod p) {
    return p.getTemplateJson().toString(StandardCharsets.UTF_8);
  }

  void runAll() {
    agents.forEach(a -> a.runDesired(true));
  }

  @Test
  void thePairCollides() {
    assertThat(plainHash(build(A))).isEqualTo(plainHash(build(B)));
    assertThat(build(A)).isNotEqualTo(build(B));
  }

  @Test
  void aTemplateWhoseHashCollidesWithTheCurrentRevisionsIsANewRevisionAndRollsOut() {
    h.apply(build(A));
    runAll();
    String first = h.ds().hash();
    h.apply(build(B));
    assertThat(h.ds().revision()).as("a new template is a new revision").isEqualTo(2);
    assertThat(h.ds().hash()).isNotEqualTo(first);
    for (int step = 0; step < 4; step++) {
      runAll();
    }
    for (Agent a : agents) {
      assertThat(a.last().getPodsList()).singleElement().satisfies(p -> {
        assertThat(p.getTemplateHash()).isEqualTo(h.ds().hash());
        assertThat(template(p)).contains(B).doesNotContain(A);
      });
    }
    assertThat(h.ds().rolledOut()).isTrue();
  }

  /**
   * A DaemonSet deleted and made again before its nodes report, its template made to share the
   * deleted one's hash (it knows none of the deleted one's revisions, so nothing bumps the hash):
   * the nodes' last reports, the old pods Ready under that hash, are of another template by their
   * digest, and the rollout is not complete on them. Before 2026-12-06 `rollout status` read it
   * complete at once, before any node had the new template (helper-134's review).
   */
  @Test
  void aDaemonSetMadeAgainOnTheDeletedOnesHashIsNotRolledOutByTheOldPodsReports() {
    h.apply(build(A));
    runAll();
    assertThat(h.ds().rolledOut()).isTrue();
    h.fleet.deleteDaemonSet("ops", "agent", true);
    h.apply(build(B));
    assertThat(h.ds().hash()).as("the deleted one's revisions unknown: the same hash").isEqualTo(plainHash(build(A)));
    assertThat(h.ds().status().available()).as("the old pods' reports: Ready under the hash, of the other template").isZero();
    assertThat(h.ds().rolledOut()).isFalse();
    for (int step = 0; step < 3; step++) {
      runAll(); // the nodes get B under the same hash, run it, report its digest
    }
    assertThat(h.ds().rolledOut()).isTrue();
    for (Agent a : agents) {
      assertThat(a.last().getPodsList()).singleElement().satisfies(p -> assertThat(template(p)).contains(B));
    }
  }

  /**
   * Across an orphan delete the released pods' revision is adopted, as Kubernetes adopts the
   * ControllerRevisions: a template made to share its hash gets another, and its pods are old pods
   * of it, moved one node at a time (maxUnavailable 1), not taken for the new template.
   */
  @Test
  void aDaemonSetMadeAgainAfterAnOrphanDeleteOnTheReleasedPodsHashGetsAnotherAndRollsOut() {
    h.apply(build(A));
    runAll();
    String first = h.ds().hash();
    h.fleet.deleteDaemonSet("ops", "agent", false);
    runAll(); // released, reported so
    h.apply(build(B));
    h.fleet.tick();
    assertThat(h.ds().hash()).as("its collision with the adopted revision bumped").isNotEqualTo(first);
    assertThat(h.ds().status().updated()).isZero();
    assertThat(agents.stream().filter(a -> a.desiredHashes().contains(h.ds().hash())).count()).as("one node moves").isEqualTo(1);
    for (int step = 0; step < 4; step++) {
      runAll();
    }
    assertThat(h.ds().rolledOut()).isTrue();
    for (Agent a : agents) {
      assertThat(a.last().getPodsList()).singleElement().satisfies(p -> assertThat(template(p)).contains(B));
    }
  }

  @Test
  void thePlanOfSuchATemplateReplacesEveryPod() {
    h.apply(build(A));
    runAll();
    var plan = h.fleet.plan(build(B), "test").plans().get(0);
    assertThat(plan.replace()).containsExactly("n0", "n1");
  }

  @Test
  void aTemplateWhoseHashCollidesWithAnOlderRevisionsLeavesThatRevisionAndItsPodsAlone() {
    String onDelete = "spec.updateStrategy";
    h.apply(build(A, onDelete, "{type: OnDelete}"));
    runAll();
    String first = h.ds().hash();
    h.apply(build("other", onDelete, "{type: OnDelete}"));
    h.apply(build(B, onDelete, "{type: OnDelete}"));
    assertThat(h.ds().revisions()).extracting(StoredRevision::revision).containsExactly(1L, 2L, 3L);
    assertThat(h.ds().revisions().get(0).hash()).isEqualTo(first);
    assertThat(h.ds().revisions().get(0).templateJson()).contains(A);
    assertThat(h.ds().hash()).isNotEqualTo(first);
    assertThat(h.ds().status().updated()).as("the nodes run the first template, not the newest").isZero();
  }

  @Test
  void theSameTemplateAppliedAgainFindsItsRevisionAcrossARestart() {
    h.apply(build(A));
    h.apply(build(B));
    String second = h.ds().hash();
    h.crashAndRestart();
    h.apply(build(B));
    assertThat(h.ds().revision()).as("no change").isEqualTo(2);
    assertThat(h.ds().hash()).isEqualTo(second);
    h.apply(build(A));
    assertThat(h.ds().revision()).as("the first template again: its revision renumbered").isEqualTo(3);
    assertThat(h.ds().hash()).isEqualTo(plainHash(build(A)));
    assertThat(h.ds().revisions()).extracting(StoredRevision::revision).containsExactly(2L, 3L);
  }

  /**
   * A template applied again that an older revision holds in other text (stored by an older
   * coordinator's model) is that revision renumbered, with its stored text: agents take a template's
   * bytes for its identity with the hash (docs/wire.md), so the same revision's bytes never change.
   * Before 2026-12-06 the renumbered revision took the new canonical text, and the bytes sent for the
   * hash changed at the coordinator's next restart (its cache of them kept the old ones until then):
   * every node would restart the pod.
   */
  @Test
  void aRevisionRenumberedKeepsTheTextItWasStoredWith() throws Exception {
    String onDelete = "spec.updateStrategy";
    h.apply(build(A, onDelete, "{type: OnDelete}"));
    runAll();
    String first = h.ds().hash();
    h.apply(build("other", onDelete, "{type: OnDelete}"));
    try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("dsfleet.db")); var st = c.createStatement()) {
      assertThat(st.executeUpdate("UPDATE revisions SET template_json = ' ' || template_json WHERE revision = 1")).isEqualTo(1);
    }
    h.crashAndRestart();
    String stored = h.ds().revisions().get(0).templateJson();
    assertThat(stored).as("the same template in other text").startsWith(" {");
    h.apply(build(A, onDelete, "{type: OnDelete}"));
    assertThat(h.ds().revision()).isEqualTo(3);
    assertThat(h.ds().hash()).isEqualTo(first);
    assertThat(h.ds().revisions()).extracting(StoredRevision::revision).containsExactly(2L, 3L);
    assertThat(h.ds().revisions().get(1).templateJson()).isEqualTo(stored);
    h.crashAndRestart();
    for (Agent a : agents) {
      assertThat(a.last().getPodsList()).singleElement().satisfies(p -> {
        assertThat(p.getTemplateHash()).isEqualTo(first);
        assertThat(template(p)).isEqualTo(stored);
      });
    }
  }
}
