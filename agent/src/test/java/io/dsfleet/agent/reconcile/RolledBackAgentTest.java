package io.dsfleet.agent.reconcile;

import static io.dsfleet.agent.reconcile.TemplateIdentityTest.A_FIELDS;
import static io.dsfleet.agent.reconcile.TemplateIdentityTest.B_FIELDS;
import static io.dsfleet.agent.reconcile.TemplateIdentityTest.plus;
import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.common.TemplateHash;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.proto.v1.PodStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent upgraded again after a rollback of its package to a build before 2026-12-06 (which marks
 * no pod directory with its template, labels no container with a digest, and keeps a pod's
 * directory from template to template), over the in-memory runtime as ReconcilerTest. Seen on a
 * real fleet with the build of 2026-12-04 (docs/operations.md, "Across versions").
 */
class RolledBackAgentTest {
  @TempDir Path dir;
  FakeClock clock = new FakeClock();
  FakeRuntime runtime = new FakeRuntime(clock);
  List<List<PodStatus>> reports = new ArrayList<>();
  Reconciler r;

  @BeforeEach
  void images() {
    runtime.addImage("local/busybox:1");
    runtime.addImage("local/busybox:2");
  }

  Reconciler agent() {
    return new Reconciler("n1", "10.1.1.1", runtime, new ReconcilerTest.NoMounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST, dir,
        "test", ReconcilerTest.direct(), reports::add);
  }

  void ticks(int n) {
    for (int i = 0; i < n; i++) {
      clock.advance(Duration.ofSeconds(1));
      r.tick();
    }
  }

  /**
   * This agent ran template A (its directory marked for A); the rolled-back agent moved the pod to
   * B in the same directory, leaving A's mark, and B's container wrote to its emptyDir; this agent,
   * upgraded again, keeps B's running pod and its volumes, and marks the directory for B. Before the
   * fix it took the directory for A's, moved it to the trash and emptied it under B's running
   * containers: their emptyDir, ConfigMap and Secret files gone, the pod still reported Ready.
   */
  @Test
  void anAgentUpgradedAgainKeepsTheVolumesOfAPodARolledBackAgentMovedToANewTemplate() throws Exception {
    DaemonSet a = Pods.ds(plus(A_FIELDS, ReconcilerTest.SCRATCH));
    DaemonSet b = Pods.ds(plus(B_FIELDS, ReconcilerTest.SCRATCH));
    String hashA = TemplateHash.of(a.spec().template());
    String hashB = TemplateHash.of(b.spec().template());
    Path pod = dir.resolve("pods/ops_agent-abcde");
    r = agent();
    r.setDesired(Pods.state(a));
    ticks(3);
    String markOfA = Files.readString(pod.resolve("template-" + hashA));
    r.close();

    // the rolled-back agent: B's containers without a digest label, made in the directory A's mark still names
    runtime.labelsLeftOff.add(Labels.DIGEST);
    r = agent();
    r.setDesired(Pods.state(b));
    ticks(3);
    r.close();
    Files.delete(pod.resolve("template-" + hashB)); // an agent before 2026-12-06 writes no mark: A's stays alone
    Files.writeString(pod.resolve("template-" + hashA), markOfA);
    Path written = Files.write(pod.resolve("volumes/scratch/left-by-b"), new byte[] {1});
    assertThat(runtime.listOwned("n1").stream().filter(c -> c.running())).as("B's sandbox and container").hasSize(2)
        .allSatisfy(c -> assertThat(c.label(Labels.HASH)).isEqualTo(hashB));

    runtime.labelsLeftOff.clear();
    runtime.calls.clear();
    r = agent();
    r.setDesired(Pods.state(b));
    ticks(3); // the restarted agent writes each pod's volumes again: the mark below is read and written
    assertThat(runtime.calls).as("nothing stopped or made").noneMatch(c -> c.startsWith("create") || c.startsWith("stop"));
    assertThat(written).as("B's emptyDir kept").exists();
    assertThat(pod.resolve("template-" + hashA)).as("A's mark gone").doesNotExist();
    assertThat(Files.readString(pod.resolve("template-" + hashB))).isEqualTo(DesiredPod.digest(Pods.state(b).getPods(0).getTemplateJson()));
    assertThat(reports.get(reports.size() - 1).get(0).getReady()).isTrue();
  }

  /** A directory marked for A whose pod has no container of B yet is A's: B starts with fresh volumes, as before. */
  @Test
  void aNewTemplateWithoutContainersYetStillStartsWithFreshVolumes() throws Exception {
    DaemonSet a = Pods.ds(plus(A_FIELDS, ReconcilerTest.SCRATCH));
    DaemonSet b = Pods.ds(plus(B_FIELDS, ReconcilerTest.SCRATCH));
    Path pod = dir.resolve("pods/ops_agent-abcde");
    r = agent();
    r.setDesired(Pods.state(a));
    ticks(3);
    Path written = Files.write(pod.resolve("volumes/scratch/left-by-a"), new byte[] {1});
    r.setDesired(Pods.state(b));
    ticks(5);
    assertThat(runtime.listOwned("n1").stream().filter(c -> c.running() && Labels.APP.equals(c.label(Labels.ROLE))))
        .singleElement().satisfies(c -> assertThat(c.label(Labels.HASH)).isEqualTo(TemplateHash.of(b.spec().template())));
    assertThat(pod.resolve("volumes/scratch")).isDirectory();
    assertThat(written).as("what A wrote, not in B's emptyDir").doesNotExist();
  }

  /**
   * A rollout undone, A then B then A, while A's stopped containers stay (their removal refused
   * here; the collector also skips them while B's worker is busy, its image's pull, and keeps them as
   * A's latest runs once A is desired again): A starts with fresh volumes, nothing of B's in them.
   * Before the fix A's old containers, of its hash and digest, counted as A's running in B's
   * directory, which was kept for A: what B's containers wrote to the emptyDir (and B's Secret
   * files) reached A's.
   */
  @Test
  void aTemplateRolledBackToStartsWithFreshVolumesThoughItsOldContainersStay() throws Exception {
    DaemonSet a = Pods.ds(plus(A_FIELDS, ReconcilerTest.SCRATCH));
    DaemonSet b = Pods.ds(plus(B_FIELDS, ReconcilerTest.SCRATCH));
    String hashA = TemplateHash.of(a.spec().template());
    String hashB = TemplateHash.of(b.spec().template());
    Path pod = dir.resolve("pods/ops_agent-abcde");
    r = agent();
    r.setDesired(Pods.state(a));
    ticks(3);
    runtime.listOwned("n1").forEach(c -> runtime.failing.put("remove " + c.id(), "device or resource busy"));
    r.setDesired(Pods.state(b));
    ticks(5);
    assertThat(runtime.listOwned("n1").stream().filter(c -> c.running())).as("B's sandbox and container").hasSize(2)
        .allSatisfy(c -> assertThat(c.label(Labels.HASH)).isEqualTo(hashB));
    Path written = Files.write(pod.resolve("volumes/scratch/left-by-b"), new byte[] {1});

    r.setDesired(Pods.state(a));
    ticks(5);
    assertThat(runtime.listOwned("n1").stream().filter(c -> c.running())).as("A's sandbox and container again").hasSize(2)
        .allSatisfy(c -> assertThat(c.label(Labels.HASH)).isEqualTo(hashA));
    assertThat(runtime.listOwned("n1").stream().filter(c -> !c.running() && hashA.equals(c.label(Labels.HASH))))
        .as("A's first containers, still there").isNotEmpty();
    assertThat(pod.resolve("volumes/scratch")).isDirectory();
    assertThat(written).as("what B wrote, not in A's emptyDir").doesNotExist();
    assertThat(pod.resolve("template-" + hashB)).doesNotExist();
  }

  /**
   * An agent killed between B's mark (B's ConfigMap written into its volume) and B's first
   * container, started again on A (the rollout undone meanwhile): A's emptyDir of the same name is
   * fresh, none of B's files in it. Before the fix A's stopped containers, kept as its latest runs,
   * counted as A's running in B's directory, and A's emptyDir showed B's ConfigMap (a Secret alike).
   */
  @Test
  void anAgentKilledBetweenANewTemplatesMarkAndItsFirstContainerStartsTheOneBeforeAgainWithFreshVolumes() throws Exception {
    String[] mount = {"spec.template.spec.containers[0].volumeMounts", "[{name: creds, mountPath: /creds}]"};
    DaemonSet a = Pods.ds(plus(plus(A_FIELDS, mount), "spec.template.spec.volumes", "[{name: creds, emptyDir: {}}]"));
    DaemonSet b = Pods.ds(plus(plus(B_FIELDS, mount), "spec.template.spec.volumes", "[{name: creds, configMap: {name: cfg}}]"));
    var configs = ReconcilerTest.config(java.util.Map.of("password", "of-b"));
    Path creds = dir.resolve("pods/ops_agent-abcde/volumes/creds");
    r = agent();
    r.setDesired(Pods.state(a).toBuilder().addConfigs(configs).build());
    ticks(3);
    runtime.failing.put("create ", "killed before it"); // B's first container is never made: the agent dies after its mark
    r.setDesired(Pods.state(b).toBuilder().addConfigs(configs).build());
    ticks(1); // A's containers stopped, B's volumes written, its sandbox's create refused: the pass in which the agent dies
    assertThat(creds.resolve("password")).as("B's ConfigMap written before its first container").exists();
    r.close();

    runtime.failing.clear();
    r = agent();
    r.setDesired(Pods.state(a).toBuilder().addConfigs(configs).build());
    ticks(3);
    assertThat(runtime.listOwned("n1").stream().filter(c -> c.running() && Labels.APP.equals(c.label(Labels.ROLE)))).singleElement()
        .satisfies(c -> assertThat(c.label(Labels.HASH)).isEqualTo(TemplateHash.of(a.spec().template())));
    assertThat(runtime.listOwned("n1").stream().filter(c -> !c.running())).as("A's containers from before B").isNotEmpty();
    assertThat(creds).isDirectory();
    try (var files = Files.list(creds)) {
      assertThat(files).as("A's emptyDir, nothing of B's ConfigMap in it").isEmpty();
    }
  }

  /** Which containers show a template moved into another's directory by an agent that marks none: {@link RolledBackMarks#madeInIt}. */
  @Test
  void onlyARunningContainerWithoutADigestShowsItsTemplateMovedInByAnAgentThatMarksNone() {
    DesiredPod a = DesiredPod.parse(Pods.state(Pods.ds(A_FIELDS)), java.util.Map.of(), Pods.NODE, "10.1.1.1", dir, "test").get("ops/agent-abcde");
    assertThat(RolledBackMarks.madeInIt(a, Pods.C.app("c1", a.hash(), "main", 0, 0).build()))
        .as("running, no digest: an agent before 2026-12-06 made it in the directory").isTrue();
    assertThat(RolledBackMarks.madeInIt(a, Pods.C.app("c1", a.hash(), "main", 0, 0).exited(0, Pods.T0).build()))
        .as("stopped, no digest: an older agent's run of an earlier time of the template (A, B, A)").isFalse();
    assertThat(RolledBackMarks.madeInIt(a, Pods.C.app("c1", a.hash(), "main", 0, 0).label(Labels.DIGEST, a.digest()).build()))
        .as("running with a digest: an agent that marks made it, after marking for its template (one started again by hand)").isFalse();
    assertThat(RolledBackMarks.madeInIt(a, Pods.C.app("c1", "otherhash", "main", 0, 0).build())).as("another template's").isFalse();
  }
}
