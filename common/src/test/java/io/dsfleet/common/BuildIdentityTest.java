package io.dsfleet.common;

import static org.assertj.core.api.Assertions.assertThat;

import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import org.junit.jupiter.api.Test;

class BuildIdentityTest {
  @Test
  void theManifestsVersionSplitsIntoVersionAndCommit() {
    assertThat(BuildIdentity.parse("0.1.0-SNAPSHOT+1a2b3c4d5e6f-dirty"))
        .isEqualTo(new BuildIdentity("0.1.0-SNAPSHOT+1a2b3c4d5e6f-dirty", "0.1.0-SNAPSHOT", "1a2b3c4d5e6f-dirty"));
    assertThat(BuildIdentity.parse("0.1.0-SNAPSHOT+unknown").commit()).isEqualTo("unknown");
    // a jar of a build before the commit was carried
    assertThat(BuildIdentity.parse("0.1.0-SNAPSHOT")).isEqualTo(new BuildIdentity("0.1.0-SNAPSHOT", "0.1.0-SNAPSHOT", "unknown"));
    assertThat(BuildIdentity.parse(null)).isEqualTo(new BuildIdentity("dev", "dev", "unknown"));
    assertThat(BuildIdentity.of(BuildIdentityTest.class).full()).isEqualTo("dev"); // classes outside a jar
  }

  @Test
  void theGaugeCarriesVersionAndCommit() {
    PrometheusRegistry r = new PrometheusRegistry();
    BuildIdentity.parse("0.1.0-SNAPSHOT+1a2b3c4d5e6f").register(r);
    var g = (GaugeSnapshot) r.scrape().stream().filter(m -> m.getMetadata().getPrometheusName().equals("dsfleet_build_info")).findFirst().orElseThrow();
    assertThat(g.getDataPoints()).singleElement().satisfies(d -> {
      assertThat(d.getValue()).isEqualTo(1);
      assertThat(d.getLabels().get("version")).isEqualTo("0.1.0-SNAPSHOT");
      assertThat(d.getLabels().get("commit")).isEqualTo("1a2b3c4d5e6f");
    });
  }
}
