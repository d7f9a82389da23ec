package io.dsfleet.agent.pod;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Rendering rules that need no Docker. */
class PodRendererTest {
  @Test
  void runAsNonRootIsCheckedAsTheKubeletDoes() {
    for (String root : new String[] {"", "0", "00", "0:1000"}) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> PodRenderer.verifyNonRoot(null, root)).as("image user \"" + root + "\"")
          .hasMessage("container has runAsNonRoot and image will run as root");
    }
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> PodRenderer.verifyNonRoot(null, "nobody"))
        .hasMessageContaining("non-numeric user (nobody)");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> PodRenderer.verifyNonRoot(0L, "1000")).hasMessageContaining("runAsUser breaks non-root");
    PodRenderer.verifyNonRoot(null, "1000:1000");
    PodRenderer.verifyNonRoot(65534L, "");
  }

  @Test
  void aLongPodNameIsCutToAHostnameAsTheKubeletDoes() {
    assertThat(PodRenderer.hostname("web-1a2b3")).isEqualTo("web-1a2b3");
    String longName = "a".repeat(62) + "-b-" + "c".repeat(20);
    assertThat(PodRenderer.hostname(longName)).isEqualTo("a".repeat(62)).hasSizeLessThanOrEqualTo(63);
    assertThat(PodRenderer.hostname("x".repeat(70))).hasSize(63);
  }
}
