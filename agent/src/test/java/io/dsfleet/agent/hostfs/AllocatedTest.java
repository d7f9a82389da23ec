package io.dsfleet.agent.hostfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Blocks a container allocated past a file's end ({@code fallocate --keep-size}: its size stays 0)
 * count in what a tree holds, as the kubelet's {@code du} counts them: before, a volume or a
 * writable layer preallocated full measured 0 bytes. A file written the ordinary way, or sparse,
 * counts its size as before.
 */
class AllocatedTest {
  @TempDir Path dir;

  @Test
  void blocksAllocatedPastAFilesEndCount() throws Exception {
    Path vol = Files.createDirectory(dir.resolve("vol"));
    Path kept = Files.createFile(vol.resolve("kept"));
    Process p = new ProcessBuilder("fallocate", "--keep-size", "--length", "8MiB", kept.toString()).inheritIO().start();
    assumeTrue(p.waitFor() == 0, "fallocate(1) with --keep-size on this file system");
    assertThat(Files.size(kept)).as("its size says nothing").isZero();
    assertThat(NoFollow.usage(vol, Long.MAX_VALUE, 1000)).as("the 8 MiB it holds on disk").isEqualTo(8L << 20);

    Path other = Files.createDirectory(dir.resolve("other"));
    Files.write(other.resolve("small"), new byte[1]);
    try (RandomAccessFile sparse = new RandomAccessFile(other.resolve("sparse").toFile(), "rw")) {
      sparse.setLength(3L << 20);
    }
    assertThat(NoFollow.usage(other, Long.MAX_VALUE, 1000)).as("sizes, as before: one byte, a sparse file's 3 MiB").isEqualTo((3L << 20) + 1);
    assertThat(NoFollow.inodes(vol, 1000)).isEqualTo(1);
  }
}
