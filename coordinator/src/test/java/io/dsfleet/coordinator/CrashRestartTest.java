package io.dsfleet.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.coordinator.grpc.FakeAgent;
import io.dsfleet.proto.v1.*;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The coordinator as a real process: acknowledged writes, then SIGKILL, then a start on the same
 * data directory. Every acknowledged DaemonSet, revision, ConfigMap, Secret and node label is back.
 */
class CrashRestartTest {
  @TempDir Path dir;

  @Test
  void acknowledgedWritesSurviveSigkill() throws Exception {
    try (CoordinatorProcess p = new CoordinatorProcess(dir).start()) {
      FakeAgent agent = new FakeAgent(p.port, "node-a").join(Map.of("rack", "r1"));
      agent.close();
      p.control().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE).build());
      p.control().apply(ApplyRequest.newBuilder().setManifests(Fixtures.BASE.replace("busybox:1", "busybox:2") + """
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
      p.control().labelNode(LabelNodeRequest.newBuilder().setNodeName("node-a").putSet("disktype", "ssd").build());
      p.control().taintNode(TaintNodeRequest.newBuilder().setNodeName("node-a")
          .addAdd(Taint.newBuilder().setKey("dedicated").setValue("gpu").setEffect("NoSchedule")).build());
      p.control().cordonNode(CordonNodeRequest.newBuilder().setNodeName("node-a").setUnschedulable(true).build());

      assertThat(p.kill()).isEqualTo(137);
      p.start();
      var ds = p.control().get(GetRequest.newBuilder().setKind(ObjectKind.DAEMON_SET).setNamespace("ops").setName("agent").build()).getDaemonSets(0);
      assertThat(ds.getRevision()).isEqualTo(2);
      assertThat(ds.getImages()).isEqualTo("local/busybox:2");
      assertThat(ds.getGeneration()).isEqualTo(2);
      var history = p.control().rolloutHistory(RolloutHistoryRequest.newBuilder().setNamespace("ops").setName("agent").build());
      assertThat(history.getRevisionsList()).extracting(RevisionView::getRevision).containsExactly(1L, 2L);
      var cm = p.control().get(GetRequest.newBuilder().setKind(ObjectKind.CONFIG_MAP).setNamespace("ops").setName("cfg").build());
      assertThat(cm.getConfigs(0).getObject().getDataMap().get("a.conf").toStringUtf8()).isEqualTo("x=1");
      var secret = p.control().get(GetRequest.newBuilder().setKind(ObjectKind.SECRET).setNamespace("ops").setName("creds").setShowSecrets(true).build());
      assertThat(secret.getConfigs(0).getObject().getDataMap().get("token").toStringUtf8()).isEqualTo("s3cret");
      NodeView node = p.control().get(GetRequest.newBuilder().setKind(ObjectKind.NODE).setName("node-a").build()).getNodes(0);
      assertThat(node.getLabelsMap()).containsEntry("disktype", "ssd").containsEntry("rack", "r1");
      assertThat(node.getAdminTaintsList()).extracting(t -> t.getKey() + "=" + t.getValue() + ":" + t.getEffect())
          .containsExactly("dedicated=gpu:NoSchedule");
      assertThat(node.getUnschedulable()).isTrue();
      assertThat(node.getReady()).as("a restart gives the node a grace period").isTrue();
      assertThat(Files.readString(p.log)).doesNotContain("s3cret");
    }
  }

  @Test
  void badConfigKeyIsRefusedAtStartNamingIt() throws Exception {
    Path config = dir.resolve("coordinator.yaml");
    Files.writeString(config, "listen: 127.0.0.1:1\nheartbeatGrce: 20s\n");
    var r = io.dsfleet.common.testing.Processes.run(new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java")
        .toString(), "-cp", System.getProperty("java.class.path"), CoordinatorMain.class.getName(), "serve", "--config",
        config.toString()), java.time.Duration.ofSeconds(60));
    String out = r.output();
    assertThat(r.exit()).as(out).isEqualTo(2);
    assertThat(out).contains("unknown key \"heartbeatGrce\"");
    assertThat(List.of(out.split("\n"))).noneMatch(l -> l.contains("Exception"));
  }
}
