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

  /**
   * The path reaches statvfs as the bytes the JDK has for it, not as JNA would encode its text: a
   * directory whose name is no UTF-8 (byte 0xE9, a Latin-1 "é"), as a listing gives it, is read,
   * and opened ({@link Fds#openDirectory}). Before, JNA encoded the path's text, in which the JDK
   * had made that byte U+FFFD: another path (ENOENT), and its inodes went unwatched.
   */
  @Test
  void aPathWhoseNameIsNoTextInTheJvmsEncodingIsReadAsTheJdkHasIt() throws Exception {
    Processes.succeed("sh", "-c", "mkdir \"$1\"/\"$(printf '\\351')\"", "sh", tmp.toString());
    Path fs;
    try (var listed = Files.list(tmp)) {
      fs = listed.findFirst().orElseThrow();
    }
    assertThat(Files.isDirectory(fs)).as("the JDK keeps its bytes").isTrue();
    Processes.succeed("sh", "-c", "mount -t tmpfs -o size=1m,nr_inodes=1000 dsfleet-test \"$1\"/\"$(printf '\\351')\"", "sh", tmp.toString());
    try {
      assertThat(Inodes.of(fs)[1]).as("total").isEqualTo(1000);
      try (Fds.Fd dir = Fds.openDirectory(fs)) {
        assertThat(dir.identity()[0]).as("the tmpfs's root").isEqualTo(Files.getAttribute(fs, "unix:dev"));
      }
    } finally {
      Processes.succeed("sh", "-c", "umount -l \"$1\"/\"$(printf '\\351')\"", "sh", tmp.toString()); // its text is another path
    }
  }

  @Test
  void aPathThatIsNotThereIsAnError() {
    assertThatThrownBy(() -> Inodes.of(tmp.resolve("missing"))).isInstanceOf(IOException.class).hasMessageContaining("errno 2");
  }
}
