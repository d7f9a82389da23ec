package io.dsfleet.agent.hostfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** subPath resolution: inside the volume's real path, links that stay inside allowed, links out refused, nothing created outside. */
class SubPathsTest {
  @TempDir Path tmp;
  Path vol;
  Path outside;

  @BeforeEach
  void setUp() throws Exception {
    vol = Files.createDirectories(tmp.resolve("vol"));
    outside = Files.createDirectories(tmp.resolve("outside"));
  }

  @Test
  void aMissingSubPathIsCreatedInsideTheVolume() throws Exception {
    assertThat(SubPaths.resolve(vol, "a/b")).isEqualTo(vol.toRealPath().resolve("a/b"));
    assertThat(vol.resolve("a/b")).isDirectory();
  }

  /** As the kubelet cleans a subPath; ".." parts and the volume itself are not subPaths (the caller mounts the volume for "."). */
  @Test
  void aSubPathIsCleanedAsTheKubeletCleansIt() throws Exception {
    assertThat(SubPaths.resolve(vol, "./c//d/")).isEqualTo(vol.toRealPath().resolve("c/d"));
    assertThat(SubPaths.resolve(vol, "..c")).as("a file named so").isEqualTo(vol.toRealPath().resolve("..c"));
    for (String bad : new String[] {"a/../b", "/abs", "./", "."}) {
      assertThatThrownBy(() -> SubPaths.resolve(vol, bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void aLinkThatStaysInsideIsFollowed() throws Exception {
    Files.createDirectories(vol.resolve("..2026/conf"));
    Files.createSymbolicLink(vol.resolve("..data"), Path.of("..2026"));
    Files.createSymbolicLink(vol.resolve("conf"), Path.of("..data/conf"));
    assertThat(SubPaths.resolve(vol, "conf")).isEqualTo(vol.toRealPath().resolve("..2026/conf"));
  }

  @Test
  void linksOutOfTheVolumeAreRefusedAndNothingIsCreatedOutside() throws Exception {
    Files.createSymbolicLink(vol.resolve("escape"), outside);
    Files.createSymbolicLink(vol.resolve("up"), Path.of(".."));
    Files.createSymbolicLink(vol.resolve("dangling"), tmp.resolve("nope"));
    assertThatThrownBy(() -> SubPaths.resolve(vol, "escape")).isInstanceOf(NoFollow.NotInsideException.class)
        .hasMessageContaining("symlink");
    assertThatThrownBy(() -> SubPaths.resolve(vol, "escape/new")).isInstanceOf(NoFollow.NotInsideException.class);
    assertThatThrownBy(() -> SubPaths.resolve(vol, "up/outside")).isInstanceOf(NoFollow.NotInsideException.class);
    assertThatThrownBy(() -> SubPaths.resolve(vol, "dangling")).isInstanceOf(NoFollow.NotInsideException.class);
    assertThat(outside.resolve("new")).doesNotExist();
    assertThat(tmp.resolve("nope")).doesNotExist();
    assertThatThrownBy(() -> SubPaths.resolve(vol, "../outside")).isInstanceOf(IllegalArgumentException.class);
  }

  /** Pinning (needs root: it bind-mounts) binds the inode reached without following links; nothing outside is made. */
  @Test
  void pinBindsWhatItReachedInsideAndRefusesLinksOut() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "skipped: pinning bind-mounts, which needs root");
    Mounts mounts = new Mounts();
    Path stage = tmp.resolve("stage");
    try {
      assertThat(SubPaths.pin(mounts, vol, "a/b", stage)).isEqualTo(stage);
      Files.writeString(stage.resolve("through-the-pin"), "x");
      assertThat(vol.resolve("a/b/through-the-pin")).exists();
      mounts.unmount(stage);
      Files.writeString(vol.resolve("file"), "f");
      assertThat(Files.readString(SubPaths.pin(mounts, vol, "file", tmp.resolve("stage-file")))).isEqualTo("f");
      mounts.unmount(tmp.resolve("stage-file"));
      Files.createSymbolicLink(vol.resolve("a/escape"), outside);
      assertThatThrownBy(() -> SubPaths.pin(mounts, vol, "a/escape/x", tmp.resolve("stage2"))).isInstanceOf(NoFollow.NotInsideException.class);
      assertThat(outside.resolve("x")).doesNotExist();
      assertThat(mounts.under(tmp)).isEmpty();
    } finally {
      mounts.unmountAll(tmp);
    }
  }

  @Test
  void deleteTreeRemovesLinksNotWhatTheyPointTo() throws Exception {
    Files.writeString(outside.resolve("keep"), "keep");
    Path d = Files.createDirectories(vol.resolve("d/e"));
    Files.createSymbolicLink(d.resolve("link"), outside);
    Files.createSymbolicLink(vol.resolve("d/file-link"), outside.resolve("keep"));
    NoFollow.deleteTree(vol.resolve("d"));
    assertThat(vol.resolve("d")).doesNotExist();
    assertThat(Files.readString(outside.resolve("keep"))).isEqualTo("keep");
  }

  /** A container can nest directories as deep as it likes; the walk holds at most MAX_DEPTH open and still removes all. */
  @Test
  void deleteTreeRemovesATreeOfAnyDepthAndFollowsNoLinkInIt() throws Exception {
    Files.writeString(outside.resolve("keep"), "keep");
    Path cur = vol.resolve("d");
    int depth = NoFollow.MAX_DEPTH * 3 + 7;
    for (int i = 0; i < depth; i++) {
      Files.createDirectory(cur);
      Files.writeString(cur.resolve("f"), "x");
      if (i % 100 == 99) {
        Files.createSymbolicLink(cur.resolve("link"), outside);
        Files.createDirectory(cur.resolve(".deep-0000000000000000")); // a name the walk might pick for what it moves up
      }
      cur = cur.resolve("d");
    }
    NoFollow.deleteTree(vol.resolve("d"));
    assertThat(vol.resolve("d")).doesNotExist();
    assertThat(Files.readString(outside.resolve("keep"))).isEqualTo("keep");
    try (var left = Files.list(vol)) {
      assertThat(left.map(q -> q.getFileName().toString())).as("nothing moved out of the tree").doesNotContain("d");
    }
  }

  /** What an emptyDir's sizeLimit counts: files' and directories' sizes, never through a link; too many entries or levels count as over. */
  @Test
  void usageCountsTheTreeItselfFollowsNoLinkAndCallsAnUnmeasurableTreeOver() throws Exception {
    Files.write(outside.resolve("big"), new byte[100_000]);
    Path d = Files.createDirectories(vol.resolve("t/sub"));
    Files.write(d.resolve("f"), new byte[1000]);
    Files.createSymbolicLink(d.resolve("to-outside"), outside);
    Files.createSymbolicLink(d.resolve("to-big"), outside.resolve("big"));
    assertThat(NoFollow.usage(vol.resolve("t"), Long.MAX_VALUE - 1, 1000)).as("a directory in it, and one file")
        .isEqualTo(Files.size(d) + 1000);
    assertThat(NoFollow.usage(vol.resolve("missing"), 0, 1000)).isZero();
    assertThat(NoFollow.usage(Files.createDirectory(vol.resolve("empty")), 0, 1000)).as("an empty volume uses nothing").isZero();
    assertThat(NoFollow.usage(vol.resolve("t"), Long.MAX_VALUE - 1, 2)).as("more entries than measured").isEqualTo(Long.MAX_VALUE);
    Path cur = vol.resolve("deep");
    for (int i = 0; i <= NoFollow.MAX_DEPTH; i++) {
      cur = Files.createDirectory(cur);
      cur = cur.resolve("d");
    }
    assertThat(NoFollow.usage(vol.resolve("deep"), Long.MAX_VALUE - 1, 1_000_000)).as("deeper than measured").isEqualTo(Long.MAX_VALUE);
  }

  /**
   * What a walk opens of a directory it listed, once the entry is something else (a container can
   * swap a FIFO or a device node it made in between the look and the open: helper-74 blocked the
   * agent's collector thread so, for good): refused before anything is opened for real, at once.
   */
  @Test
  void aListedDirectorySwappedForAFifoOrADeviceIsRefusedWithoutBeingOpened() throws Exception {
    Path fifo = vol.resolve("fifo");
    io.dsfleet.common.testing.Processes.succeed("mkfifo", fifo.toString());
    Path device = vol.resolve("device");
    boolean madeDevice = io.dsfleet.common.testing.Processes.run(new ProcessBuilder("mknod", device.toString(), "c", "1", "3"),
        java.time.Duration.ofMinutes(1)).exit() == 0; // root only
    try (Fds.Fd dir = Fds.openDirectory(vol)) {
      org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(10), () -> {
        assertThatThrownBy(() -> Fds.listedDirectory(dir, fifo.getFileName())).isInstanceOf(NoFollow.NotInsideException.class);
        if (madeDevice) {
          assertThatThrownBy(() -> Fds.listedDirectory(dir, device.getFileName())).isInstanceOf(NoFollow.NotInsideException.class);
        }
        assertThatThrownBy(() -> Fds.listedDirectory(dir, Path.of("gone"))).isInstanceOf(java.nio.file.NoSuchFileException.class);
      }, "the open of a FIFO blocks until a writer comes");
    }
    org.junit.jupiter.api.Assumptions.assumeTrue(madeDevice, "mknod needs root: the device half of this test did not run");
  }

  /**
   * The race itself, made deterministic: the directory a walk listed is a FIFO by the time it is
   * opened (helper-74's container did it 65,000 times a second). The JDK's open of it blocked the
   * collector thread for good; now the walk is made again and finds the FIFO for what it is.
   */
  @Test
  void aDirectorySwappedForAFifoBetweenItsListingAndItsOpenIsNeverOpened() throws Exception {
    Path t = Files.createDirectory(vol.resolve("t"));
    Path d = Files.createDirectory(t.resolve("d"));
    Files.write(t.resolve("f"), new byte[1000]);
    NoFollow.beforeOpen = rel -> {
      if (rel.endsWith("d") && Files.isDirectory(d, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        try {
          Files.delete(d);
          io.dsfleet.common.testing.Processes.succeed("mkfifo", d.toString());
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }
    };
    try {
      long used = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(10),
          () -> NoFollow.usage(t, Long.MAX_VALUE - 1, 1000), "the open of the FIFO blocks until a writer comes");
      assertThat(used).as("measured again: the file, the FIFO not a directory").isEqualTo(1000);
    } finally {
      NoFollow.beforeOpen = x -> { };
    }
  }

  /** A directory swapped at every walk (for another directory here): the volume counts as over its limit. */
  @Test
  void aDirectorySwappedAtEveryWalkCountsAsOver() throws Exception {
    Path t = Files.createDirectory(vol.resolve("t"));
    Path d = Files.createDirectory(t.resolve("d"));
    java.util.concurrent.atomic.AtomicInteger swaps = new java.util.concurrent.atomic.AtomicInteger();
    NoFollow.beforeOpen = rel -> {
      if (rel.endsWith("d")) {
        try {
          Files.move(d, t.resolve("old" + swaps.incrementAndGet()));
          Files.createDirectory(d);
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }
    };
    try {
      assertThat(NoFollow.usage(t, Long.MAX_VALUE - 1, 1000)).isEqualTo(Long.MAX_VALUE);
      assertThat(swaps.get()).as("walked again before deciding").isEqualTo(NoFollow.SWAPPED_ATTEMPTS);
    } finally {
      NoFollow.beforeOpen = x -> { };
    }
  }

  /** A directory's name is its bytes: one that is no UTF-8 is opened and counted as any other. */
  @Test
  void aDirectoryWhoseNameIsNoTextIsMeasuredAndRemoved() throws Exception {
    Path t = Files.createDirectory(vol.resolve("t"));
    io.dsfleet.common.testing.Processes.succeed("sh", "-c", "mkdir \"$1/$(printf 'a\\377\\376b')\" && head -c 1000 /dev/zero > \"$1/$(printf 'a\\377\\376b')/f\"",
        "sh", t.toString());
    try (var listed = Files.list(t)) {
      assertThat(listed.map(p -> p.getFileName().toString())).singleElement().asString().as("the name is no UTF-8").contains("\uFFFD");
    }
    assertThat(NoFollow.usage(t, Long.MAX_VALUE - 1, 1000)).as("its directory and its file").isGreaterThanOrEqualTo(1000);
    NoFollow.deleteTree(t);
    assertThat(t).doesNotExist();
  }
}
