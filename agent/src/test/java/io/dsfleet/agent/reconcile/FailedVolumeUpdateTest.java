package io.dsfleet.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.runtime.FakeRuntime;
import io.dsfleet.common.testing.FakeClock;
import io.dsfleet.proto.v1.PodStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A running pod's ConfigMap changes while the disk of the agent's state directory is full (a real
 * 16 MiB tmpfs, filled): the volume's new version cannot be written, and is written once the
 * disk takes it again, after its back-off (10 s, doubling), not taken for done. Before, the update
 * was marked written whatever happened, and the pod kept the old files until the ConfigMap changed
 * again or its container started again.
 */
class FailedVolumeUpdateTest {
  @TempDir Path dir;
  FakeClock clock = new FakeClock();
  FakeRuntime runtime = new FakeRuntime(clock);
  List<List<PodStatus>> reports = new ArrayList<>();

  @Test
  void aVolumeUpdateTheFullDiskRefusedIsWrittenOnceTheDiskTakesIt() throws Exception {
    runtime.addImage("local/busybox:1");
    Path fs = Files.createDirectories(dir.resolve("fs"));
    io.dsfleet.common.testing.Processes.succeed("mount", "-t", "tmpfs", "-o", "size=16m", "dsfleet-test", fs.toString());
    Reconciler r = null;
    try {
      r = ReconcilerTest.onTheCallingThread(runtime, clock, fs.resolve("state"), reports::add);
      var ds = Pods.ds("spec.template.spec.containers[0].volumeMounts", "[{name: cfg, mountPath: /etc/cfg}]",
          "spec.template.spec.volumes", "[{name: cfg, configMap: {name: cfg}}]");
      r.setDesired(Pods.state(ds).toBuilder().addConfigs(ReconcilerTest.config(Map.of("a", "1"))).build());
      r.tick();
      Path a = fs.resolve("state/pods/ops_agent-abcde/volumes/cfg/a");
      assertThat(Files.readString(a)).isEqualTo("1");

      Path filler = filled(fs);
      r.setDesired(Pods.state(ds).toBuilder().setVersion(2).addConfigs(ReconcilerTest.config(Map.of("a", "changed"))).build());
      r.tick();
      assertThat(Files.readString(a)).as("the full disk refused the new version").isEqualTo("1");

      Files.delete(filler);
      clock.advance(Duration.ofSeconds(5));
      r.tick();
      assertThat(Files.readString(a)).as("within its back-off: not yet").isEqualTo("1");
      clock.advance(Duration.ofSeconds(6));
      r.tick();
      assertThat(Files.readString(a)).as("after its back-off, the disk taking it again").isEqualTo("changed");
    } finally {
      if (r != null) {
        r.close();
      }
      io.dsfleet.common.testing.Processes.succeed("umount", "-l", fs.toString());
    }
  }

  /**
   * A refused update that is no longer needed (the ConfigMap changed back to what the volume holds,
   * or the container started again with its volumes written whole) is forgotten: kept, it was a
   * failure recorded for as long as the pod ran here, and a node with a failure recorded never
   * skips a pass (each a list of Docker's containers) however quiet it is.
   */
  @Test
  void aRefusedVolumeUpdateNoLongerNeededIsForgottenAndPassesGoQuietAgain() throws Exception {
    runtime.addImage("local/busybox:1");
    Path fs = Files.createDirectories(dir.resolve("fs"));
    io.dsfleet.common.testing.Processes.succeed("mount", "-t", "tmpfs", "-o", "size=16m", "dsfleet-test", fs.toString());
    Reconciler r = null;
    java.util.concurrent.ScheduledExecutorService scheduler = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
    try {
      r = ReconcilerTest.onTheCallingThread(runtime, clock, fs.resolve("state"), reports::add);
      r.watch(scheduler); // a pass is skipped only while the event stream runs
      var ds = Pods.ds("spec.template.spec.containers[0].volumeMounts", "[{name: cfg, mountPath: /etc/cfg}]",
          "spec.template.spec.volumes", "[{name: cfg, configMap: {name: cfg}}]");
      r.setDesired(Pods.state(ds).toBuilder().addConfigs(ReconcilerTest.config(Map.of("a", "1"))).build());
      r.tick();
      r.tick();
      Path a = fs.resolve("state/pods/ops_agent-abcde/volumes/cfg/a");
      assertThat(Files.readString(a)).isEqualTo("1");
      Path filler = filled(fs);
      r.setDesired(Pods.state(ds).toBuilder().setVersion(2).addConfigs(ReconcilerTest.config(Map.of("a", "changed"))).build());
      r.tick();
      assertThat(Files.readString(a)).as("the full disk refused the new version").isEqualTo("1");
      Files.delete(filler);
      // changed back: what the volume holds is current again, and no update is due
      r.setDesired(Pods.state(ds).toBuilder().setVersion(3).addConfigs(ReconcilerTest.config(Map.of("a", "1"))).build());
      clock.advance(Duration.ofSeconds(11));
      r.tick();
      r.tick();
      long quiet = r.quietPasses();
      for (int i = 0; i < 5; i++) { // nothing changes: no event, a clock that moves less than the longest quiet stretch
        clock.advance(Duration.ofMillis(100));
        r.tick();
      }
      assertThat(r.quietPasses() - quiet).as("passes skipped on a quiet node").isPositive();
      assertThat(Files.readString(a)).isEqualTo("1");
    } finally {
      scheduler.shutdownNow();
      if (r != null) {
        r.close();
      }
      io.dsfleet.common.testing.Processes.succeed("umount", "-l", fs.toString());
    }
  }

  /** Fills the file system of {@code fs} with a file there, which is returned: delete it and the disk takes writes again. */
  private static Path filled(Path fs) throws IOException {
    Path filler = fs.resolve("filler");
    try (var out = Files.newOutputStream(filler)) {
      byte[] mib = new byte[1 << 20];
      while (true) {
        out.write(mib);
      }
    } catch (IOException full) {
      // the disk is full
    }
    return filler;
  }
}
