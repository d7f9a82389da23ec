package io.dsfleet.agent.hostfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Directory handles: never through a link, never blocked by a FIFO, nothing made outside. */
class FdsTest {
  @TempDir Path tmp;
  Path vol;
  Path outside;

  @BeforeEach
  void setUp() throws Exception {
    vol = Files.createDirectories(tmp.resolve("vol"));
    outside = Files.createDirectories(tmp.resolve("outside"));
  }

  @Test
  void childrenAreOpenedAndMadeWithoutFollowingLinks() throws Exception {
    Files.createSymbolicLink(vol.resolve("link"), outside);
    Files.writeString(vol.resolve("file"), "x");
    try (Fds.Fd root = Fds.openDirectory(vol)) {
      try (Fds.Fd made = Fds.child(root, "made", true, 0777)) {
        assertThat(made.attributes().isDirectory()).isTrue();
      }
      assertThat(Files.getPosixFilePermissions(vol.resolve("made"))).as("the mode, not the umask's").hasSize(9);
      assertThatThrownBy(() -> Fds.child(root, "link", true, 0777)).isInstanceOf(NoFollow.NotInsideException.class).hasMessageContaining("symlink");
      assertThatThrownBy(() -> Fds.leaf(root, "link")).isInstanceOf(NoFollow.NotInsideException.class).hasMessageContaining("symlink");
      try (Fds.Fd f = Fds.leaf(root, "file")) {
        assertThat(f.attributes().isRegularFile()).isTrue();
      }
    }
    assertThat(outside.resolve("made")).doesNotExist();
  }

  @Test
  void aFifoNeverBlocksAndIsRefused() throws Exception {
    Process mkfifo = new ProcessBuilder("mkfifo", vol.resolve("fifo").toString()).start();
    assertThat(mkfifo.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(mkfifo.exitValue()).isZero();
    try (Fds.Fd root = Fds.openDirectory(vol)) {
      assertThatThrownBy(() -> Fds.child(root, "fifo", false, 0)).isInstanceOf(NoFollow.NotInsideException.class);
      assertThatThrownBy(() -> Fds.leaf(root, "fifo")).isInstanceOf(NoFollow.NotInsideException.class)
          .hasMessageContaining("neither a directory nor a regular file");
    }
  }

  @Test
  void mountPointsInAWritableVolumeAreMadeInsideIt() throws Exception {
    Files.createSymbolicLink(vol.resolve("memberlist"), outside);
    assertThatThrownBy(() -> SubPaths.mountPoint(vol, Path.of("memberlist/x"), true)).isInstanceOf(NoFollow.NotInsideException.class);
    SubPaths.mountPoint(vol, Path.of("a/b"), true);
    SubPaths.mountPoint(vol, Path.of("c/file.conf"), false);
    assertThat(vol.resolve("a/b")).isDirectory();
    assertThat(vol.resolve("c/file.conf")).isRegularFile();
    try (var entries = Files.list(outside)) {
      assertThat(entries).isEmpty();
    }
  }
}
