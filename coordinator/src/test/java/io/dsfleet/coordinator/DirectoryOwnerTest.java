package io.dsfleet.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dsfleet.common.testing.Fifos;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectoryOwnerTest {
  @TempDir Path dir;

  /**
   * A write that fails (a full disk; here a directory in the way of its rename) leaves no part of
   * the content beside the entry: before 2026-12-06 root's partial ca.key.tmp stayed in the
   * service's pki/ (helper-119).
   */
  @Test
  void aWriteThatFailsLeavesNoTemporaryFile() throws Exception {
    Files.writeString(Files.createDirectories(dir.resolve("ca.key")).resolve("x"), "in the way");
    try (DirectoryOwner owner = DirectoryOwner.open(dir)) {
      assertThatThrownBy(() -> owner.write("ca.key", "key".getBytes())).isInstanceOf(java.io.IOException.class);
      owner.write("ca.crt", "crt".getBytes());
    }
    assertThat(dir.resolve("ca.key.tmp")).doesNotExist();
    assertThat(dir.resolve("ca.crt")).hasContent("crt");
    assertThat(dir.resolve("ca.crt.tmp")).doesNotExist();
  }

  private static final int SERVICE = 61234;

  /**
   * The directory's owner (the coordinator service's user: root's join and restore give it what
   * they wrote) renames a FIFO over an entry at the moment root opens it to give it: before
   * 2026-12-06 root looked at the entry, then opened it read-only without O_NONBLOCK to fchown it,
   * and waited on the FIFO for good, its command held. The entry is held (O_PATH) before anything
   * is decided: the FIFO is left as it is (root made none), not given, and the give goes on.
   */
  @Test
  void aFifoSwappedInAsRootGivesAnEntryHoldsNothing() throws Exception {
    assumeRoot();
    PosixFileAttributes service = serviceOwned(dir.resolve("service"));
    Path work = Files.createDirectory(dir.resolve("work"));
    Files.writeString(work.resolve("ca.crt"), "crt");
    Files.writeString(work.resolve("ca.key"), "key");
    AtomicBoolean swapped = new AtomicBoolean();
    try (DirectoryOwner owner = DirectoryOwner.open(work, name -> {
      if (name.equals("ca.key")) { // the owner's move, as root opens the entry
        Fifos.over(work.resolve("ca.key"));
        swapped.set(true);
      }
    })) {
      Fifos.endsWithin(Duration.ofSeconds(20), work.resolve("ca.key"), () -> {
        owner.giveTo(service, List.of("ca.crt", "ca.key", "secrets.key"));
        return null;
      });
    }
    assertThat(swapped).as("the FIFO was in place as root opened the entry").isTrue();
    assertThat(Files.getAttribute(work.resolve("ca.crt"), "unix:uid")).as("the file before it, given").isEqualTo(SERVICE);
    assertThat(Files.readAttributes(work.resolve("ca.key"), PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther())
        .as("still the FIFO").isTrue();
    assertThat(Files.getAttribute(work.resolve("ca.key"), "unix:uid", LinkOption.NOFOLLOW_LINKS)).as("the FIFO, not given").isEqualTo(0);
  }

  /**
   * The same at pki/, which root's join opens as a directory while the owner puts a FIFO in its
   * place: before 2026-12-06 the JDK's open of it (no O_DIRECTORY, no O_NONBLOCK) waited on the
   * FIFO for good. Refused at once, naming it.
   */
  @Test
  void aFifoSwappedInForASubdirectoryAsRootOpensItIsRefusedAtOnce() throws Exception {
    Path work = Files.createDirectory(dir.resolve("work"));
    Path pki = Files.createDirectory(work.resolve("pki"));
    AtomicBoolean swapped = new AtomicBoolean();
    try (DirectoryOwner owner = DirectoryOwner.open(work, name -> {
      if (name.equals("pki")) {
        try {
          Files.move(pki, work.resolve("pki.aside"));
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
        Fifos.over(pki);
        swapped.set(true);
      }
    })) {
      Throwable refused = Fifos.endsWithin(Duration.ofSeconds(20), pki,
          () -> org.assertj.core.api.Assertions.catchThrowable(() -> owner.subdirectory("pki").close()));
      assertThat(swapped).isTrue();
      assertThat(refused).isInstanceOf(java.io.IOException.class)
          .hasMessageContaining(pki + " is no regular file (a FIFO, a socket or a device), not a directory of its own");
    }
    assertThat(work.resolve("pki.aside")).isEmptyDirectory();
  }

  /**
   * The owner renames a hard link of a file of root's outside the directory (/etc/shadow, where
   * fs.protected_hardlinks is 0) over an entry root wrote as root gives it: root's file, not the
   * owner's, so before 2026-12-06 root gave it, and the file outside, to the service's user. Refused
   * naming it, nothing given.
   */
  @Test
  void aHardLinkSwappedInAsRootGivesAnEntryIsNotGiven() throws Exception {
    assumeRoot();
    PosixFileAttributes service = serviceOwned(dir.resolve("service"));
    Path shadow = Files.writeString(Files.createDirectory(dir.resolve("etc")).resolve("shadow"), "root:$6$hash");
    Path work = Files.createDirectory(dir.resolve("work"));
    Files.writeString(work.resolve("ca.key"), "key");
    AtomicBoolean swapped = new AtomicBoolean();
    try (DirectoryOwner owner = DirectoryOwner.open(work, name -> {
      if (name.equals("ca.key")) { // the owner's move, as root opens the entry
        try {
          Files.createLink(work.resolve("ca.key.planted"), shadow);
          Files.move(work.resolve("ca.key.planted"), work.resolve("ca.key"), java.nio.file.StandardCopyOption.REPLACE_EXISTING,
              java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
        swapped.set(true);
      }
    })) {
      assertThatThrownBy(() -> owner.giveTo(service, List.of("ca.key"))).isInstanceOf(java.io.IOException.class)
          .hasMessageContaining(work.resolve("ca.key") + " is a hard link, a file with 2 names");
    }
    assertThat(swapped).isTrue();
    assertThat(Files.getAttribute(shadow, "unix:uid")).as("root's file outside, not given").isEqualTo(0);
    assertThat(Files.getAttribute(shadow, "unix:gid")).isEqualTo(0);
  }

  /** The attributes of a new directory given to the service's uid (what root gives to). */
  private static PosixFileAttributes serviceOwned(Path p) throws java.io.IOException {
    Files.createDirectory(p);
    Files.setAttribute(p, "unix:uid", SERVICE);
    Files.setAttribute(p, "unix:gid", SERVICE);
    return Files.readAttributes(p, PosixFileAttributes.class);
  }

  private static void assumeRoot() {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "giving files to another user needs root");
  }
}
