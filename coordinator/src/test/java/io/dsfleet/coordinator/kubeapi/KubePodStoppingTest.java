package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.proto.v1.ApplyRequest;
import io.dsfleet.proto.v1.ContainerStatus;
import io.dsfleet.proto.v1.DesiredPod;
import io.dsfleet.proto.v1.PodStatus;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pod its agent reports stopping (phase Terminating, docs/agent.md) as the Kubernetes API serves
 * it: phase Running with a deletionTimestamp and deletionGracePeriodSeconds, as Kubernetes shows a
 * pod being deleted, the timestamp the same from read to read of one stop; kubectl prints it
 * Terminating, and the field selector and a watch see what a get does. Before 2026-12-07 its phase
 * was served as Terminating, none of Kubernetes' five.
 */
class KubePodStoppingTest {
  @TempDir Path dir;

  @BeforeAll
  static void installed() {
    Kubectl.assumeInstalled();
  }

  private static PodStatus pod(DesiredPod p, String phase, long startedAt) {
    boolean running = phase.equals("Running");
    return PodStatus.newBuilder().setNamespace(p.getNamespace()).setDaemonSet(p.getDaemonSet()).setPodName(p.getPodName())
        .setTemplateHash(p.getTemplateHash()).setPhase(phase).setReady(running).setReadySinceMillis(running ? startedAt : 0)
        .setStartedAtMillis(startedAt).addContainers(ContainerStatus.newBuilder().setName("main").setState("running").setReady(running))
        .build();
  }

  @Test
  void aPodBeingStoppedIsServedRunningWithADeletionTimestampKubectlPrintsAsTerminating() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      FakeAgent a = c.agent("node-a", java.util.Map.of());
      a.nextDesired(Duration.ofSeconds(10));
      c.control().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE.replace("      containers:\n",
          "      terminationGracePeriodSeconds: 45\n      containers:\n")).build());
      DesiredPod desired = a.nextDesired(Duration.ofSeconds(10)).getPods(0);
      String name = desired.getPodName();
      a.report(pod(desired, "Running", c.clock.millis()));
      Kubectl k = Kubectl.insecure(c, api, dir);
      String phaseAndDeletion = "jsonpath={.status.phase} {.metadata.deletionTimestamp} {.metadata.deletionGracePeriodSeconds}{\"\\n\"}";
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> k.ok("get", "pod", name, "-n", "ops", "-o", phaseAndDeletion)
          .equals("Running  \n"));

      // a watch opened while it runs: it hears of the stop as a get reads it
      Process watch = new ProcessBuilder(k.command("get", "pods", "-n", "ops", "-w", "-o", phaseAndDeletion))
          .redirectError(ProcessBuilder.Redirect.DISCARD)
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
      List<String> heard = new CopyOnWriteArrayList<>();
      Thread reader = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(watch.getInputStream()))) {
          for (String line; (line = r.readLine()) != null; ) {
            heard.add(line);
          }
        } catch (java.io.IOException e) {
          // the process was ended
        }
      });
      reader.start();
      try {
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> heard.contains("Running  ")); // the watch's list, read

        Instant stopSeen = c.clock.instant();
        a.report(pod(desired, "Terminating", c.clock.millis()));
        String stopping = "Running " + KubeObjects.timestamp(stopSeen.toEpochMilli()) + " 45\n";
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> k.ok("get", "pod", name, "-n", "ops", "-o", phaseAndDeletion)
            .equals(stopping));
        c.clock.advance(Duration.ofSeconds(3));
        assertThat(k.ok("get", "pod", name, "-n", "ops", "-o", phaseAndDeletion)).as("the same stop, read again later").isEqualTo(stopping);
        assertThat(k.ok("get", "pods", "-n", "ops", "-o", "jsonpath={range .items[*]}" + phaseAndDeletion.substring("jsonpath=".length())
            + "{end}")).as("in a list").isEqualTo(stopping);

        assertThat(KubectlTest.withoutAge(k.ok("get", "pods", "-n", "ops"))).containsExactly("NAME" + " ".repeat(name.length() - 1)
            + "READY   STATUS        RESTARTS", name + "   0/1     Terminating   0");
        String running = k.ok("get", "pods", "-n", "ops", "--field-selector", "status.phase=Running");
        assertThat(running).contains(name).contains("Terminating");
        assertThat(k.run("get", "pods", "-n", "ops", "--field-selector", "status.phase=Terminating").out()).contains("No resources found");

        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> heard.contains(stopping.strip()));
        assertThat(heard).as("no event carries a phase Kubernetes has not").allMatch(l -> l.startsWith("Running "));
      } finally {
        watch.destroy();
        reader.join(10_000);
      }

      // started again, then stopped again: another stop, another time
      a.report(pod(desired, "Running", c.clock.millis()));
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> k.ok("get", "pod", name, "-n", "ops", "-o", phaseAndDeletion)
          .equals("Running  \n"));
      c.clock.advance(Duration.ofSeconds(3));
      Instant again = c.clock.instant();
      a.report(pod(desired, "Terminating", c.clock.millis()));
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> k.ok("get", "pod", name, "-n", "ops", "-o", phaseAndDeletion)
          .equals("Running " + KubeObjects.timestamp(again.toEpochMilli()) + " 45\n"));
    }
  }

  @Test
  void aStopIsForgottenOnceItsPodIsReadNotStoppingOrNotReadInItsNamespace() {
    FakeClock clock = new FakeClock();
    PodStops stops = new PodStops(clock);
    var pod = io.dsfleet.common.Json.mapper().createObjectNode();
    stops.show(pod, "ops", "a", true);
    stops.show(pod.deepCopy(), "ops", "b", true);
    stops.show(pod.deepCopy(), "web", "c", true);
    assertThat(pod.path("metadata").path("deletionGracePeriodSeconds").asLong()).as("no template's: Kubernetes' default").isEqualTo(30);
    stops.show(pod.deepCopy(), "ops", "a", false);
    assertThat(stops.remembered()).isEqualTo(2);
    stops.keepOnly("ops", Set.of()); // b gone from a read of its namespace; web's pod not read
    assertThat(stops.remembered()).isEqualTo(1);
    stops.keepOnly(null, Set.of("web/c"));
    assertThat(stops.remembered()).isEqualTo(1);
    stops.keepOnly(null, Set.of());
    assertThat(stops.remembered()).isZero();
  }
}
