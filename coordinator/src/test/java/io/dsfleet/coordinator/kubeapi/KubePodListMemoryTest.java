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

  private static final String TEMPLATE;
  private static final DsSnapshot DS;
  private static final List<PodView> VIEWS = new ArrayList<>();

  static {
    StringBuilder env = new StringBuilder();
    for (int i = 0; i < 200; i++) {
      env.append(i == 0 ? "" : ",").append("{\"name\":\"VAR_").append(i).append("\",\"value\":\"").append("x".repeat(100)).append("\"}");
    }
    TEMPLATE = "{\"metadata\":{\"labels\":{\"app\":\"agent\"}},\"spec\":{\"hostNetwork\":true,\"containers\":[{\"name\":\"main\","
        + "\"image\":\"local/busybox:1\",\"env\":[" + env + "],\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"}}}]}}";
    DaemonSet ds = Json.read("{\"apiVersion\":\"apps/v1\",\"kind\":\"DaemonSet\",\"metadata\":{\"name\":\"agent\",\"namespace\":\"ops\"},"
        + "\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"agent\"}},\"template\":" + TEMPLATE + "}}", DaemonSet.class);
    DS = new DsSnapshot("ops", "agent", ds, 1, 1, 1, 1_000, 1, "abc", null,
        List.of(new StoredRevision("ops", "agent", 1, "abc", TEMPLATE, "", 1_000)), null, 1, List.of());
    for (int i = 0; i < PODS; i++) {
      VIEWS.add(PodView.newBuilder().setNodeName("node-" + i).setRevision(1).setStatus(PodStatus.newBuilder().setNamespace("ops")
          .setDaemonSet("agent").setPodName("agent-node-" + i).setPhase("Running").setReady(true)).build());
    }
  }

  /** A list of every pod, as one build of it reads them (each revision's template once). */
  private static ObjectNode podList() {
    Map<String, JsonNode> templates = new HashMap<>();
    List<ObjectNode> pods = new ArrayList<>(PODS);
    for (PodView v : VIEWS) {
      pods.add(KubeObjects.pod(v, DS, templates));
    }
    return KubeObjects.list("v1", "PodList", pods, 1);
  }

  private static long allocated() {
    return ((com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
  }

  @Test
  void aListOfTenThousandPodsOfOneRevisionAllocatesLittleMoreThanTheirStatus() {
    KubeObjects.pod(VIEWS.get(0), DS, new HashMap<>()); // classes loaded
    long before = allocated();
    ObjectNode list = podList();
    long allocated = allocated() - before;
    JsonNode pods = list.path("items");
    assertThat(pods.get(PODS - 1).path("spec").path("containers").path(0).path("env")).as("the template's spec").hasSize(200);
    assertThat(pods.get(PODS - 1).path("spec").path("nodeName").asText()).isEqualTo("node-" + (PODS - 1));
    assertThat(pods.get(0).path("spec").path("nodeName").asText()).as("each pod's own node").isEqualTo("node-0");
    // the pods' own fields are about 4 KiB of nodes each (39 MiB in all); a copy of the template's spec was about 58 KiB more (578 MiB)
    assertThat(allocated / PODS).as("bytes allocated a pod (%d MiB in all)", allocated >> 20).isLessThan(16 * 1024);
  }

  /**
   * A watch of every pod compares each build of the list with the last: two builds of 10,000 pods
   * that are the same are found so without a copy and a print of each pod, twice.
   */
  @Test
  void aWatchFindsTenThousandUnchangedPodsUnchangedCheaply() throws Exception {
    ObjectNode first = podList();
    ObjectNode second = podList();
    var seen = KubeWatch.changes(java.io.OutputStream.nullOutputStream(), Map.of(), first, null);
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    long before = allocated();
    KubeWatch.changes(out, seen, second, null);
    long allocated = allocated() - before;
    assertThat(out.size()).as("events sent: none changed").isZero();
    assertThat(allocated / PODS).as("bytes allocated a pod compared (%d MiB in all)", allocated >> 20).isLessThan(16 * 1024);
  }
}
