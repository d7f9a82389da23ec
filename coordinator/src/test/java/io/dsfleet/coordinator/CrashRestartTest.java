package io.dsfleet.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.proto.v1.*;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coordinator as a real process: acknowledged writes, then SIGKILL, then a start on the same
 * data directory. Every acknowledged DaemonSet, revision, ConfigMap, Secret and node label is back.
 */
class CrashRestartTest {
  @TempDir Path dir;

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  Process start(int port, Path log) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), CoordinatorMain.class.getName(), "serve",
        "--listen", "127.0.0.1:" + port, "--data-dir", dir.resolve("data").toString(), "--config", dir.resolve("none.yaml").toString(),
        "--insecure");
    pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    return pb.start();
  }

  static ControlServiceGrpc.ControlServiceBlockingStub control(ManagedChannel ch) {
    return ControlServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  static void awaitServing(ManagedChannel ch) {
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
        .until(() -> !control(ch).version(VersionRequest.getDefaultInstance()).getVersion().isEmpty());
  }

  @Test
  void acknowledgedWritesSurviveSigkill() throws Exception {
    int port = freePort();
    Path log = dir.resolve("coordinator.log");
    Process p = start(port, log);
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    try {
      awaitServing(ch);
      FakeAgent agent = new FakeAgent(port, "node-a").join(Map.of("rack", "r1"));
      agent.close();
      control(ch).apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
      control(ch).apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE.replace("busybox:1", "busybox:2") + """
          ---
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: cfg, namespace: ops}
          data: {a.conf: "x=1"}
          ---
          apiVersion: v1
          kind: Secret
          metadata: {name: creds, namespace: ops}
          stringData: {token: s3cret}
          """).build());
      control(ch).labelNode(LabelNodeRequest.newBuilder().setNodeName("node-a").putSet("disktype", "ssd").build());
      control(ch).taintNode(TaintNodeRequest.newBuilder().setNodeName("node-a")
          .addAdd(Taint.newBuilder().setKey("dedicated").setValue("gpu").setEffect("NoSchedule")).build());
      control(ch).cordonNode(CordonNodeRequest.newBuilder().setNodeName("node-a").setUnschedulable(true).build());

      p.destroyForcibly(); // SIGKILL: no shutdown hook runs
      assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).isEqualTo(137);

      p = start(port, log);
      awaitServing(ch);
      var ds = control(ch).get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").setName("agent").build()).getDaemonSets(0);
      assertThat(ds.getRevision()).isEqualTo(2);
      assertThat(ds.getImages()).isEqualTo("local/busybox:2");
      assertThat(ds.getGeneration()).isEqualTo(2);
      var history = control(ch).rolloutHistory(RolloutHistoryRequest.newBuilder().setNamespace("ops").setName("agent").build());
      assertThat(history.getRevisionsList()).extracting(RevisionView::getRevision).containsExactly(1L, 2L);
      var cm = control(ch).get(GetRequest.newBuilder().setKind(ObjectKind.CONFIG_MAP).setNamespace("ops").setName("cfg").build());
      assertThat(cm.getConfigs(0).getObject().getDataMap().get("a.conf").toStringUtf8()).isEqualTo("x=1");
      var secret = control(ch).get(GetRequest.newBuilder().setKind(ObjectKind.SECRET).setNamespace("ops").setName("creds").setShowSecrets(true).build());
      assertThat(secret.getConfigs(0).getObject().getDataMap().get("token").toStringUtf8()).isEqualTo("s3cret");
      NodeView node = control(ch).get(GetRequest.newBuilder().setKind(ObjectKind.NODE).setName("node-a").build()).getNodes(0);
      assertThat(node.getLabelsMap()).containsEntry("disktype", "ssd").containsEntry("rack", "r1");
      assertThat(node.getAdminTaintsList()).extracting(t -> t.getKey() + "=" + t.getValue() + ":" + t.getEffect())
          .containsExactly("dedicated=gpu:NoSchedule");
      assertThat(node.getUnschedulable()).isTrue();
      assertThat(node.getReady()).as("a restart gives the node a grace period").isTrue();
      assertThat(Files.readString(log)).doesNotContain("s3cret");
    } finally {
      ch.shutdownNow();
      p.destroyForcibly();
    }
  }

  @Test
  void badConfigKeyIsRefusedAtStartNamingIt() throws Exception {
    Path config = dir.resolve("coordinator.yaml");
    Files.writeString(config, "listen: 127.0.0.1:1\nheartbeatGrce: 20s\n");
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), CoordinatorMain.class.getName(), "serve", "--config", config.toString())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).isEqualTo(2);
    assertThat(out).contains("unknown key \"heartbeatGrce\"");
    assertThat(List.of(out.split("\n"))).noneMatch(l -> l.contains("Exception"));
  }
}
