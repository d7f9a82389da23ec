package io.dsfleet.agent.hostfs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where a container's writable layer lies, in a Docker root made here; EmptyDirLimitTest reads a real container's. */
class LayerDirsTest {
  static final String ID = "a".repeat(64);
  static final String MOUNT = "c".repeat(64);
  @TempDir Path root;

  Path mountId(String id, String text) throws Exception {
    Path dir = Files.createDirectories(root.resolve("image/overlay2/layerdb/mounts").resolve(id));
    return Files.writeString(dir.resolve("mount-id"), text);
  }

  @Test
  void theUpperDirectoryIsTheOneDockersMountIdNames() throws Exception {
    Path diff = Files.createDirectories(root.resolve("overlay2").resolve(MOUNT).resolve("diff"));
    mountId(ID, MOUNT);
    assertThat(LayerDirs.upperDir(root, ID)).contains(diff);
    assertThat(LayerDirs.upperDir(root, "b".repeat(64))).as("no such container").isEmpty();
    assertThat(LayerDirs.upperDir(root, "../" + ID)).as("not an ID Docker gives").isEmpty();
  }

  @Test
  void aMountIdThatIsNoIdOrNamesNoDirectoryNamesNothing() throws Exception {
    Files.createDirectories(root.resolve("overlay2").resolve(MOUNT).resolve("diff"));
    mountId(ID, "../../etc");
    assertThat(LayerDirs.upperDir(root, ID)).isEmpty();
    mountId(ID, "d".repeat(64));
    assertThat(LayerDirs.upperDir(root, ID)).as("no such layer").isEmpty();
  }
}
