package io.dsfleet.agent;

import static io.dsfleet.agent.DockerHarness.ds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An exec that outlives its timeout (a probe's, a hook's) is ended, as containerd's CRI ends the
 * kubelet's: Docker has no call that ends an exec, and before 2026-12-06 the agent left its
 * process running, and with it what dockerd and the container's shim hold for each exec (here
 * 80 KB of dockerd's memory and 5 of its descriptors, 10 of the shim's), outside the pod's
 * limits. A readiness probe that hangs (an image whose check blocks, or a real check waiting on a
 * dependency that hangs) never restarts its container, so one more was left every period for as
 * long as the container ran: 8,640 a day at the default period, dockerd's memory and descriptors
 * without bound. On the real daemon.
 */
class ExecTimeoutTest extends OnDocker {
  static final String C0 = "spec.template.spec.containers[0]";

  @Test
  void aReadinessProbeThatHangsLeavesNoProcessBehindItsTimeout() throws Exception {
    // each run notes itself, then hangs in a child of its shell (the exec's own process is the shell)
    h.run(ds(C0 + ".readinessProbe", "{exec: {command: [sh, -c, 'echo run >> /tmp/runs; sleep 7777; true']},"
        + " periodSeconds: 1, timeoutSeconds: 1}"));
    String id = h.container("main").id();
    await("six runs of the probe").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
        .until(() -> runs() >= 6);
    // the runs before the one under way timed out; each was ended, its shell and the child it waited on
    assertThat(processes(id, "sleep\u00007777")).as("probe processes still running after six runs").isLessThanOrEqualTo(2);
    assertThat(processes(id, "sh\u0000-c\u0000echo run >> /tmp/runs; sleep 7777; true")).as("probe shells still running")
        .isLessThanOrEqualTo(2);
    // nothing else of the container was touched: its own process runs on, never restarted
    assertThat(processes(id, "sleep\u00003600")).as("the container's own sleep").isEqualTo(1);
    assertThat(h.container("main").id()).isEqualTo(id);
    assertThat(h.last.get(0).getContainers(0).getRestartCount()).isZero();
  }

  /**
   * runc's error for an executable it cannot run puts its path twice into one line of its log, and
   * a line over 64 KiB hung runc's exec for good (runc 1.1.5, Docker 20.10), and with it Docker's
   * exec, which holds the container's lock: every inspect of the container then waited, and every
   * pass of the node waited 2 minutes for it and failed. A probe's (or hook's) command whose
   * executable is longer than a path (which no exec could run) fails without reaching Docker.
   */
  @Test
  void aProbeWhoseExecutableIsLongerThanAPathFailsWithoutHangingDocker() throws Exception {
    h.run(ds(C0 + ".readinessProbe", "{exec: {command: ['/" + "a".repeat(40_000) + "']}, periodSeconds: 1, timeoutSeconds: 1}"));
    String id = h.container("main").id();
    h.settle(15); // 3 s of passes at least: the probe has run
    assertThat(h.container("main").id()).as("the container is listed and inspected as before").isEqualTo(id);
    assertThat(h.last.get(0).getContainers(0).getReady()).isFalse();
    assertThat(runcOf(id)).as("runc processes of the container left").isZero();
  }

  /**
   * An exec's output (a postStart hook's, put into its container's status message and the agent's
   * log) is its first 10,000 bytes, whatever the command prints, as text: before 2026-12-07 it was
   * its frames while under 10,000 characters, so the frame that crossed the bound was kept whole
   * (dockerd's frames are up to 32 KiB: 42,000 characters, 126 KB in UTF-8 when each byte is no
   * UTF-8), and each frame was decoded alone, a character cut between two kept as two U+FFFD.
   */
  @Test
  void anExecsOutputIsItsFirst10000BytesAsText() {
    h.run(ds());
    String id = h.container("main").id();
    // one byte, then two-byte characters: frames cut at odd offsets cut characters
    var r = h.docker.exec(id, List.of("sh", "-c", "printf x; yes \u00e9 | tr -d '\\n' | head -c 300000; exit 3"), Duration.ofSeconds(30));
    assertThat(r.exitCode()).isEqualTo(3);
    assertThat(r.output().getBytes(StandardCharsets.UTF_8).length).as("the output's bytes").isLessThanOrEqualTo(10_000);
    assertThat(r.output()).as("the output, cut at a character").matches("x\u00e9{4999}");
  }

  /** runc processes (a create's, an exec's) working on the container. */
  static int runcOf(String containerId) throws IOException {
    int n = 0;
    try (var procs = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString().matches("\\d+"))) {
      for (Path p : procs) {
        try {
          String args = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
          if (args.startsWith("runc\u0000") && args.contains(containerId)) {
            n++;
          }
        } catch (IOException gone) {
          // ended meanwhile
        }
      }
    }
    return n;
  }

  private int runs() {
    String n = h.sh("main", "cat /tmp/runs 2>/dev/null | wc -l");
    return n.isEmpty() ? 0 : Integer.parseInt(n.strip());
  }

  /** Processes on the host in the container's cgroup whose command line is {@code cmdline} (its arguments NUL-separated). */
  static int processes(String containerId, String cmdline) throws IOException {
    int n = 0;
    try (var procs = Files.newDirectoryStream(Path.of("/proc"), p -> p.getFileName().toString().matches("\\d+"))) {
      for (Path p : procs) {
        try {
          String cgroup = Files.readString(p.resolve("cgroup"));
          byte[] cmd = Files.readAllBytes(p.resolve("cmdline"));
          String args = new String(cmd, StandardCharsets.UTF_8);
          if (cgroup.contains(containerId) && (args.equals(cmdline + "\u0000") || args.equals(cmdline))) {
            n++;
          }
        } catch (IOException gone) {
          // ended meanwhile
        }
      }
    }
    return n;
  }
}
