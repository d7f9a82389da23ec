package io.dsfleet.common.manifest;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The one rule the coordinator validates and the agent acts with, for paths in a volume and in a container. */
class LocalPathsTest {
  @Test
  void pathsInAVolumeAreCleanedAsTheKubeletCleansThem() {
    assertThat(LocalPaths.descending("conf/")).isEqualTo("conf");
    assertThat(LocalPaths.descending("./a//b/.")).isEqualTo("a/b");
    assertThat(LocalPaths.descending("./")).as("the volume itself").isEmpty();
    assertThat(LocalPaths.descending("..c")).as("a name").isEqualTo("..c");
    assertThat(LocalPaths.descending("a/../b")).isNull();
    assertThat(LocalPaths.descending("/etc")).isNull();
    assertThat(LocalPaths.payloadFile("x//a")).isEqualTo("x/a");
    assertThat(LocalPaths.payloadFile("..data/x")).as("the volume's own names").isNull();
    assertThat(LocalPaths.payloadFile(".")).as("not a file").isNull();
  }

  @Test
  void mountPathsAreAbsoluteAndCleanedAsDockerComparesThem() {
    assertThat(LocalPaths.mountPath("d/")).isEqualTo("/d");
    assertThat(LocalPaths.mountPath("//d/./e/")).isEqualTo("/d/e");
    assertThat(LocalPaths.mountPath("/")).isEqualTo("/");
    assertThat(LocalPaths.mountPath("/a/../b")).as("left to the runtime, as Kubernetes leaves it").isEqualTo("/a/../b");
  }
}
