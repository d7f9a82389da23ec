package io.dsfleet.agent;

import static io.dsfleet.agent.DockerHarness.ds;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A container with a memory limit can have the kernel OOM-kill a child of its own as often as it
 * likes (about 13 times a second from a shell loop here) and run on: Docker sends an {@code oom}
 * event for each. Every event the agent follows wakes a full pass (a list of the node's containers)
 * and drops the container's inspect, so such a container kept the agent's one reconcile thread and
 * the daemon listing and inspecting back to back. The agent reads nothing of an {@code oom} event
 * (a container that dies of it sends {@code die}), so it no longer follows them; the container's
 * {@code die} still wakes a pass (the stream ran throughout). On the real daemon.
 */
class OomEventsTest extends OnDocker {
  static final String C0 = "spec.template.spec.containers[0]";

  @Test
  void aContainerThatOomKillsItsOwnChildrenInALoopDoesNotDriveTheAgentsPasses() throws Exception {
    AtomicLong wakes = new AtomicLong();
    h.reconciler.wakeWith(wakes::incrementAndGet); // what the agent's loop runs a pass for, at once (AgentMain)
    h.run(ds(C0 + ".resources", "{limits: {memory: 16Mi}}",
        // each dd first made the kernel's choice (oom_score_adj 1000, which no capability is needed for): the
        // container's own shell, or the test's exec, picked once in a CI rehearsal, ended the container
        C0 + ".command", "[sh, -c, 'trap \"exit 0\" TERM; while :; do sh -c \"echo 1000 > /proc/self/oom_score_adj; exec dd if=/dev/zero"
            + " bs=32M count=1 of=/dev/null 2>/dev/null\"; done']"));
    Thread.sleep(2000); // the start's own events and passes are over
    long oomBefore = oomKills();
    long wakesBefore = wakes.get();
    long inspectsBefore = h.docker.inspects();
    Thread.sleep(5000);
    long oomKills = oomKills() - oomBefore;
    long woken = wakes.get() - wakesBefore;
    long inspected = h.docker.inspects() - inspectsBefore;
    assertThat(oomKills).as("the container OOM-killed its children meanwhile").isGreaterThanOrEqualTo(10);
    assertThat(woken).as("passes the container's OOM kills woke in 5 s (" + oomKills + " kills)").isLessThanOrEqualTo(2);
    assertThat(inspected).as("inspects of the container in 5 s").isLessThanOrEqualTo(2);
    // the stream ran all along: the container's die event wakes a pass at once (with no stream, nothing wakes
    // one and the counts above held whatever the agent followed)
    long beforeKill = wakes.get();
    assertThat(io.dsfleet.common.testing.Processes.run(new ProcessBuilder("docker", "kill", h.container("main").id()),
        java.time.Duration.ofSeconds(60)).exit()).isZero();
    org.awaitility.Awaitility.await("a pass woken by the container's die event").atMost(java.time.Duration.ofSeconds(10))
        .until(() -> wakes.get() > beforeKill);
  }

  /**
   * A container the kernel's OOM killer ended is reported OOMKilled, as the kubelet reports it (from Docker's
   * State.OOMKilled), and its crash back-off names it: until 2026-12-08 it was an Error of exit code 137, as any kill.
   */
  @Test
  void aContainerTheOomKillerEndsIsReportedOomKilled() {
    h.reconciler.setDesired(DockerHarness.state(ds(C0 + ".resources", "{limits: {memory: 16Mi}}",
        C0 + ".command", "[sh, -c, 'echo 1000 > /proc/self/oom_score_adj; exec dd if=/dev/zero bs=32M count=1 of=/dev/null']")));
    var s = h.awaitStatus(p -> p.getContainersCount() > 0 && p.getContainers(0).getRestartCount() >= 1
        && (p.getContainers(0).getReason().equals("OOMKilled") || p.getContainers(0).getReason().equals("CrashLoopBackOff")),
        java.time.Duration.ofSeconds(30));
    var main = s.getContainers(0);
    assertThat(main.getReason().equals("OOMKilled") || main.getMessage().endsWith("(last exit code 137, OOMKilled)"))
        .as(main.getReason() + ": " + main.getMessage()).isTrue();
  }

  /**
   * The kernel's count of OOM kills in the container's memory cgroup (v1 or v2), read on the host
   * where Docker's cgroupfs or systemd layout has it: an exec into the container runs in its
   * cgroup, where the kernel may pick it, or finds the container ended by a kill the kernel gave
   * its own shell (a rehearsal's "is not running"); else through an exec, tried again.
   */
  private long oomKills() throws InterruptedException {
    String out = "";
    for (int i = 0; i < 20; i++) {
      try {
        String id = h.container("main").id();
        for (String f : java.util.List.of("/sys/fs/cgroup/memory/docker/" + id + "/memory.oom_control", "/sys/fs/cgroup/docker/" + id
            + "/memory.events", "/sys/fs/cgroup/system.slice/docker-" + id + ".scope/memory.events")) {
          java.nio.file.Path file = java.nio.file.Path.of(f);
          if (java.nio.file.Files.isReadable(file)) {
            out = java.nio.file.Files.readString(file);
            break;
          }
        }
        if (out.isEmpty()) {
          out = h.sh("main", "cat /sys/fs/cgroup/memory/memory.oom_control /sys/fs/cgroup/memory.events 2>/dev/null");
        }
      } catch (RuntimeException | java.io.IOException e) {
        out = e.toString();
        Thread.sleep(100);
        continue;
      }
      var m = java.util.regex.Pattern.compile("(?m)^oom_kill (\\d+)").matcher(out);
      if (m.find()) {
        return Long.parseLong(m.group(1));
      }
      out = "";
    }
    throw new AssertionError("no oom_kill count in: " + out);
  }
}
