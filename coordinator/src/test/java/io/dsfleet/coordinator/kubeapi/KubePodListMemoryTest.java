package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dsfleet.common.Json;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.coordinator.fleet.FleetView.DsSnapshot;
import io.dsfleet.coordinator.store.Store.StoredRevision;
import io.dsfleet.proto.v1.PodStatus;
import io.dsfleet.proto.v1.PodView;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A list of every pod of a large fleet (a watch of them builds it about once a second, and keeps
 * the last) holds each revision's template spec once, not once a pod: 10,000 pods of a template
 * with 20 KiB of environment were 10,000 copies of it.
 */
class KubePodListMemoryTest {
  private static final int PODS = 10_000;

  @Test
  void aListOfTenThousandPodsOfOneRevisionAllocatesLittleMoreThanTheirStatus() {
    StringBuilder env = new StringBuilder();
    for (int i = 0; i < 200; i++) {
      env.append(i == 0 ? "" : ",").append("{\"name\":\"VAR_").append(i).append("\",\"value\":\"").append("x".repeat(100)).append("\"}");
    }
    String template = "{\"metadata\":{\"labels\":{\"app\":\"agent\"}},\"spec\":{\"hostNetwork\":true,\"containers\":[{\"name\":\"main\","
        + "\"image\":\"local/busybox:1\",\"env\":[" + env + "],\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"}}}]}}";
    DaemonSet ds = Json.read("{\"apiVersion\":\"apps/v1\",\"kind\":\"DaemonSet\",\"metadata\":{\"name\":\"agent\",\"namespace\":\"ops\"},"
        + "\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"agent\"}},\"template\":" + template + "}}", DaemonSet.class);
    DsSnapshot d = new DsSnapshot("ops", "agent", ds, 1, 1, 1, 1_000, 1, "abc", null,
        List.of(new StoredRevision("ops", "agent", 1, "abc", template, "", 1_000)), null, 1, List.of());
    List<PodView> views = new ArrayList<>();
    for (int i = 0; i < PODS; i++) {
      views.add(PodView.newBuilder().setNodeName("node-" + i).setRevision(1).setStatus(PodStatus.newBuilder().setNamespace("ops")
          .setDaemonSet("agent").setPodName("agent-node-" + i).setPhase("Running").setReady(true)).build());
    }
    Map<String, JsonNode> templates = new HashMap<>();
    KubeObjects.pod(views.get(0), d, templates); // classes loaded, the template read
    var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long before = threads.getCurrentThreadAllocatedBytes();
    List<ObjectNode> pods = new ArrayList<>(PODS);
    for (PodView v : views) {
      pods.add(KubeObjects.pod(v, d, templates));
    }
    long allocated = threads.getCurrentThreadAllocatedBytes() - before;
    assertThat(pods.get(PODS - 1).path("spec").path("containers").path(0).path("env")).as("the template's spec").hasSize(200);
    assertThat(pods.get(PODS - 1).path("spec").path("nodeName").asText()).isEqualTo("node-" + (PODS - 1));
    assertThat(pods.get(0).path("spec").path("nodeName").asText()).as("each pod's own node").isEqualTo("node-0");
    // the pods' own fields are about 4 KiB of nodes each (39 MiB in all); a copy of the template's spec was about 58 KiB more (578 MiB)
    assertThat(allocated / PODS).as("bytes allocated a pod (%d MiB in all)", allocated >> 20).isLessThan(16 * 1024);
  }
}
