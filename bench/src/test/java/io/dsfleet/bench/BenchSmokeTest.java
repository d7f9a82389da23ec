package io.dsfleet.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Each benchmark, run small (seconds, not minutes), so the harness cannot rot: it ran and printed
 * its figures. Nothing here says anything about speed; docs/benchmarks.md has the real runs. These
 * are the benchmarks that make a Swarm on the host's daemon, one after the other in this class;
 * {@link ScaleAndFootprintSmokeTest} has the others (run beside these, in the other test JVM).
 */
class BenchSmokeTest extends SmokeRun {
  @BeforeEach
  void needsDocker() {
    assumeDocker();
  }

  @Test
  void applyToRunning() throws Exception {
    ApplyBench.Result r = ApplyBench.run(1, work, out);
    // the peer is measured unless the daemon is in a swarm the benchmark did not make (then it says so)
    List<Stats> measured = new java.util.ArrayList<>(List.of(r.floor(), r.dsfleet(), r.hostFloor(), r.hostDsfleet(), r.group(),
        r.applyCall(), r.hostApplyCall()));
    if (r.peerNote().isEmpty()) {
      measured.addAll(List.of(r.peer(), r.hostPeer()));
    }
    for (Stats s : measured) {
      assertThat(s.count()).isEqualTo(1);
      assertThat(s.median()).isPositive();
    }
    assertThat(printed()).contains("| (c)/(a), bridge |").contains("| (c')/(a'), host network |").contains("| (c)/(b), bridge |")
        .contains("| (c')/(b'), host network |").contains("| (d)/(c): the cost of replication |");
    assertThat(new Swarm("unix:///var/run/docker.sock").active()).as("the benchmark left the swarm it made, and only that one")
        .isEqualTo(!r.peerNote().isEmpty());
  }

  /** A daemon in a swarm (here one this test makes, standing for someone's real one) is neither changed nor left. */
  @Test
  void aSwarmTheBenchmarkDidNotMakeIsNeitherChangedNorLeft() {
    Swarm daemon = new Swarm("unix:///var/run/docker.sock");
    boolean made = !daemon.active();
    if (made) {
      daemon.cli("swarm", "init", "--advertise-addr", "127.0.0.1");
    }
    try {
      String id = daemon.cli("info", "--format", "{{.Swarm.Cluster.ID}}");
      Swarm bench = new Swarm("unix:///var/run/docker.sock");
      assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> bench.init("127.0.0.1"))).isInstanceOf(Swarm.Busy.class)
          .hasMessageContaining("Swarm peer is skipped");
      bench.leave();
      assertThat(daemon.cli("info", "--format", "{{.Swarm.Cluster.ID}}")).as("the same swarm, still there").isEqualTo(id);
    } finally {
      if (made) {
        daemon.cli("swarm", "leave", "--force");
      }
    }
  }

  /** A run stopped between its swarm's init and its leave (Ctrl-C, a kill) leaves no swarm behind. */
  @Test
  void aSwarmTheBenchmarkMadeIsLeftWhenItsRunIsStopped() throws Exception {
    Swarm daemon = new Swarm("unix:///var/run/docker.sock");
    org.junit.jupiter.api.Assumptions.assumeFalse(daemon.active(),
        "skipped: the daemon is in a swarm already (not this benchmark's; docs/benchmarks.md)");
    Process run = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        System.getProperty("java.class.path"), SwarmThenWait.class.getName()).redirectErrorStream(true).start();
    try {
      var out = new java.io.BufferedReader(new java.io.InputStreamReader(run.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
      String line;
      while ((line = out.readLine()) != null && !line.contains("in a swarm of ours")) {
        System.out.println("run: " + line);
      }
      assertThat(line).as("the run made its swarm").isNotNull();
      assertThat(daemon.active()).isTrue();
      run.destroy(); // SIGTERM, as a kill or Ctrl-C ends a run
      assertThat(run.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      assertThat(daemon.active()).as("the swarm the stopped run made, left as its JVM ended").isFalse();
    } finally {
      run.destroyForcibly().waitFor();
      if (daemon.active()) {
        daemon.cli("swarm", "leave", "--force");
      }
    }
  }

  @Test
  void rollingUpdateOnOneHost() {
    RollingBench.Result r = RollingBench.oneHost(1, work, out);
    assertThat(r.dsfleet().count()).isEqualTo(1);
    assertThat(r.swarm().count()).isEqualTo(r.swarmNote().isEmpty() ? 1 : 0);
    RollingBench.print(List.of(r), 1, out);
    assertThat(printed()).contains("| 1 | ");
  }
}
