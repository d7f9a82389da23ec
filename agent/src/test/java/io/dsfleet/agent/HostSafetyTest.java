package io.dsfleet.agent;

import static io.dsfleet.agent.DockerHarness.config;
import static io.dsfleet.agent.DockerHarness.ds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.proto.v1.ConfigObject.Kind;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.PodStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attacks on the host through the agent, each on the real Docker daemon, from inside a container
 * or with an image. The victims are host files and directories outside the pod's own directory;
 * after each attack they must be exactly as they were, and the pod says why it was refused.
 */
class HostSafetyTest extends OnDocker {
  static final String C0 = "spec.template.spec.containers[0]";
  static final String POD = "spec.template.spec";
  Path victimFile;
  Path victimDir;

  @BeforeEach
  void start() throws Exception {
    victimFile = Files.writeString(tmp.resolve("victim.txt"), "original");
    Files.setPosixFilePermissions(victimFile, PosixFilePermissions.fromString("rw-------"));
    victimDir = Files.createDirectories(tmp.resolve("victim_x"));
    Files.writeString(victimDir.resolve("keep.txt"), "keep");
  }

  private void assertVictimsUntouched() throws Exception {
    assertThat(Files.readString(victimFile)).as("host file content").isEqualTo("original");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(victimFile))).as("host file mode").isEqualTo("rw-------");
    try (var files = Files.list(victimDir)) {
      assertThat(files.map(p -> p.getFileName().toString()).toList()).as("host directory entries").containsExactly("keep.txt");
    }
    assertThat(Files.readString(victimDir.resolve("keep.txt"))).isEqualTo("keep");
  }

  /**
   * The container plants symlinks where the agent writes (configMap, secret) and in its emptyDir,
   * pointing at host paths; then it is killed and restarted, its ConfigMap changes, and the pod is
   * deleted: every write, chmod and removal of the agent must stay inside the pod's directory. In a
   * sandbox (the container asks for its pod's IP), and as its one container alone, on the bridge
   * and on the host network: the same holds.
   */
  @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.ValueSource(strings = {"in a sandbox", "alone on the bridge", "alone on the host network"})
  void symlinksPlantedInTheVolumesDoNotLeadTheAgentOntoTheHost(String how) throws Exception {
    boolean hostNetwork = how.endsWith("host network");
    boolean sandbox = how.equals("in a sandbox");
    var cfg = config(Kind.CONFIG_MAP, "cfg", Map.of("greeting", "hello"));
    var sec = config(Kind.SECRET, "creds", Map.of("token", "s3cret"));
    var daemonSet = ds(C0 + ".volumeMounts", "[{name: cfg, mountPath: /etc/cfg}, {name: sec, mountPath: /etc/sec}, {name: scratch, mountPath: /scratch}]",
        POD + ".volumes", "[{name: cfg, configMap: {name: cfg, items: [{key: greeting, path: nested/hi.txt}]}},"
            + " {name: sec, secret: {secretName: creds}}, {name: scratch, emptyDir: {}}]",
        POD + ".terminationGracePeriodSeconds", "1", POD + ".hostNetwork", String.valueOf(hostNetwork),
        C0 + ".env[1]", sandbox ? DockerHarness.ASKS_FOR_POD_IP : "{name: X, value: x}");
    h.run(daemonSet, cfg, sec);
    assertThat(h.docker.listOwned(h.node)).as("a sandbox only when the container asks for its pod's IP")
        .hasSize(sandbox ? 2 : 1);
    // every path the agent wrote or may write, turned into a link to the host (errors ignored: a read-only volume refuses them)
    String plant = String.join("; ",
        "for d in /etc/cfg /etc/cfg/nested /etc/cfg/..data /etc/sec /etc/sec/..data; do for f in $(ls -a $d); do ln -sfn " + victimFile + " $d/.$f.tmp; done; done",
        "ln -sfn " + victimFile + " /etc/cfg/nested/.hi.txt.tmp",
        "rm -rf /etc/cfg/nested; ln -sfn " + victimDir + " /etc/cfg/nested",
        "ln -sfn " + victimFile + " /etc/sec/.token.tmp",
        "rm -f /etc/sec/token; ln -sfn " + victimFile + " /etc/sec/token",
        "ln -sfn " + victimDir + " /etc/cfg/..data_tmp",
        "ln -sfn " + victimDir + " /scratch/link",
        "mkdir -p /scratch/d && ln -sfn " + victimFile + " /scratch/d/f",
        "true");
    h.sh("main", plant + " 2>/dev/null");
    String first = h.container("main").id();

    assertThat(io.dsfleet.common.testing.Processes.run(new ProcessBuilder("docker", "kill", first), Duration.ofSeconds(60))
        .exit()).isZero();
    PodStatus restarted = h.awaitStatus(p -> p.getContainers(0).getRestartCount() >= 1 && p.getContainers(0).getState().equals("running"),
        Duration.ofSeconds(60));
    assertThat(restarted.getContainers(0).getContainerId()).isNotEqualTo(first);
    assertVictimsUntouched();
    h.reconciler.setDesired(DockerHarness.state(daemonSet, config(Kind.CONFIG_MAP, "cfg", Map.of("greeting", "changed")),
        config(Kind.SECRET, "creds", Map.of("token", "changed"))));
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> h.sh("main", "cat /etc/cfg/nested/hi.txt").equals("changed"));
    assertVictimsUntouched();

    h.clear();
    assertVictimsUntouched();
  }

  /**
   * An init container leaves a symlink to a host directory in the pod's emptyDir; the app
   * container mounts a subPath through it (CVE-2017-1002101). It must be refused, with a reason.
   */
  @Test
  void aSubPathThroughAPlantedSymlinkIsRefused() throws Exception {
    h.reconciler.setDesired(DockerHarness.state(ds(
        POD + ".initContainers", "[{name: plant, image: local/busybox:1, command: [sh, -c, 'ln -s " + victimDir + " /scratch/escape'],"
            + " volumeMounts: [{name: scratch, mountPath: /scratch}]}]",
        C0 + ".command", "[sh, -c, 'touch /mnt/sub/pwned; sleep 3600']",
        C0 + ".volumeMounts", "[{name: scratch, mountPath: /mnt/sub, subPath: escape}]",
        POD + ".volumes", "[{name: scratch, emptyDir: {}}]")));
    PodStatus s = h.awaitStatus(p -> p.getContainersCount() > 1
        && (p.getContainers(1).getState().equals("running") || p.getContainers(1).getReason().equals("CreateContainerConfigError")),
        Duration.ofSeconds(60));
    h.settle(2);
    assertVictimsUntouched();
    assertThat(s.getContainers(1).getReason()).isEqualTo("CreateContainerConfigError");
    assertThat(s.getContainers(1).getMessage()).contains("subPath \"escape\"").contains("symlink");
  }

  /**
   * An image carrying the agent's ownership labels, with a path in them, is run by someone else
   * on the host. The agent must neither stop that container nor let its labels name a directory to
   * delete; and it refuses to run such an image in a pod.
   */
  @Test
  void anImageCarryingTheOwnershipLabelsCannotMakeTheAgentTouchWhatItDoesNotOwn() throws Exception {
    String tag = "dsfleet-test/forged-labels:" + UUID.randomUUID().toString().substring(0, 8);
    String escape = "../".repeat(h.stateDir.resolve("pods").getNameCount()) + victimDir.toString().substring(1, victimDir.toString().length() - 2);
    Path build = Files.createDirectories(tmp.resolve("build"));
    Files.writeString(build.resolve("Dockerfile"), "FROM local/busybox:1\nLABEL io.dsfleet.managed=true io.dsfleet.node=" + h.node
        + " io.dsfleet.namespace=\"" + escape + "\" io.dsfleet.pod=x io.dsfleet.daemonset=d io.dsfleet.container=c"
        + " io.dsfleet.template-hash=h io.dsfleet.role=app io.dsfleet.restarts=0\n");
    String name = "dsfleet-test-foreign-" + UUID.randomUUID().toString().substring(0, 8);
    try {
      assertThat(Docker.cli(Map.of("DOCKER_BUILDKIT", "0"), "build", "-q", "-t", tag, build.toString()).exit()).isZero();
      assertThat(Docker.cli(Map.of(), "run", "-d", "--name", name, tag, "sleep", "3600").exit()).isZero();
      h.reconciler.setDesired(DesiredState.newBuilder().setVersion(1).build());
      h.settle(3); // the agent has a desired set (nothing), has looked at the node three times and has nothing in flight
      assertThat(Docker.cli(Map.of(), "inspect", "-f", "{{.State.Running}}", name).out().strip()).as("foreign container untouched").isEqualTo("true");
      assertVictimsUntouched();

      h.reconciler.setDesired(DockerHarness.state(ds(C0 + ".image", tag)));
      PodStatus s = h.awaitStatus(p -> p.getContainersCount() > 0 && p.getContainers(0).getReason().equals("CreateContainerError"),
          Duration.ofSeconds(30));
      assertThat(s.getContainers(0).getMessage()).contains("io.dsfleet.");
    } finally {
      Docker.cli(Map.of(), "rm", "-f", name);
      Docker.cli(Map.of(), "rmi", "-f", tag);
    }
    assertVictimsUntouched();
  }

  /** A container that is not the agent's holds the name the agent would give its pod's container: it stays, and the pod runs. */
  @Test
  void aContainerNameConflictNeverRemovesAContainerTheAgentDoesNotOwn() throws Exception {
    String squatter = "dsf_agent-pod01_ops_main_0";
    List<String> names = List.of(squatter, "dsf_agent-pod01_ops_POD");
    try {
      Map<String, String> ids = new java.util.TreeMap<>();
      for (String n : names) {
        Docker.Result created = Docker.cli(Map.of(), "create", "--name", n, "local/busybox:1", "sleep", "1");
        assertThat(created.exit()).isZero();
        ids.put(n, created.out().strip());
      }
      PodStatus s = h.run(ds());
      assertThat(s.getContainers(0).getState()).isEqualTo("running");
      for (var e : ids.entrySet()) {
        assertThat(Docker.cli(Map.of(), "inspect", "-f", "{{.Name}}", e.getValue()).out().strip()).as(e.getKey() + " still exists")
            .isEqualTo("/" + e.getKey());
      }
    } finally {
      for (String n : names) {
        Docker.cli(Map.of(), "rm", "-f", n);
      }
    }
  }

  /**
   * A volume of more files than the agent lists at once (one ConfigMap key in 10,001 paths) is
   * refused, naming the volume: the pod waits with CreateContainerConfigError. Before 2026-12-07
   * every file was listed, and 100,000 items (a 2.3 MB template, within every limit) ran every
   * agent of the DaemonSet out of its 48 MiB heap at each start (helper-178).
   */
  @Test
  void aVolumeOfMoreFilesThanTheAgentListsIsRefusedNamingIt() {
    var cfg = config(Kind.CONFIG_MAP, "cfg", Map.of("k", "x"));
    String items = java.util.stream.IntStream.rangeClosed(0, io.dsfleet.agent.pod.Volumes.MAX_VOLUME_FILES)
        .mapToObj(i -> "{key: k, path: f" + i + "}").collect(java.util.stream.Collectors.joining(", ", "[", "]"));
    h.reconciler.setDesired(DockerHarness.state(ds(C0 + ".volumeMounts", "[{name: many, mountPath: /many}]",
        POD + ".volumes", "[{name: many, configMap: {name: cfg, items: " + items + "}}]"), cfg));
    PodStatus s = h.awaitStatus(p -> p.getContainersList().stream().anyMatch(c -> c.getReason().equals("CreateContainerConfigError")),
        Duration.ofSeconds(60));
    assertThat(s.getContainersList()).anySatisfy(c -> assertThat(c.getMessage())
        .contains("volume \"many\" would hold 10001 files", "over the 10000 a volume holds"));
  }

  /**
   * A device node (or FIFO) planted where a subPath points is refused without ever being opened
   * (O_PATH): its driver never runs as root on the host. Found by the review's attacker with strace.
   */
  @Test
  void aDeviceNodeAsSubPathIsRefusedWithoutBeingOpened() {
    h.reconciler.setDesired(DockerHarness.state(ds(
        POD + ".initContainers", "[{name: plant, image: local/busybox:1, command: [sh, -c, 'mknod /scratch/node c 1 3 && mkfifo /scratch/fifo'],"
            + " volumeMounts: [{name: scratch, mountPath: /scratch}]}]",
        C0 + ".volumeMounts", "[{name: scratch, mountPath: /mnt/node, subPath: node}]",
        POD + ".volumes", "[{name: scratch, emptyDir: {}}]")));
    PodStatus s = h.awaitStatus(p -> p.getContainersCount() > 1 && p.getContainers(1).getReason().equals("CreateContainerConfigError"),
        Duration.ofSeconds(60));
    assertThat(s.getContainers(1).getMessage()).contains("node is neither a directory nor a regular file");
  }

  /**
   * A container builds a directory tree deeper than the agent walks at once, and its pod goes. The
   * agent neither overflows its stack nor spins, removes the whole tree (it once moved it to a
   * trash it could never empty: the host's disk kept it for good), and the same pod made again
   * starts with a fresh emptyDir (nothing of the old one inherited).
   */
  @Test
  void aDeepTreeInAnEmptyDirNeitherBreaksCleanupNorStaysOnTheHost() throws Exception {
    var daemonSet = ds(C0 + ".command", "[sh, -c, 'touch /scratch/inherited; cd /scratch; for i in $(seq 700); do mkdir d; cd d; done;"
        + " touch deep; sleep 3600']", C0 + ".volumeMounts", "[{name: scratch, mountPath: /scratch}]",
        POD + ".volumes", "[{name: scratch, emptyDir: {}}]", POD + ".terminationGracePeriodSeconds", "0");
    h.run(daemonSet);
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> h.sh("main", "find /scratch -name deep").endsWith("deep"));
    h.clear();
    long passes = h.reconciler.passes();
    long t0 = System.nanoTime();
    await().atMost(Duration.ofSeconds(30)).until(() -> {
      try (var entries = Files.list(h.stateDir.resolve("pods"))) {
        return entries.noneMatch(p -> p.getFileName().toString().equals("ops_agent-pod01"));
      }
    });
    h.settle(5);
    double perSecond = (h.reconciler.passes() - passes) / ((System.nanoTime() - t0) / 1e9);
    assertThat(perSecond).as("passes a second: the 200 ms tick and its wakes, never a spin").isLessThan(30);
    try (var entries = Files.list(h.stateDir.resolve("pods"))) {
      assertThat(entries.map(p -> p.getFileName().toString())).as("removed, not left in a trash").noneMatch(n -> n.startsWith(".trash-"));
    }
    h.run(ds(C0 + ".volumeMounts", "[{name: scratch, mountPath: /scratch}]", POD + ".volumes", "[{name: scratch, emptyDir: {}}]"));
    assertThat(h.sh("main", "ls -A /scratch | wc -l")).as("a fresh emptyDir").isEqualTo("0");
  }

  /**
   * HTTP probes whose server sends its headers and then stalls hold a probe thread no longer than
   * the probe's timeout: another pod still turns Ready, and a failing liveness probe still restarts.
   */
  @Test
  void stallingHttpProbesDoNotStarveOtherPods() throws Exception {
    String stall = "while true; do { printf \"HTTP/1.1 200 OK\\r\\nContent-Length: 99999999\\r\\n\\r\\n\"; sleep 3600; } | nc -l -p %d; done";
    var hog = ds(C0 + ".command", "[sh, -c, '" + stall.formatted(8080) + "']",
        C0 + ".readinessProbe", "{httpGet: {port: 8080}, periodSeconds: 1, timeoutSeconds: 1}",
        C0 + ".livenessProbe", "{httpGet: {port: 8080}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 1000}",
        POD + ".containers[1]", "{name: second, image: local/busybox:1, command: [sh, -c, '" + stall.formatted(8081) + "'],"
            + " readinessProbe: {httpGet: {port: 8081}, periodSeconds: 1, timeoutSeconds: 1},"
            + " livenessProbe: {httpGet: {port: 8081}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 1000}}");
    var victim = ds(C0 + ".command", "[sh, -c, 'httpd -f -p 8080 -h /www']",
        C0 + ".readinessProbe", "{httpGet: {port: 8080, path: /index.html}, periodSeconds: 1, timeoutSeconds: 1}");
    DesiredState both = DockerHarness.state(hog).toBuilder().clearPods()
        .addPods(DockerHarness.state(hog).getPods(0).toBuilder().setPodName("hog-aaaaa").setDaemonSet("hog"))
        .addPods(DockerHarness.state(victim).getPods(0).toBuilder().setPodName("victim-bbbbb").setDaemonSet("victim")).build();
    h.reconciler.setDesired(both);
    // the stalling server answers 200 at once: only its status line is read, so it is ready too; what matters is
    // that its probes (four, as many as there are probe threads) never hold a thread past their timeout
    await().atMost(Duration.ofSeconds(45)).pollInterval(Duration.ofMillis(200))
        .until(() -> h.last.stream().anyMatch(p -> p.getPodName().equals("victim-bbbbb") && p.getReady()));
  }

  /** Someone moves the sandbox image's tag (a pod with image dsfleet/pause:1 and Always): sandboxes still run the agent's own image, by ID. */

  /**
   * A new template is a new pod, with fresh volumes, as Kubernetes makes a new pod for it. The
   * agent kept a pod's volume directories by name from one template to the next: a Secret volume
   * that the new template made an emptyDir of the same name showed its containers, writable, the
   * Secret their template is not given; what the old containers wrote to an emptyDir reached the
   * new template's, into a ConfigMap volume of that name too; an emptyDir made a Secret volume got
   * the Secret written to disk beside what was there (no tmpfs for a directory that is not empty).
   */
  @Test
  void aNewTemplateStartsWithFreshVolumes() throws Exception {
    h.run(ds(C0 + ".volumeMounts", "[{name: data, mountPath: /data}, {name: scratch, mountPath: /scratch}]",
        POD + ".volumes", "[{name: data, secret: {secretName: creds}}, {name: scratch, emptyDir: {}}]"),
        config(Kind.SECRET, "creds", Map.of("token", "s3cret")));
    h.sh("main", "echo planted > /scratch/planted");
    io.dsfleet.common.model.DaemonSet next = ds(C0 + ".volumeMounts", "[{name: data, mountPath: /data}, {name: scratch, mountPath: /scratch}]",
        POD + ".volumes", "[{name: data, emptyDir: {}}, {name: scratch, configMap: {name: cfg}}]");
    h.reconciler.setDesired(DockerHarness.state(next, config(Kind.CONFIG_MAP, "cfg", Map.of("greeting", "hello"))));
    String hash = io.dsfleet.common.TemplateHash.of(next.spec().template());
    h.awaitStatus(p -> p.getTemplateHash().equals(hash) && p.getContainers(0).getState().equals("running"), Duration.ofSeconds(60));
    assertThat(h.sh("main", "ls -A /data")).as("the old template's Secret").isEmpty();
    assertThat(h.sh("main", "ls /scratch")).as("what the old template's container wrote").isEqualTo("greeting");
    assertThat(Files.readAllLines(Path.of("/proc/self/mountinfo"))).as("the old Secret's tmpfs, unmounted")
        .noneMatch(l -> l.contains(h.stateDir.resolve("pods/ops_agent-pod01/volumes/data") + " ") && l.contains(" - tmpfs "));

    io.dsfleet.common.model.DaemonSet third = ds(C0 + ".volumeMounts", "[{name: data, mountPath: /data}]",
        POD + ".volumes", "[{name: data, secret: {secretName: creds}}]");
    h.sh("main", "echo planted > /data/planted");
    h.reconciler.setDesired(DockerHarness.state(third, config(Kind.SECRET, "creds", Map.of("token", "s3cret"))));
    String thirdHash = io.dsfleet.common.TemplateHash.of(third.spec().template());
    h.awaitStatus(p -> p.getTemplateHash().equals(thirdHash) && p.getContainers(0).getState().equals("running"), Duration.ofSeconds(60));
    assertThat(h.sh("main", "ls /data; grep ' /data ' /proc/mounts | cut -d' ' -f3")).as("the Secret alone, on a tmpfs").isEqualTo("token\ntmpfs");
  }
  @Test
  void sandboxesRunTheAgentsOwnPauseImageWhateverItsTag() {
    String pause = io.dsfleet.agent.runtime.PauseImage.id();
    h.docker.ensureSandboxImage();
    try {
      assertThat(Docker.cli(Map.of(), "tag", "local/busybox:1", "dsfleet/pause:1").exit()).isZero();
      h.run(ds(C0 + ".env[1]", DockerHarness.ASKS_FOR_POD_IP)); // a pod in a sandbox
      String sandbox = h.docker.listOwned(h.node).stream().filter(c -> "sandbox".equals(c.label("io.dsfleet.role"))).findFirst().orElseThrow().id();
      assertThat(Docker.cli(Map.of(), "inspect", "-f", "{{.Image}}", sandbox).out().strip()).isEqualTo(pause);
    } finally {
      Docker.cli(Map.of(), "tag", pause, "dsfleet/pause:1");
    }
  }
}
