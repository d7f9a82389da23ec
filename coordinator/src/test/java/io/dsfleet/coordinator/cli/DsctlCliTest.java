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
    CommandLine cl = Dsctl.commandLine();
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

  static long ioThreads() {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("dsctl-io")).count();
  }

  /** Each command's channels run on an I/O thread of its own: gone when the command ends, whether it was answered or refused. */
  @Test
  void everyCommandEndsItsIoThread() {
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> ioThreads() == 0); // other tests' commands
    assertThat(dsctl("get", "ds", "-A").err()).isEqualTo("No resources found\n");
    assertThat(dsctl("version").exit()).isZero();
    CommandLine cl = Dsctl.commandLine();
    cl.setErr(new PrintWriter(new StringWriter(), true));
    assertThat(cl.execute("get", "nodes", "--coordinator", "127.0.0.1:1", "--insecure")).as("refused: nothing listens there").isEqualTo(1);
    // the group's termination is signalled from its thread's last steps: the thread itself ends a moment later
    org.awaitility.Awaitility.await("every dsctl-io thread ended").atMost(Duration.ofSeconds(30)).until(() -> ioThreads() == 0);
  }

  /** kubectl's habit: every verb's and sub-verb's --help prints its usage, needs none of its arguments and sends nothing. */
  @Test
  void everyVerbTakesHelp() {
    for (String[] args : new String[][] {{"get", "--help"}, {"rollout", "status", "--help"}, {"token", "create", "-h"},
        {"rollout", "--help"}, {"node", "rm", "--help"}, {"apply", "--help"}}) {
      DsctlRun.Result r = DsctlRun.run(java.util.List.of(args));
      String verb = String.join(" ", java.util.Arrays.copyOf(args, args.length - 1));
      assertThat(r.exit()).as("dsctl %s: %s", String.join(" ", args), r.err()).isZero();
      assertThat(r.out()).as(verb).contains("Usage: dsctl " + verb);
    }
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

  /**
   * dsctl diff against a real coordinator with three nodes (one tainted): a new DaemonSet, no
   * change, a template change, a selector change, an invalid manifest and a ConfigMap; exit codes as
   * kubectl diff's, and nothing is ever stored.
   */
  @Test
  void diffShowsTheChangeAndWhatItDoesToTheFleetAndStoresNothing() throws Exception {
    Map<String, DesiredState> states = new java.util.TreeMap<>();
    java.util.List<FakeAgent> agents = new java.util.ArrayList<>();
    for (String n : java.util.List.of("node-a", "node-b", "node-c")) {
      FakeAgent a = c.agent(n, Map.of());
      a.nextDesired(Duration.ofSeconds(10));
      agents.add(a);
    }
    assertThat(dsctl("taint", "node", "node-c", "dedicated=gpu:NoSchedule").exit()).isZero();
    Path base = file("ds.yaml", Fixtures.BASE);

    Result created = dsctl("diff", "-f", base.toString());
    assertThat(created.exit()).as(created.err()).isEqualTo(1);
    assertThat(created.out()).startsWith("--- /dev/null\n+++ daemonset/ops/agent (applied)\n@@ -0,0 +1,")
        .contains("\n+kind: DaemonSet\n").contains("# daemonset/agent created:\n")
        .contains("#   starts its pod on 2 nodes (node-a, node-b)\n")
        .contains("#   skips 1 node: node-c (taint dedicated=gpu:NoSchedule not tolerated)\n");
    assertThat(dsctl("get", "ds", "-A").err()).as("diff stores nothing").isEqualTo("No resources found\n");

    assertThat(dsctl("apply", "-f", base.toString()).exit()).isZero();
    for (FakeAgent a : agents.subList(0, 2)) {
      DesiredState s = a.nextDesired(Duration.ofSeconds(10));
      a.reportAllReady(s, c.clock.millis());
    }
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
        .until(() -> dsctl("get", "ds", "agent", "-n", "ops").out().contains("agent   2         2         2"));
    assertThat(dsctl("diff", "-f", base.toString())).as("no change").isEqualTo(new Result(0, "", ""));

    Path image = file("image.yaml", Fixtures.BASE.replace("busybox:1", "busybox:2"));
    Result template = dsctl("diff", "-f", image.toString());
    assertThat(template.exit()).isEqualTo(1);
    assertThat(template.out()).startsWith("--- daemonset/ops/agent (live)\n+++ daemonset/ops/agent (applied)\n@@ -")
        .contains("\n-        image: local/busybox:1\n+        image: local/busybox:2\n")
        .contains("#   replaces its pod with the new revision on 2 nodes (node-a, node-b), 2 steps of at most 1 unavailable at a time"
            + " (RollingUpdate)\n")
        .doesNotContain("starts its pod");
    assertThat(template.out().lines().filter(l -> l.startsWith("-") || l.startsWith("+")).count()).as("only the image line changes")
        .isEqualTo(4);
    assertThat(dsctl("get", "ds", "agent", "-n", "ops", "-o", "yaml").out()).as("stored as before").contains("busybox:1")
        .doesNotContain("busybox:2");
    Result dryRun = dsctl("apply", "-f", image.toString(), "--dry-run=server");
    assertThat(dryRun.out()).isEqualTo("daemonset/agent configured (server dry run)\n  replaces its pod with the new revision on"
        + " 2 nodes (node-a, node-b), 2 steps of at most 1 unavailable at a time (RollingUpdate)\n  skips 1 node: node-c"
        + " (taint dedicated=gpu:NoSchedule not tolerated)\n");
    assertThat(dsctl("apply", "-f", image.toString(), "--dry-run=client").exit()).isEqualTo(2);

    Path selector = file("selector.yaml", Fixtures.BASE.replace("matchLabels: {app: agent}", "matchLabels: {app: agent, tier: node}"));
    Result immutable = dsctl("diff", "-f", selector.toString());
    assertThat(immutable.exit()).as("an apply the coordinator would refuse is an error").isEqualTo(2);
    assertThat(immutable.err()).contains("spec.selector").contains("field is immutable");

    Result invalid = dsctl("diff", "-f", file("bad.yaml", Fixtures.BASE.replace("name: main", "name: Main")).toString());
    assertThat(invalid.exit()).isEqualTo(2);
    assertThat(invalid.err()).contains("spec.template.spec.containers[0].name: Invalid value: \"Main\"");
    assertThat(dsctl("diff", "-f", dir.resolve("missing.yaml").toString()).exit()).isEqualTo(2);

    Path config = file("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: ops}\ndata: {level: debug}\n");
    Result newConfig = dsctl("diff", "-f", config.toString());
    assertThat(newConfig.exit()).isEqualTo(1);
    assertThat(newConfig.out()).contains("+  level: debug\n").contains("# configmap/settings created:\n#   used by no DaemonSet\n");
    assertThat(dsctl("get", "ds", "agent", "-n", "ops").out()).as("the pods were never touched").contains("agent   2         2         2");
  }

  /** kubectl's habits: global flags before the verb too, nodes without a namespace, a restart as a new revision, events. */
  @Test
  void globalFlagsGoBeforeOrAfterTheVerb() throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Dsctl.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    String[] args = {"--coordinator", addr, "--insecure", "-n", "ops", "rollout", "history", "ds/agent"};
    assertThat(Dsctl.globalFlagsAfterVerb(cl, args))
        .containsExactly("rollout", "history", "--coordinator", addr, "--insecure", "-n", "ops", "ds/agent");
    dsctl("apply", "-f", file("ds.yaml", Fixtures.BASE).toString());
    assertThat(cl.execute(Dsctl.globalFlagsAfterVerb(cl, args))).as(err.toString()).isZero();
    assertThat(out.toString()).startsWith("daemonset.apps/agent\nREVISION").contains("\n1 ");
    String[] get = {"--coordinator=" + addr, "-v", "--insecure", "get", "nodes"};
    assertThat(cl.execute(Dsctl.globalFlagsAfterVerb(cl, get))).isZero();
    assertThat(err.toString()).as("a node has no namespace").endsWith("No resources found\n");
    assertThat(Dsctl.globalFlagsAfterVerb(cl, new String[] {"get", "nodes", "--insecure"})).containsExactly("get", "nodes", "--insecure");
  }

  /** On a terminal, rollout status redraws one line: updated of desired as a bar. */
  @Test
  void rolloutProgressIsABarOfUpdatedOverDesired() {
    var e = io.dsfleet.proto.v1.RolloutStatusEvent.newBuilder().setDesired(4).setUpdated(1).setAvailable(3).build();
    assertThat(RolloutCommand.bar(e)).isEqualTo("[########......................] 1/4 updated, 3 available   ");
    assertThat(RolloutCommand.bar(e.toBuilder().setUpdated(4).setPaused(true).build()))
        .isEqualTo("[##############################] 4/4 updated, 3 available (paused)   ");
  }

  @Test
  void rolloutRestartMakesANewRevisionThatReplacesEveryPod() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    a.nextDesired(Duration.ofSeconds(10));
    dsctl("apply", "-f", file("ds.yaml", Fixtures.BASE).toString());
    DesiredState first = a.nextDesired(Duration.ofSeconds(10));
    a.reportAllReady(first, c.clock.millis());
    Result restart = dsctl("rollout", "restart", "ds/agent", "-n", "ops");
    assertThat(restart).isEqualTo(new Result(0, "daemonset.apps/agent restarted\n", ""));
    assertThat(dsctl("rollout", "history", "ds/agent", "-n", "ops").out().lines().filter(l -> l.matches("\\d+ .*")).count())
        .isEqualTo(2);
    assertThat(dsctl("get", "ds", "agent", "-n", "ops", "-o", "yaml").out()).contains("kubectl.kubernetes.io/restartedAt");
    DesiredState next = a.nextDesired(Duration.ofSeconds(10));
    assertThat(next.getPods(0).getTemplateHash()).as("the node is told to replace its pod").isNotEqualTo(first.getPods(0).getTemplateHash());
    assertThat(dsctl("rollout", "restart", "ds/missing", "-n", "ops").exit()).isEqualTo(1);
  }

  @Test
  void eventsListTheFleetsEventsAndFollowNewOnes() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    a.nextDesired(Duration.ofSeconds(10));
    dsctl("apply", "-f", file("ds.yaml", Fixtures.BASE).toString());
    DesiredState s = a.nextDesired(Duration.ofSeconds(10));
    var pod = s.getPods(0);
    var crashing = io.dsfleet.proto.v1.PodStatus.newBuilder().setNamespace(pod.getNamespace()).setDaemonSet(pod.getDaemonSet())
        .setPodName(pod.getPodName()).setTemplateHash(pod.getTemplateHash()).setPhase("Running")
        .addContainers(io.dsfleet.proto.v1.ContainerStatus.newBuilder().setName("main").setState("waiting").setReason("CrashLoopBackOff")
            .setMessage("back-off 10s restarting failed container main")).build();
    var runningAgain = crashing.toBuilder().setContainers(0, crashing.getContainers(0).toBuilder().setState("running").setReason("")
        .setRestartCount(1)).build();
    // a crash loop: waits, runs a moment, waits again; each report taken before the next (pending full reports are coalesced)
    a.report(crashing);
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
        .until(() -> dsctl("get", "pods", "-n", "ops").out().contains("CrashLoopBackOff"));
    a.report(runningAgain);
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
        .until(() -> dsctl("get", "pods", "-n", "ops").out().contains("Running   1"));
    a.report(crashing.toBuilder().setContainers(0, crashing.getContainers(0).toBuilder().setRestartCount(2)).build());
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
        .until(() -> dsctl("get", "pods", "-n", "ops").out().contains("CrashLoopBackOff   2"));
    assertThat(dsctl("events", "--for", "ds/agent", "-n", "ops").out().lines().filter(l -> l.contains("CrashLoopBackOff")).count())
        .as("a crash loop is one event, not one a crash").isEqualTo(1);
    Result all = dsctl("events", "-n", "ops");
    assertThat(all.out().lines().findFirst().orElseThrow()).startsWith("LAST SEEN").contains("REASON").contains("OBJECT");
    assertThat(all.out()).contains("Joined").contains("node/node-a").contains("RevisionCreated").contains("daemonset/agent")
        .contains("Warning   CrashLoopBackOff").contains("pod " + s.getPods(0).getPodName() + " on node-a, container main: back-off 10s");
    assertThat(dsctl("events", "--for", "node/node-a").out()).contains("Joined").doesNotContain("RevisionCreated");
    assertThat(dsctl("events", "--for", "ds/missing").exit()).isEqualTo(1);
    assertThat(dsctl("events", "--for", "pod/x").err()).contains("events are kept for ds/NAME and node/NAME");

    // -w: what is kept, then what happens next
    StringWriter out = new StringWriter();
    CommandLine cl = Dsctl.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(new StringWriter(), true));
    Thread watch = new Thread(() -> cl.execute("events", "--coordinator", addr, "--insecure", "-w", "--for", "node/node-a"));
    watch.setDaemon(true);
    watch.start();
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> out.toString().contains("Joined"));
    assertThat(out.toString()).doesNotContain("Cordoned");
    dsctl("cordon", "node-a");
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> out.toString().contains("Cordoned"));
    assertThat(watch.isAlive()).as("a watch goes on until interrupted").isTrue();
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
    // as kubectl takes it: a duration
    Result late = dsctl("rollout", "status", "ds/agent", "-n", "ops", "--timeout=1500ms");
    assertThat(late.exit()).isEqualTo(1);
    assertThat(late.err()).contains("timed out waiting for the rollout of daemon set \"agent\" after 1500ms");
    Result bad = dsctl("rollout", "status", "ds/agent", "-n", "ops", "--timeout", "5x");
    assertThat(bad.exit()).isEqualTo(2);
    assertThat(bad.err()).contains("--timeout").contains("'5x' is not a time limit: give seconds (30) or a duration (90s, 5m, 1h30m); 0 for none");
    assertThat(dsctl("get", "pods", "-n", "ops", "--request-timeout", "99999999999999999999").err())
        .contains("'99999999999999999999' is not a time limit");
    assertThat(dsctl("get", "pods", "-n", "ops", "--request-timeout", "2m").out()).contains("Pending");
    assertThat(dsctl("get", "pods", "-n", "ops", "--request-timeout", "0").out()).as("0: no deadline").contains("Pending");

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

  /** node-a, running the base DaemonSet's pod Ready, as dsctl get pods shows it. */
  private FakeAgent agentRunningTheBase() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    a.nextDesired(Duration.ofSeconds(10));
    dsctl("apply", "-f", file("ds.yaml", Fixtures.BASE).toString());
    a.reportAllReady(a.nextDesired(Duration.ofSeconds(10)), c.clock.millis());
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> dsctl("get", "pods", "-n", "ops").out().contains("Running"));
    return a;
  }

  /**
   * `dsctl logs --tail 0` asks the agents for none of the log's lines before now (with -f only the
   * lines that come), as kubectl's: before 2026-12-06 a tail of 0 was sent as none asked, and
   * every node's whole log came back.
   */
  @Test
  void aTailOfNoLinesAsksTheAgentsForNoneBeforeNow() throws Exception {
    FakeAgent a = agentRunningTheBase();
    for (var tail : java.util.List.of(java.util.List.of("--tail", "0"), java.util.List.of("--tail", "2"), java.util.List.<String>of())) {
      a.received.clear();
      java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("logs", "ds/agent", "-n", "ops"));
      args.addAll(tail);
      assertThat(dsctl(args.toArray(String[]::new)).exit()).isZero();
      assertThat(a.received.stream().filter(io.dsfleet.proto.v1.CoordinatorMessage::hasLogRequest).map(m -> m.getLogRequest().getTailLines()))
          .as(tail + ": the agent's tail (negative: all)").containsExactly(tail.isEmpty() ? -1 : Integer.parseInt(tail.get(1)));
    }
  }

  /**
   * A pod writes its log, and a node's agent relays it: neither reaches the operator's terminal
   * with control characters (a carriage return and an erase that print another node's prefix over
   * the line, an OSC 52 that sets the clipboard, a title, a line break a node sends inside a line)
   * nor text that reads otherwise than it is. Before 2026-12-06 dsctl printed each line as sent.
   */
  @Test
  void logsReachTheTerminalWithoutTheirControlCharacters() throws Exception {
    FakeAgent a = agentRunningTheBase();
    a.logLines = java.util.List.of("\r\u001b[2K[node-b] all good", "\u001b]52;c;cm0gLXJmIH4=\u0007copied", "\u001b]0;title\u001b\\x",
        "one\n[node-b] forged", "\u202etxt.exe", "tab\tand \u00e9t\u00e9 stay", "a terminal's line end\r");
    Result logs = dsctl("logs", "ds/agent", "-n", "ops");
    assertThat(logs.out().lines().toList()).containsExactly(
        "[node-a] \uFFFD\uFFFD[2K[node-b] all good",
        "[node-a] \uFFFD]52;c;cm0gLXJmIH4=\uFFFDcopied",
        "[node-a] \uFFFD]0;title\uFFFD\\x",
        "[node-a] one\uFFFD[node-b] forged",
        "[node-a] \uFFFDtxt.exe",
        "[node-a] tab\tand \u00e9t\u00e9 stay",
        "[node-a] a terminal's line end");
  }

  /**
   * An event is one row of `dsctl events`: a line break in its message (a node's report keeps
   * them; a carriage return it turns into U+FFFD) printed as a space. Before 2026-12-06 it was printed,
   * and a node's report made rows of its own under the header, of any object: an event of another
   * DaemonSet that never happened.
   */
  @Test
  void anEventsMessageStaysOnItsRow() throws Exception {
    FakeAgent a = c.agent("node-a", Map.of());
    a.nextDesired(Duration.ofSeconds(10));
    dsctl("apply", "-f", file("ds.yaml", Fixtures.BASE).toString());
    DesiredState s = a.nextDesired(Duration.ofSeconds(10));
    a.report(io.dsfleet.proto.v1.PodStatus.newBuilder().setNamespace("ops").setDaemonSet("agent").setPodName(s.getPods(0).getPodName())
        .setTemplateHash(s.getPods(0).getTemplateHash()).setPhase("Pending").setCreatedAtMillis(c.clock.millis())
        .addContainers(io.dsfleet.proto.v1.ContainerStatus.newBuilder().setName("main").setImage("local/busybox:1").setState("waiting")
            .setReason("ErrImagePull").setMessage("not found\r\n0s        Normal    Deleted                    daemonset/other"
                + "                     removed by an admin")).build());
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> dsctl("events", "-n", "ops").out().contains("ErrImagePull"));
    java.util.List<String> rows = dsctl("events", "-n", "ops").out().lines().toList();
    assertThat(rows).noneMatch(r -> r.contains("daemonset/other") && !r.contains("ErrImagePull"));
    assertThat(rows).anyMatch(r -> r.contains("ErrImagePull") && r.endsWith("container main: not found\uFFFD 0s        Normal    Deleted"
        + "                    daemonset/other                     removed by an admin"));
    // describe too: the pod's and the container's message, the DaemonSet's and the node's events
    for (String[] what : java.util.List.of(new String[] {"pod", s.getPods(0).getPodName()}, new String[] {"ds", "agent"},
        new String[] {"node", "node-a"})) {
      Result describe = dsctl("describe", what[0], what[1], "-n", "ops");
      assertThat(describe.out()).as("describe %s", what[0]).contains("not found");
      assertThat(describe.out().lines()).as("describe %s", what[0]).noneMatch(l -> l.contains("daemonset/other") && !l.contains("not found"));
    }
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
    CommandLine cl = Dsctl.commandLine();
    cl.setErr(new PrintWriter(err, true));
    int exit = cl.execute("get", "nodes", "--coordinator", "127.0.0.1:1", "--insecure");
    assertThat(exit).isEqualTo(1);
    assertThat(err.toString()).startsWith("error: cannot reach the coordinator at 127.0.0.1:1").hasLineCount(1);
  }

  /**
   * A coordinator whose store refuses a write (its disk full) answers UNAVAILABLE: dsctl says what
   * it answered, not that it cannot reach it (helper-75), and nothing was applied.
   */
  @Test
  void aStoreRefusalIsTheCoordinatorsAnswerNotAnUnreachableCoordinator() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "a small tmpfs needs root: not run");
    Path small = Files.createDirectory(dir.resolve("small"));
    io.dsfleet.common.testing.Processes.succeed("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", small.toString());
    try (CoordinatorFixture full = new CoordinatorFixture(small.resolve("data"))) {
      addr = "127.0.0.1:" + full.server.port();
      try (var filler = Files.newOutputStream(small.resolve("filler"))) {
        byte[] block = new byte[64 * 1024];
        while (true) {
          filler.write(block);
        }
      } catch (java.io.IOException diskFull) {
        // the disk is full
      }
      Path big = file("big.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {k: \"" + "x".repeat(200_000) + "\"}\n");
      Result r = dsctl("apply", "-f", big.toString());
      assertThat(r.exit()).isEqualTo(1);
      assertThat(r.err()).startsWith("error: the store refused the write, nothing applied").contains("SQLITE_FULL").doesNotContain("cannot reach");
      Files.delete(small.resolve("filler"));
      assertThat(dsctl("get", "configmaps").err()).as("nothing applied").startsWith("No resources found");
    } finally {
      io.dsfleet.common.testing.Processes.succeed("umount", small.toString());
    }
  }

  @Test
  void versionAndCompletion() {
    assertThat(dsctl("version").out()).contains("Client Version: dsctl dev").contains("Coordinator Version: dev (" + addr + ")");
    assertThat(dsctl("--version").out()).isEqualTo("dsctl dev\n");
    StringWriter out = new StringWriter();
    CommandLine coordinator = new CommandLine(new io.dsfleet.coordinator.CoordinatorMain());
    coordinator.setOut(new PrintWriter(out, true));
    assertThat(coordinator.execute("--version")).isZero();
    assertThat(out.toString()).as("ds-coordinator --version names itself").isEqualTo("ds-coordinator dev\n");
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
    Path listed = file("listed.yaml", "coordinator: [10.9.9.9:7443]\ncredentials: [/root/admin.pem]\n");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new GetCommand().resolveAddress(Map.of("DSCTL_CONFIG", listed.toString())))
        .as("a list was read as \"\"").hasMessage("config key coordinator: must be one value, not a list or a map");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new GetCommand().resolveCredentials(Map.of("DSCTL_CONFIG", listed.toString())))
        .hasMessage("config key credentials: must be one value, not a list or a map");
  }
}
