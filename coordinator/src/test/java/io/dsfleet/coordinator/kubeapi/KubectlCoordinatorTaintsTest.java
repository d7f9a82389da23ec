package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.proto.v1.GetRequest;
import io.dsfleet.proto.v1.NodeView;
import io.dsfleet.proto.v1.ObjectKind;
import io.dsfleet.proto.v1.TaintNodeRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The taints the coordinator sets itself (a cordon's node.kubernetes.io/unschedulable, the
 * node's unreachable and not-ready) follow the cordon and the node's condition, never an admin's
 * taint list: kubectl taint sends the node's whole list as it read it, and one of those that had
 * gone since was stored as an admin's taint that no uncordon took away (helper-199).
 */
class KubectlCoordinatorTaintsTest {
  @TempDir Path dir;

  @BeforeAll
  static void installed() {
    Kubectl.assumeInstalled();
  }

  static NodeView node(CoordinatorFixture c) {
    return c.control().get(GetRequest.newBuilder().setKind(ObjectKind.NODE).setName("node-a").build()).getNodes(0);
  }

  @Test
  void aStaleTaintListNeitherKeepsACordonsTaintNorTakesOneAway() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      c.agent("node-a", Map.of());
      Kubectl k = Kubectl.insecure(c, api, dir);
      k.ok("cordon", "node-a");
      String stale = k.ok("get", "node", "node-a", "-o", "jsonpath={.spec.taints}"); // read while cordoned
      assertThat(stale).contains("node.kubernetes.io/unschedulable");
      k.ok("uncordon", "node-a");
      // what kubectl taint sends: the list it read, and the taint it adds
      String patch = "{\"spec\":{\"taints\":" + stale.replaceFirst("]$", ",{\"key\":\"dedicated\",\"value\":\"gpu\",\"effect\":\"NoSchedule\"}]") + "}}";
      k.ok("patch", "node", "node-a", "--type=merge", "-p", patch);
      assertThat(node(c).getTaintsList()).extracting(t -> t.getKey() + ":" + t.getEffect()).as("the uncordoned node's taints")
          .containsExactly("dedicated:NoSchedule");
      assertThat(node(c).getUnschedulable()).isFalse();

      // and the other way: a list read before a cordon, sent after it, leaves the cordon's taint in place
      String before = k.ok("get", "node", "node-a", "-o", "jsonpath={.spec.taints}");
      k.ok("cordon", "node-a");
      k.ok("patch", "node", "node-a", "--type=merge", "-p", "{\"spec\":{\"taints\":" + before.replaceFirst("]$",
          ",{\"key\":\"zone\",\"value\":\"a\",\"effect\":\"NoSchedule\"}]") + "}}");
      assertThat(node(c).getTaintsList()).extracting(t -> t.getKey() + ":" + t.getEffect()).as("the cordoned node's taints")
          .containsExactlyInAnyOrder("dedicated:NoSchedule", "zone:NoSchedule", "node.kubernetes.io/unschedulable:NoSchedule");
      k.ok("uncordon", "node-a");
      assertThat(node(c).getTaintsList()).extracting(t -> t.getKey() + ":" + t.getEffect())
          .containsExactlyInAnyOrder("dedicated:NoSchedule", "zone:NoSchedule");
    }
  }

  /** A taint's timeAdded is read as Kubernetes reads it: text that is no time is refused and nothing changes; it was taken and dropped. */
  @Test
  void aTaintWhoseTimeAddedIsNoTimeIsRefused() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"));
        KubeApi api = c.server.startKubeApi(new InetSocketAddress("127.0.0.1", 0))) {
      c.agent("node-a", Map.of());
      Kubectl k = Kubectl.insecure(c, api, dir);
      Kubectl.Run refused = k.run("patch", "node", "node-a", "--type=merge", "-p",
          "{\"spec\":{\"taints\":[{\"key\":\"a\",\"value\":\"b\",\"effect\":\"NoSchedule\",\"timeAdded\":\"garbage\"}]}}");
      assertThat(refused.exit()).as(refused.out()).isNotZero();
      assertThat(refused.out()).contains("spec.taints: timeAdded \"garbage\": not a time");
      assertThat(node(c).getTaintsList()).isEmpty();
      k.ok("patch", "node", "node-a", "--type=merge", "-p",
          "{\"spec\":{\"taints\":[{\"key\":\"a\",\"value\":\"b\",\"effect\":\"NoSchedule\",\"timeAdded\":\"2026-12-08T10:00:00Z\"}]}}");
      assertThat(node(c).getTaintsList()).extracting(t -> t.getKey() + ":" + t.getEffect()).containsExactly("a:NoSchedule");
    }
  }

  @Test
  void dsctlTaintRefusesTheCoordinatorsTaintsNamingWhatSetsThem() throws Exception {
    try (CoordinatorFixture c = new CoordinatorFixture(dir.resolve("data"))) {
      c.agent("node-a", Map.of());
      var add = catchThrowableOfType(StatusRuntimeException.class, () -> c.control().taintNode(TaintNodeRequest.newBuilder().setNodeName("node-a")
          .addAdd(io.dsfleet.proto.v1.Taint.newBuilder().setKey("node.kubernetes.io/unschedulable").setEffect("NoSchedule")).build()));
      assertThat(add.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(add.getStatus().getDescription()).contains("node.kubernetes.io/unschedulable is the coordinator's").contains("cordon");
      var remove = catchThrowableOfType(StatusRuntimeException.class, () -> c.control().taintNode(TaintNodeRequest.newBuilder().setNodeName("node-a")
          .addRemove(io.dsfleet.proto.v1.Taint.newBuilder().setKey("node.kubernetes.io/unreachable")).build()));
      assertThat(remove.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(remove.getStatus().getDescription()).contains("its heartbeats");
      assertThat(node(c).getTaintsList()).isEmpty();
    }
  }
}
