package io.dsfleet.agent;

import static io.dsfleet.agent.DockerHarness.ds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.agent.reconcile.Backoff;
import io.dsfleet.common.testing.Processes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An emptyDir on the host's disk with a sizeLimit, on the real daemon: a pod that writes past the
 * limit is evicted as the kubelet evicts it (its container stopped, the volume emptied, the pod
 * started again), and says why. Before, the limit was taken and ignored: a review's pod filled the
 * state directory's disk through a volume of {@code sizeLimit: 1Mi}.
 */
class EmptyDirLimitTest {
  static final String C0 = "spec.template.spec.containers[0]";
  static final String POD = "spec.template.spec";
  /** How often the tests' agents measure (10 s in production): once a pass of the harness (every 200 ms). */
  static final Duration CHECK_EVERY = Duration.ofMillis(200);
  @TempDir Path tmp;
  DockerHarness h;

  @BeforeEach
  void start() {
    h = harness(tmp.resolve("state"));
  }

  /**
   * A harness whose agent measures the volumes and checks the disk at every pass (200 ms) instead of
   * every 10 s (the kubelet's housekeeping period): an eviction within a pass or two, not a check or
   * two waited out in each test (a second each, before 2026-12-06).
   */
  static DockerHarness harness(Path stateDir) {
    DockerHarness made = new DockerHarness(stateDir, new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(10)));
    made.reconciler.checkDiskEvery(CHECK_EVERY);
    return made;
  }

  @AfterEach
  void stop() {
    if (h != null) {
      h.close();
    }
  }

  /**
   * A pod filling the pods' file system through an emptyDir without a sizeLimit is evicted under
   * disk pressure (less than 10 % free: the kubelet's {@code nodefs.available<10%}), its container
   * stopped, the volume emptied, the pod started again. The state directory is on a tmpfs of 64 MiB
   * here. Before, nothing stopped it: it filled the host's disk.
   */
  @Test
  void aPodFillingThePodsFileSystemThroughAnUnlimitedEmptyDirIsEvictedUnderDiskPressure() throws Exception {
    h.close();
    h = null;
    Path small = Files.createDirectories(tmp.resolve("small"));
    Path marks = Files.createDirectories(tmp.resolve("marks"));
    io.dsfleet.common.testing.Processes.succeed("mount", "-t", "tmpfs", "-o", "size=64m", "dsfleet-test", small.toString());
    try {
      h = harness(small.resolve("state"));
      String script = "trap '' TERM; echo run >> /marks/runs; n=$(wc -l < /marks/runs); ls -A /scratch > /marks/seen-$n;"
          + " if [ $n -eq 1 ]; then dd if=/dev/zero of=/scratch/big bs=1M count=60 2>/dev/null; fi; sleep 3600 & wait";
      h.run(ds(C0 + ".command", "[sh, -c, \"" + script + "\"]", POD + ".terminationGracePeriodSeconds", "60",
          C0 + ".volumeMounts", "[{name: scratch, mountPath: /scratch}, {name: marks, mountPath: /marks}]",
          POD + ".volumes", "[{name: scratch, emptyDir: {}}, {name: marks, hostPath: {path: " + marks + ", type: Directory}}]"));
      Set<String> reasons = ConcurrentHashMap.newKeySet();
      await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(100)).until(() -> {
        h.last.forEach(p -> p.getContainersList().forEach(c -> reasons.add(c.getReason() + ": " + c.getMessage())));
        return Files.exists(marks.resolve("seen-2"));
      });
      assertThat(reasons).as("the pod said why").anyMatch(r -> r.startsWith("Evicted: The node was low on resource: ephemeral-storage"));
      assertThat(Files.readString(marks.resolve("seen-2")).strip()).as("the second run starts with the volume emptied").isEmpty();
      var fs = Files.getFileStore(small);
      assertThat(fs.getUsableSpace()).as("the space given back").isGreaterThan(fs.getTotalSpace() / 2);
    } finally {
      if (h != null) {
        h.close();
        h = null;
      }
      io.dsfleet.common.testing.Processes.succeed("umount", "-l", small.toString());
    }
  }

  /**
   * A pod whose container writes a file, keeps it open and deletes it fills the disk as surely as
   * one that keeps the file, and no walk of its volume sees it: under disk pressure it is the pod
   * evicted (its processes ended, the space given back), not the neighbour whose volume holds 4 MiB
   * in plain sight. Before, the neighbour was evicted and emptied, then the next (helper-95's
   * finding, 2026-12-05). The state directory is on a tmpfs of 64 MiB.
   */
  @Test
  void aPodHoldingADeletedFileThatFillsTheDiskIsEvictedNotItsNeighbour() throws Exception {
    evictedNotTheKeeper("size=64m", "dd if=/dev/zero of=/scratch/keep bs=1M count=4 2>/dev/null",
        "holder", "exec 3>/scratch/big; rm /scratch/big; dd if=/dev/zero bs=1M count=56 >&3 2>/dev/null", "ephemeral-storage", small -> {
          var fs = Files.getFileStore(small);
          assertThat(fs.getUsableSpace()).as("the space given back").isGreaterThan(fs.getTotalSpace() / 2);
        });
  }

  /**
   * A pod that uses up the inodes of the pods' file system with empty files, bytes to spare, is
   * evicted (the kubelet's {@code nodefs.inodesFree<5%}), not its neighbour holding a few hundred
   * files. Before, inodes were not watched: the host could make no file and nothing was evicted.
   * The state directory is a tmpfs of 4,096 inodes here.
   */
  @Test
  void aPodUsingUpTheInodesIsEvictedNotItsNeighbour() throws Exception {
    evictedNotTheKeeper("size=64m,nr_inodes=4096", "i=0; while [ $i -lt 200 ]; do echo -n > /scratch/k$i; i=$((i+1)); done",
        "filler", "i=0; while echo -n > /scratch/f$i; do i=$((i+1)); done 2>/dev/null", "inodes", small -> {
          String free = Processes.run(new ProcessBuilder("stat", "-f", "-c", "%d", small.toString()), Duration.ofSeconds(10)).output().strip();
          assertThat(Long.parseLong(free)).as("the inodes given back").isGreaterThan(2048);
        });
  }

  /**
   * A pod that writes a file into a hostPath its neighbour reads (a log shipper's), and deletes it
   * once the neighbour holds it open, fills the disk with a file of the host's: the neighbour is
   * not evicted for it (a hostPath is the host's, as Kubernetes counts it); the writer, which holds
   * the most of its own (4 MiB in its emptyDir), is. Before, a deleted file counted for the pod
   * whose process held it, wherever it lay: the neighbour was evicted (helper-103).
   */
  @Test
  void aFileDeletedInAHostPathTheNeighbourHoldsOpenIsNotCountedForTheNeighbour() throws Exception {
    evictedNotTheKeeper("size=64m", "touch /marks/big; exec 3</marks/big",
        "writer", "dd if=/dev/zero bs=1M count=55 >> /marks/big 2>/dev/null; rm /marks/big;"
        + " dd if=/dev/zero of=/scratch/own bs=1M count=4 2>/dev/null", "ephemeral-storage", small -> { });
  }

  /**
   * A pod with a hostPath holding the pods directory (node-exporter's and cadvisor's {@code /}) that
   * opens a file of its own emptyDir through it and deletes it fills the disk with a file of its own:
   * it is evicted for it. Before, a file held through a hostPath counted for no pod, wherever it lay,
   * and such a pod filled the disk unseen (helper-106).
   */
  @Test
  void aFileOfItsOwnEmptyDirHeldThroughAHostPathOfTheHostsRootCountsForThePod() throws Exception {
    evictedNotTheKeeper("size=64m", "true", "writer", "dd if=/dev/zero of=/scratch/big bs=1M count=59 2>/dev/null;"
        + " exec 3<$(ls -d /host/state/pods/*_writer-*/volumes/scratch)/big; rm /scratch/big", "ephemeral-storage", true, small -> { });
  }

  /** A check of the small state directory's file system, given its mount point. */
  interface OnSmall {
    void check(Path small) throws Exception;
  }

  /**
   * Pods on a tmpfs state directory mounted with {@code options}: the keeper ({@code keeperScript}
   * run once, its emptyDir at /scratch), then, beside it, the pod {@code name}, whose {@code script}
   * runs at its first run only; until {@code name} runs a second time (evicted and started again).
   * It said it was evicted for {@code resource}, the keeper never was and ran once; then {@code
   * after}, before the tmpfs is unmounted.
   */
  void evictedNotTheKeeper(String options, String keeperScript, String name, String script, String resource, OnSmall after)
      throws Exception {
    evictedNotTheKeeper(options, keeperScript, name, script, resource, false, after);
  }

  /** ... {@code name} given, when {@code seesTheHost}, the small file system's root too, read-only at /host (node-exporter's hostPath /). */
  void evictedNotTheKeeper(String options, String keeperScript, String name, String script, String resource, boolean seesTheHost,
      OnSmall after) throws Exception {
    h.close();
    h = null;
    Path small = Files.createDirectories(tmp.resolve("small"));
    Processes.succeed("mount", "-t", "tmpfs", "-o", options, "dsfleet-test", small.toString());
    try {
      Path marks = Files.createDirectories(small.resolve("marks")); // a hostPath on the pods' file system
      h = harness(small.resolve("state"));
      String volumes = "[{name: scratch, emptyDir: {}}, {name: marks, hostPath: {path: " + marks + ", type: Directory}}]";
      String mounts = "[{name: scratch, mountPath: /scratch}, {name: marks, mountPath: /marks}]";
      var keeper = ds("metadata.name", "keeper", C0 + ".volumeMounts", mounts, POD + ".volumes", volumes, C0 + ".command",
          "[sh, -c, \"echo run >> /marks/keeper-runs; " + keeperScript + "; touch /marks/kept; trap 'exit 0' TERM; sleep 3600 & wait\"]");
      String hostVolume = seesTheHost ? ", {name: host, hostPath: {path: " + small + ", type: Directory}}]" : "]";
      String hostMount = seesTheHost ? ", {name: host, mountPath: /host, readOnly: true}]" : "]";
      var other = ds("metadata.name", name, C0 + ".volumeMounts", mounts.replaceFirst("]$", hostMount), POD + ".volumes",
          volumes.replaceFirst("]$", hostVolume), C0 + ".command",
          "[sh, -c, \"echo run >> /marks/runs; if [ $(wc -l < /marks/runs) -eq 1 ]; then " + script + "; fi;"
          + " trap 'exit 0' TERM; sleep 3600 & wait\"]");
      h.reconciler.setDesired(DockerHarness.state(java.util.List.of(keeper)));
      await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(marks.resolve("kept")));
      h.reconciler.setDesired(DockerHarness.state(java.util.List.of(keeper, other)));
      Set<String> reasons = ConcurrentHashMap.newKeySet();
      await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(100)).until(() -> {
        h.last.forEach(p -> p.getContainersList().forEach(c -> reasons.add(p.getDaemonSet() + ": " + c.getReason() + ": " + c.getMessage())));
        return Files.exists(marks.resolve("runs")) && Files.readAllLines(marks.resolve("runs")).size() >= 2;
      });
      assertThat(reasons).as(name + " said why").anyMatch(r -> r.startsWith(name + ": Evicted: The node was low on resource: " + resource));
      assertThat(reasons).as("the keeper was never evicted").noneMatch(r -> r.startsWith("keeper: Evicted"));
      assertThat(Files.readAllLines(marks.resolve("keeper-runs"))).as("the keeper ran once").hasSize(1);
      after.check(small);
    } finally {
      if (h != null) {
        h.close();
        h = null;
      }
      Processes.succeed("umount", "-l", small.toString());
    }
  }

  /** What disk pressure ranks pods by, besides their volumes: the bytes each container wrote to its own file system, as Docker counts them. */
  /**
   * ... and where Docker keeps each of a container's anonymous volumes (one for each VOLUME of its
   * image, postgres' data directory), which disk pressure measures: the list gives no source for
   * them, so the path is made from Docker's root, checked here against what the container wrote.
   */
  @Test
  void theRuntimeSaysWhereAContainersAnonymousVolumesLie() throws Exception {
    String image = "local/volume-" + h.node + ":1";
    String made = Processes.run(new ProcessBuilder("docker", "create", "local/busybox:1", "true"), Duration.ofSeconds(60)).output().strip();
    try {
      Processes.succeed("docker", "commit", "--change", "VOLUME /data", made, image);
      h.run(ds(C0 + ".image", image, C0 + ".command", "[sh, -c, \"dd if=/dev/zero of=/data/big bs=1024 count=2048 2>/dev/null;"
          + " touch /data/done; sleep 3600\"]"));
      String id = h.container("main").id();
      await().atMost(Duration.ofSeconds(30)).until(() -> h.sh("main", "ls /data/done").contains("/data/done"));
      var volumes = h.docker.writableLayers(h.node).volumesById().get(id);
      assertThat(volumes).as("one anonymous volume").hasSize(1);
      assertThat(Files.size(volumes.get(0).resolve("big"))).as("what the container wrote there").isEqualTo(2L << 20);
    } finally {
      h.close();
      h = null;
      Processes.run(new ProcessBuilder("docker", "rm", "-f", made), Duration.ofSeconds(60));
      Processes.run(new ProcessBuilder("docker", "rmi", "-f", image), Duration.ofSeconds(60));
    }
  }

  /**
   * ... and where a container's writable layer lies, whose inodes disk pressure counts (Docker says
   * what it holds in bytes only): overlay2's upper directory that Docker's {@code mount-id} for the
   * container names, checked here against what the container wrote.
   */
  @Test
  void dockersFilesSayWhereAContainersWritableLayerLies() throws Exception {
    h.run(ds(C0 + ".command", "[sh, -c, \"mkdir /made; touch /made/a /made/b; sleep 3600\"]"));
    String id = h.container("main").id();
    await().atMost(Duration.ofSeconds(30)).until(() -> h.sh("main", "ls /made").contains("b"));
    Path upper = io.dsfleet.agent.hostfs.LayerDirs.upperDir(h.docker.writableLayers(h.node).root(), id).orElseThrow();
    assertThat(upper.resolve("made/a")).exists();
    assertThat(io.dsfleet.agent.hostfs.NoFollow.inodes(upper.resolve("made"), 100)).isEqualTo(2);
  }

  /**
   * What a container wrote to its writable layer: on overlay2 (this machine's Docker) Docker is not
   * asked (its answer has no deadline), its upper directory is walked; other drivers say it (SizeRw).
   */
  @Test
  void whatEachContainerWroteToItsWritableLayerIsMeasured() throws Exception {
    h.run(ds(C0 + ".command", "[sh, -c, \"dd if=/dev/zero of=/big bs=1024 count=3072 2>/dev/null; touch /written; sleep 3600\"]"));
    String id = h.container("main").id();
    await().atMost(Duration.ofSeconds(30)).until(() -> h.sh("main", "ls /written").contains("/written"));
    var layers = h.docker.writableLayers(h.node);
    assertThat(layers.root()).as("Docker's root directory, where the layers lie").isDirectory();
    assertThat(layers.root().resolve("containers").resolve(id)).isDirectory();
    Path upper = io.dsfleet.agent.hostfs.LayerDirs.upperDir(layers.root(), id).orElseThrow(); // this machine's Docker: overlay2
    assertThat(io.dsfleet.agent.hostfs.NoFollow.usage(upper, Long.MAX_VALUE, 1000)).as("3 MiB written").isBetween(3L << 20, 4L << 20);
    assertThat(layers.bytesById()).as("Docker asked for no sizes: the agent walks the layer").isEmpty();
  }

  @Test
  void aPodWritingPastItsEmptyDirsSizeLimitIsEvictedAndStartsAgainWithTheVolumeEmptied() throws Exception {
    Path marks = Files.createDirectories(tmp.resolve("marks"));
    // each run notes itself and what the volume held when it started; the first run fills 2 MiB; SIGTERM
    // is ignored and the grace period long: an eviction stops it at once, as the kubelet's does
    String script = "trap '' TERM; echo run >> /marks/runs; n=$(wc -l < /marks/runs); ls -A /scratch > /marks/seen-$n;"
        + " if [ $n -eq 1 ]; then dd if=/dev/zero of=/scratch/big bs=1024 count=2048 2>/dev/null; fi; sleep 3600 & wait";
    h.run(ds(C0 + ".command", "[sh, -c, \"" + script + "\"]", POD + ".terminationGracePeriodSeconds", "60",
        C0 + ".volumeMounts", "[{name: scratch, mountPath: /scratch}, {name: marks, mountPath: /marks}]",
        POD + ".volumes", "[{name: scratch, emptyDir: {sizeLimit: 1Mi}}, {name: marks, hostPath: {path: " + marks + ", type: Directory}}]"));
    Set<String> reasons = ConcurrentHashMap.newKeySet();
    // measured within a pass, stopped within 2 s of it: the second run well before the grace period's 60 s
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
      h.last.forEach(p -> p.getContainersList().forEach(c -> reasons.add(c.getReason() + ": " + c.getMessage())));
      return Files.exists(marks.resolve("seen-2"));
    });
    assertThat(reasons).as("the pod said why").anyMatch(r -> r.startsWith("Evicted: emptyDir volume \"scratch\" uses")
        && r.contains("over its sizeLimit 1Mi"));
    assertThat(Files.readString(marks.resolve("seen-1")).strip()).isEmpty();
    assertThat(Files.readString(marks.resolve("seen-2")).strip()).as("the second run starts with the volume emptied").isEmpty();
    var s = h.awaitStatus(p -> p.getContainers(0).getState().equals("running"), Duration.ofSeconds(30));
    assertThat(s.getContainers(0).getRestartCount()).isEqualTo(1);
  }

  /** An init container that writes past the limit and never ends is stopped too, and the pod goes on once it runs again. */
  @Test
  void anInitContainerWritingPastTheLimitIsStoppedToo() throws Exception {
    Path marks = Files.createDirectories(tmp.resolve("marks"));
    String init = "echo run >> /marks/init; if [ $(wc -l < /marks/init) -eq 1 ]; then dd if=/dev/zero of=/scratch/big bs=1024 count=2048"
        + " 2>/dev/null; sleep 3600; fi";
    h.reconciler.setDesired(DockerHarness.state(ds(POD + ".initContainers", "[{name: fill, image: local/busybox:1, command: [sh, -c, \""
        + init + "\"], volumeMounts: [{name: scratch, mountPath: /scratch}, {name: marks, mountPath: /marks}]}]",
        C0 + ".volumeMounts", "[{name: scratch, mountPath: /scratch}]",
        POD + ".volumes", "[{name: scratch, emptyDir: {sizeLimit: 1Mi}}, {name: marks, hostPath: {path: " + marks + ", type: Directory}}]")));
    var s = h.awaitStatus(p -> p.getContainersList().stream().anyMatch(c -> !c.getInit() && c.getState().equals("running")),
        Duration.ofSeconds(45));
    assertThat(Files.readAllLines(marks.resolve("init"))).as("the init container ran twice: stopped once").hasSize(2);
    assertThat(s.getPhase()).isEqualTo("Running");
  }

  @Test
  void aPodWithinItsSizeLimitIsLeftAlone() throws Exception {
    h.run(ds(C0 + ".command", "[sh, -c, \"trap 'exit 0' TERM; dd if=/dev/zero of=/scratch/small bs=1024 count=512 2>/dev/null;"
            + " touch /scratch/written; sleep 3600 & wait\"]",
        C0 + ".volumeMounts", "[{name: scratch, mountPath: /scratch}]", POD + ".volumes", "[{name: scratch, emptyDir: {sizeLimit: 1Mi}}]"));
    String id = h.container("main").id();
    await().atMost(Duration.ofSeconds(30)).until(() -> h.sh("main", "ls /scratch/written").contains("/scratch/written"));
    // two measurements that began after the write ended (the first may have begun before it): the same container runs on
    long before = h.reconciler.diskMeasurements();
    await().atMost(Duration.ofSeconds(20)).until(() -> h.reconciler.diskMeasurements() >= before + 2);
    assertThat(h.container("main").id()).isEqualTo(id);
    var c = h.last.get(0).getContainers(0);
    assertThat(c.getReason()).as("never evicted").doesNotStartWith("Evicted");
    assertThat(c.getState()).isEqualTo("running");
    assertThat(c.getRestartCount()).isZero();
  }
}
