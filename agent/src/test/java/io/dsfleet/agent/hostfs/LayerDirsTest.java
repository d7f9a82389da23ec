package io.dsfleet.agent.hostfs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where a container's writable layer lies, read from a {@code /proc} made here (each process a
 * directory with its cgroup and its mount table); EmptyDirLimitTest reads a real container's.
 */
class LayerDirsTest {
  static final String ID = "a".repeat(64);
  static final String OTHER = "b".repeat(64);
  @TempDir Path tmp;

  /** A process of the container {@code id}. */
  Path process(int pid, String id) throws Exception {
    Path p = Files.createDirectories(tmp.resolve("proc").resolve(Integer.toString(pid)));
    Files.writeString(p.resolve("cgroup"), "12:pids:/docker/" + id + "\n0::/system.slice/docker-" + id + ".scope\n");
    return p;
  }

  @Test
  void theWritableLayerIsTheUpperDirectoryOfTheOverlayAtTheRoot() throws Exception {
    String root = "1510 1300 0:39 / / rw,relatime master:600 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A:/var/lib/docker/"
        + "overlay2/l/B,upperdir=/var/lib/docker/overlay2/abc/diff,workdir=/var/lib/docker/overlay2/abc/work";
    String proc = "1511 1510 0:41 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw";
    assertThat(LayerDirs.rootUpperDir(java.util.List.of(root, proc))).isEqualTo(Path.of("/var/lib/docker/overlay2/abc/diff"));
    assertThat(LayerDirs.rootUpperDir(java.util.List.of(proc))).as("no root").isNull();
    assertThat(LayerDirs.rootUpperDir(java.util.List.of(root, "1600 1510 8:1 /x / rw - ext4 /dev/sda1 rw")))
        .as("a later mount over the root, not an overlay").isNull();
    assertThat(LayerDirs.rootUpperDir(java.util.List.of(root.replace("upperdir=/var", "upperdir=var")))).as("not absolute").isNull();
    assertThat(LayerDirs.rootUpperDir(java.util.List.of(root.replace("abc/diff,", "a\\040b/diff,")))).as("escaped").isNull();

    Path p = process(100, ID);
    Files.writeString(p.resolve("mountinfo"), proc + "\n" + root + "\n");
    Path other = process(101, OTHER);
    Files.writeString(other.resolve("mountinfo"), root.replace("abc", "def") + "\n");
    assertThat(new LayerDirs(tmp.resolve("proc")).upperDirs(Set.of(ID))).isEqualTo(Map.of(ID, Path.of("/var/lib/docker/overlay2/abc/diff")));
  }
}
