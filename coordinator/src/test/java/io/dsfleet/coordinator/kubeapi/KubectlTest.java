package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.coordinator.CoordinatorServer;
import io.dsfleet.coordinator.cli.DsctlRun;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.proto.v1.ApplyRequest;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The installed kubectl against a real coordinator's Kubernetes API, with kubeconfigs made by
 * `dsctl kubeconfig`: what it reads is what dsctl shows, and a credential of the fleet is required
 * (a viewer's reads and is refused writes). KubectlWritesTest has the writes.
 */
class KubectlTest {
  @TempDir Path dir;

  record Run(int exit, String out) {}

  @BeforeAll
  static void kubectl() {
    Kubectl.assumeInstalled();
  }

  Run kubectl(Path kubeconfig, String... args) throws Exception {
    Kubectl.Run r = new Kubectl(kubeconfig, dir.resolve("kube-cache")).run(args);
    return new Run(r.exit(), r.out());
  }

  /** An agent asked for a pod's log, and the request. */
  record Asked(FakeAgent agent, io.dsfleet.proto.v1.LogRequest request) {}

  /** The first log request one of {@code agents} received (each agent's messages cleared before). */
  static Asked awaitLogRequest(FakeAgent... agents) {
    AtomicReference<Asked> found = new AtomicReference<>();
    Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> {
      for (FakeAgent agent : agents) {
        for (var m : agent.received) {
          if (m.hasLogRequest()) {
            found.set(new Asked(agent, m.getLogRequest()));
            return true;
          }
        }
      }
      return false;
    });
    return found.get();
  }

  /** The lines of a table without its last column (AGE may tick between two commands). */
  static List<String> withoutAge(String table) {
    return table.lines().map(l -> l.replaceAll("\\s+\\S+\\s*$", "")).toList();
  }

  @Test
  void kubectlReadsWhatDsctlShowsWithAKubeconfigFromDsctl() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      FakeAgent a = c.agent("node-a", Map.of("disk", "ssd"));
      FakeAgent b = c.agent("node-b", Map.of());
      a.nextDesired(Duration.ofSeconds(10));
      b.nextDesired(Duration.ofSeconds(10));
      c.control().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
      a.reportAllReady(a.nextDesired(Duration.ofSeconds(10)), c.clock.millis());
      b.reportAllReady(b.nextDesired(Duration.ofSeconds(10)), c.clock.millis());
      String coordinator = "127.0.0.1:" + c.server.port();
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> dsctl(coordinator, "get", "ds", "-n", "ops").contains("agent   2         2         2"));

      // dsctl as a process, as an operator runs it: what it prints is the file
      Process made = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
          System.getProperty("java.class.path"), "io.dsfleet.coordinator.cli.Dsctl", "--coordinator", coordinator, "--insecure",
          "kubeconfig", "--server", "http://127.0.0.1:" + api.port()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
      String kubeconfigText = new String(made.getInputStream().readAllBytes());
      assertThat(made.waitFor(60, TimeUnit.SECONDS) && made.exitValue() == 0).isTrue();
      assertThat(kubeconfigText).contains("current-context: dsfleet-insecure");
      Path kubeconfig = Files.writeString(dir.resolve("kubeconfig"), kubeconfigText);

      Run ds = kubectl(kubeconfig, "get", "ds", "-n", "ops");
      assertThat(ds.exit()).as(ds.out()).isZero();
      assertThat(withoutAge(ds.out())).as("kubectl get ds, column for column as dsctl get ds")
          .isEqualTo(withoutAge(dsctl(coordinator, "get", "ds", "-n", "ops")));
      Run nodes = kubectl(kubeconfig, "get", "nodes");
      assertThat(nodes.exit()).as(nodes.out()).isZero();
      assertThat(nodes.out()).contains("node-a").contains("node-b").contains("Ready");
      assertThat(nodes.out().lines().findFirst().orElse("")).containsPattern("NAME\\s+STATUS\\s+ROLES\\s+AGE\\s+VERSION");

      Run yaml = kubectl(kubeconfig, "get", "ds", "agent", "-n", "ops", "-o", "yaml");
      assertThat(yaml.exit()).as(yaml.out()).isZero();
      assertThat(yaml.out()).contains("apiVersion: apps/v1").contains("kind: DaemonSet").contains("desiredNumberScheduled: 2")
          .contains("numberReady: 2").contains("namespace: ops").contains("resourceVersion:");
      Run labels = kubectl(kubeconfig, "get", "nodes", "-l", "disk=ssd", "-o", "name");
      assertThat(labels.out().strip()).as("a label selector, applied by the coordinator").isEqualTo("node/node-a");
      Run fields = kubectl(kubeconfig, "get", "ds", "-A", "--field-selector", "metadata.name=nope");
      assertThat(fields.out()).as("a field selector, applied by the coordinator").contains("No resources found").doesNotContain("agent");
      Run wide = kubectl(kubeconfig, "get", "ds", "-n", "ops", "-o", "wide");
      assertThat(wide.out().lines().findFirst().orElse("")).containsPattern("AGE\\s+CONTAINERS\\s+IMAGES\\s+SELECTOR");
      assertThat(wide.out()).contains("busybox");
      Run sorted = kubectl(kubeconfig, "get", "ds", "-A", "--sort-by=.status.numberReady");
      assertThat(sorted.out()).as("sorting asks for whole objects in the Table's rows").contains("agent");
      Run all = kubectl(kubeconfig, "get", "all", "-n", "ops");
      assertThat(all.exit()).as(all.out()).isZero();
      assertThat(all.out()).as("DaemonSets and pods are in the \"all\" category").containsPattern("(?m)^daemonset.apps/agent\\s+2")
          .containsPattern("(?m)^pod/agent-\\S+\\s+1/1\\s+Running");

      Run pods = kubectl(kubeconfig, "get", "pods", "-n", "ops", "-o", "wide");
      assertThat(pods.exit()).as(pods.out()).isZero();
      assertThat(columns(pods.out(), 4)).as("kubectl get pods: NAME READY STATUS RESTARTS as dsctl get pods")
          .isEqualTo(columns(dsctl(coordinator, "get", "pods", "-n", "ops"), 4));
      assertThat(pods.out()).contains("node-a").contains("node-b").contains("1/1").contains("Running");
      Run describe = kubectl(kubeconfig, "describe", "ds", "agent", "-n", "ops");
      assertThat(describe.exit()).as(describe.out()).isZero();
      assertThat(describe.out()).contains("Desired Number of Nodes Scheduled: 2").contains("Pods Status:  2 Running / 0 Waiting"
          + " / 0 Succeeded / 0 Failed").contains("busybox");

      String pod = kubectl(kubeconfig, "get", "pods", "-n", "ops", "-o", "name").out().lines().findFirst().orElseThrow();
      Run podLog = kubectl(kubeconfig, "logs", "-n", "ops", pod);
      assertThat(podLog.exit()).as(podLog.out()).isZero();
      assertThat(podLog.out()).as("the agent's answer, relayed").isEqualTo("log of " + pod.substring("pod/".length()) + "\nsecond line\n");
      Run limited = kubectl(kubeconfig, "logs", "--limit-bytes", "12", "-n", "ops", pod);
      assertThat(limited.out()).as("--limit-bytes: that many bytes (before 2026-12-06 the whole log)").isEqualTo("log of " + pod.substring(4, 9));
      for (String[] unserved : List.of(new String[] {"--since", "1h", "sinceSeconds"}, new String[] {"--timestamps", "true", "timestamps"})) {
        Run refused = kubectl(kubeconfig, "logs", unserved[0] + "=" + unserved[1], "-n", "ops", pod);
        assertThat(refused.exit()).as("%s: refused, not the whole log as if it were what was asked", unserved[0]).isNotZero();
        assertThat(refused.out()).contains(unserved[2] + " is not served by the dsfleet coordinator");
      }
      Run dsLog = kubectl(kubeconfig, "logs", "-n", "ops", "ds/agent");
      assertThat(dsLog.out()).as("kubectl logs ds/NAME: one of its pods").contains("Found 2 pods").contains("\nlog of agent-")
          .contains("second line");
      // a log of more than the coordinator holds for one read: the first 4 MiB, then a line saying so
      a.answerLogs = false;
      b.answerLogs = false;
      a.received.clear();
      b.received.clear();
      var big = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
        try {
          return kubectl(kubeconfig, "logs", "-n", "ops", pod);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      Asked large = awaitLogRequest(a, b);
      String line = "x".repeat(16 * 1024);
      for (int i = 0; i < 24; i++) { // 6 MiB in chunks of 256 KiB
        large.agent().logChunk(large.request().getRequestId(), java.util.Collections.nCopies(16, line));
      }
      Run truncated = big.get(60, TimeUnit.SECONDS);
      assertThat(truncated.exit()).isZero();
      assertThat(truncated.out().length()).as("about 4 MiB, not 6").isBetween((4 << 20) - (64 << 10), (4 << 20) + (64 << 10));
      assertThat(truncated.out()).endsWith("read it with a tail or with dsctl logs, which streams]\n");
      a.answerLogs = true;
      b.answerLogs = true;

      // kubectl logs -f: followed through the pod's agent, each line printed as it comes, until the log ends
      // (refused before 2026-12-06: the JDK's server cut every answer at 30 s)
      a.answerLogs = false;
      b.answerLogs = false;
      a.received.clear();
      b.received.clear();
      Process follow = new ProcessBuilder(new Kubectl(kubeconfig, dir.resolve("kube-cache")).command("logs", "-f", "-n", "ops",
          pod)).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
      try {
        var printed = new java.io.BufferedReader(new java.io.InputStreamReader(follow.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
        Asked followed = awaitLogRequest(a, b);
        assertThat(followed.request().getFollow()).as("the agent is asked to follow").isTrue();
        followed.agent().logChunk(followed.request().getRequestId(), List.of("first line"));
        assertThat(printed.readLine()).isEqualTo("first line");
        followed.agent().logChunk(followed.request().getRequestId(), List.of("a line that came later"));
        assertThat(printed.readLine()).as("printed as it came, the stream still open").isEqualTo("a line that came later");
        assertThat(follow.isAlive()).isTrue();
        followed.agent().send(io.dsfleet.proto.v1.AgentMessage.newBuilder().setLogChunk(io.dsfleet.proto.v1.LogChunk.newBuilder()
            .setRequestId(followed.request().getRequestId()).setEof(true)).build()); // the container's log ended
        assertThat(follow.waitFor(20, TimeUnit.SECONDS)).as("kubectl ends with the log").isTrue();
        assertThat(follow.exitValue()).isZero();
        assertThat(printed.readLine()).as("nothing more").isNull();
      } finally {
        follow.destroyForcibly();
      }
      a.answerLogs = true;
      b.answerLogs = true;
      for (List<String> stream : List.of(List.of("exec", pod.substring(4), "--", "ls"), List.of("port-forward", pod, "8080:80"),
          List.of("attach", pod.substring(4)))) {
        Run refused = kubectl(kubeconfig, Stream.concat(Stream.of("-n", "ops"), stream.stream()).toArray(String[]::new));
        assertThat(refused.exit()).isNotZero();
        assertThat(refused.out()).as("kubectl %s: refused by name (before 2026-12-06: \"the body must be JSON or YAML\")", stream.get(0))
            .contains("is not served by the dsfleet coordinator: it does not reach into containers");
      }

      Run missing = kubectl(kubeconfig, "get", "ds", "nope", "-n", "ops");
      assertThat(missing.exit()).isNotZero();
      assertThat(missing.out()).contains("Error from server (NotFound): daemonsets.apps \"nope\" not found");

      // a node's pods by its name, as operators list them and kubectl drain does (before 2026-12-06 refused, and drain failed
      // once it had cordoned the node)
      Run onNode = kubectl(kubeconfig, "get", "pods", "-A", "--field-selector", "spec.nodeName=node-a,status.phase=Running", "-o", "wide");
      assertThat(onNode.exit()).as(onNode.out()).isZero();
      assertThat(onNode.out()).contains("node-a").doesNotContain("node-b");
      assertThat(kubectl(kubeconfig, "get", "pods", "-A", "--field-selector", "status.phase!=Running").out()).contains("No resources found");
      Run drain = kubectl(kubeconfig, "drain", "node-a");
      assertThat(drain.exit()).isNotZero();
      assertThat(drain.out()).as("as Kubernetes: a DaemonSet's pods are not evicted").contains("cannot delete DaemonSet-managed Pods");
      Run drained = kubectl(kubeconfig, "drain", "node-a", "--ignore-daemonsets");
      assertThat(drained.exit()).as(drained.out()).isZero();
      assertThat(drained.out()).contains("ignoring DaemonSet-managed Pods: ops/agent-").contains("node/node-a drained");
      assertThat(dsctl(coordinator, "get", "nodes")).containsPattern("node-a\\s+Ready,SchedulingDisabled");
    }
  }

  @Test
  void onlyTheFleetsAdminAndViewerCredentialsRead() throws Exception {
    CoordinatorServer server = new CoordinatorServer(CoordinatorFixture.options(dir.resolve("data"), false), java.time.Clock.systemUTC(),
        false).start();
    try (KubeApi api = server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      String coordinator = "127.0.0.1:" + server.port();
      Path ds = Files.writeString(dir.resolve("ds.yaml"), Fixtures.BASE);
      assertThat(DsctlRun.run(List.of("apply", "-f", ds.toString(), "--coordinator", coordinator, "--credentials",
          dir.resolve("data/pki/admin.pem").toString())).exit()).isZero();
      for (String credential : List.of("admin", "viewer")) {
        DsctlRun.Result made = DsctlRun.run(List.of("kubeconfig", "--server", "https://127.0.0.1:" + api.port(), "--coordinator", coordinator,
            "--credentials", dir.resolve("data/pki/" + credential + ".pem").toString()));
        assertThat(made.exit()).as(made.err()).isZero();
        assertThat(made.out()).contains("tls-server-name: ds-coordinator").contains("client-key-data: ");
        Path kubeconfig = Files.writeString(dir.resolve(credential + ".kubeconfig"), made.out());
        Run get = kubectl(kubeconfig, "get", "ds", "-A");
        assertThat(get.exit()).as(credential + ": " + get.out()).isZero();
        assertThat(get.out()).contains("ops         agent");
      }

      // a viewer reads and is refused every write, with a Status kubectl prints; an admin writes
      Path viewer = dir.resolve("viewer.kubeconfig");
      Run viewerDelete = kubectl(viewer, "delete", "ds", "agent", "-n", "ops");
      assertThat(viewerDelete.exit()).isNotZero();
      assertThat(viewerDelete.out()).contains("Error from server (Forbidden): daemonsets.apps \"agent\" is forbidden: User \"viewer\""
          + " cannot delete resource \"daemonsets\" in API group \"apps\" in the namespace \"ops\": viewer credentials are read-only");
      Path changed = Files.writeString(dir.resolve("changed.yaml"), Fixtures.BASE.replace("busybox", "busybox-2"));
      Run viewerApply = kubectl(viewer, "apply", "-f", changed.toString());
      assertThat(viewerApply.exit()).isNotZero();
      assertThat(viewerApply.out()).contains("(Forbidden)").contains("cannot patch resource \"daemonsets\"");
      Run viewerSecrets = kubectl(viewer, "get", "secrets", "-n", "ops");
      assertThat(viewerSecrets.out()).as("as Kubernetes' view role, no secrets").contains("(Forbidden)");
      assertThat(DsctlRun.run(List.of("get", "ds", "agent", "-n", "ops", "-o", "yaml", "--coordinator", coordinator, "--credentials",
          dir.resolve("data/pki/admin.pem").toString())).out()).as("nothing changed").doesNotContain("busybox-2");
      Run adminApply = kubectl(dir.resolve("admin.kubeconfig"), "apply", "-f", changed.toString());
      assertThat(adminApply.exit()).as(adminApply.out()).isZero();
      assertThat(adminApply.out()).contains("daemonset.apps/agent configured");
      assertThat(DsctlRun.run(List.of("get", "ds", "agent", "-n", "ops", "-o", "yaml", "--coordinator", coordinator, "--credentials",
          dir.resolve("data/pki/admin.pem").toString())).out()).contains("busybox-2");

      // a kubeconfig without the credential: 401, nothing read
      String anonymous = Files.readString(dir.resolve("viewer.kubeconfig")).replaceAll("(?m)^    client-(certificate|key)-data: .*\\n", "");
      Run refused = kubectl(Files.writeString(dir.resolve("anonymous.kubeconfig"), anonymous), "get", "ds", "-A");
      assertThat(refused.exit()).isNotZero();
      assertThat(refused.out()).doesNotContain("agent");

      // a revoked credential: its open watch ends at the revocation (not at the end of its window),
      // and later requests are refused with a Status kubectl prints
      Process watch = new ProcessBuilder(new Kubectl(dir.resolve("viewer.kubeconfig"), dir.resolve("kube-cache")).command("get", "ds", "-n", "ops",
          "-w")).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
      StringBuffer watched = new StringBuffer();
      Thread reader = new Thread(() -> {
        try {
          watched.append(new String(watch.getInputStream().readAllBytes()));
        } catch (java.io.IOException e) {
          watched.append(e);
        }
      });
      reader.start();
      try {
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> api.watchesOf("viewer/viewer") == 1);
        assertThat(DsctlRun.run(List.of("credential", "revoke", "viewer", "--role", "viewer", "--coordinator", coordinator, "--credentials",
            dir.resolve("data/pki/admin.pem").toString())).exit()).isZero();
        assertThat(watch.waitFor(15, TimeUnit.SECONDS)).as("the watch ended with the revocation, not at its window's end (30 minutes)").isTrue();
      } finally {
        watch.destroyForcibly();
        reader.join(10_000);
      }
      Run revoked = kubectl(dir.resolve("viewer.kubeconfig"), "get", "ds", "-A");
      assertThat(revoked.exit()).isNotZero();
      assertThat(revoked.out()).contains("credential viewer was revoked").doesNotContain("ops         agent");
    } finally {
      server.close();
    }
  }

  /** Each line's first n columns, joined by one space. */
  static List<String> columns(String table, int n) {
    return table.lines().map(l -> String.join(" ", java.util.Arrays.asList(l.trim().split("\\s+")).subList(0, n))).toList();
  }

  static String dsctl(String coordinator, String... args) {
    List<String> all = new ArrayList<>(List.of("--coordinator", coordinator, "--insecure"));
    all.addAll(List.of(args));
    DsctlRun.Result r = DsctlRun.run(all);
    return r.out();
  }
}
