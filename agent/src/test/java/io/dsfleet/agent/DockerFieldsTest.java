package io.dsfleet.agent;

import static io.dsfleet.agent.DockerHarness.config;
import static io.dsfleet.agent.DockerHarness.ds;
import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.proto.v1.ConfigObject.Kind;
import io.dsfleet.proto.v1.PodStatus;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every field of the supported PodSpec subset on the real Docker daemon, each test asserting the
 * effect from inside the container or from what Docker reports about it.
 */
class DockerFieldsTest extends OnDocker {
  static final String C0 = "spec.template.spec.containers[0]";
  static final String POD = "spec.template.spec";
  /** A container's shell that exits 3 once the test touches /tmp/crash in it (a crash when the test has looked, not after a fixed time). */
  static final String CRASH = "until test -f /tmp/crash; do sleep 0.1; done; exit 3";

  @Test
  void envFromFieldRefsConfigMapsAndSecrets() {
    h.run(ds(C0 + ".env", """
        [{name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}},
         {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}},
         {name: NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}},
         {name: HOST_IP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}},
         {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}},
         {name: TIER, valueFrom: {fieldRef: {fieldPath: "metadata.labels['tier']"}}},
         {name: GREETING, valueFrom: {configMapKeyRef: {name: cfg, key: greeting}}},
         {name: TOKEN, valueFrom: {secretKeyRef: {name: creds, key: token}}},
         {name: MISSING_OK, valueFrom: {configMapKeyRef: {name: cfg, key: nope, optional: true}}},
         {name: MSG, value: "$(GREETING) from $(NODE)"}]""",
        C0 + ".envFrom", "[{configMapRef: {name: cfg}, prefix: CFG_}]"),
        config(Kind.CONFIG_MAP, "cfg", Map.of("greeting", "hello")), config(Kind.SECRET, "creds", Map.of("token", "s3cret")));
    String env = h.sh("main", "env");
    assertThat(env).contains("NODE=" + h.node, "POD=agent-pod01", "NS=ops", "HOST_IP=127.0.0.1", "TIER=node",
        "GREETING=hello", "TOKEN=s3cret", "CFG_greeting=hello", "MSG=hello from " + h.node).doesNotContain("MISSING_OK");
    String podIp = h.docker.listOwned(h.node).stream().filter(c -> Labels.SANDBOX.equals(c.label(Labels.ROLE))).findFirst().orElseThrow().ip();
    assertThat(env).contains("POD_IP=" + podIp);
    assertThat(podIp).matches("\\d+\\.\\d+\\.\\d+\\.\\d+");
  }

  @Test
  void commandArgsAndWorkingDir() {
    h.run(ds(C0 + ".command", "[sh, -c]", C0 + ".args", "['cd . && pwd > /tmp/wd && sleep 3600']", C0 + ".workingDir", "/www"));
    assertThat(h.sh("main", "cat /tmp/wd")).isEqualTo("/www");
  }

  @Test
  void configMapAndSecretVolumesWithModesItemsAndSubPath() throws IOException {
    h.run(ds(C0 + ".volumeMounts", """
        [{name: cfg, mountPath: /etc/cfg}, {name: one, mountPath: /etc/one}, {name: sec, mountPath: /etc/sec, readOnly: true},
         {name: cfg, mountPath: /etc/greeting.txt, subPath: greeting}]""",
        POD + ".volumes", """
        [{name: cfg, configMap: {name: cfg}},
         {name: one, configMap: {name: cfg, items: [{key: greeting, path: nested/hi.txt, mode: 0600}]}},
         {name: sec, secret: {secretName: creds, defaultMode: 0400}}]"""),
        config(Kind.CONFIG_MAP, "cfg", Map.of("greeting", "hello", "other", "x")), config(Kind.SECRET, "creds", Map.of("token", "s3cret")));
    assertThat(h.sh("main", "cat /etc/cfg/greeting; echo; stat -L -c %a /etc/cfg/greeting")).isEqualTo("hello\n644");
    assertThat(h.sh("main", "ls /etc/one; cat /etc/one/nested/hi.txt; echo; stat -L -c %a /etc/one/nested/hi.txt")).isEqualTo("nested\nhello\n600");
    assertThat(h.sh("main", "cat /etc/sec/token; echo; stat -L -c %a /etc/sec/token")).isEqualTo("s3cret\n400");
    assertThat(h.sh("main", "touch /etc/sec/x 2>&1 || echo read-only")).contains("read-only");
    assertThat(h.sh("main", "cat /etc/greeting.txt")).isEqualTo("hello");
    assertThat(h.sh("main", "touch /etc/cfg/x 2>&1 || echo read-only")).as("read-only although readOnly is not set").contains("read-only");
    // as the kubelet: a timestamped directory, ..data swapped to it, one link per key
    assertThat(h.sh("main", "readlink /etc/cfg/greeting; readlink /etc/cfg/..data")).matches("\\.\\.data/greeting\n\\.\\.\\d{4}_\\d\\d_.*");
    // the secret is on a tmpfs of its own (never on the host's disk), under the owner-only state directory
    assertThat(h.sh("main", "grep ' /etc/sec ' /proc/mounts")).contains(" /etc/sec tmpfs ro,");
    Path secretDir = h.stateDir.resolve("pods/ops_agent-pod01/volumes/sec");
    assertThat(Files.readAllLines(Path.of("/proc/self/mountinfo"))).anyMatch(l -> l.split(" ")[4].equals(secretDir.toString()) && l.contains(" - tmpfs "));
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(h.stateDir))).isEqualTo("rwx------");
    h.clear();
    assertThat(Files.readAllLines(Path.of("/proc/self/mountinfo"))).as("unmounted with the pod").noneMatch(l -> l.contains(secretDir.toString()));
  }

  @Test
  void downwardApiAndProjectedVolumes() {
    h.run(ds(C0 + ".volumeMounts", "[{name: info, mountPath: /etc/info}, {name: all, mountPath: /etc/all}]",
        POD + ".volumes", """
        [{name: info, downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}, {path: name, fieldRef: {fieldPath: metadata.name}}]}},
         {name: all, projected: {sources: [{configMap: {name: cfg}}, {downwardAPI: {items: [{path: ns, fieldRef: {fieldPath: metadata.namespace}}]}}]}}]"""),
        config(Kind.CONFIG_MAP, "cfg", Map.of("greeting", "hello")));
    assertThat(h.sh("main", "cat /etc/info/labels")).isEqualTo("app=\"agent\"\ntier=\"node\"");
    assertThat(h.sh("main", "cat /etc/info/name")).isEqualTo("agent-pod01");
    assertThat(h.sh("main", "cat /etc/all/greeting; echo; cat /etc/all/ns")).isEqualTo("hello\nops");
  }

  @Test
  void emptyDirIsSharedByThePodsContainersAndMemoryMediumIsOneTmpfsForThemAll() {
    h.run(ds(C0 + ".volumeMounts", "[{name: shared, mountPath: /shared}, {name: mem, mountPath: /cache}]",
        POD + ".containers[1]", "{name: side, image: local/busybox:1, command: [sh, -c, 'echo from-side > /shared/x; echo in-memory > /cache/y;"
            + " sleep 3600'], volumeMounts: [{name: shared, mountPath: /shared}, {name: mem, mountPath: /cache}]}",
        POD + ".volumes", "[{name: shared, emptyDir: {}}, {name: mem, emptyDir: {medium: Memory, sizeLimit: 16Mi}}]"));
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> h.sh("main", "cat /shared/x").equals("from-side"));
    assertThat(h.sh("main", "grep ' /cache ' /proc/mounts")).contains(" /cache tmpfs ").contains("size=16384k");
    assertThat(h.sh("main", "cat /cache/y")).as("one tmpfs, shared").isEqualTo("in-memory");
    assertThat(h.sh("main", "dd if=/dev/zero of=/cache/big bs=1M count=32 2>&1; ls -l /cache/big")).as("sizeLimit holds")
        .contains("No space left on device");
  }

  /**
   * Without a sizeLimit a Memory emptyDir is bounded by the pod's memory limit, as the kubelet
   * bounds it (the kernel's default was half the host's memory, and the pages of a container that
   * died stay: a crash-looping pod added up to its limit with every restart).
   */
  @Test
  void aMemoryEmptyDirWithoutSizeLimitIsBoundByThePodsMemoryLimit() {
    h.run(ds(C0 + ".volumeMounts", "[{name: mem, mountPath: /cache}]", C0 + ".resources", "{limits: {memory: 24Mi}}",
        POD + ".containers[1]", "{name: side, image: local/busybox:1, command: [sh, -c, 'sleep 3600'], resources: {limits: {memory: 40Mi}}}",
        POD + ".volumes", "[{name: mem, emptyDir: {medium: Memory}}]"));
    assertThat(h.sh("main", "grep ' /cache ' /proc/mounts")).contains(" /cache tmpfs ").contains("size=65536k");
  }

  @Test
  void hostPathTypesReadOnlyAndPropagation() throws Exception {
    // HostToContainer needs a shared host mount, as in Kubernetes (systemd makes / shared; this sandbox's / is private)
    Path shared = Files.createDirectories(tmp.resolve("shared"));
    var mounted = io.dsfleet.common.testing.Processes.run(new ProcessBuilder("sh", "-c", "mount --bind " + shared + " " + shared
        + " && mount --make-shared " + shared), Duration.ofSeconds(30));
    assertThat(mounted.exit()).as(mounted.output()).isZero();
    Path made = tmp.resolve("made/here");
    Path file = Files.writeString(tmp.resolve("host.txt"), "from-host");
    h.run(ds(C0 + ".volumeMounts", """
        [{name: made, mountPath: /made}, {name: file, mountPath: /host.txt, readOnly: true},
         {name: root, mountPath: /hostroot, readOnly: true, mountPropagation: HostToContainer}]""",
        POD + ".volumes", "[{name: made, hostPath: {path: " + made + ", type: DirectoryOrCreate}}, {name: file, hostPath: {path: " + file
            + ", type: File}}, {name: root, hostPath: {path: " + shared + ", type: Directory}}]",
        POD + ".terminationGracePeriodSeconds", "1"));
    assertThat(Files.isDirectory(made)).isTrue();
    h.sh("main", "echo written > /made/f");
    assertThat(Files.readString(made.resolve("f")).strip()).isEqualTo("written");
    assertThat(h.sh("main", "cat /host.txt")).isEqualTo("from-host");
    assertThat(h.sh("main", "echo x > /host.txt 2>&1 || echo denied")).contains("denied");
    assertThat(h.sh("main", "grep ' /hostroot ' /proc/self/mountinfo")).contains("master:");
    h.clear();
    var unmounted = io.dsfleet.common.testing.Processes.run(new ProcessBuilder("umount", shared.toString()), Duration.ofSeconds(30));
    assertThat(unmounted.exit()).as(unmounted.output()).isZero();
  }

  @Test
  void hostPathOfTheWrongTypeIsRefusedWithItsReason() throws IOException {
    Path file = Files.writeString(tmp.resolve("not-a-dir"), "x");
    h.reconciler.setDesired(DockerHarness.state(ds(C0 + ".volumeMounts", "[{name: d, mountPath: /d}]",
        POD + ".volumes", "[{name: d, hostPath: {path: " + file + ", type: Directory}}]")));
    // one container alone: its start is refused (with a sandbox, the sandbox's, as the pod's reason)
    PodStatus s = h.awaitStatus(p -> p.getContainersCount() > 0 && p.getContainers(0).getReason().equals("HostPathTypeMismatch"),
        Duration.ofSeconds(30));
    assertThat(s.getContainers(0).getMessage()).contains(file + " is not an existing directory");
  }

  @Test
  void resourcesBecomeDockerLimitsAndLogsAreRotated() {
    h.run(ds(C0 + ".resources", "{limits: {cpu: 500m, memory: 64Mi}, requests: {cpu: 250m, memory: 32Mi}}"));
    assertThat(h.sh("main", "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes")).isEqualTo("67108864");
    String id = h.container("main").id();
    assertThat(Docker.cli(Map.of(), "inspect", "-f", "{{.HostConfig.MemorySwap}} {{.HostConfig.LogConfig.Type}} {{json .HostConfig.LogConfig.Config}}", id)
        .out().strip()).as("no swap beyond the limit; the kubelet's log rotation").isEqualTo("67108864 json-file {\"max-file\":\"5\",\"max-size\":\"10m\"}");
    String cpu = h.sh("main", "cat /sys/fs/cgroup/cpu.max 2>/dev/null || echo $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)");
    String[] quota = cpu.split(" ");
    assertThat(Double.parseDouble(quota[0]) / Double.parseDouble(quota[1])).isEqualTo(0.5);
  }

  /**
   * The agent's podPidsLimit, as the kubelet's: each container made with Docker's PidsLimit, so a
   * fork bomb in a pod stops at it (the kernel's pids.max of the container's cgroup); without it,
   * none, as Kubernetes' default.
   */
  @Test
  void theNodesPidsLimitBoundsEachContainersProcesses() {
    String pidsMax = "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max";
    h.run(ds());
    assertThat(h.sh("main", pidsMax)).as("no bound unless the node sets one").isEqualTo("max");
    h.clear();
    h.docker.pidsLimit(64);
    h.run(ds(C0 + ".name", "bounded"));
    assertThat(h.sh("bounded", pidsMax)).isEqualTo("64");
    assertThat(Docker.cli(Map.of(), "inspect", "-f", "{{.HostConfig.PidsLimit}}", h.container("bounded").id()).out().strip()).isEqualTo("64");
    assertThat(h.sh("bounded", "for i in $(seq 1 80); do sleep 5 </dev/null >/dev/null 2>&1 & done 2>&1"))
        .as("forks past the bound refused").contains("can't fork");
  }

  @Test
  void userGroupsAndCapabilities() {
    h.run(ds(C0 + ".securityContext", "{runAsUser: 1234, runAsGroup: 2345, capabilities: {add: [NET_ADMIN], drop: [ALL]}, allowPrivilegeEscalation: false}",
        POD + ".securityContext", "{fsGroup: 3456, supplementalGroups: [4567]}"));
    assertThat(h.sh("main", "id -u; id -g")).isEqualTo("1234\n2345");
    assertThat(h.sh("main", "id -G")).contains("3456", "4567");
    // a non-root user has no effective capabilities (no ambient ones), as in Kubernetes: the bounding set shows what was granted
    long capBnd = Long.parseLong(h.sh("main", "grep CapBnd /proc/self/status | cut -f2"), 16);
    assertThat(capBnd).as("only NET_ADMIN (bit 12)").isEqualTo(1L << 12);
    assertThat(h.sh("main", "grep NoNewPrivs /proc/self/status | cut -f2")).isEqualTo("1");
  }

  @Test
  void readOnlyRootAndSeccomp() {
    h.run(ds(C0 + ".securityContext", "{readOnlyRootFilesystem: true}",
        POD + ".containers[1]", "{name: unconfined, image: local/busybox:1, command: [sleep, '3600'], securityContext: {seccompProfile: {type: Unconfined}}}",
        POD + ".containers[2]", "{name: confined, image: local/busybox:1, command: [sleep, '3600'], securityContext: {seccompProfile: {type: RuntimeDefault}}}"));
    assertThat(h.sh("main", "touch /x 2>&1 || echo read-only")).contains("read-only");
    assertThat(h.sh("unconfined", "grep Seccomp: /proc/self/status | cut -f2")).isEqualTo("0");
    assertThat(h.sh("confined", "grep Seccomp: /proc/self/status | cut -f2")).isEqualTo("2");
  }

  /**
   * A privileged container gets every capability of the host. Where the host itself lacks some
   * (this CI sandbox has no CAP_SYS_RESOURCE, so even `docker run --privileged` fails), the test
   * checks what the agent controls: Docker was asked for a privileged container.
   */
  @Test
  void privilegedContainers() throws Exception {
    h.reconciler.setDesired(DockerHarness.state(ds(C0 + ".securityContext", "{privileged: true}")));
    // Docker may list the container as failed a moment before its inspect carries the error: the
    // agent reports the error text from the pass that sees it
    PodStatus s = h.awaitStatus(p -> p.getContainers(0).getState().equals("running")
        || (p.getContainers(0).getReason().equals("RunContainerError") && p.getContainers(0).getMessage().contains("unable to apply caps")),
        Duration.ofSeconds(30));
    String id = h.docker.listOwned(h.node).stream().filter(c -> "main".equals(c.label(Labels.CONTAINER))).findFirst().orElseThrow().id();
    assertThat(Docker.cli(Map.of(), "inspect", "-f", "{{.HostConfig.Privileged}}", id).out().strip()).isEqualTo("true");
    if (s.getContainers(0).getState().equals("running")) {
      long capEff = Long.parseLong(h.sh("main", "grep CapEff /proc/self/status | cut -f2"), 16);
      long hostBnd = Long.parseLong(Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("CapBnd"))
          .findFirst().orElseThrow().split("\\s+")[1], 16);
      assertThat(capEff).isEqualTo(hostBnd);
    } else {
      assertThat(s.getContainers(0).getMessage()).as("only this host's own limit may stop it").contains("unable to apply caps");
    }
  }

  @Test
  void runAsNonRootRefusesARootImage() {
    h.reconciler.setDesired(DockerHarness.state(ds(C0 + ".securityContext", "{runAsNonRoot: true}")));
    PodStatus s = h.awaitStatus(p -> p.getContainersCount() > 0 && p.getContainers(0).getReason().equals("CreateContainerConfigError"), Duration.ofSeconds(30));
    assertThat(s.getContainers(0).getMessage()).isEqualTo("container has runAsNonRoot and image will run as root");
  }

  @Test
  void containersOfAPodShareNetworkAndIpcAndTheSandboxHoldsTheHostname() {
    h.run(ds(C0 + ".command", "[sh, -c, 'echo pong | nc -l -p 7777; sleep 3600']",
        POD + ".containers[1]", "{name: side, image: local/busybox:1, command: [sleep, '3600']}"));
    assertThat(h.sh("side", "nc localhost 7777 </dev/null")).isEqualTo("pong");
    assertThat(h.sh("side", "readlink /proc/self/ns/ipc")).isEqualTo(h.sh("main", "readlink /proc/self/ns/ipc"));
    assertThat(h.sh("main", "hostname")).isEqualTo("agent-pod01");
  }

  /**
   * Every container the agent makes on Docker, the sandbox too, carries the SHA-256 of the template
   * bytes it was sent (with the hash, which template it is: a hash can be shared; docs/agent.md).
   */
  @Test
  void everyContainerOfAPodCarriesItsTemplatesDigest() throws Exception {
    var ds = ds(POD + ".containers[1]", "{name: side, image: local/busybox:1, command: [sleep, '3600']}");
    h.run(ds);
    byte[] sent = DockerHarness.state(ds).getPods(0).getTemplateJson().toByteArray();
    String digest = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(sent));
    assertThat(h.docker.listOwned(h.node)).extracting(c -> c.label(Labels.ROLE) + " " + c.label(Labels.DIGEST))
        .containsExactlyInAnyOrder("sandbox " + digest, "app " + digest, "app " + digest);
  }

  @Test
  void hostNetworkHostPidAndHostIpc() throws IOException {
    h.run(ds(POD + ".hostNetwork", "true", POD + ".hostPID", "true", POD + ".hostIPC", "true"));
    assertThat(h.sh("main", "readlink /proc/self/ns/net")).isEqualTo(Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString());
    assertThat(h.sh("main", "readlink /proc/self/ns/ipc")).isEqualTo(Files.readSymbolicLink(Path.of("/proc/self/ns/ipc")).toString());
    assertThat(h.sh("main", "readlink /proc/self/ns/pid")).isEqualTo(Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString());
  }

  /**
   * One container on the host network is the pod alone (docs/agent.md, "Pods on Docker"): no
   * sandbox, its own IPC namespace, the host's network, and it restarts in place after a crash,
   * its run counted on. A second container makes a sandbox again, which they share.
   */
  @Test
  void oneContainerOnTheHostNetworkRunsWithoutASandbox(@TempDir Path own) throws IOException {
    h.close();
    h = new DockerHarness(own, new io.dsfleet.agent.reconcile.Backoff(Duration.ofSeconds(1), Duration.ofSeconds(10)));
    String role = Labels.ROLE;
    // each run crashes once the test says so (CRASH), after it looked inside
    PodStatus s = h.run(ds(POD + ".hostNetwork", "true", C0 + ".command", "[sh, -c, '" + CRASH + "']"));
    assertThat(s.getPhase()).isEqualTo("Running");
    assertThat(s.getStartedAtMillis()).isPositive();
    assertThat(h.docker.listOwned(h.node)).as("one container, no sandbox").hasSize(1)
        .allMatch(c -> c.label(role).equals(Labels.APP));
    assertThat(h.sh("main", "readlink /proc/self/ns/net")).isEqualTo(Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString());
    assertThat(h.sh("main", "readlink /proc/self/ns/ipc")).isNotEqualTo(Files.readSymbolicLink(Path.of("/proc/self/ns/ipc")).toString());
    h.sh("main", "touch /tmp/crash");
    h.awaitStatus(p -> p.getContainers(0).getRestartCount() == 1 && p.getContainers(0).getState().equals("running") && p.getReady(),
        Duration.ofSeconds(30));
    assertThat(h.docker.listOwned(h.node)).as("restarted in place: still no sandbox")
        .noneMatch(c -> c.label(role).equals(Labels.SANDBOX));
    h.clear();

    h.run(ds(POD + ".hostNetwork", "true", POD + ".containers[1]", "{name: side, image: local/busybox:1, command: [sleep, '3600']}"));
    assertThat(h.docker.listOwned(h.node)).as("two containers share a sandbox")
        .filteredOn(c -> c.label(role).equals(Labels.SANDBOX)).hasSize(1);
    assertThat(h.sh("side", "readlink /proc/self/ns/ipc")).isEqualTo(h.sh("main", "readlink /proc/self/ns/ipc"));

    // the sandbox's /pause takes no SIGTERM: a `docker stop` (dockerd's own at a restart) kills it at once instead of
    // waiting out its timeout for nothing
    String sandbox = h.docker.listOwned(h.node).stream().filter(c -> c.label(role).equals(Labels.SANDBOX)).findFirst().orElseThrow().id();
    assertThat(dockerCli("inspect", "-f", "{{.Config.StopSignal}}", sandbox)).isEqualTo("SIGKILL");
    long t0 = System.nanoTime();
    dockerCli("stop", "-t", "60", sandbox);
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("docker stop -t 60 of the sandbox").isLessThan(Duration.ofSeconds(30));
  }

  private static String dockerCli(String... args) throws IOException {
    List<String> cmd = new java.util.ArrayList<>(List.of("docker"));
    cmd.addAll(List.of(args));
    try {
      var r = io.dsfleet.common.testing.Processes.run(new ProcessBuilder(cmd), Duration.ofSeconds(90));
      assertThat(r.exit()).as("docker %s: %s", String.join(" ", args), r.output()).isZero();
      return r.output().strip();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  /**
   * One container on the bridge is the pod alone too: no sandbox, its own network with the pod's
   * hostname, probes against its own address, and after a crash a new run, alone again, whose
   * address the probes follow.
   */
  @Test
  void oneContainerOnTheBridgeRunsWithoutASandboxAndItsProbesFollowItsAddress(@TempDir Path own) throws IOException {
    h.close();
    h = new DockerHarness(own, new io.dsfleet.agent.reconcile.Backoff(Duration.ofSeconds(1), Duration.ofSeconds(10)));
    // the first run crashes once the test says so (CRASH); the next runs stay (the emptyDir outlives a run)
    h.run(ds(C0 + ".command", "[sh, -c, 'httpd -p 8080 -h /www; test -f /scratch/crashed && exec sleep 3600; touch /scratch/crashed; " + CRASH + "']",
        C0 + ".volumeMounts", "[{name: scratch, mountPath: /scratch}]", POD + ".volumes", "[{name: scratch, emptyDir: {}}]",
        C0 + ".ports", "[{name: http, containerPort: 8080}]",
        C0 + ".readinessProbe", "{httpGet: {port: http, path: /index.html}, periodSeconds: 1}"));
    assertThat(h.docker.listOwned(h.node)).as("one container, no sandbox").hasSize(1)
        .allMatch(c -> c.label(Labels.ROLE).equals(Labels.APP) && c.ip().matches("\\d+\\.\\d+\\.\\d+\\.\\d+"));
    assertThat(h.sh("main", "hostname")).isEqualTo("agent-pod01");
    assertThat(h.sh("main", "readlink /proc/self/ns/net")).isNotEqualTo(Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString());
    h.sh("main", "touch /tmp/crash");
    h.awaitStatus(p -> p.getContainers(0).getRestartCount() == 1 && p.getContainers(0).getReady() && p.getReady(), Duration.ofSeconds(30));
    assertThat(h.docker.listOwned(h.node)).as("restarted alone: still no sandbox").noneMatch(c -> c.label(Labels.ROLE).equals(Labels.SANDBOX));
  }

  /** An agent upgraded over such a pod: the sandbox the older agent made goes; the container it runs stays, untouched. */
  @Test
  void aSandboxAnOlderAgentMadeForAHostNetworkPodIsStoppedAndItsContainerKeepsRunning() {
    var d = ds(POD + ".hostNetwork", "true");
    var pod = io.dsfleet.agent.reconcile.DesiredPod.parse(DockerHarness.state(d), Map.of(), h.node, "127.0.0.1", tmp.resolve("pods"), "test")
        .values().iterator().next();
    // as the agent made it before this rule: a sandbox on the host network, the container joined to it
    String sandbox = h.docker.create(io.dsfleet.agent.pod.PodRenderer.sandbox(pod.ctx(), h.docker.ensureSandboxImage(), 0, "older"));
    h.docker.start(sandbox);
    var image = h.docker.inspectImage("local/busybox:1").orElseThrow();
    String app = h.docker.create(io.dsfleet.agent.pod.PodRenderer.container(pod.ctx(), pod.template().spec().containers().get(0), Labels.APP,
        0, 0, sandbox, 0, image.id(), "127.0.0.1", java.util.List.of(), image.user(), null, "older", null));
    h.docker.start(app);
    h.reconciler.setDesired(DockerHarness.state(d));
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> h.docker.listOwned(h.node).stream()
        .noneMatch(c -> c.id().equals(sandbox) && c.running()));
    h.settle(2);
    assertThat(h.container("main").id()).as("the same container, never restarted").isEqualTo(app);
    assertThat(h.last.get(0).getReady()).isTrue();
    assertThat(h.last.get(0).getContainers(0).getRestartCount()).isZero();
  }

  @Test
  void hostPortIsPublished() throws Exception {
    h.run(ds(C0 + ".command", "[sh, -c, 'httpd -f -p 8080 -h /www']", C0 + ".ports", "[{containerPort: 8080, hostPort: 18181}]"));
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
      try (Socket s = new Socket("127.0.0.1", 18181)) {
        s.getOutputStream().write("GET /index.html HTTP/1.0\r\n\r\n".getBytes());
        return new String(s.getInputStream().readAllBytes()).contains("ok");
      }
    });
  }

  /** A sandbox that cannot start (its hostPort is taken) says why, and the pod has an age. */
  @Test
  void aSandboxThatCannotStartSaysWhy() throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket()) {
      taken.bind(new java.net.InetSocketAddress("0.0.0.0", 0));
      h.reconciler.setDesired(DockerHarness.state(ds(C0 + ".ports", "[{containerPort: 8080, hostPort: " + taken.getLocalPort() + "}]",
          C0 + ".env[1]", DockerHarness.ASKS_FOR_POD_IP))); // in a sandbox
      PodStatus s = h.awaitStatus(p -> p.getReason().equals("CreatePodSandboxError"), Duration.ofSeconds(30));
      assertThat(s.getMessage()).startsWith("CreatePodSandboxError: ").contains(String.valueOf(taken.getLocalPort()));
      assertThat(s.getContainers(0).getReason()).isEqualTo("ContainerCreating");
      assertThat(s.getCreatedAtMillis()).isPositive();
    }
  }

  /** One container alone on the bridge whose hostPort is taken: its start fails with Docker's words, the port in them, and is retried. */
  @Test
  void aContainerAloneWhoseHostPortIsTakenSaysWhy() throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket()) {
      taken.bind(new java.net.InetSocketAddress("0.0.0.0", 0));
      h.reconciler.setDesired(DockerHarness.state(ds(C0 + ".ports", "[{containerPort: 8080, hostPort: " + taken.getLocalPort() + "}]")));
      PodStatus s = h.awaitStatus(p -> p.getContainersCount() > 0 && p.getContainers(0).getReason().equals("RunContainerError"),
          Duration.ofSeconds(30));
      assertThat(s.getContainers(0).getMessage()).contains(String.valueOf(taken.getLocalPort()));
      assertThat(s.getPhase()).isEqualTo("Pending");
      assertThat(h.docker.listOwned(h.node)).as("no sandbox").noneMatch(c -> Labels.SANDBOX.equals(c.label(Labels.ROLE)));
    }
  }

  @Test
  void initContainersRunInOrderToCompletionBeforeTheApp() {
    h.run(ds(POD + ".initContainers", """
        [{name: first, image: local/busybox:1, command: [sh, -c, 'echo first >> /work/order'], volumeMounts: [{name: work, mountPath: /work}]},
         {name: second, image: local/busybox:1, command: [sh, -c, 'sleep 1; echo second >> /work/order'], volumeMounts: [{name: work, mountPath: /work}]}]""",
        C0 + ".command", "[sh, -c, 'echo main >> /work/order; sleep 3600']", C0 + ".volumeMounts", "[{name: work, mountPath: /work}]",
        POD + ".volumes", "[{name: work, emptyDir: {}}]"));
    // what the three wrote decides (with the app started out of turn it never reads so); the wait only
    // guards a hang: each look is a docker exec, which a busy machine can take seconds to run
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> h.sh("main", "cat /work/order").equals("first\nsecond\nmain"));
    assertThat(h.last.get(0).getContainersList()).filteredOn(c -> c.getInit()).allSatisfy(c -> assertThat(c.getReason()).isEqualTo("Completed"));
  }

  @Test
  void postStartAndPreStopHooksAndGracefulStop() throws IOException {
    Path out = Files.createDirectories(tmp.resolve("out"));
    h.run(ds(C0 + ".command", "[sh, -c, 'trap \"echo term >> /out/log; exit 0\" TERM; sleep 2147483647 & wait']",
        C0 + ".lifecycle", "{postStart: {exec: {command: [sh, -c, 'echo post-start >> /out/log']}}, preStop: {exec: {command: [sh, -c, 'echo pre-stop >> /out/log']}}}",
        C0 + ".volumeMounts", "[{name: out, mountPath: /out}]", POD + ".volumes", "[{name: out, hostPath: {path: " + out + "}}]",
        POD + ".terminationGracePeriodSeconds", "5"));
    h.clear();
    assertThat(Files.readAllLines(out.resolve("log"))).containsExactly("post-start", "pre-stop", "term");
  }

  @Test
  void probesDecideReadinessAndLivenessRestarts() {
    h.run(ds(C0 + ".command", "[sh, -c, 'httpd -p 8080 -h /www; sleep 3600']",
        C0 + ".ports", "[{name: http, containerPort: 8080}]",
        C0 + ".readinessProbe", "{httpGet: {port: http, path: /index.html}, periodSeconds: 1}",
        C0 + ".startupProbe", "{tcpSocket: {port: 8080}, periodSeconds: 1}",
        POD + ".containers[1]", "{name: flaky, image: local/busybox:1, command: [sleep, '3600'], livenessProbe: {exec: {command: [test, -f, /tmp/alive]}, periodSeconds: 1, failureThreshold: 2}}",
        POD + ".terminationGracePeriodSeconds", "1"));
    PodStatus s = h.awaitStatus(p -> p.getContainers(0).getReady(), Duration.ofSeconds(20));
    assertThat(s.getReady()).as("flaky has no readiness probe: ready while running").isTrue();
    // the container flaky had when main became ready (on a loaded machine its liveness may have failed already)
    String firstId = s.getContainers(1).getContainerId();
    // main's readiness fails from now on (three periods), while flaky's liveness fails (two): waited out together
    h.sh("main", "rm /www/index.html");
    // liveness failed: flaky was restarted, as a new container that runs
    h.awaitStatus(p -> p.getContainers(1).getRestartCount() >= 1 && !p.getContainers(1).getContainerId().equals(firstId)
        && p.getContainers(1).getState().equals("running"), Duration.ofSeconds(30));
    h.awaitStatus(p -> !p.getContainers(0).getReady() && !p.getReady(), Duration.ofSeconds(20));
  }

  @Test
  void dockerHealthcheckDecidesReadinessWithoutAProbe() {
    h.run(ds(C0 + ".image", "local/busybox-health:1"));
    // Docker has run the check and found it failing, and the agent has looked since
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> "unhealthy".equals(h.container("main").health()));
    h.settle(2);
    assertThat(h.last.get(0).getReady()).as("unhealthy until /tmp/healthy exists").isFalse();
    h.sh("main", "touch /tmp/healthy");
    h.awaitStatus(PodStatus::getReady, Duration.ofSeconds(20));
  }

  /**
   * An image's HEALTHCHECK runs only where it decides readiness: an init container (never ready)
   * and an app container with a readiness probe (which decides instead) run theirs with Docker's
   * {@code NONE}, so Docker starts no health monitor and no exec of the check (each one dockerd,
   * containerd and runc work outside the pod's limits, here once a second); before 2026-12-06 both
   * ran it. An app container without a readiness probe still does (its health shown from start).
   */
  @Test
  void anImagesHealthCheckRunsOnlyWhereItDecidesReadiness() {
    h.run(ds(POD + ".initContainers", "[{name: init, image: local/busybox-health:1, command: [sh, -c, 'exit 0']}]",
        C0 + ".image", "local/busybox-health:1", C0 + ".readinessProbe", "{exec: {command: [sh, -c, 'exit 0']}, periodSeconds: 1}",
        POD + ".containers[1]", "{name: plain, image: local/busybox-health:1, command: [sh, -c, 'trap \"exit 0\" TERM; sleep 3600 & wait']}"));
    assertThat(h.container("plain").health()).as("no readiness probe: Docker's check decides, monitored from the start").isNotNull();
    assertThat(h.container("main").health()).as("a readiness probe decides: no check run").isNull();
    var init = h.docker.listOwned(h.node).stream().filter(c -> Labels.INIT.equals(c.label(Labels.ROLE))).findFirst().orElseThrow();
    assertThat(init.running()).isFalse();
    assertThat(init.health()).as("an init container: no check run").isNull();
    h.awaitStatus(p -> p.getContainersList().stream().anyMatch(c -> c.getName().equals("main") && c.getReady()), Duration.ofSeconds(20));
  }

  @Test
  void imagePullPolicies() {
    h.reconciler.setDesired(DockerHarness.state(ds(C0 + ".image", "local/absent:1", C0 + ".imagePullPolicy", "Never")));
    PodStatus s = h.awaitStatus(p -> p.getContainers(0).getReason().equals("ErrImageNeverPull"), Duration.ofSeconds(30));
    assertThat(s.getContainers(0).getMessage()).contains("local/absent:1");
    h.reconciler.setDesired(DockerHarness.state(ds(C0 + ".image", "127.0.0.1:1/absent:1")));
    s = h.awaitStatus(p -> p.getContainers(0).getReason().equals("ErrImagePull"), Duration.ofSeconds(30));
    assertThat(s.getContainers(0).getMessage()).contains("127.0.0.1:1/absent:1");
  }

  /**
   * A container's characters of more than one byte come whole, however Docker's stream of them is
   * cut in frames (a terminal's, here, about a KiB each): each frame was decoded alone, and a
   * character cut between two came as two or three U+FFFD, every few hundred characters. (Docker
   * itself stores a line in pieces of 16 KiB, each a JSON string, and a character cut between two
   * is lost there: the text here stays under that.)
   */
  @Test
  void logCharactersCutBetweenFramesComeWhole() throws Exception {
    String text = "\u20ac".repeat(40); // the euro sign: three bytes
    h.run(ds(C0 + ".tty", "true", C0 + ".command", "[sh, -c, 'i=0; while [ $i -lt 130 ]; do printf " + text + "; i=$((i+1)); done;"
        + " echo; sleep 3600']"));
    String id = h.container("main").id();
    java.util.List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
      lines.clear();
      java.util.concurrent.CountDownLatch d = new java.util.concurrent.CountDownLatch(1);
      h.docker.logs(id, -1, false, lines::add, d::countDown);
      d.await(10, java.util.concurrent.TimeUnit.SECONDS);
      return lines.stream().mapToInt(String::length).sum() >= 5200;
    });
    assertThat(String.join("", lines)).as("every character whole").isEqualTo(text.repeat(130) + "\r");
  }

  /** Log text without a newline reaches dsctl logs in bounded pieces (a container cannot grow one line in the agent's heap). */
  @Test
  void logsWithoutNewlinesComeInBoundedPieces() throws Exception {
    h.run(ds(C0 + ".command", "[sh, -c, 'head -c 40000 /dev/zero | tr \"\\\\0\" x; echo; sleep 3600']"));
    String id = h.container("main").id();
    java.util.List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> {
      lines.clear();
      java.util.concurrent.CountDownLatch d = new java.util.concurrent.CountDownLatch(1);
      h.docker.logs(id, -1, false, lines::add, d::countDown);
      d.await(10, java.util.concurrent.TimeUnit.SECONDS);
      return lines.stream().mapToInt(String::length).sum() == 40000;
    });
    assertThat(lines).allMatch(l -> l.length() <= 16 * 1024).hasSize(3);
  }

  /**
   * A log read whole that is closed before its end ends (its done runs) without reading on: the
   * agent closes it when the coordinator cancels the request (LogRequests).
   */
  @Test
  void aLogReadWholeThatIsClosedEnds() throws Exception {
    h.run(ds(C0 + ".command", "[sh, -c, 'seq 1 200000; touch /tmp/written; sleep 3600']"));
    String id = h.container("main").id();
    java.util.concurrent.atomic.AtomicInteger read = new java.util.concurrent.atomic.AtomicInteger();
    // written (a look inside is cheap; each read of the whole log is not), then read whole once Docker has it all
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> h.sh("main", "test -f /tmp/written && echo yes").equals("yes"));
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> {
      java.util.concurrent.CountDownLatch d = new java.util.concurrent.CountDownLatch(1);
      read.set(0);
      h.docker.logs(id, -1, false, l -> read.incrementAndGet(), d::countDown);
      d.await(20, java.util.concurrent.TimeUnit.SECONDS);
      return read.get() == 200_000;
    });
    read.set(0);
    java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.atomic.AtomicReference<Thread> reader = new java.util.concurrent.atomic.AtomicReference<>();
    AutoCloseable stream = h.docker.logs(id, -1, false, l -> {
      reader.compareAndSet(null, Thread.currentThread());
      read.incrementAndGet();
      java.util.concurrent.locks.LockSupport.parkNanos(1_000_000); // a reader held back: 200 s for the whole log
    }, done::countDown);
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> read.get() > 0); // under way
    stream.close();
    assertThat(done.await(10, java.util.concurrent.TimeUnit.SECONDS)).as("ended once closed").isTrue();
    int atEnd = read.get();
    // the thread that passed the lines on has ended: no line can come after this
    reader.get().join(10_000);
    assertThat(reader.get().isAlive()).as("the stream's reader ended").isFalse();
    assertThat(read.get()).as("no line read after it ended").isEqualTo(atEnd).isLessThan(200_000);
  }

  @Test
  void ttyAndStdin() {
    h.run(ds(C0 + ".tty", "true", C0 + ".stdin", "true"));
    assertThat(h.sh("main", "readlink /proc/1/fd/0")).startsWith("/dev/pts/");
  }
}
