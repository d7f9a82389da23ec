package io.dsfleet.agent.pod;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.Json;
import io.dsfleet.common.model.PodSpec;
import org.junit.jupiter.api.Test;

/** A Memory emptyDir's tmpfs is sized as the kubelet sizes it: sizeLimit, bounded by the pod's memory limit. */
class MemoryVolumeSizeTest {
  static PodSpec spec(String containers, String initContainers) {
    return Json.read("{\"containers\": " + containers + (initContainers == null ? "" : ", \"initContainers\": " + initContainers) + "}",
        PodSpec.class);
  }

  static String limited(String name, String memory) {
    return "{\"name\": \"" + name + "\", \"image\": \"i\"" + (memory == null ? "" : ", \"resources\": {\"limits\": {\"memory\": \"" + memory + "\"}}") + "}";
  }

  @Test
  void thePodsMemoryLimitBoundsTheVolumeWhenEveryContainerHasOne() {
    PodSpec two = spec("[" + limited("a", "24Mi") + ", " + limited("b", "40Mi") + "]", null);
    assertThat(Volumes.memoryVolumeSize(two, null)).as("no sizeLimit: the pod's limit").isEqualTo(64L << 20);
    assertThat(Volumes.memoryVolumeSize(two, "16Mi")).as("a smaller sizeLimit").isEqualTo(16L << 20);
    assertThat(Volumes.memoryVolumeSize(two, "1Gi")).as("a larger sizeLimit: the pod's limit").isEqualTo(64L << 20);
    PodSpec bigInit = spec("[" + limited("a", "24Mi") + "]", "[" + limited("init", "100Mi") + "]");
    assertThat(Volumes.memoryVolumeSize(bigInit, null)).as("an init container's larger limit").isEqualTo(100L << 20);
  }

  @Test
  void aContainerWithoutALimitLeavesOnlyTheSizeLimit() {
    PodSpec open = spec("[" + limited("a", "24Mi") + ", " + limited("b", null) + "]", null);
    assertThat(Volumes.memoryVolumeSize(open, null)).isNull();
    assertThat(Volumes.memoryVolumeSize(open, "16Mi")).isEqualTo(16L << 20);
    assertThat(Volumes.memoryVolumeSize(spec("[" + limited("a", "0") + "]", null), "0")).as("zero is no bound, as the kubelet reads it")
        .isNull();
  }
}
