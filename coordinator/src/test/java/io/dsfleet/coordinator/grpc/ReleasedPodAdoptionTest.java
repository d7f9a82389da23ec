package io.dsfleet.coordinator.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.coordinator.plan.PodNames;
import io.dsfleet.proto.v1.*;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A DaemonSet applied again adopts the pod it released on a node whatever the pod's name: a surge
 * rollout alternates a node's pod between its first name and its surge name ("-s"), and a name
 * taken elsewhere moves a pod to another salt. Adoption went by the name the planner gives a node
 * it has never heard of, the first one: a pod released under another name stayed released, running
 * for good, and a second copy started beside it.
 */
class ReleasedPodAdoptionTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  @TempDir Path dir;
  CoordinatorFixture c;

  @BeforeEach
  void start() throws Exception {
    c = new CoordinatorFixture(dir);
  }

  @AfterEach
  void stop() {
    c.close();
  }

  private void apply(String yaml) {
    c.control().apply(ApplyRequest.newBuilder().setManifests(yaml).setSource("test.yaml").build());
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"surge name", "second salt"})
  void aReleasedPodIsAdoptedUnderItsOwnName(String which) throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    a.nextDesired(WAIT);
    apply(Fixtures.BASE);
    DesiredPod first = a.nextDesired(WAIT).getPods(0);
    String name = which.equals("surge name") ? first.getPodName() + PodNames.SURGE : PodNames.name("agent", "node-a", 1);
    // the node runs the DaemonSet's pod under that name (a surge rollout ended on it, or its first name was taken)
    a.report(PodStatus.newBuilder().setNamespace("ops").setDaemonSet("agent").setPodName(name).setTemplateHash(first.getTemplateHash())
        .setPhase("Running").setReady(true).setReadySinceMillis(1).build());
    assertThat(a.nextDesired(WAIT).getPodsList()).extracting(DesiredPod::getPodName).containsExactly(name);
    c.control().delete(DeleteRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").setName("agent").setCascade(false).build());
    assertThat(a.nextDesired(WAIT).getOrphanedPodKeysList()).containsExactly("ops/" + name);
    a.report(); // a released pod is no longer reported among the node's pods
    apply(Fixtures.BASE);
    DesiredState again = a.nextDesired(WAIT);
    assertThat(again.getPodsList()).as("adopted as it runs, no second copy beside it").extracting(DesiredPod::getPodName).containsExactly(name);
    assertThat(again.getOrphanedPodKeysList()).isEmpty();
  }
}
