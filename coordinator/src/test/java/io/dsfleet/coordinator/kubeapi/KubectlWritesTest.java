package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.manifest.SharedManifests;
import io.dsfleet.coordinator.cli.DsctlRun;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.proto.v1.ApplyRequest;
import io.dsfleet.proto.v1.DesiredState;
import io.dsfleet.proto.v1.GetRequest;
import io.dsfleet.proto.v1.NodeView;
import io.dsfleet.proto.v1.ObjectKind;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kubectl's writes against a real coordinator (agents simulated; e2e ThreeHostScenarios runs a
 * rollout through kubectl on real agents): each change is then what dsctl shows.
 */
class KubectlWritesTest {
  @TempDir Path dir;

  @BeforeAll
  static void installed() {
    Kubectl.assumeInstalled();
  }

  /** A kubeconfig from dsctl kubeconfig for this insecure coordinator's API. */
  Kubectl kubectl(CoordinatorFixture c, KubeApi api) throws Exception {
    return Kubectl.insecure(c, api, dir);
  }

  static String dsctl(CoordinatorFixture c, String... args) {
    List<String> all = new ArrayList<>(List.of("--coordinator", "127.0.0.1:" + c.server.port(), "--insecure"));
    all.addAll(List.of(args));
    DsctlRun.Result r = DsctlRun.run(all);
    assertThat(r.exit()).as("dsctl " + String.join(" ", args) + ": " + r.err()).isZero();
    return r.out();
  }

  static NodeView node(CoordinatorFixture c, String name) {
    return c.control().get(GetRequest.newBuilder().setKind(ObjectKind.NODE).setName(name).build()).getNodes(0);
  }

  /**
   * kubectl delete pod, OnDelete's way to move a node (it was refused, 405): the pod is replaced at
   * the current revision, and kubectl's wait for the deletion ends when the pod has gone (its
   * replacement has the node's other pod name), not at its watch's timeout.
   */
  @Test
  void kubectlDeletePodReplacesItAtTheCurrentRevision() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      FakeAgent a = c.agent("node-a", Map.of());
      a.nextDesired(Duration.ofSeconds(10));
      String onDelete = Fixtures.BASE.replace("  selector:\n", "  updateStrategy: {type: OnDelete}\n  selector:\n");
      c.control().apply(ApplyRequest.newBuilder().setManifests(onDelete).build());
      DesiredState v1 = a.nextDesired(Duration.ofSeconds(10));
      a.report(running(v1.getPods(0), 1_000));
      String pod = v1.getPods(0).getPodName();
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> dsctl(c, "get", "pods", "-n", "ops").contains("1/1"));
      c.control().apply(ApplyRequest.newBuilder().setManifests(onDelete.replace("local/busybox:1", "local/busybox:2")).build());
      a.drainDesired(); // OnDelete: the node keeps its pod
      Kubectl k = kubectl(c, api);
      assertThat(k.run("delete", "pod", "nope", "-n", "ops").out()).contains("pods \"nope\" not found");
      assertThat(k.ok("delete", "pod", pod, "-n", "ops", "--dry-run=server")).contains("deleted (server dry run)");
      assertThat(dsctl(c, "describe", "ds", "agent", "-n", "ops")).as("a dry run deletes nothing").doesNotContain("PodDeleted");
      for (List<String> grace : List.of(List.of("--grace-period=300"), List.of("--now"), List.of("--force", "--grace-period=0"))) {
        Kubectl.Run refused = k.run(Stream.concat(Stream.of("delete", "pod", pod, "-n", "ops", "--wait=false"), grace.stream()).toArray(String[]::new));
        assertThat(refused.exit()).as("%s: refused, not the pod's own grace period as if it were what was asked", grace).isNotZero();
        assertThat(refused.out()).contains("gracePeriodSeconds is not served by the dsfleet coordinator");
      }
      assertThat(dsctl(c, "describe", "ds", "agent", "-n", "ops")).as("a refused delete deletes nothing").doesNotContain("PodDeleted");

      java.util.concurrent.CompletableFuture<Kubectl.Run> deleting = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
        try {
          return k.run("delete", "pod", pod, "-n", "ops");
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
      long start = System.nanoTime();
      DesiredState next = a.nextDesired(Duration.ofSeconds(20)); // the old pod goes first
      assertThat(next.getPodsList()).as("the deleted pod stops before its replacement starts").isEmpty();
      a.report();
      DesiredState v2 = a.nextDesired(Duration.ofSeconds(20));
      assertThat(v2.getPods(0).getTemplateJson().toStringUtf8()).contains("local/busybox:2");
      assertThat(v2.getPods(0).getPodName()).as("the replacement takes the node's other pod name").isNotEqualTo(pod);
      a.report(running(v2.getPods(0), 2_000));
      Kubectl.Run deleted = deleting.get(60, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(deleted.exit()).as(deleted.out()).isZero();
      assertThat(deleted.out()).isEqualTo("pod \"" + pod + "\" deleted\n");
      assertThat(Duration.ofNanos(System.nanoTime() - start)).as("the pod's going ended kubectl's wait, not its watch's 25 s")
          .isLessThan(Duration.ofSeconds(20));
      assertThat(dsctl(c, "describe", "ds", "agent", "-n", "ops")).contains("PodDeleted");

      // a node whose agent never reported: its pod is Pending, and deleted as dsctl deletes it (kubectl get pods lists it)
      FakeAgent b = c.agent("node-b", Map.of());
      String pending = b.nextDesired(Duration.ofSeconds(10)).getPods(0).getPodName();
      assertThat(k.ok("delete", "pod", pending, "-n", "ops")).isEqualTo("pod \"" + pending + "\" deleted\n");
    }
  }

  /**
   * `kubectl rollout status` after the coordinator rolled a failed revision back on its own
   * (`dsfleet.io/on-failure: rollback`): the rollback's revision rolls out everywhere, yet what was
   * applied is not running, so kubectl must not say "successfully rolled out" (a CI's `kubectl
   * apply && kubectl rollout status` would take the failed change for deployed). Kubernetes has no
   * automatic rollback of a DaemonSet: its rollout would wait, and kubectl's --timeout fail it.
   * Before, the Kubernetes API showed the rollback's counters with observedGeneration reached, and
   * kubectl, which reads nothing else, exited 0 (helper-90).
   */
  @Test
  void kubectlRolloutStatusDoesNotCallAnAutomaticRollbackASuccess() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      FakeAgent a = c.agent("node-a", Map.of());
      a.nextDesired(Duration.ofSeconds(10));
      String v1 = Fixtures.BASE.replace("  labels: {app: agent}\n", "  labels: {app: agent}\n"
          + "  annotations: {dsfleet.io/progress-deadline-seconds: \"30\", dsfleet.io/on-failure: rollback}\n");
      c.control().apply(ApplyRequest.newBuilder().setManifests(v1).build());
      a.reportAllReady(a.nextDesired(Duration.ofSeconds(10)), c.clock.millis());
      Kubectl k = kubectl(c, api);
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> k.ok("rollout", "status", "ds/agent", "-n", "ops", "--watch=false")
          .contains("successfully rolled out"));
      c.control().apply(ApplyRequest.newBuilder().setManifests(v1.replace("local/busybox:1", "local/busybox:broken")).build());
      DesiredState broken = a.nextDesired(Duration.ofSeconds(10));
      a.report(io.dsfleet.proto.v1.PodStatus.newBuilder().setNamespace("ops").setDaemonSet("agent")
          .setPodName(broken.getPods(0).getPodName()).setTemplateHash(broken.getPods(0).getTemplateHash()).setPhase("Running").build());
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> c.control().get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET)
          .setNamespace("ops").setName("agent").build()).getDaemonSets(0).getStatus().getUpdated() == 1);
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !c.server.fleet().rolloutPassPending());
      c.clock.advance(Duration.ofSeconds(31));
      a.heartbeat();
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(a::heartbeatAcked);
      c.server.fleet().tick();
      DesiredState back = a.nextDesired(Duration.ofSeconds(10)); // the rollback: revision 3, revision 1's template
      assertThat(back.getPods(0).getTemplateJson().toStringUtf8()).contains("local/busybox:1");
      a.reportAllReady(back, c.clock.millis());
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> c.control().get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET)
          .setNamespace("ops").setName("agent").build()).getDaemonSets(0).getStatus().getAvailable() == 1);
      assertThat(DsctlRun.run(List.of("--coordinator", "127.0.0.1:" + c.server.port(), "--insecure", "rollout", "status", "ds/agent",
          "-n", "ops", "--no-watch")).out()).as("dsctl says so").contains("rolled back from revision 2 to revision 3");
      Awaitility.await().pollDelay(Duration.ofMillis(300)).atMost(Duration.ofSeconds(10))
          .until(() -> k.ok("get", "ds", "agent", "-n", "ops", "-o", "jsonpath={.status.numberAvailable}").equals("1"));
      assertThat(k.ok("rollout", "status", "ds/agent", "-n", "ops", "--watch=false")).as("kubectl reads the counters alone")
          .doesNotContain("successfully rolled out");
      Kubectl.Run waited = k.run("rollout", "status", "ds/agent", "-n", "ops", "--timeout=2s");
      assertThat(waited.exit()).as(waited.out()).isNotZero();
      // dsctl rollout resume acknowledges the rollback: the rollout is the template's as any other
      dsctl(c, "rollout", "resume", "ds/agent", "-n", "ops");
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> k.ok("rollout", "status", "ds/agent", "-n", "ops", "--watch=false")
          .contains("successfully rolled out"));
    }
  }

  /** The agent's report of {@code p} running and Ready, created on the node at {@code createdAt}. */
  static io.dsfleet.proto.v1.PodStatus running(io.dsfleet.proto.v1.DesiredPod p, long createdAt) {
    return io.dsfleet.proto.v1.PodStatus.newBuilder().setNamespace(p.getNamespace()).setDaemonSet(p.getDaemonSet())
        .setPodName(p.getPodName()).setTemplateHash(p.getTemplateHash()).setPhase("Running").setReady(true)
        .setReadySinceMillis(createdAt).setStartedAtMillis(createdAt).setCreatedAtMillis(createdAt)
        .addContainers(io.dsfleet.proto.v1.ContainerStatus.newBuilder().setName("main").setState("running").setReady(true)).build();
  }

  @Test
  void applyRolloutHistoryUndoRestartAndDeleteAreTheFleetsOwn() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      c.agent("node-a", Map.of());
      Kubectl k = kubectl(c, api);
      Path v1 = Files.writeString(dir.resolve("agent.yaml"), Fixtures.BASE);
      Path v2 = Files.writeString(dir.resolve("agent-v2.yaml"), Fixtures.BASE.replace("local/busybox:1", "local/busybox:2"));

      assertThat(k.ok("apply", "-f", v1.toString())).isEqualTo("daemonset.apps/agent created\n");
      assertThat(k.ok("apply", "-f", v1.toString())).as("the same again").isEqualTo("daemonset.apps/agent unchanged\n");
      assertThat(k.ok("apply", "-f", v2.toString())).isEqualTo("daemonset.apps/agent configured\n");
      assertThat(dsctl(c, "get", "ds", "agent", "-n", "ops", "-o", "yaml")).contains("image: local/busybox:2")
          .contains("kubectl.kubernetes.io/last-applied-configuration");
      // a field kubectl apply no longer names goes (the last-applied annotation's three-way merge)
      Path noPorts = Files.writeString(dir.resolve("agent-v3.yaml"), Fixtures.BASE.replace("local/busybox:1", "local/busybox:2")
          .replaceAll("(?m)^\\s*readinessProbe:\\n\\s*httpGet: \\{port: http}\\n", ""));
      assertThat(noPorts).content().doesNotContain("readinessProbe");
      k.ok("apply", "-f", noPorts.toString());
      assertThat(dsctl(c, "get", "ds", "agent", "-n", "ops", "-o", "yaml")).doesNotContain("readinessProbe").contains("containerPort: 8080");

      String history = k.ok("rollout", "history", "ds/agent", "-n", "ops");
      assertThat(history).contains("REVISION  CHANGE-CAUSE");
      assertThat(revisions(history)).containsExactly("1", "2", "3");
      assertThat(revisions(history)).as("kubectl's revisions are dsctl's").isEqualTo(revisions(dsctl(c, "rollout", "history", "ds/agent",
          "-n", "ops")));
      assertThat(k.ok("rollout", "history", "ds/agent", "-n", "ops", "--revision=1")).contains("Image:\tlocal/busybox:1");
      assertThat(k.ok("rollout", "undo", "ds/agent", "-n", "ops", "--to-revision=1")).isEqualTo("daemonset.apps/agent rolled back\n");
      assertThat(dsctl(c, "get", "ds", "agent", "-n", "ops", "-o", "yaml")).contains("image: local/busybox:1")
          .contains("readinessProbe").as("undo restores the whole template of revision 1");
      assertThat(revisions(k.ok("rollout", "history", "ds/agent", "-n", "ops"))).as("revision 1 became 4, as in Kubernetes")
          .containsExactly("2", "3", "4");
      assertThat(k.ok("rollout", "restart", "ds/agent", "-n", "ops")).isEqualTo("daemonset.apps/agent restarted\n");
      assertThat(dsctl(c, "get", "ds", "agent", "-n", "ops", "-o", "yaml")).contains("kubectl.kubernetes.io/restartedAt");
      assertThat(revisions(dsctl(c, "rollout", "history", "ds/agent", "-n", "ops"))).containsExactly("2", "3", "4", "5");

      // the fleet's events, as Kubernetes events: describe shows the DaemonSet's, get events the same as dsctl events
      assertThat(k.ok("describe", "ds", "agent", "-n", "ops")).contains("Events:").containsPattern("Normal\\s+RevisionCreated\\s+\\S+\\s+"
          + "ds-coordinator\\s+revision 5");
      // (Kubernetes keeps node events in "default", dsctl shows them with every namespace's: all namespaces compare)
      String all = k.ok("get", "events", "-A").lines().map(l -> l.replaceFirst("^\\S+\\s+", "")).collect(Collectors.joining("\n"));
      assertThat(withoutFirstColumn(all)).as("dsctl names the namespace in OBJECT, kubectl in a column of its own")
          .isEqualTo(withoutFirstColumn(dsctl(c, "events", "-A").replace("daemonset/ops/", "daemonset/")));
      assertThat(k.ok("get", "events", "-n", "ops")).contains("daemonset/agent").doesNotContain("node/node-a");

      // patches of each type, on the object as stored
      k.ok("patch", "ds", "agent", "-n", "ops", "--type=json", "-p", "[{\"op\":\"replace\",\"path\":\"/spec/minReadySeconds\",\"value\":7}]");
      k.ok("patch", "ds", "agent", "-n", "ops", "--type=merge", "-p", "{\"spec\":{\"revisionHistoryLimit\":4}}");
      k.ok("patch", "ds", "agent", "-n", "ops", "-p", "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"main\","
          + "\"env\":[{\"name\":\"MODE\",\"value\":\"fast\"}]}]}}}}");
      String yaml = dsctl(c, "get", "ds", "agent", "-n", "ops", "-o", "yaml");
      assertThat(yaml).contains("minReadySeconds: 7").contains("revisionHistoryLimit: 4").contains("name: MODE")
          .as("a strategic merge adds to the list by its key").contains("name: NODE");

      // an invalid manifest: refused with the field path, nothing applied
      Path bad = Files.writeString(dir.resolve("bad.yaml"), Fixtures.BASE.replace("name: agent", "name: bad")
          .replace("image: local/busybox:1", "imagePullPolicy: Sometimes"));
      Kubectl.Run refused = k.run("apply", "-f", bad.toString());
      assertThat(refused.exit()).isNotZero();
      assertThat(refused.out()).contains("The DaemonSet \"bad\" is invalid:").contains("spec.template.spec.containers[0].image: Required value")
          .contains("spec.template.spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\"");
      Path unknown = Files.writeString(dir.resolve("unknown.yaml"), Fixtures.BASE.replace("name: agent", "name: bad")
          .replace("image: local/busybox:1", "image: local/busybox:1\n        colour: red"));
      assertThat(k.run("apply", "-f", unknown.toString()).out()).contains("spec.template.spec.containers[0].colour: not supported");
      assertThat(dsctl(c, "get", "ds", "-A")).doesNotContain("bad");

      // what dsfleet does not run is refused with why
      assertThat(k.run("create", "deployment", "web", "--image=nginx").out()).contains("Deployments and other kinds are not part of dsfleet");
      assertThat(k.run("scale", "ds", "agent", "-n", "ops", "--replicas=3").out()).contains("it has no replicas to scale");

      // explain reads the served schema
      String explain = k.ok("explain", "daemonset.spec.updateStrategy");
      assertThat(explain).contains("KIND:       DaemonSet").contains("rollingUpdate\t<RollingUpdateDaemonSet>").contains("RollingUpdate");
      assertThat(k.ok("explain", "ds.spec.updateStrategy.rollingUpdate.maxSurge")).contains("number or a percentage (rounded up)");

      // config objects
      Path cm = Files.writeString(dir.resolve("cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: ops}\n"
          + "data: {a: one, b: two}\n");
      assertThat(k.ok("apply", "-f", cm.toString())).isEqualTo("configmap/settings created\n");
      assertThat(k.ok("get", "cm", "-n", "ops")).containsPattern("settings\\s+2\\s");
      assertThat(dsctl(c, "get", "configmap", "-n", "ops")).contains("settings");
      // kubectl's typed commands send protobuf
      assertThat(k.ok("create", "configmap", "made", "-n", "ops", "--from-literal=k=v")).isEqualTo("configmap/made created\n");
      assertThat(dsctl(c, "get", "configmap", "made", "-n", "ops", "-o", "yaml")).contains("k: v");
      assertThat(k.ok("create", "secret", "generic", "token", "-n", "ops", "--from-literal=password=s3cret"))
          .isEqualTo("secret/token created\n");
      assertThat(k.ok("get", "secret", "token", "-n", "ops", "-o", "jsonpath={.data.password}")).isEqualTo("czNjcmV0");
      assertThat(dsctl(c, "get", "secret", "token", "-n", "ops", "-o", "yaml", "--show-secrets")).contains("password: czNjcmV0");

      // delete: the DaemonSet goes, as with dsctl delete
      assertThat(k.ok("delete", "ds", "agent", "-n", "ops")).isEqualTo("daemonset.apps \"agent\" deleted\n");
      assertThat(dsctl(c, "get", "ds", "-A")).doesNotContain("agent");
      assertThat(k.ok("delete", "-f", cm.toString())).contains("configmap \"settings\" deleted");
      Kubectl.Run again = k.run("delete", "ds", "agent", "-n", "ops");
      assertThat(again.out()).contains("Error from server (NotFound): daemonsets.apps \"agent\" not found");
    }
  }

  @Test
  void serverSideApplyKeepsFieldOwnershipAndReportsConflictsAsKubernetes() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      c.agent("node-a", Map.of());
      Kubectl k = kubectl(c, api);
      Path v1 = Files.writeString(dir.resolve("agent.yaml"), Fixtures.BASE);
      assertThat(k.ok("apply", "--server-side", "-f", v1.toString())).isEqualTo("daemonset.apps/agent serverside-applied\n");
      String rv = k.ok("get", "ds", "agent", "-n", "ops", "-o", "jsonpath={.metadata.resourceVersion}");
      k.ok("apply", "--server-side", "-f", v1.toString());
      assertThat(k.ok("get", "ds", "agent", "-n", "ops", "-o", "jsonpath={.metadata.resourceVersion}")).as("the same apply again"
          + " changes nothing").isEqualTo(rv);
      assertThat(k.ok("get", "ds", "agent", "-n", "ops", "-o", "yaml", "--show-managed-fields")).contains("manager: kubectl")
          .contains("operation: Apply").contains("k:{\"name\":\"main\"}:").contains("f:image: {}");

      // another manager takes the image: the next apply of another value is a conflict, named as Kubernetes names it
      k.ok("set", "image", "ds/agent", "-n", "ops", "main=local/busybox:9");
      Path v2 = Files.writeString(dir.resolve("agent-v2.yaml"), Fixtures.BASE.replace("local/busybox:1", "local/busybox:2"));
      Kubectl.Run conflict = k.run("apply", "--server-side", "-f", v2.toString());
      assertThat(conflict.exit()).isNotZero();
      assertThat(conflict.out()).contains("Apply failed with 1 conflict: conflict with \"kubectl-set\" using apps/v1:"
          + " .spec.template.spec.containers[name=\"main\"].image").contains("--force-conflicts");
      assertThat(dsctl(c, "get", "ds", "agent", "-n", "ops", "-o", "yaml")).as("nothing applied").contains("image: local/busybox:9");
      k.ok("apply", "--server-side", "--force-conflicts", "-f", v2.toString());
      assertThat(dsctl(c, "get", "ds", "agent", "-n", "ops", "-o", "yaml")).contains("image: local/busybox:2");
      assertThat(k.ok("get", "ds", "agent", "-n", "ops", "-o", "jsonpath={.metadata.managedFields[*].manager}"))
          .as("kubectl-set lost its only field").isEqualTo("kubectl");

      // a field the manager no longer applies goes; one another manager set stays
      k.ok("label", "ds", "agent", "-n", "ops", "team=infra");
      Path v3 = Files.writeString(dir.resolve("agent-v3.yaml"), Fixtures.BASE.replace("local/busybox:1", "local/busybox:2")
          .replaceAll("(?m)^\\s*readinessProbe:\\n\\s*httpGet: \\{port: http}\\n", ""));
      k.ok("apply", "--server-side", "-f", v3.toString());
      String yaml = dsctl(c, "get", "ds", "agent", "-n", "ops", "-o", "yaml");
      assertThat(yaml).doesNotContain("readinessProbe").contains("team: infra").contains("containerPort: 8080");
      // a new object of another kind, and one applied with a field dsfleet does not take
      Path cm = Files.writeString(dir.resolve("cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s, namespace: ops}\n"
          + "data: {a: one}\n");
      assertThat(k.ok("apply", "--server-side", "-f", cm.toString())).isEqualTo("configmap/s serverside-applied\n");
      Path bad = Files.writeString(dir.resolve("bad.yaml"), Fixtures.BASE.replace("name: agent", "name: bad")
          .replace("image: local/busybox:1", "imagePullPolicy: Sometimes"));
      assertThat(k.run("apply", "--server-side", "-f", bad.toString()).out()).contains("spec.template.spec.containers[0].image:"
          + " Required value");
      assertThat(dsctl(c, "get", "ds", "-A")).doesNotContain("bad");
    }
  }

  /** A table's lines without their first column (LAST SEEN may tick between two commands), whitespace as one space. */
  static List<String> withoutFirstColumn(String table) {
    return table.lines().map(l -> l.strip().replaceFirst("^(LAST SEEN|\\S+)\\s+", "").replaceAll("\\s+", " ")).toList();
  }

  /** The REVISION column of a rollout history (kubectl's or dsctl's). */
  static List<String> revisions(String history) {
    return history.lines().map(String::strip).filter(l -> l.matches("^\\d+\\s.*|^\\d+$")).map(l -> l.split("\\s+")[0]).toList();
  }

  @Test
  void labelTaintAndCordonChangeWhatDsctlShows() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      c.agent("node-a", Map.of("disk", "ssd"));
      c.agent("node-b", Map.of());
      Kubectl k = kubectl(c, api);
      // kubectl learns the API from the aggregated discovery documents: one request for /api, one for /apis
      String discovery = k.ok("get", "nodes", "-v=6");
      assertThat(discovery).contains("GET " + "http://127.0.0.1:" + api.port() + "/api?timeout=").contains("/apis?timeout=")
          .doesNotContain("/api/v1?timeout=").doesNotContain("/apis/apps/v1?timeout=");
      assertThat(k.ok("api-resources")).containsPattern("daemonsets\\s+ds\\s+apps/v1\\s+true\\s+DaemonSet")
          .containsPattern("nodes\\s+no\\s+v1\\s+false\\s+Node");

      assertThat(k.ok("label", "node", "node-a", "tier=edge")).isEqualTo("node/node-a labeled\n");
      assertThat(node(c, "node-a").getLabelsMap()).containsEntry("tier", "edge").containsEntry("disk", "ssd");
      assertThat(k.ok("label", "node", "node-a", "tier=core", "--overwrite")).isEqualTo("node/node-a labeled\n");
      assertThat(node(c, "node-a").getLabelsMap()).containsEntry("tier", "core");
      assertThat(k.run("label", "node", "node-a", "tier=x").out()).as("kubectl's own check").contains("--overwrite is false");
      k.ok("label", "node", "node-a", "tier-");
      assertThat(node(c, "node-a").getLabelsMap()).doesNotContainKey("tier");
      assertThat(k.run("label", "node", "node-a", "bad key=x").exit()).isNotZero();
      Kubectl.Run pinned = k.run("label", "node", "node-a", "tier=x", "--resource-version=1");
      assertThat(pinned.exit()).isNotZero();
      assertThat(pinned.out()).as("a precondition that cannot be checked, refused by name").contains("metadata.resourceVersion: the dsfleet"
          + " coordinator keeps no version of a node");
      assertThat(node(c, "node-a").getLabelsMap()).doesNotContainKey("tier");

      assertThat(k.ok("taint", "node", "node-b", "dedicated=gpu:NoSchedule")).isEqualTo("node/node-b tainted\n");
      assertThat(node(c, "node-b").getTaintsList()).anySatisfy(t -> {
        assertThat(t.getKey()).isEqualTo("dedicated");
        assertThat(t.getValue()).isEqualTo("gpu");
        assertThat(t.getEffect()).isEqualTo("NoSchedule");
      });
      assertThat(dsctl(c, "describe", "node", "node-b")).contains("dedicated=gpu:NoSchedule");
      assertThat(k.ok("taint", "node", "node-b", "dedicated:NoSchedule-")).isEqualTo("node/node-b untainted\n");
      assertThat(node(c, "node-b").getTaintsList()).noneMatch(t -> t.getKey().equals("dedicated"));

      assertThat(k.ok("cordon", "node-b")).isEqualTo("node/node-b cordoned\n");
      assertThat(node(c, "node-b").getUnschedulable()).isTrue();
      assertThat(k.ok("get", "nodes")).containsPattern("node-b\\s+Ready,SchedulingDisabled");
      assertThat(dsctl(c, "get", "nodes")).containsPattern("node-b\\s+Ready,SchedulingDisabled");
      assertThat(k.ok("uncordon", "node-b")).isEqualTo("node/node-b uncordoned\n");
      assertThat(node(c, "node-b").getUnschedulable()).isFalse();

      Kubectl.Run annotate = k.run("annotate", "node", "node-a", "note=x");
      assertThat(annotate.exit()).isNotZero();
      assertThat(annotate.out()).contains("changes a node's metadata.labels, spec.taints and spec.unschedulable only");
    }
  }

  @Test
  void getWatchPrintsAChangeAsItHappens() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      c.agent("node-a", Map.of());
      Kubectl k = kubectl(c, api);
      k.ok("apply", "-f", Files.writeString(dir.resolve("agent.yaml"), Fixtures.BASE).toString());
      Process watch = new ProcessBuilder(k.command("get", "ds", "-n", "ops", "-w", "--show-labels")).redirectErrorStream(true).start();
      try {
        List<String> lines = Collections.synchronizedList(new ArrayList<>());
        Thread reader = new Thread(() -> {
          try (BufferedReader r = new BufferedReader(new InputStreamReader(watch.getInputStream()))) {
            for (String l; (l = r.readLine()) != null; ) {
              lines.add(l);
            }
          } catch (java.io.IOException e) {
            // the process went
          }
        });
        reader.start();
        Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> lines.size() >= 2); // the header and the DaemonSet
        assertThat(lines.get(1)).startsWith("agent ");
        k.ok("apply", "-f", Files.writeString(dir.resolve("second.yaml"), Fixtures.BASE.replace("name: agent", "name: second")).toString());
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> lines.stream().anyMatch(l -> l.startsWith("second ")));
        k.ok("delete", "ds", "agent", "-n", "ops");
        k.ok("label", "ds", "second", "-n", "ops", "team=infra");
        // the label's change, printed as it happens (each line shows the DaemonSet's labels)
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> lines.stream()
            .anyMatch(l -> l.startsWith("second ") && l.contains("team=infra")));
      } finally {
        watch.destroy();
      }
    }
  }

  @Test
  void theExamplesApplyClientSideThenServerSideAndListAsDsctlListsThem() throws Exception {
    List<String> files;
    try (Stream<Path> s = Files.list(Path.of("..", "examples"))) {
      files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().map(Path::toString).toList();
    }
    assertThat(files).as("the repository's examples").hasSizeGreaterThanOrEqualTo(4);
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      Kubectl k = kubectl(c, api);
      List<String> args = new ArrayList<>(List.of("apply"));
      files.forEach(f -> args.addAll(List.of("-f", f)));
      String created = k.ok(args.toArray(String[]::new));
      assertThat(created.lines().filter(l -> l.endsWith(" created"))).as(created).hasSizeGreaterThanOrEqualTo(files.size());
      args.add(1, "--server-side");
      String applied = k.ok(args.toArray(String[]::new));
      assertThat(applied.lines().filter(l -> l.endsWith(" serverside-applied")).count()).as(applied)
          .isEqualTo(created.lines().filter(l -> l.endsWith(" created")).count());
      assertThat(k.ok("get", "ds", "-A", "-o", "name").lines().sorted().toList()).isEqualTo(dsctl(c, "get", "ds", "-A").lines().skip(1)
          .map(l -> "daemonset.apps/" + l.split("\\s+")[1]).sorted().toList());
    }
  }

  @Test
  void theRealManifestsApplyThroughKubectlClientAndServerSideAsThroughDsctl() throws Exception {
    Path shared = SharedManifests.dir();
    List<Path> files;
    try (Stream<Path> s = Files.list(shared)) {
      files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      Kubectl k = kubectl(c, api);
      List<String> args = new ArrayList<>(List.of("apply"));
      files.forEach(f -> args.addAll(List.of("-f", f.toString())));
      Kubectl.Run applied = k.run(args.toArray(String[]::new));
      assertThat(applied.exit()).as("two of the thirty have a real fault (RealManifestsTest)").isNotZero();
      assertThat(applied.out().lines().filter(l -> l.startsWith("daemonset.apps/") && l.endsWith(" created"))).hasSize(28);
      assertThat(applied.out()).contains("metadata.namespace: Invalid value: \"${NAMESPACE}\"")
          .contains("spec.template.spec.securityContext.windowsOptions: not supported");
      // what kubectl created is what dsctl lists, object for object
      List<String> kubectlNames = k.ok("get", "ds", "-A", "-o", "name").lines().sorted().toList();
      List<String> dsctlNames = dsctl(c, "get", "ds", "-A").lines().skip(1).map(l -> "daemonset.apps/" + l.split("\\s+")[1]).sorted()
          .toList();
      assertThat(kubectlNames).hasSize(28).isEqualTo(dsctlNames);
      // the same files applied server-side over them: the same values, shared with the client-side manager, no conflict
      List<String> serverSide = new ArrayList<>(args);
      serverSide.add(1, "--server-side");
      Kubectl.Run again = k.run(serverSide.toArray(String[]::new));
      assertThat(again.out().lines().filter(l -> l.startsWith("daemonset.apps/") && l.endsWith(" serverside-applied"))).as(again.out())
          .hasSize(28);
      assertThat(again.out()).doesNotContain("conflict");
    }
  }
}
