package io.dsfleet.agent.reconcile;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.agent.pod.TemplateMark;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which template a pod's directory was made for (its mark), and which pods need one: those that make something in it. */
class TemplateMarkTest {
  static final String D1 = "1".repeat(64);
  static final String D2 = "2".repeat(64);
  @TempDir Path pods;

  /**
   * A mark holds its template's digest: a template of the same hash and another digest (one made to
   * share the hash) is another template, whose pod starts with fresh volumes. Before 2026-12-06 the
   * mark was the hash alone.
   */
  @Test
  void aMarkOfTheHashWithAnotherDigestIsAnotherTemplate() throws Exception {
    Path pod = pods.resolve("ops_agent-abcde");
    assertThat(TemplateMark.another(pod, "h1", D1)).as("no directory").isFalse();
    TemplateMark.mark(pod, "h1", D1);
    assertThat(Files.readString(pod.resolve("template-h1"))).isEqualTo(D1);
    assertThat(TemplateMark.another(pod, "h1", D1)).as("its own template").isFalse();
    assertThat(TemplateMark.another(pod, "h1", D2)).as("the same hash, another digest").isTrue();
    assertThat(TemplateMark.another(pod, "h2", D1)).as("another hash").isTrue();
  }

  /**
   * An empty mark, an agent's before 2026-12-06, says its hash alone: the template of that hash keeps
   * the volumes (an agent's upgrade empties no pod's), and its mark gets the digest from then on.
   */
  @Test
  void anEmptyMarkCountsByItsHashAndIsWrittenAgainWithTheDigest() throws Exception {
    Path pod = Files.createDirectories(pods.resolve("ops_agent-abcde"));
    Files.write(pod.resolve("template-h1"), new byte[0]);
    assertThat(TemplateMark.another(pod, "h1", D1)).as("an older agent's mark of the hash").isFalse();
    assertThat(TemplateMark.another(pod, "h2", D1)).as("of another hash").isTrue();
    TemplateMark.mark(pod, "h1", D1);
    assertThat(Files.readString(pod.resolve("template-h1"))).isEqualTo(D1);
    assertThat(TemplateMark.another(pod, "h1", D2)).isTrue();
  }

  /** A mark that is no file (a link, a directory) is read as no template's, never followed. */
  @Test
  void aMarkThatIsNotAFileIsAnotherTemplatesAndIsNotFollowed() throws Exception {
    Path pod = Files.createDirectories(pods.resolve("ops_agent-abcde"));
    Path elsewhere = Files.writeString(pods.resolve("elsewhere"), D1);
    Files.createSymbolicLink(pod.resolve("template-h1"), elsewhere);
    assertThat(TemplateMark.another(pod, "h1", D1)).isTrue();
  }
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
