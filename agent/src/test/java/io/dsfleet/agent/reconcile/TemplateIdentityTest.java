package io.dsfleet.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.DockerHarness;
import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.ContainerSpec;
import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.agent.runtime.OwnedContainer;
import io.dsfleet.common.TemplateHash;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.PodStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which template a pod's containers are of: its hash (40 bits, which a template can be made to
 * share with another: about 2^20 tries) and the digest of the template's bytes as sent. A
 * DaemonSet made again after a delete knows none of the deleted one's revisions, so the coordinator
 * cannot re-hash a template colliding with one of them, and sends it under the old one's hash: the
 * agent must still run the template it was sent. Over the in-memory runtime, as ReconcilerTest.
 */
class TemplateIdentityTest {
  @TempDir Path dir;
  FakeClock clock = new FakeClock();
  FakeRuntime runtime = new FakeRuntime(clock);
  List<List<PodStatus>> reports = new ArrayList<>();

  /** Template A: busybox:1 sleeping, its preStop hook says "a"; in a sandbox (it asks for its pod's IP). */
  static final String[] A_FIELDS = {"spec.template.spec.containers[0].env[1]", DockerHarness.ASKS_FOR_POD_IP,
      "spec.template.spec.containers[0].lifecycle", "{preStop: {exec: {command: [hook-of-a]}}}"};
  /** Template B: another image and command, its hook says "b". */
  static final String[] B_FIELDS = {"spec.template.spec.containers[0].env[1]", DockerHarness.ASKS_FOR_POD_IP,
      "spec.template.spec.containers[0].image", "local/busybox:2", "spec.template.spec.containers[0].command", "[sh, -c, 'sleep 2000']",
      "spec.template.spec.containers[0].lifecycle", "{preStop: {exec: {command: [hook-of-b]}}}"};
  static final DaemonSet A = Pods.ds(A_FIELDS);
  static final DaemonSet B = Pods.ds(B_FIELDS);
  static final String H = TemplateHash.of(A.spec().template());

  @BeforeEach
  void images() {
    runtime.addImage("local/busybox:1");
    runtime.addImage("local/busybox:2");
  }

  Reconciler agent() {
    return new Reconciler("n1", "10.1.1.1", runtime, new ReconcilerTest.NoMounts(), clock, Backoff.KUBERNETES, Reconciler.RELIST, dir,
        "test", ReconcilerTest.direct(), reports::add);
  }

  /** {@code ds}'s template sent under A's hash, as a DaemonSet made again with a template colliding with the deleted one's. */
  static DesiredState underH(DaemonSet ds, long version) {
    return under(ds, H, version);
  }

  static DesiredState under(DaemonSet ds, String hash, long version) {
    DesiredState s = Pods.state(ds);
    return s.toBuilder().setVersion(version).setPods(0, s.getPods(0).toBuilder().setTemplateHash(hash)).build();
  }

  void ticks(int n) {
    for (int i = 0; i < n; i++) {
      clock.advance(Duration.ofSeconds(1));
      r.tick();
    }
  }

  Reconciler r;

  List<ContainerInfo> running(String role) {
    return runtime.listOwned("n1").stream().filter(c -> c.running() && role.equals(c.label(Labels.ROLE))).toList();
  }

  /** The image ID the runtime gives {@code image} (a container is made from its image's ID). */
  static String id(String image) {
    return "sha256:" + Integer.toHexString(image.hashCode());
  }

  ContainerSpec spec(ContainerInfo c) {
    return runtime.specs().stream().filter(s -> s.name().equals(c.name())).findFirst().orElseThrow();
  }

  /** A's pod running, as the agent made it. */
  ContainerInfo aRuns() {
    r = agent();
    r.setDesired(Pods.state(A));
    ticks(3);
    assertThat(running(Labels.APP)).singleElement().satisfies(c -> {
      assertThat(spec(c).image()).isEqualTo(id("local/busybox:1"));
      assertThat(spec(c).entrypoint()).containsExactly("sh", "-c", "sleep 1000");
    });
    return running(Labels.APP).get(0);
  }

  /** B runs in place of A: its image and command, in a sandbox of its own, and the report says so. */
  void bRunsInPlaceOf(ContainerInfo a) {
    assertThat(runtime.listOwned("n1")).as("A's container stopped").noneMatch(c -> c.id().equals(a.id()) && c.running());
    assertThat(runtime.calls).as("A's container stopped").contains("stop " + a.name());
    assertThat(running(Labels.APP)).singleElement().satisfies(c -> {
      assertThat(spec(c).image()).isEqualTo(id("local/busybox:2"));
      assertThat(spec(c).entrypoint()).containsExactly("sh", "-c", "sleep 2000");
      assertThat(c.label(Labels.HASH)).isEqualTo(H);
      assertThat(c.label(Labels.DIGEST)).isEqualTo(DesiredPod.digest(underH(B, 2).getPods(0).getTemplateJson()));
    });
    assertThat(running(Labels.SANDBOX)).singleElement().satisfies(s -> assertThat(s.label(Labels.DIGEST))
        .isEqualTo(running(Labels.APP).get(0).label(Labels.DIGEST)));
    PodStatus last = reports.get(reports.size() - 1).get(0);
    assertThat(last.getContainersList()).singleElement().satisfies(c -> {
      assertThat(c.getImage()).isEqualTo("local/busybox:2");
      assertThat(c.getContainerId()).isEqualTo(running(Labels.APP).get(0).id());
    });
    assertThat(last.getTemplateDigest()).as("the report names the template by its digest too: the coordinator tells A's reports from B's")
        .isEqualTo(DesiredPod.digest(underH(B, 2).getPods(0).getTemplateJson()));
  }

  /**
   * An agent that finds A's containers (labelled hash H and A's digest) and is sent H with B's
   * bytes stops them and starts B. Before 2026-12-06 the hash alone said: A's containers were B's
   * pod, kept, and reported as B while the DaemonSet showed B.
   */
  @Test
  void containersOfAnotherTemplateUnderTheirHashAreReplaced() {
    ContainerInfo a = aRuns();
    r.close();
    r = agent(); // an agent that never saw A: only its containers say what they are
    r.setDesired(underH(B, 2));
    ticks(3);
    bRunsInPlaceOf(a);
  }

  /**
   * The agent given A under H and then B under H reads B (before 2026-12-06 it reused A's parsed
   * template, the hash being the same, and never read B's bytes), and A's container stops with A's
   * own preStop hook, not B's (the templates it keeps for hooks were by hash alone).
   */
  @Test
  void aTemplateSentUnderAKnownHashIsReadAndTheOldOneStopsWithItsOwnHook() {
    ContainerInfo a = aRuns();
    runtime.calls.clear();
    r.setDesired(underH(B, 2));
    ticks(3);
    bRunsInPlaceOf(a);
    assertThat(runtime.calls).as("A's hook ran, B's did not").contains("exec hook-of-a").doesNotContain("exec hook-of-b");
  }

  /**
   * A container without the digest label (made by an agent before 2026-12-06) is taken by its hash
   * alone: an agent's upgrade restarts no pod, whatever bytes come under the hash.
   */
  @Test
  void aContainerWithoutADigestIsKeptByItsHashAlone() {
    runtime.labelsLeftOff.add(Labels.DIGEST);
    ContainerInfo a = aRuns();
    assertThat(a.label(Labels.DIGEST)).as("as an older agent made it").isNull();
    r.close();
    runtime.labelsLeftOff.clear();
    runtime.calls.clear();
    r = agent();
    r.setDesired(underH(B, 2));
    ticks(3);
    assertThat(runtime.calls).as("nothing stopped or made").noneMatch(c -> c.startsWith("create") || c.startsWith("stop"));
    assertThat(running(Labels.APP)).singleElement().satisfies(c -> assertThat(c.id()).isEqualTo(a.id()));
    assertThat(reports.get(reports.size() - 1).get(0).getReady()).isTrue();
  }

  /**
   * An agent upgraded over an older one's pod (its sandbox and container without a digest label, its
   * directory's mark empty, its emptyDir written to) restarts nothing and keeps the volume: the
   * restarted agent writes each pod's volumes again, and the mark it then reads is an older agent's,
   * taken by its hash; it holds the digest from then on.
   */
  @Test
  void anUpgradedAgentRestartsNoPodAndKeepsItsVolumes() throws Exception {
    DaemonSet a = Pods.ds(plus(A_FIELDS, ReconcilerTest.SCRATCH));
    String hash = TemplateHash.of(a.spec().template());
    runtime.labelsLeftOff.add(Labels.DIGEST);
    r = agent();
    r.setDesired(Pods.state(a));
    ticks(3);
    Path pod = dir.resolve("pods/ops_agent-abcde");
    java.nio.file.Files.write(pod.resolve("template-" + hash), new byte[0]); // as an agent before 2026-12-06 marked it
    Path written = java.nio.file.Files.write(pod.resolve("volumes/scratch/left-by-the-pod"), new byte[] {1});
    r.close();
    assertThat(runtime.listOwned("n1")).as("as an older agent made them").hasSize(2).allSatisfy(c -> {
      assertThat(c.running()).isTrue();
      assertThat(c.label(Labels.DIGEST)).isNull();
    });
    runtime.labelsLeftOff.clear();
    runtime.calls.clear();
    r = agent();
    r.setDesired(Pods.state(a));
    ticks(3); // the mark read and written again below shows the new agent wrote the pod's volumes
    assertThat(runtime.calls).as("nothing stopped or made").noneMatch(c -> c.startsWith("create") || c.startsWith("stop"));
    assertThat(written).as("the pod's emptyDir kept").exists();
    assertThat(java.nio.file.Files.readString(pod.resolve("template-" + hash))).isEqualTo(DesiredPod.digest(Pods.state(a).getPods(0)
        .getTemplateJson()));
    assertThat(reports.get(reports.size() - 1).get(0).getReady()).isTrue();
  }

  /** A digest label that is not one (64 lowercase hex digits) makes the container not the agent's, with the reason. */
  @Test
  void aMalformedDigestLabelIsRefusedWithItsReason() {
    for (String bad : new String[] {"", "ABCDEF", "0".repeat(63), "0".repeat(64) + "0", "g".repeat(64), "A".repeat(64)}) {
      StringBuilder why = new StringBuilder();
      assertThat(OwnedContainer.of(Pods.C.app("c1", "abc", "main", 0, 0).label(Labels.DIGEST, bad).info(), Pods.NODE, why))
          .as("digest \"%s\"", bad).isEmpty();
      assertThat(why.toString()).isEqualTo("label io.dsfleet.template-digest is not a template digest (64 lowercase hex digits of SHA-256)");
    }
    String good = "0123456789abcdef".repeat(4);
    assertThat(Pods.C.app("c1", "abc", "main", 0, 0).label(Labels.DIGEST, good).build().digest()).isEqualTo(good);
    assertThat(Pods.C.app("c1", "abc", "main", 0, 0).build().digest()).as("none: an older agent's").isNull();
  }

  /**
   * The template sent under the hash of the one whose pod the node runs starts with fresh volumes,
   * as any new template does: the pod directory's mark holds the digest, and A's emptyDir (what A's
   * containers wrote) is not B's. Before 2026-12-06 the mark was the hash alone.
   */
  @Test
  void theTemplateUnderTheSameHashStartsWithFreshVolumes() throws Exception {
    DaemonSet a = Pods.ds(plus(A_FIELDS, ReconcilerTest.SCRATCH));
    DaemonSet b = Pods.ds(plus(B_FIELDS, ReconcilerTest.SCRATCH));
    r = agent();
    r.setDesired(Pods.state(a));
    ticks(3);
    Path pod = dir.resolve("pods/ops_agent-abcde");
    Path written = java.nio.file.Files.write(pod.resolve("volumes/scratch/left-by-a"), new byte[] {1});
    r.close();
    r = agent();
    DesiredState underA = under(b, TemplateHash.of(a.spec().template()), 2);
    r.setDesired(underA);
    ticks(3);
    assertThat(running(Labels.APP)).singleElement().satisfies(c -> assertThat(spec(c).image()).isEqualTo(id("local/busybox:2")));
    assertThat(pod.resolve("volumes/scratch")).as("B's emptyDir").isDirectory();
    assertThat(written).as("what A wrote, not in B's emptyDir").doesNotExist();
    assertThat(java.nio.file.Files.readString(pod.resolve("template-" + TemplateHash.of(a.spec().template()))))
        .isEqualTo(DesiredPod.digest(underA.getPods(0).getTemplateJson()));
  }

  /**
   * A pod sent without its template (by name alone, under the revision its node last reported: a
   * plan made from a report older than the node's last set would name the one before) under a hash
   * other than the one the agent runs it by keeps the template it runs, under that template's own
   * hash, and is reported so. Before 2026-12-06 the agent took the hash sent with the template
   * it had: it stopped B's containers and started B's template again labelled A's hash, and reported
   * A's revision running while the node ran B's.
   */
  @Test
  void aPodSentWithoutItsTemplateUnderAnotherHashKeepsTheTemplateItRunsUnderItsOwnHash() {
    r = agent();
    r.setDesired(Pods.state(A));
    ticks(3);
    String hashOfB = TemplateHash.of(B.spec().template());
    r.setDesired(Pods.state(B).toBuilder().setVersion(2).build());
    ticks(3);
    ContainerInfo b = running(Labels.APP).get(0);
    assertThat(spec(b).image()).isEqualTo(id("local/busybox:2"));
    runtime.calls.clear();
    DesiredState byName = Pods.state(A);
    r.setDesired(byName.toBuilder().setVersion(3).setPods(0, byName.getPods(0).toBuilder().clearTemplateJson()).build());
    ticks(3);
    assertThat(runtime.calls).as("nothing stopped or made").noneMatch(c -> c.startsWith("create") || c.startsWith("stop"));
    assertThat(running(Labels.APP)).singleElement().satisfies(c -> {
      assertThat(c.id()).isEqualTo(b.id());
      assertThat(c.label(Labels.HASH)).isEqualTo(hashOfB);
    });
    PodStatus last = reports.get(reports.size() - 1).get(0);
    assertThat(last.getTemplateHash()).as("what the node runs").isEqualTo(hashOfB);
    assertThat(last.getReady()).isTrue();
  }

  static String[] plus(String[] a, String... more) {
    String[] all = java.util.Arrays.copyOf(a, a.length + more.length);
    System.arraycopy(more, 0, all, a.length, more.length);
    return all;
  }
}
