package io.dsfleet.agent.pod;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.Json;
import io.dsfleet.common.model.PodTemplateSpec;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which emptyDirs on disk are measured against a sizeLimit (EmptyDirLimitTest measures one on the real daemon). */
class DiskLimitsTest {
  /**
   * As the kubelet: a limit of 0 is none, and one below 0 (a coordinator before 2026-12-05 let it
   * through; now refused) is none too, never an eviction of an empty volume at every measure; one
   * with an exponent past today's bound (let through before too) is none, never a failed pass.
   */
  @Test
  void onlyLimitsAboveZeroAreLimits() {
    PodTemplateSpec t = Json.read("""
        {"spec": {"containers": [{"name": "m", "image": "x:1"}], "volumes": [
          {"name": "below", "emptyDir": {"sizeLimit": "-1Gi"}}, {"name": "zero", "emptyDir": {"sizeLimit": "0"}},
          {"name": "past-today", "emptyDir": {"sizeLimit": "1e200"}},
          {"name": "none", "emptyDir": {}}, {"name": "memory", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
          {"name": "limited", "emptyDir": {"sizeLimit": "1Mi"}}]}}""", PodTemplateSpec.class);
    PodContext ctx = new PodContext("n", "127.0.0.1", "ops", "agent", "p", "h", null, t, Map.of(), Map.of(), Map.of(), Path.of("/pods/p"));
    assertThat(Volumes.limitedDiskVolumes(ctx)).singleElement()
        .satisfies(d -> assertThat(d.name()).isEqualTo("limited"))
        .satisfies(d -> assertThat(d.limitBytes()).isEqualTo(1L << 20));
    assertThat(Volumes.diskVolumes(ctx)).as("every emptyDir on disk, for disk pressure; the others without a limit")
        .extracting(d -> d.name() + ":" + d.limited()).containsExactly("below:false", "zero:false", "past-today:false", "none:false", "limited:true");
  }
}
