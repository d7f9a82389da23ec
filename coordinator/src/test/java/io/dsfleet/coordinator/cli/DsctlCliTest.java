package io.dsfleet.coordinator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.Json;
import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.proto.v1.DesiredState;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Every dsctl verb against a real coordinator over gRPC: output and exit codes, errors included. */
class DsctlCliTest {
  @TempDir Path dir;
  CoordinatorFixture c;
  String addr;

  record Result(int exit, String out, String err) {}

  @BeforeEach
  void start() throws Exception {
    c = new CoordinatorFixture(dir.resolve("data"));
    addr = "127.0.0.1:" + c.server.port();
    Dsctl.clock = c.clock;
  }

  @AfterEach
  void stop() {
    Dsctl.clock = java.time.Clock.systemUTC();
    c.close();
  }

  Result dsctl(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(new Dsctl());
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    String[] withAddr = args;
    if (args.length > 0 && !args[0].equals("validate") && !args[0].equals("completion")) {
      withAddr = new String[args.length + 3];
      int at = args[0].equals("rollout") || args[0].equals("node") ? 2 : 1;
      System.arraycopy(args, 0, withAddr, 0, at);
      withAddr[at] = "--coordinator";
      withAddr[at + 1] = addr;
      withAddr[at + 2] = "--insecure";
      System.arraycopy(args, at, withAddr, at + 3, args.length - at);
    }
    int exit = cl.execute(withAddr);
    return new Result(exit, out.toString(), err.toString());
  }

  Path file(String name, String content) throws Exception {
    return Files.writeString(dir.resolve(name), content);
  }

  @Test
  void applyReportsCreatedConfiguredUnchanged() throws Exception {
    Path f = file("ds.yaml", Fixtures.BASE);
    assertThat(dsctl("apply", "-f", f.toString())).isEqualTo(new Result(0, "daemonset/agent created\n", ""));
    assertThat(dsctl("apply", "-f", f.toString()).out()).isEqualTo("daemonset/agent unchanged\n");
    Path g = file("ds2.yaml", Fixtures.BASE.replace("busybox:1", "busybox:2"));
    assertThat(dsctl("apply", "-f", g.toString()).out()).isEqualTo("daemonset/agent configured\n");
  }

  /** Checked before reading: a file the coordinator could not take in one request never leaves this machine. */
  @Test
  void aManifestOverTheSizeLimitIsRefusedAndNothingIsApplied() throws Exception {
    Path ok = file("a.yaml", Fixtures.BASE);
    Path big = file("big.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  blob: " + "x".repeat(50 << 20) + "\n");
    Result r = dsctl("apply", "-f", ok.toString(), "-f", big.toString());
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).isEqualTo("error: " + big + " is " + Files.size(big) + " bytes; manifests are limited to 4128768 bytes"
        + " (4 MiB, the coordinator's request limit, less 64 KiB for the rest of the request)\n");
    assertThat(dsctl("get", "ds", "-A").err()).isEqualTo("No resources found\n");
  }

  @Test
  void anAliasIsRefusedAndNothingIsApplied() throws Exception {
    Path f = file("alias.yaml", Fixtures.BASE.replace("labels: {app: agent}\nspec:", "labels: {app: agent, tier: &t node}\nspec:")
        .replace("labels: {app: agent, tier: node}", "labels: {app: agent, tier: *t}"));
    Result r = dsctl("apply", "-f", f.toString());
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).contains("alias.yaml#1 (no kind): spec.template.metadata.labels.tier: YAML aliases (*t) are not supported: write the value out (line 12, column 34)")
        .contains("nothing applied");
    assertThat(dsctl("get", "ds", "-A").err()).isEqualTo("No resources found\n");
  }

  @Test
  void anInvalidManifestPrintsItsErrorsAndAppliesNothing() throws Exception {
    Path f = file("bad.yaml", Fixtures.BASE.replace("name: main", "name: Main"));
    Result r = dsctl("apply", "-f", f.toString());
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).contains("bad.yaml#1 DaemonSet/agent: spec.template.spec.containers[0].name: Invalid value: \"Main\"")
        .contains("nothing applied");
    assertThat(dsctl("get", "ds", "-A").err()).isEqualTo("No resources found\n");
    assertThat(dsctl("apply", "-f", dir.resolve("missing.yaml").toString()).exit()).isEqualTo(2);
  }

  @Test
  void getInTablesJsonAndYaml() throws Exception {
    dsctl("apply", "-f", file("ds.yaml", Fixtures.BASE).toString());
    Result table = dsctl("get", "ds", "-n", "ops");
    assertThat(table.out().lines().toList()).containsExactly(
        "NAME    DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR   AGE",
        "agent   0         0         0       0            0           <none>          0s");
    Result all = dsctl("get", "ds", "-A", "-o", "wide");
    assertThat(all.out()).startsWith("NAMESPACE   NAME").contains("local/busybox:1");
    Map<?, ?> json = Json.read(dsctl("get", "ds", "agent", "-n", "ops", "-o", "json").out(), Map.class);
    assertThat(json.get("kind")).isEqualTo("DaemonSet");
    assertThat(((Map<?, ?>) json.get("status")).get("desiredNumberScheduled")).isEqualTo(0);
    assertThat(dsctl("get", "ds", "-n", "ops", "-o", "yaml").out()).contains("kind: List").contains("name: agent");
    assertThat(dsctl("get", "widgets").exit()).isEqualTo(2);
    assertThat(dsctl("get", "ds", "-o", "xml").exit()).isEqualTo(2);
  }

  @Test
  void nodesPodsAndRollout() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of("rack", "r1"));
    a.nextDesired(Duration.ofSeconds(10));
    dsctl("apply", "-f", file("ds.yaml", Fixtures.BASE).toString());
    DesiredState s = a.nextDesired(Duration.ofSeconds(10));

    assertThat(dsctl("get", "nodes", "--show-labels").out().lines().toList()).containsExactly(
        "NAME     STATUS   AGE   VERSION   LABELS",
        "node-a   Ready    0s    test      kubernetes.io/arch=amd64,kubernetes.io/hostname=node-a,kubernetes.io/os=linux,rack=r1");
    assertThat(dsctl("get", "pods", "-n", "ops").out()).contains("Pending");
    assertThat(dsctl("rollout", "status", "ds/agent", "-n", "ops", "--timeout", "1").exit()).as("not rolled out yet").isEqualTo(1);

    a.reportAllReady(s, c.clock.millis());
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> dsctl("get", "pods", "-n", "ops").out().contains("Running"));
    Result pods = dsctl("get", "pods", "-n", "ops");
    assertThat(pods.out().lines().toList()).containsExactly(
        "NAME               READY   STATUS    RESTARTS   AGE   NODE     REVISION",
        s.getPods(0).getPodName() + "   1/1     Running   0          0s    node-a   1");
    Result status = dsctl("rollout", "status", "ds/agent", "-n", "ops", "--timeout", "10");
    assertThat(status.exit()).isZero();
    assertThat(status.out()).endsWith("daemon set \"agent\" successfully rolled out\n");

    Result logs = dsctl("logs", "ds/agent", "-n", "ops");
    assertThat(logs.out()).isEqualTo("[node-a] log of " + s.getPods(0).getPodName() + "\n[node-a] second line\n");

    Result describe = dsctl("describe", "node", "node-a");
    assertThat(describe.out()).contains("Status:             Ready").contains("rack=r1").contains(s.getPods(0).getPodName());
  }

  /** Every failure an agent reports reaches get pods and describe pod with its reason and message, and the pod has an age. */
  @Test
  void aPodsFailureShowsInGetAndDescribe() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    a.nextDesired(Duration.ofSeconds(10));
    dsctl("apply", "-f", file("ds.yaml", Fixtures.BASE).toString());
    DesiredState s = a.nextDesired(Duration.ofSeconds(10));
    String pod = s.getPods(0).getPodName();
    long created = c.clock.millis() - 125_000;
    a.report(io.dsfleet.proto.v1.PodStatus.newBuilder().setNamespace("ops").setDaemonSet("agent").setPodName(pod)
        .setTemplateHash(s.getPods(0).getTemplateHash()).setPhase("Pending").setCreatedAtMillis(created)
        .setReason("CreatePodSandboxError").setMessage("CreatePodSandboxError: port 8080 is already allocated")
        .addContainers(io.dsfleet.proto.v1.ContainerStatus.newBuilder().setName("main").setImage("local/busybox:1").setState("waiting")
            .setReason("ContainerCreating")).build());
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> dsctl("get", "pods", "-n", "ops").out().contains("ContainerCreating"));
    assertThat(dsctl("get", "pods", "-n", "ops").out().lines().toList()).containsExactly(
        "NAME               READY   STATUS              RESTARTS   AGE   NODE     REVISION",
        pod + "   0/1     ContainerCreating   0          2m    node-a   1");
    Result d = dsctl("describe", "pod", pod, "-n", "ops");
    assertThat(d.out()).contains("Reason:       CreatePodSandboxError").contains("Message:      CreatePodSandboxError: port 8080 is already allocated")
        .contains("State:          waiting (ContainerCreating)").contains("Node:         node-a");

    a.report(io.dsfleet.proto.v1.PodStatus.newBuilder().setNamespace("ops").setDaemonSet("agent").setPodName(pod)
        .setTemplateHash(s.getPods(0).getTemplateHash()).setPhase("Pending").setCreatedAtMillis(created)
        .addContainers(io.dsfleet.proto.v1.ContainerStatus.newBuilder().setName("main").setImage("local/nope:1").setState("waiting")
            .setReason("ImagePullBackOff").setMessage("pulling local/nope:1: not found")).build());
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> dsctl("get", "pods", "-n", "ops").out().contains("ImagePullBackOff"));
    assertThat(dsctl("describe", "pod", pod, "-n", "ops").out()).contains("State:          waiting (ImagePullBackOff)")
        .contains("Message:        pulling local/nope:1: not found");
    assertThat(dsctl("describe", "pod", "nope", "-n", "ops").exit()).isEqualTo(1);
  }

  @Test
  void labelTaintCordonAndNodeRm() throws Exception {
    c.agent("node-a", Map.of());
    assertThat(dsctl("label", "node", "node-a", "disktype=ssd").out()).isEqualTo("node/node-a labeled\n");
    assertThat(dsctl("label", "node", "node-a", "disktype=hdd").exit()).as("no overwrite").isEqualTo(1);
    assertThat(dsctl("label", "node", "node-a", "disktype=hdd", "--overwrite").exit()).isZero();
    assertThat(dsctl("get", "nodes", "--show-labels").out()).contains("disktype=hdd");
    assertThat(dsctl("label", "node", "node-a", "disktype-").exit()).isZero();
    assertThat(dsctl("get", "nodes", "--show-labels").out()).doesNotContain("disktype");
    assertThat(dsctl("label", "node", "node-a", "bad key=x").exit()).isEqualTo(1);

    assertThat(dsctl("taint", "node", "node-a", "dedicated=gpu:NoSchedule").out()).isEqualTo("node/node-a tainted\n");
    assertThat(dsctl("get", "nodes", "-o", "wide").out()).contains("dedicated=gpu:NoSchedule");
    assertThat(dsctl("taint", "node", "node-a", "dedicated=gpu:Sometimes").exit()).isEqualTo(2);
    assertThat(dsctl("taint", "node", "node-a", "dedicated-").exit()).isZero();
    assertThat(dsctl("get", "nodes", "-o", "wide").out()).doesNotContain("dedicated");
    assertThat(dsctl("taint", "node", "node-a", "nope-").exit()).isEqualTo(1);

    assertThat(dsctl("cordon", "node-a").out()).isEqualTo("node/node-a cordoned\n");
    assertThat(dsctl("get", "nodes").out()).contains("Ready,SchedulingDisabled");
    dsctl("uncordon", "node-a");
    assertThat(dsctl("get", "nodes").out()).doesNotContain("SchedulingDisabled");

    assertThat(dsctl("node", "rm", "node-a").out()).isEqualTo("node/node-a removed\n");
    assertThat(dsctl("get", "nodes").err()).startsWith("No resources found");
    Result gone = dsctl("describe", "node", "node-a");
    assertThat(gone).isEqualTo(new Result(1, "", "error: nodes \"node-a\" not found\n"));
  }

  @Test
  void getShowsTheResourceVersionThatApplyAndUndoCompareAndSet() throws Exception {
    dsctl("apply", "-f", file("a.yaml", Fixtures.BASE).toString());
    dsctl("apply", "-f", file("b.yaml", Fixtures.BASE.replace("busybox:1", "busybox:2")).toString());
    String yaml = dsctl("get", "ds", "agent", "-n", "ops", "-o", "yaml").out();
    String rv = yaml.lines().filter(l -> l.trim().startsWith("resourceVersion:")).findFirst().orElseThrow().split(":")[1].trim()
        .replace("\"", "");
    assertThat(Long.parseLong(rv)).isPositive();
    assertThat(dsctl("apply", "-f", file("edited.yaml", yaml.replace("busybox:2", "busybox:3")).toString()).exit())
        .as("applying what get printed: the resourceVersion matches").isZero();
    Result stale = dsctl("apply", "-f", file("stale.yaml", yaml.replace("busybox:2", "busybox:4")).toString());
    assertThat(stale.exit()).isEqualTo(1);
    assertThat(stale.err()).contains("metadata.resourceVersion " + rv + " is stale").contains("dsctl get -o yaml");
    Result undo = dsctl("rollout", "undo", "ds/agent", "-n", "ops", "--resource-version", rv);
    assertThat(undo.exit()).isEqualTo(1);
    assertThat(dsctl("get", "ds", "-n", "ops", "-o", "wide").out()).contains("local/busybox:3");
  }

  @Test
  void rolloutStatusWithoutWatchExitsZeroOnlyWhenComplete() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    a.nextDesired(Duration.ofSeconds(10));
    dsctl("apply", "-f", file("ds.yaml", Fixtures.BASE).toString());
    DesiredState s = a.nextDesired(Duration.ofSeconds(10));
    // until a rollout pass has observed the new generation the answer is "spec update to be observed" (also exit 1)
    Result[] waiting = new Result[1];
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> (waiting[0] = dsctl("rollout", "status",
        "ds/agent", "-n", "ops", "--no-watch")).out().contains("rollout to finish") || waiting[0].exit() != 1);
    assertThat(waiting[0].exit()).isEqualTo(1);
    assertThat(waiting[0].out()).contains("Waiting for daemon set \"agent\" rollout to finish");
    a.reportAllReady(s, c.clock.millis());
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
        .until(() -> dsctl("rollout", "status", "ds/agent", "-n", "ops", "--no-watch").exit() == 0);
    dsctl("rollout", "pause", "ds/agent", "-n", "ops");
    dsctl("apply", "-f", file("ds2.yaml", Fixtures.BASE.replace("busybox:1", "busybox:2")).toString());
    Result[] paused = new Result[1];
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !(paused[0] = dsctl("rollout", "status",
        "ds/agent", "-n", "ops", "--no-watch")).out().contains("to be observed"));
    assertThat(paused[0].exit()).isEqualTo(1);
    assertThat(paused[0].out()).contains("rollout is paused");
  }

  @Test
  void deleteHistoryUndoConfigsAndSecrets() throws Exception {
    dsctl("apply", "-f", file("a.yaml", Fixtures.BASE).toString());
    dsctl("apply", "-f", file("b.yaml", Fixtures.BASE.replace("busybox:1", "busybox:2")).toString());
    Result history = dsctl("rollout", "history", "ds/agent", "-n", "ops");
    assertThat(history.out().lines().filter(l -> l.matches("^[0-9].*")).count()).isEqualTo(2);
    assertThat(dsctl("rollout", "undo", "ds/agent", "-n", "ops").out()).isEqualTo("daemonset.apps/agent rolled back\n");
    assertThat(dsctl("get", "ds", "-n", "ops", "-o", "wide").out()).contains("local/busybox:1");
    assertThat(dsctl("rollout", "undo", "ds/agent", "-n", "ops", "--to-revision", "99").exit()).isEqualTo(1);
    assertThat(dsctl("rollout", "status", "agent").exit()).as("not TYPE/NAME").isEqualTo(2);

    assertThat(dsctl("delete", "ds", "agent", "-n", "ops", "--cascade=sometimes").exit()).isEqualTo(2);
    assertThat(dsctl("delete", "ds", "agent", "-n", "ops").out()).isEqualTo("daemonset.apps \"agent\" deleted\n");
    assertThat(dsctl("delete", "ds", "agent", "-n", "ops")).isEqualTo(new Result(1, "", "error: daemonsets \"agent\" not found in namespace ops\n"));

    dsctl("apply", "-f", file("s.yaml", """
        apiVersion: v1
        kind: Secret
        metadata: {name: creds}
        stringData: {token: s3cret}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: cfg}
        data: {a: b}
        """).toString());
    assertThat(dsctl("get", "secrets").out()).contains("creds   Opaque   1");
    assertThat(dsctl("get", "secrets", "-o", "yaml").out()).doesNotContain("czNjcmV0").contains("hidden");
    assertThat(dsctl("get", "secrets", "-o", "yaml", "--show-secrets").out()).contains("czNjcmV0");
    assertThat(dsctl("get", "configmaps").out()).contains("cfg    1");
    assertThat(dsctl("delete", "configmap", "cfg").exit()).isZero();
    dsctl("apply", "-f", file("c.yaml", Fixtures.BASE).toString());
    assertThat(dsctl("delete", "ds", "agent", "-n", "ops", "--cascade=orphan").out()).isEqualTo("daemonset.apps \"agent\" deleted (pods orphaned)\n");
  }

  @Test
  void anUnreachableCoordinatorIsOneLineNamingTheAddress() {
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(new Dsctl());
    cl.setErr(new PrintWriter(err, true));
    int exit = cl.execute("get", "nodes", "--coordinator", "127.0.0.1:1", "--insecure");
    assertThat(exit).isEqualTo(1);
    assertThat(err.toString()).startsWith("error: cannot reach the coordinator at 127.0.0.1:1").hasLineCount(1);
  }

  @Test
  void versionAndCompletion() {
    assertThat(dsctl("version").out()).contains("Client Version: dsctl").contains("Coordinator Version: dev (" + addr + ")");
    assertThat(dsctl("completion").out()).contains("complete -F").contains("rollout");
  }

  @Test
  void whereToConnectComesFromFlagThenEnvironmentThenConfigFile() throws Exception {
    Path cfg = file("dsctl.yaml", "coordinator: 10.9.9.9:7443\n");
    GetCommand g = new GetCommand();
    assertThat(g.resolveAddress(Map.of("DSCTL_CONFIG", cfg.toString()))).isEqualTo("10.9.9.9:7443");
    assertThat(g.resolveAddress(Map.of("DSCTL_CONFIG", cfg.toString(), "DSCTL_COORDINATOR", "10.8.8.8:7443"))).isEqualTo("10.8.8.8:7443");
    g.coordinator = "10.7.7.7:7443";
    assertThat(g.resolveAddress(Map.of("DSCTL_COORDINATOR", "10.8.8.8:7443"))).isEqualTo("10.7.7.7:7443");
    assertThat(new GetCommand().resolveAddress(Map.of("DSCTL_CONFIG", dir.resolve("none").toString()))).isEqualTo("127.0.0.1:7443");
    Path bad = file("bad.yaml", "coordinatr: x\n");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new GetCommand().resolveAddress(Map.of("DSCTL_CONFIG", bad.toString())))
        .hasMessageContaining("unknown key \"coordinatr\"");
  }
}
