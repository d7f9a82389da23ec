package io.dsfleet.agent.pod;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.common.model.HostPathVolumeSource;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostPath the agent creates (untyped or {@code DirectoryOrCreate}, {@code FileOrCreate}) inside
 * a directory a container can write (another hostPath the spec grants it, its parent): the
 * container swaps a link of the path for one to a host directory between the agent's create and
 * its chmod. The agent must set the mode of what it made, never of the host file the link leads
 * to (before, it chmodded by path: a host file of the same name became 0644 or 0755).
 */
class HostPathCreateTest {
  @TempDir Path tmp;

  @Test
  void aFileOrCreateNeverChmodsTheHostFileALinkSwappedInLeadsTo() throws Exception {
    race("FileOrCreate", false);
  }

  @Test
  void aDirectoryCreatedForAnUntypedHostPathNeverChmodsTheHostDirectoryALinkSwappedInLeadsTo() throws Exception {
    race("", true);
  }

  @Test
  void missingHostPathsAreStillMadeWithTheirParentsAndModes() throws Exception {
    Path dir = tmp.resolve("x/y/dir");
    assertThat(Volumes.hostPath("v", new HostPathVolumeSource(dir + "/.", ""))).isEqualTo(Path.of(dir + "/."));
    assertThat(Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)).isTrue();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwxr-xr-x");
    Path file = tmp.resolve("p/q/file");
    Volumes.hostPath("v", new HostPathVolumeSource(file.toString(), "FileOrCreate"));
    assertThat(Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)).isTrue();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-r--r--");
    Path made = tmp.resolve("z/made");
    Volumes.hostPath("v", new HostPathVolumeSource(made.toString(), "DirectoryOrCreate"));
    assertThat(Files.isDirectory(made, LinkOption.NOFOLLOW_LINKS)).isTrue();
    Volumes.hostPath("v", new HostPathVolumeSource(made.toString(), "DirectoryOrCreate")); // there already: nothing to do
  }

  /**
   * {@code granted/a} flips between a link to {@code granted/real} (inside) and one to {@code
   * outside}, where a host file of the hostPath's name waits, mode 0600.
   */
  private void race(String type, boolean directory) throws Exception {
    Path granted = Files.createDirectories(tmp.resolve("granted"));
    Path real = Files.createDirectories(granted.resolve("real"));
    Path outside = Files.createDirectories(tmp.resolve("outside"));
    Path victim = outside.resolve("victim");
    if (directory) {
      Files.createDirectory(victim);
      Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rwx------"));
    } else {
      Files.writeString(victim, "host secret");
      Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rw-------"));
    }
    String before = PosixFilePermissions.toString(Files.getPosixFilePermissions(victim, LinkOption.NOFOLLOW_LINKS));
    Path a = granted.resolve("a");
    Files.createSymbolicLink(a, real);
    AtomicBoolean stop = new AtomicBoolean();
    Thread flipper = new Thread(() -> {
      Path t1 = granted.resolve(".t1");
      Path t2 = granted.resolve(".t2");
      try {
        while (!stop.get()) {
          Files.deleteIfExists(t1);
          Files.createSymbolicLink(t1, real);
          Files.move(t1, a, StandardCopyOption.ATOMIC_MOVE);
          Files.deleteIfExists(t2);
          Files.createSymbolicLink(t2, outside);
          Files.move(t2, a, StandardCopyOption.ATOMIC_MOVE);
        }
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    flipper.start();
    HostPathVolumeSource spec = new HostPathVolumeSource(a.resolve("victim").toString(), type);
    String after = before;
    try {
      long end = System.nanoTime() + 8_000_000_000L;
      for (int i = 0; i < 20_000 && System.nanoTime() < end && after.equals(before); i++) {
        Path made = real.resolve("victim");
        if (Files.isDirectory(made, LinkOption.NOFOLLOW_LINKS)) {
          Files.delete(made);
        } else {
          Files.deleteIfExists(made);
        }
        try {
          Volumes.hostPath("v", spec);
        } catch (PodConfigError refused) {
          // a swap the agent noticed: refused, retried with back-off; fine
        }
        after = PosixFilePermissions.toString(Files.getPosixFilePermissions(victim, LinkOption.NOFOLLOW_LINKS));
      }
    } finally {
      stop.set(true);
      flipper.join();
    }
    assertThat(after).as("the host file outside the granted directory keeps its mode").isEqualTo(before);
    assertThat(Files.getPosixFilePermissions(victim, LinkOption.NOFOLLOW_LINKS)).isEqualTo(PosixFilePermissions.fromString(before));
  }
}
