package io.dsfleet.coordinator.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.TemplateHash;
import io.dsfleet.common.manifest.ManifestParser;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.model.Node;
import io.dsfleet.coordinator.grpc.CoordinatorFixture;
import io.dsfleet.proto.v1.ConfigObject;
import io.dsfleet.proto.v1.CoordinatorMessage;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The warm-up runs the apply's code on its own manifest, whole (an invalid one would warm nothing but the refusal). */
class WarmUpTest {
  @Test
  void itsManifestIsValidAndARoundEncodesTheDesiredSetAnApplyWould() throws Exception {
    String text = WarmUp.manifest();
    assertThat(ManifestParser.parse(text, "warm-up")).allSatisfy(d -> assertThat(d.errors()).as(d.label()).isEmpty());
    Node node = new Node("n", Map.of("kubernetes.io/os", "linux", "kubernetes.io/arch", "amd64"), List.of(), false);
    byte[] message = WarmUp.round(CoordinatorFixture.OPTIONS, text, node, Instant.parse("2026-12-04T20:00:00Z"));
    DaemonSet ds = (DaemonSet) ManifestParser.parse(text, "warm-up").stream().filter(d -> d.object() instanceof DaemonSet)
        .findFirst().orElseThrow().object();
    assertThat(ds.spec().template().spec().hostNetwork()).as("the usual DaemonSet's shape: host network, probes, volumes").isTrue();
    // read back as an agent would
    var set = CoordinatorMessage.parseFrom(message).getDesired();
    assertThat(set.getPodsList()).singleElement().satisfies(p -> {
      assertThat(p.getTemplateHash()).isEqualTo(TemplateHash.of(ds.spec().template()));
      assertThat(p.getTemplateJson().toStringUtf8()).contains("registry.example/warm-up:1.0");
    });
    assertThat(set.getConfigsList()).singleElement().satisfies(c -> {
      assertThat(c.getKind()).isEqualTo(ConfigObject.Kind.CONFIG_MAP);
      assertThat(c.getDataMap().get("agent.conf").toStringUtf8()).contains("interval = 10s");
    });
  }
}
