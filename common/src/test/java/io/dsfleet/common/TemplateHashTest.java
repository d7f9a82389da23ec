package io.dsfleet.common;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.manifest.ManifestParser;
import io.dsfleet.common.model.DaemonSet;
import org.junit.jupiter.api.Test;

class TemplateHashTest {
  private static final String ORDER_A = """
      apiVersion: apps/v1
      kind: DaemonSet
      metadata: {name: h, namespace: default}
      spec:
        selector: {matchLabels: {app: h}}
        template:
          metadata: {labels: {app: h, b: "2", a: "1"}}
          spec:
            containers:
            - name: c
              image: local/busybox:1
              env: [{name: X, value: "1"}]
              resources: {limits: {memory: 64Mi, cpu: 100m}}
      """;
  // the same object: every map's keys in another order, flow vs block style, defaults spelled out
  private static final String ORDER_B = """
      kind: DaemonSet
      spec:
        template:
          spec:
            restartPolicy: Always
            terminationGracePeriodSeconds: 30
            containers:
            - resources:
                limits:
                  cpu: 100m
                  memory: 64Mi
              env:
              - value: "1"
                name: X
              imagePullPolicy: IfNotPresent
              image: local/busybox:1
              name: c
          metadata:
            labels:
              a: "1"
              app: h
              b: "2"
        selector:
          matchLabels:
            app: h
      metadata:
        namespace: default
        name: h
      apiVersion: apps/v1
      """;

  private static DaemonSet parse(String yaml) {
    return (DaemonSet) ManifestParser.parse(yaml, "t").get(0).object();
  }

  @Test
  void keyOrderAndStyleDoNotChangeTheHash() {
    assertThat(TemplateHash.of(parse(ORDER_A).spec().template()))
        .isEqualTo(TemplateHash.of(parse(ORDER_B).spec().template()));
  }

  @Test
  void serializationRoundTripKeepsTheHash() {
    DaemonSet ds = parse(ORDER_A);
    String stored = Json.canonical(ds);
    DaemonSet back = (DaemonSet) ManifestParser.parseOne(stored);
    assertThat(back).isEqualTo(ds);
    assertThat(TemplateHash.of(back.spec().template())).isEqualTo(TemplateHash.of(ds.spec().template()));
    String yamlOut = Json.yaml(ds);
    assertThat(TemplateHash.of(((DaemonSet) ManifestParser.parseOne(yamlOut)).spec().template()))
        .isEqualTo(TemplateHash.of(ds.spec().template()));
  }

  @Test
  void anyTemplateChangeChangesTheHash() {
    String base = TemplateHash.of(parse(ORDER_A).spec().template());
    assertThat(TemplateHash.of(parse(ORDER_A.replace("busybox:1", "busybox:2")).spec().template())).isNotEqualTo(base);
    assertThat(TemplateHash.of(parse(ORDER_A.replace("value: \"1\"", "value: \"2\"")).spec().template())).isNotEqualTo(base);
  }

  @Test
  void changesOutsideTheTemplateKeepTheHash() {
    String base = TemplateHash.of(parse(ORDER_A).spec().template());
    String withStrategy = ORDER_A.replace("selector:", "minReadySeconds: 5\n  selector:");
    assertThat(TemplateHash.of(parse(withStrategy).spec().template())).isEqualTo(base);
  }

  /**
   * Pins the hash across JVMs and releases: rollouts are driven by hash equality, so a release that
   * changed this value would restart every pod of every fleet on upgrade. Change it only together
   * with a migration.
   */
  @Test
  void hashIsPinnedAcrossReleases() {
    assertThat(TemplateHash.of(parse(ORDER_A).spec().template())).isEqualTo(PINNED);
    assertThat(TemplateHash.of(Fixtures.baseDaemonSet().spec().template())).hasSize(10).matches("[0-9a-f]{10}");
  }

  /** A collision count of 0 is the plain hash; each count is another hash, pinned as the plain one is. */
  @Test
  void aCollisionCountGivesAnotherHash() {
    var t = parse(ORDER_A).spec().template();
    assertThat(TemplateHash.of(t, 0)).isEqualTo(PINNED);
    assertThat(TemplateHash.of(t, 1)).isEqualTo("87df07a773");
    assertThat(TemplateHash.of(t, 2)).isNotIn(PINNED, TemplateHash.of(t, 1));
  }

  private static final String PINNED = "bbd0bcddce";
}
