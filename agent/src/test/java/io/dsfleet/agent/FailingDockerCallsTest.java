package io.dsfleet.agent;

import static io.dsfleet.agent.DockerHarness.ds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.agent.runtime.ContainerInfo;
import io.dsfleet.agent.runtime.DockerRuntime;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.proto.v1.PodStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent on the real Docker daemon, through a proxy that answers chosen calls with the
 * daemon's own errors while every other call is answered ({@link DockerFaults}): what one failing
 * call must not do to the rest of the node.
 */
class FailingDockerCallsTest {
  @TempDir Path tmp;
  DockerFaults faults;
  DockerHarness h;
  /** The daemon itself, not through the proxy: what the test sees. */
  final DockerRuntime direct = new DockerRuntime(DockerHarness.DOCKER_HOST);

  @BeforeEach
  void start() throws Exception {
    faults = new DockerFaults(tmp.resolve("docker.sock"), DockerHarness.DOCKER_HOST);
    // the relist every 2 s, not the agent's 30: a pass inspects only what an event names since stop 70, and the faults in
    // lists below show at the relist (two tests took 30 s each, waiting for it)
    h = DockerHarness.through(tmp.resolve("state"), faults.dockerHost(), Duration.ofSeconds(2));
  }

  @AfterEach
  void stop() throws Exception {
    faults.heal();
    h.close();
    faults.close();
    direct.close();
  }

  private static void docker(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("docker", "-H", DockerHarness.DOCKER_HOST));
    cmd.addAll(List.of(args));
    assertThat(io.dsfleet.common.testing.Processes.run(new ProcessBuilder(cmd), Duration.ofSeconds(60)).exit()).as("%s", cmd).isZero();
  }

  private ContainerInfo running(String pod) {
    return direct.listOwned(h.node, Map.of(Labels.POD, pod)).stream()
        .filter(c -> !Labels.SANDBOX.equals(c.label(Labels.ROLE)) && c.running()).findFirst().orElse(null);
  }

  /**
   * Docker answers one container's inspect with an error while its list line is fine (dockerd
   * 20.10 answers 500 when the container's overlay2 directory cannot be read: a disk's I/O error, a
   * clean-up that removed it): that container is known by its list line, as one whose inspect is
   * too large, and the node's other pods go on. Before, the error failed every pass of the node:
   * no pod was restarted, started, stopped or reported for as long as it lasted, the node said
   * Ready, and each pass (a second) listed again and logged the error's stack trace.
   */
  @Test
  void oneContainersFailingInspectHoldsNoOtherPodBack() throws Exception {
    h.reconciler.setDesired(DockerHarness.state(List.of(ds("metadata.name", "broken"), ds("metadata.name", "healthy"))));
    await().atMost(Duration.ofSeconds(60)).until(() -> running("broken-pod01") != null && running("healthy-pod01") != null);
    String broken = running("broken-pod01").id();
    String healthy = running("healthy-pod01").id();
    faults.fail(line -> line.contains("/containers/" + broken + "/json"), 500);
    // an event of the broken container (the agent inspects again what an event says changed; so it does after its
    // own restart, and every 5 minutes), then the healthy pod's container killed behind the agent's back
    docker("update", "--restart", "no", broken);
    docker("kill", healthy);
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
        .until(() -> running("healthy-pod01") != null && !running("healthy-pod01").id().equals(healthy));

    assertThat(faults.faulted(broken)).as("the agent looked at the broken container, and Docker failed its inspect").isPositive();
    assertThat(running("broken-pod01").id()).as("the container whose inspect fails runs on, untouched").isEqualTo(broken);
    long passes = h.reconciler.passes();
    await().atMost(Duration.ofSeconds(30)).until(() -> h.reconciler.passes() > passes + 2);
    PodStatus report = h.last.stream().filter(p -> p.getPodName().equals("broken-pod01")).findFirst().orElseThrow();
    assertThat(report.getContainersList()).as("and is reported running").allMatch(c -> c.getState().equals("running"));
    assertThat(h.reconciler.runtimeCondition().down()).as("the node's runtime is not said to be down for one container").isFalse();
  }

  /**
   * Docker answers one image's inspect with an error (dockerd 20.10 answers 500 when the image's
   * layer cannot be read), here from an agent's first look at a pod's new container: that pod is
   * held, its container neither taken for another's (nor for no pod's: the pod would be started a
   * second time beside it) nor replaced, reported as it was last known with why, and looked at again
   * at the next list (here the relist's); the node's other pods go on. Before, the error failed every list of the node:
   * no pod was restarted, started, stopped or reported, and after 30 s its runtime was said down.
   */
  @Test
  void anImageWhoseInspectFailsHoldsItsPodAloneAndNoOtherPodBack() throws Exception {
    String image = direct.inspectImage("local/busybox:2").orElseThrow().id();
    String hex = image.substring(image.indexOf(':') + 1);
    faults.fail(line -> line.contains("/images/") && line.contains(hex), 500); // by ID, as a list asks; its pull policy's look by name passes
    h.reconciler.setDesired(DockerHarness.state(List.of(ds("metadata.name", "broken", "spec.template.spec.containers[0].image",
        "local/busybox:2"), ds("metadata.name", "healthy"))));
    await().atMost(Duration.ofSeconds(60)).until(() -> running("broken-pod01") != null && running("healthy-pod01") != null);
    String broken = running("broken-pod01").id();
    String healthy = running("healthy-pod01").id();
    await().atMost(Duration.ofSeconds(30)).until(() -> faults.faulted(hex) > 0);
    docker("kill", healthy); // behind the agent's back: its event wakes a pass, whose list must go on past the broken image
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
        .until(() -> running("healthy-pod01") != null && !running("healthy-pod01").id().equals(healthy));
    h.settle(3);

    assertThat(direct.listOwned(h.node, Map.of(Labels.POD, "broken-pod01"))).as("the held pod's one container, running, untouched")
        .extracting(ContainerInfo::id, ContainerInfo::running).containsExactly(org.assertj.core.groups.Tuple.tuple(broken, true));
    PodStatus held = h.last.stream().filter(p -> p.getPodName().equals("broken-pod01")).findFirst().orElseThrow();
    assertThat(held.getReason()).isEqualTo("ImageLabelsUnknown");
    assertThat(held.getMessage()).as("naming the image and Docker's error").contains(image).contains("500");
    assertThat(h.reconciler.runtimeCondition().down()).as("the node's runtime is not said to be down for one image").isFalse();

    faults.heal();
    // an event of the other pod's alone, none of the held one's (whose own event would drop its remembered inspect): the
    // next list (the relist's) inspects the held container again, never remembered while its image's labels were not known
    docker("kill", running("healthy-pod01").id());
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> h.last.stream()
        .anyMatch(p -> p.getPodName().equals("broken-pod01") && p.getReason().isEmpty() && p.getPhase().equals("Running")));
    assertThat(running("broken-pod01").id()).as("once its image's labels are known the pod goes on as it ran").isEqualTo(broken);
  }

  /**
   * Docker refuses the agent's event stream while it answers everything else (an authorization
   * plugin, a socket proxy that does not pass events): the pods are still reconciled, every pass
   * listing (no stream says what changed), and the stream is asked for again after 1 s, doubling
   * to 30 s while each ends within a minute of its start. Before, each was asked for again a
   * second after the last ended, whatever: a request, a ping and an INFO line in the journal every
   * second for as long as it lasted (86,400 a day).
   */
  @Test
  void anEventStreamDockerRefusesIsAskedForAgainWithBackOff() throws Exception {
    h.run(ds());
    String first = running("agent-pod01").id();
    faults.fail(line -> line.contains("/events?"), 500);
    faults.cutEventStreams();
    await().atMost(Duration.ofSeconds(30)).until(() -> faults.faultedAt("/events?").size() >= 1);
    docker("kill", first); // no stream tells of it: a pass's list finds it
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
        .until(() -> running("agent-pod01") != null && !running("agent-pod01").id().equals(first));

    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> faults.faultedAt("/events?").size() >= 3);
    List<Long> at = faults.faultedAt("/events?");
    Duration second = Duration.ofNanos(at.get(2) - at.get(1));
    assertThat(second).as("the wait before the third refused stream (1 s, then 2 s: a second each before)")
        .isGreaterThan(Duration.ofMillis(1700));
  }

  /**
   * Docker refuses a stop (dockerd 20.10 at once when AppArmor denies the signal: "cannot kill
   * container: permission denied"): the container is stopped again after its back-off (10 s, 20 s,
   * ...), not by the pass that the refused stop's end woke at once. The passes run as the agent
   * runs them: every 200 ms here, and at once when work ends. Before, about 1,500 stops were refused
   * in 5 s, each with three lines of the journal.
   */
  @Test
  void aStopDockerRefusesIsTriedAgainAfterItsBackOffNotAtOnce() throws Exception {
    java.util.concurrent.ExecutorService loop = java.util.concurrent.Executors.newSingleThreadExecutor();
    java.util.concurrent.atomic.AtomicBoolean queued = new java.util.concurrent.atomic.AtomicBoolean();
    h.reconciler.wakeWith(() -> { // as AgentMain wires it
      if (queued.compareAndSet(false, true)) {
        loop.execute(() -> {
          queued.set(false);
          h.reconciler.tick();
        });
      }
    });
    try {
      h.run(ds());
      String id = running("agent-pod01").id();
      faults.fail(line -> line.contains("/containers/" + id + "/stop") || line.contains("/containers/" + id + "/kill"), 500);
      h.reconciler.setDesired(io.dsfleet.proto.v1.DesiredState.newBuilder().setVersion(2).build());
      await().atMost(Duration.ofSeconds(30)).until(() -> faults.faulted("/stop") >= 1);
      long passes = h.reconciler.passes();
      await().atMost(Duration.ofSeconds(30)).until(() -> h.reconciler.passes() >= passes + 10);
      assertThat(faults.faulted("/stop") + faults.faulted("/kill")).as("stops refused in the 10 passes after the first").isEqualTo(1);
      assertThat(running("agent-pod01").id()).as("the container runs on").isEqualTo(id);
      faults.heal();
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> running("agent-pod01") == null);
    } finally {
      loop.shutdownNow();
    }
  }

  /**
   * Docker refuses the exec of an exec liveness probe (an error status: dockerd answers an exec's
   * create 409 while the container is paused or restarting; here the proxy's 500): the probe could not run, which says
   * nothing of the container, and the result is thrown away, as the kubelet throws away a probe that
   * errored. Before, each refusal counted as a failure, and the container, healthy and running
   * throughout, was killed and restarted once its failureThreshold was reached.
   */
  @Test
  void anExecProbeDockerRefusesIsNoFailureOfTheContainer() throws Exception {
    h.run(ds("spec.template.spec.containers[0].livenessProbe", "{exec: {command: [\"true\"]}, periodSeconds: 1, failureThreshold: 2}"));
    String id = running("agent-pod01").id();
    faults.fail(line -> line.startsWith("POST") && line.contains("/exec"), 500); // every exec: the probe's of a restarted one too
    await().atMost(Duration.ofSeconds(30)).until(() -> faults.faulted("/exec") >= 4);
    long passes = h.reconciler.passes();
    await().atMost(Duration.ofSeconds(30)).until(() -> h.reconciler.passes() >= passes + 3 && h.reconciler.idle());
    assertThat(running("agent-pod01")).as("a container to run").isNotNull();
    assertThat(running("agent-pod01").id()).as("four probes Docker refused, failureThreshold 2: the container runs on, untouched")
        .isEqualTo(id);
    faults.heal();
  }

  /**
   * Docker answers the lists of the node's containers with none for a while (a daemon, or something
   * in front of its socket, answering wrongly): the running containers the lists leave out are
   * looked up one by one, and found, so nothing is started or stopped. Before, the first empty
   * list had the pod's sandbox made again beside the running one, and its container stopped as an
   * older sandbox's.
   */
  @Test
  void listsThatLeaveOutRunningContainersRestartNoPod() throws Exception {
    h.run(ds("spec.template.spec.containers[0].env", "[" + DockerHarness.ASKS_FOR_POD_IP + "]"));
    List<String> before = direct.listOwned(h.node).stream().map(ContainerInfo::id).sorted().toList();
    assertThat(before).as("a sandbox and its container").hasSize(2);
    faults.answer(line -> line.contains("/containers/json"), "[]");
    docker("kill", "--signal", "HUP", before.get(0)); // an event, which a pass inspects (HUP ends neither busybox's sleep nor pause)
    await().atMost(Duration.ofSeconds(30)).until(() -> faults.faulted("/containers/json") >= 1); // the relist's empty list
    long passes = h.reconciler.passes();
    await().atMost(Duration.ofSeconds(30)).until(() -> h.reconciler.passes() >= passes + 3 && h.reconciler.idle());
    faults.heal();
    assertThat(direct.listOwned(h.node).stream().map(ContainerInfo::id).sorted().toList())
        .as("the same two containers, nothing made or removed").isEqualTo(before);
    assertThat(direct.listOwned(h.node)).as("both running").allMatch(ContainerInfo::running);
  }
}
