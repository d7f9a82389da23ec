package io.dsfleet.agent.pod;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Rendering rules that need no Docker. */
class PodRendererTest {
  @Test
  void aLongPodNameIsCutToAHostnameAsTheKubeletDoes() {
    assertThat(PodRenderer.hostname("web-1a2b3")).isEqualTo("web-1a2b3");
    String longName = "a".repeat(62) + "-b-" + "c".repeat(20);
    assertThat(PodRenderer.hostname(longName)).isEqualTo("a".repeat(62)).hasSizeLessThanOrEqualTo(63);
    assertThat(PodRenderer.hostname("x".repeat(70))).hasSize(63);
  }
}
