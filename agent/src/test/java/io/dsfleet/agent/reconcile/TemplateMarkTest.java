package io.dsfleet.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.pod.TemplateMark;
import org.junit.jupiter.api.Test;

/** Which pods need a directory of their own (and so its template's mark): those that make something in it. */
class TemplateMarkTest {
  static boolean needsNone(String... pathsAndValues) {
    return TemplateMark.needsNone(Pods.ds(pathsAndValues).spec().template().spec());
  }

  @Test
  void aPodOfHostPathsAloneWithoutSubPathsNeedsNoDirectory() {
    assertThat(needsNone()).as("no volume").isTrue();
    assertThat(needsNone("spec.template.spec.volumes", "[{name: logs, hostPath: {path: /var/log}}]",
        "spec.template.spec.containers[0].volumeMounts", "[{name: logs, mountPath: /logs}]")).as("a hostPath").isTrue();
  }

  @Test
  void aPodWithAVolumeOfItsOwnOrASubPathNeedsOne() {
    assertThat(needsNone("spec.template.spec.volumes", "[{name: scratch, emptyDir: {}}]")).as("an emptyDir").isFalse();
    assertThat(needsNone("spec.template.spec.volumes", "[{name: logs, hostPath: {path: /var/log}}]",
        "spec.template.spec.containers[0].volumeMounts", "[{name: logs, mountPath: /logs, subPath: app}]")).as("a subPath, staged there").isFalse();
  }
}
