package io.dsfleet.agent.hostfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A tree whose sizes add up past what a long holds counts as past measure, never as the wrapped,
 * negative sum: a container that made a sparse file of 8 EiB beside what it really wrote (one
 * {@code truncate}, on XFS, btrfs or tmpfs; on ext4, 524,288 files of 16 TiB, under the walk's
 * bound of entries) was measured at less than nothing: its emptyDir never over its sizeLimit, and
 * its pod, under disk pressure, never the heaviest (a neighbour's volume emptied for it). tmpfs
 * ({@code /dev/shm}) holds such a file here.
 */
class UsageOverflowTest {
  Path dir;

  @BeforeEach
  void make() throws Exception {
    assumeTrue(Files.isDirectory(Path.of("/dev/shm")), "no /dev/shm");
    dir = Files.createTempDirectory(Path.of("/dev/shm"), "usage-overflow");
  }

  @AfterEach
  void remove() throws Exception {
    if (dir != null) {
      NoFollow.deleteTree(dir);
    }
  }

  @Test
  void sizesPastWhatALongHoldsArePastMeasureNotNegative() throws Exception {
    Path vol = Files.createDirectory(dir.resolve("vol"));
    Files.write(vol.resolve("written"), new byte[1 << 20]);
    try (RandomAccessFile sparse = new RandomAccessFile(vol.resolve("sparse").toFile(), "rw")) {
      sparse.setLength(Long.MAX_VALUE); // no block of it written
    }
    assertThat(NoFollow.usage(vol, Long.MAX_VALUE, 1000)).isEqualTo(Long.MAX_VALUE);
    assertThat(NoFollow.usage(vol, 10L << 20, 1000)).as("a sizeLimit's walk too").isGreaterThan(10L << 20);
  }
}
