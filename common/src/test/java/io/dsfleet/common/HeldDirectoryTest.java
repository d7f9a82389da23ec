package io.dsfleet.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dsfleet.common.testing.Fifos;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HeldDirectoryTest {
  @TempDir Path dir;

  /** What is read, chmodded or given is the inode held, whatever is renamed over its name after. */
  @Test
  void anEntryIsTheInodeHeldNotItsName() throws Exception {
    Path key = Files.writeString(dir.resolve("key"), "the one held");
    try (HeldDirectory held = HeldDirectory.open(dir); HeldDirectory.Entry entry = held.entry("key")) {
      Files.move(key, dir.resolve("key.aside"));
      Files.writeString(key, "swapped in");
      assertThat(new String(entry.read(64), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("the one held");
      entry.setPermissions(PosixFilePermissions.fromString("rw-------"));
      assertThatThrownBy(() -> entry.read(4)).hasMessage("it holds more than 4 bytes");
    }
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("key.aside")))).isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).as("the name's new file").isNotEqualTo("rw-------");
  }

  /** A link is held as the link: never followed to be read, chmodded or given. */
  @Test
  void aLinkIsHeldAsTheLinkAndNeverActedThrough() throws Exception {
    Path victim = Files.writeString(dir.resolve("victim"), "untouched");
    Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rw-r--r--"));
    Files.createSymbolicLink(dir.resolve("link"), victim);
    try (HeldDirectory held = HeldDirectory.open(dir); HeldDirectory.Entry link = held.entry("link")) {
      assertThat(link.attributes().isSymbolicLink()).isTrue();
      assertThat(link.isFileOrDirectory()).isFalse();
      assertThatThrownBy(() -> link.read(64)).hasMessageContaining("it is a link");
      assertThatThrownBy(() -> link.setPermissions(PosixFilePermissions.fromString("rw-------")))
          .hasMessageContaining(dir.resolve("link") + " is a link, not a file or directory: left as it is");
      try (HeldDirectory.Entry target = link.target(held)) { // a link its caller trusts, followed on purpose
        assertThat(new String(target.read(64), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("untouched");
      }
      assertThatThrownBy(() -> held.subdirectory("link")).isInstanceOf(HeldDirectory.NotADirectory.class)
          .hasMessage(dir.resolve("link") + " is a link, not a directory of its own");
    }
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(victim))).isEqualTo("rw-r--r--");
  }

  /** A FIFO is held without opening it (no writer needed): refused as a file to read, and as a directory. */
  @Test
  void aFifoIsNeverOpened() throws Exception {
    Path fifo = dir.resolve("fifo");
    Fifos.over(fifo);
    try (HeldDirectory held = HeldDirectory.open(dir)) {
      Throwable refused = Fifos.endsWithin(Duration.ofSeconds(20), fifo, () -> {
        try (HeldDirectory.Entry entry = held.entry("fifo")) {
          return org.assertj.core.api.Assertions.catchThrowable(() -> entry.read(64));
        }
      });
      assertThat(refused).hasMessageContaining("it is no regular file (a FIFO, a socket or a device)");
      assertThatThrownBy(() -> held.subdirectory("fifo")).isInstanceOf(HeldDirectory.NotADirectory.class)
          .hasMessageContaining("is no regular file");
      assertThatThrownBy(() -> held.entry("none")).isInstanceOf(java.nio.file.NoSuchFileException.class);
      assertThatThrownBy(() -> held.entry("../x")).isInstanceOf(IllegalArgumentException.class);
    }
  }

  /**
   * A hard link of a file outside the directory (the directory's owner may make one of a file of
   * root's where fs.protected_hardlinks is 0) is neither chmodded nor read as the entry: before
   * 2026-12-06 root's chmod of a store's file so planted made the file it shares 0600 (/etc/passwd).
   */
  @Test
  void aHardLinkIsNeverChmoddedNorRead() throws Exception {
    Path victim = Files.writeString(Files.createDirectory(dir.resolve("outside")).resolve("passwd"), "root:x:0:0");
    Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rw-r--r--"));
    Path work = Files.createDirectory(dir.resolve("work"));
    Files.createLink(work.resolve("dsfleet.db-wal"), victim);
    try (HeldDirectory held = HeldDirectory.open(work); HeldDirectory.Entry entry = held.entry("dsfleet.db-wal")) {
      assertThat(entry.isFileOrDirectory()).isTrue();
      assertThatThrownBy(() -> entry.setPermissions(PosixFilePermissions.fromString("rw-------")))
          .hasMessage(work.resolve("dsfleet.db-wal") + " is a hard link, a file with 2 names (one may be outside this directory): left as"
              + " it is; it must be a file of its own");
      assertThatThrownBy(() -> entry.read(64)).hasMessageContaining("is a hard link, a file with 2 names");
    }
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(victim))).isEqualTo("rw-r--r--");
  }

  /**
   * A hard link of a link made elsewhere (root's, to its own key), linked into the directory where
   * fs.protected_hardlinks is 0, is its maker's yet not made for here: never followed, whoever made
   * it. Before 2026-12-06 target() followed it, and root's read of a credential read root's key.
   */
  @Test
  void aHardLinkOfALinkMadeElsewhereIsNotFollowed() throws Exception {
    Path outside = Files.createDirectory(dir.resolve("outside"));
    Path key = Files.writeString(outside.resolve("key"), "root's own");
    Files.createSymbolicLink(outside.resolve("key.link"), key);
    Path work = Files.createDirectory(dir.resolve("work"));
    Files.createLink(work.resolve("admin.pem"), outside.resolve("key.link")); // link(2): the link itself, not what it names
    try (HeldDirectory held = HeldDirectory.open(work); HeldDirectory.Entry link = held.entry("admin.pem")) {
      assertThat(link.attributes().isSymbolicLink()).isTrue();
      assertThatThrownBy(() -> link.target(held).close())
          .hasMessage(work.resolve("admin.pem") + " is a hard link, a link with 2 names (one may be outside this directory): left as it"
              + " is; it must be a file of its own");
    }
  }

  /**
   * In a PID namespace whose /proc is its parent's (`unshare --pid --fork` without
   * `--mount-proc`, a container given the host's /proc), the process's own pid (1 here) names
   * another process there: the held inode is reached through /proc/self, which the kernel resolves
   * in /proc's own namespace. Before 2026-12-06 it was /proc/PID/fd/N: root's chown, chmod and read
   * reached that other process's descriptor N (here the namespace's parent's init's), not the entry.
   */
  @Test
  void theHeldInodeIsReachedInAPidNamespaceWhoseProcIsItsParents() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(new ProcessBuilder("unshare", "--pid", "--fork", "true").start().waitFor() == 0,
        "unshare --pid needs root (CAP_SYS_ADMIN)");
    Files.writeString(dir.resolve("key"), "the one held");
    Process p = new ProcessBuilder("unshare", "--pid", "--fork", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), ReadHeld.class.getName(), dir.toString()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    assertThat(out).isEqualTo("pid 1: the one held");
  }

  /** Reads the entry "key" of the directory named as it is held, in a process of its own: {@link #theHeldInodeIsReachedInAPidNamespaceWhoseProcIsItsParents}. */
  public static final class ReadHeld {
    public static void main(String[] args) throws Exception {
      try (HeldDirectory held = HeldDirectory.open(Path.of(args[0])); HeldDirectory.Entry entry = held.entry("key")) {
        System.out.print("pid " + ProcessHandle.current().pid() + ": " + new String(entry.read(64), java.nio.charset.StandardCharsets.UTF_8));
      }
    }
  }
}
