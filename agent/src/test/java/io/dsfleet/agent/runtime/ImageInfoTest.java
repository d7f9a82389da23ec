package io.dsfleet.agent.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** An image's labels and settings are counted as the bytes Docker's JSON answers carry (read off a 20.10 daemon's inspect). */
class ImageInfoTest {
  @Test
  void labelsAreCountedAsDockersJsonCarriesThem() {
    // Docker writes "k":"<&>\u2028\u2029\u0001\"\\é": HTML characters as they are, line separators and controls as \\uXXXX
    var image = new ImageInfo("sha256:x", "", Map.of("k", "<&>\u2028\u2029\u0001\"\\é"));
    assertThat(image.labelBytes()).isEqualTo(1 + 3 + 6 + 6 + 6 + 2 + 2 + 2);
  }

  @Test
  void settingsAreCountedWithTheirQuotesAndCommas() {
    assertThat(ImageInfo.jsonBytes(List.of("PATH=/bin", "\u2028"))).isEqualTo((9 + 3) + (6 + 3));
  }

  @Test
  void aHealthCheckMoreOftenThanOnceASecondIsSlowedToItAndNoOtherIsTouched() {
    long ms = 1_000_000L;
    assertThat(new ImageInfo("i", "", Map.of(), 0, 0, 0).healthFloor()).as("none, or Docker's default").isNull();
    assertThat(new ImageInfo("i", "", Map.of(), 0, 1000 * ms, 0).healthFloor()).isNull();
    assertThat(new ImageInfo("i", "", Map.of(), 0, 1, 0).healthFloor()).isEqualTo(new ContainerSpec.HealthTiming(1000 * ms, null));
    assertThat(new ImageInfo("i", "", Map.of(), 0, 30_000 * ms, 5 * ms).healthFloor())
        .isEqualTo(new ContainerSpec.HealthTiming(null, 1000 * ms));
  }

  @Test
  void aContainerTakesOverTheImagesEntrypointAndCommandOnlyWhereThePodGivesNoneOfItsOwn() {
    var image = new ImageInfo("i", "", Map.of(), 0, 0, 0, 100, 20, 0, 0);
    assertThat(image.inheritedCommandBytes(false, false)).as("neither: both of the image's").isEqualTo(120);
    assertThat(image.inheritedCommandBytes(false, true)).as("args: the image's entrypoint").isEqualTo(100);
    assertThat(image.inheritedCommandBytes(true, false)).as("command: nothing of the image's (its CMD dropped too)").isZero();
    assertThat(image.inheritedCommandBytes(true, true)).isZero();
  }

  @Test
  void exposedPortsAndVolumesCountAsTheyFillAListLine() {
    assertThat(ImageInfo.volumeBytes(List.of("/data"))).isEqualTo(200 + 5);
    assertThat(new ImageInfo("i", "", Map.of(), 0, 0, 0, 0, 0, 3, 205).portAndVolumeBytes(true)).isEqualTo(3 * 40 + 205);
    assertThat(new ImageInfo("i", "", Map.of(), 0, 0, 0, 0, 0, 65_535, 0).portAndVolumeBytes(true)).isGreaterThan(ImageInfo.MAX_PORTS_AND_VOLUMES_BYTES);
    assertThat(new ImageInfo("i", "", Map.of(), 0, 0, 0, 0, 0, 100, 10 * 220).portAndVolumeBytes(true)).isLessThan(ImageInfo.MAX_PORTS_AND_VOLUMES_BYTES);
    assertThat(new ImageInfo("i", "", Map.of(), 0, 0, 0, 0, 0, 65_535, 205).portAndVolumeBytes(false)).as("no ports listed").isEqualTo(205);
  }
}
