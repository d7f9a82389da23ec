package io.dsfleet.agent.hostfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dsfleet.common.testing.Processes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A file system's inodes as libc's statvfs gives them, on a tmpfs of 1,000 inodes made here. */
class InodesTest {
  @TempDir Path tmp;

  @Test
  void theFreeAndTotalInodesOfAFileSystem() throws Exception {
    Path fs = Files.createDirectories(tmp.resolve("fs"));
    Processes.succeed("mount", "-t", "tmpfs", "-o", "size=1m,nr_inodes=1000", "dsfleet-test", fs.toString());
    try {
      long[] before = Inodes.of(fs);
      assertThat(before[1]).as("total").isEqualTo(1000);
      for (int i = 0; i < 10; i++) {
        Files.createFile(fs.resolve("f" + i));
      }
      assertThat(Inodes.of(fs)).containsExactly(before[0] - 10, 1000);
    } finally {
      Processes.succeed("umount", "-l", fs.toString());
    }
  }

  @Test
  void aPathThatIsNotThereIsAnError() {
    assertThatThrownBy(() -> Inodes.of(tmp.resolve("missing"))).isInstanceOf(IOException.class).hasMessageContaining("errno 2");
  }
}
