package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.coordinator.fleet.FleetHarness.Agent;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A DaemonSet applied again in another spelling of the same template, one Kubernetes' API server stores as it stored
 * the first (a quantity's canonical text, a default it sets), is no new revision and replaces no pod, as in Kubernetes.
 */
class StoredFormRevisionTest {
  static final String RESOURCES = "spec.template.spec.containers[0].resources";
  static final String ENV = "spec.template.spec.containers[0].env";
  @TempDir Path dir;
  FleetHarness h;

  @AfterEach
  void close() {
    if (h != null) {
      h.close();
    }
  }

  static String spelled(String resources, String fieldRef, String... more) {
    String[] all = new String[4 + more.length];
    all[0] = RESOURCES;
    all[1] = resources;
    all[2] = ENV;
    all[3] = "[{name: NODE_NAME, valueFrom: {fieldRef: " + fieldRef + "}}]";
    System.arraycopy(more, 0, all, 4, more.length);
    return FleetHarness.manifest(all);
  }

  @Test
  void anotherSpellingOfTheSameStoredTemplateIsNoNewRevisionAndMovesNoNode() {
    h = new FleetHarness(dir);
    List<Agent> agents = h.agents(3);
    h.apply(spelled("{limits: {cpu: '0.5', memory: 1Gi}, requests: {cpu: 100m}}", "{fieldPath: spec.nodeName}"));
    agents.forEach(a -> a.runDesired(true));
    String hash = h.ds().hash();
    long generation = h.ds().generation();
    assertThat(h.ds().rolledOut()).isTrue();
    int sent = agents.get(0).sent.size();

    // as Kubernetes stores the first: 500m, 1Gi, 0.1 is 100m, the fieldRef's apiVersion v1, the pod's securityContext {}
    h.apply(spelled("{limits: {cpu: 500m, memory: 1024Mi}, requests: {cpu: '0.1'}}", "{apiVersion: v1, fieldPath: spec.nodeName}",
        "spec.template.spec.securityContext", "{}"));
    h.fleet.rolloutPass();
    assertThat(h.ds().revisions()).as("one stored template, one revision").hasSize(1);
    assertThat(h.ds().hash()).isEqualTo(hash);
    assertThat(h.ds().generation()).as("no change of the spec as stored: the generation stays").isEqualTo(generation);
    assertThat(agents).allSatisfy(a -> assertThat(a.desiredHashes()).as(a.name).containsExactly(hash));
    assertThat(h.ds().rollout().moving()).as("no node moved").isEmpty();
    assertThat(agents.get(0).sent.size() - sent).as("nothing new sent to n0").isZero();
    assertThat(h.ds().rolledOut()).isTrue();

    // a quantity of another value, or of another format (Kubernetes keeps 1073741824 apart from 1Gi), is a new revision
    h.apply(spelled("{limits: {cpu: 500m, memory: '1073741824'}, requests: {cpu: 100m}}", "{fieldPath: spec.nodeName}"));
    assertThat(h.ds().revisions()).hasSize(2);
    h.apply(spelled("{limits: {cpu: 600m, memory: 1Gi}, requests: {cpu: 100m}}", "{fieldPath: spec.nodeName}"));
    assertThat(h.ds().revisions()).hasSize(3);
    // and the first spelling again is the revision it was, renumbered (rollout undo's way), not a fourth
    h.apply(spelled("{limits: {cpu: 500m, memory: 1024Mi}, requests: {cpu: '0.1'}}", "{apiVersion: v1, fieldPath: spec.nodeName}"));
    assertThat(h.ds().revisions()).hasSize(3);
    assertThat(h.ds().hash()).isEqualTo(hash);
  }

  /**
   * A store written before 2026-12-08 may keep two revisions of one stored template (the text
   * decided then, and {@code 500m} after {@code 0.5} made a second): the older spelling applied
   * again (the chart that wrote it) is the revision running now. Until helper-203 the older
   * revision's exact text was matched first, it was renumbered the newest, and every node's pod
   * was replaced by the same template.
   */
  @Test
  void theSpellingOfAnOlderRevisionOfTheSameStoredTemplateIsTheCurrentOne() {
    h = new FleetHarness(dir);
    List<Agent> agents = h.agents(2);
    String chart = spelled("{limits: {cpu: '0.5'}}", "{fieldPath: spec.nodeName}");
    h.apply(chart);
    agents.forEach(a -> a.runDesired(true));
    String first = h.ds().hash();

    // what a coordinator before 2026-12-08 stored for 500m: a second revision, rolled out
    String exported = spelled("{limits: {cpu: 500m}}", "{fieldPath: spec.nodeName}");
    io.dsfleet.common.model.DaemonSet ds = (io.dsfleet.common.model.DaemonSet) io.dsfleet.common.manifest.ManifestParser.parseOne(exported);
    String second = io.dsfleet.common.TemplateHash.of(ds.spec().template());
    assertThat(second).isNotEqualTo(first);
    FleetView.DsSnapshot was = h.ds();
    h.store.putObjects(List.of(new io.dsfleet.coordinator.store.Store.ObjectWrite(new io.dsfleet.coordinator.store.Store.StoredObject(
        "DaemonSet", "ops", "agent", io.dsfleet.common.Json.canonical(ds), was.generation() + 1, 0, was.createdAtMillis()),
        was.resourceVersion(), new io.dsfleet.coordinator.store.Store.StoredRevision("ops", "agent", 0, second,
            io.dsfleet.common.Json.canonical(ds.spec().template()), null, h.clock.millis()), List.of(),
        was.rollout().next(second, h.clock.millis()).toJson())));
    h.crashAndRestart();
    agents.forEach(a -> a.runDesired(true));
    h.fleet.rolloutPass();
    assertThat(h.ds().hash()).isEqualTo(second);
    assertThat(h.ds().revisions()).hasSize(2);
    assertThat(h.ds().rolledOut()).isTrue();

    int sent = agents.get(0).sent.size();
    h.apply(chart);
    h.fleet.rolloutPass();
    assertThat(h.ds().hash()).as("the revision running now").isEqualTo(second);
    assertThat(h.ds().revisions()).hasSize(2);
    assertThat(agents.get(0).sent.size() - sent).as("nothing new sent to n0").isZero();
    assertThat(agents).allSatisfy(a -> assertThat(a.desiredHashes()).as(a.name).containsExactly(second));
    assertThat(h.ds().rolledOut()).isTrue();
  }
}
