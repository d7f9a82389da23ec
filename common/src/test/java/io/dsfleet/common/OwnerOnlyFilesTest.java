package io.dsfleet.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OwnerOnlyFilesTest {
  private static final int NOBODY = 65534;

  @TempDir Path tmp;

  @Test
  void aWriteReplacesTheFileOwnerOnlyAndLeavesNoTemporary() throws Exception {
    Path dir = OwnerOnlyFiles.directory(tmp.resolve("pki"));
    Path f = dir.resolve("node.pem");
    OwnerOnlyFiles.write(f, "one");
    OwnerOnlyFiles.write(f, "two");
    assertThat(OwnerOnlyFiles.read(f)).isEqualTo("two");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f))).isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwx------");
    assertThat(dir.resolve("node.pem.tmp")).doesNotExist();
  }

  /**
   * Someone who can write the directory swaps the temporary file for a link to another file while
   * keys are written: the content never reaches the link's target (a review's race put a private
   * key there 1,437 times in 4 s when the temporary file was opened again by its name).
   */
  @Test
  void aLinkSwappedInForTheTemporaryFileNeverReceivesTheContent() throws Exception {
    Path dir = Files.createDirectory(tmp.resolve("state"));
    Path victim = Files.writeString(tmp.resolve("victim"), "untouched");
    Path f = dir.resolve("node.pem");
    Path temporary = dir.resolve("node.pem.tmp");
    AtomicBoolean stop = new AtomicBoolean();
    Thread swapper = new Thread(() -> {
      while (!stop.get()) {
        try {
          Files.deleteIfExists(temporary);
          Files.createSymbolicLink(temporary, victim);
        } catch (Exception e) {
          // lost the race this time: try again
        }
      }
    });
    swapper.start();
    int written = 0;
    long until = System.nanoTime() + 1_500_000_000L;
    try {
      while (System.nanoTime() - until < 0) {
        try {
          OwnerOnlyFiles.write(f, "SECRET KEY " + written);
          written++;
        } catch (UncheckedIOException refused) {
          // the link won the name: refused, not followed
        }
      }
    } finally {
      stop.set(true);
      swapper.join();
    }
    assertThat(Files.readString(victim)).isEqualTo("untouched");
    assertThat(written).as("writes went through between the swaps").isPositive();
  }

  @Test
  void aDirectoryAnotherUserOwnsIsRefusedNotTakenOver() throws Exception {
    Assumptions.assumeTrue(Integer.valueOf(0).equals(OwnerOnlyFiles.processUid()), "giving a directory to another user needs root");
    Path theirs = Files.createDirectory(tmp.resolve("theirs"));
    Files.setPosixFilePermissions(theirs, PosixFilePermissions.fromString("rwxrwxrwx"));
    Files.setAttribute(theirs, "unix:uid", NOBODY);
    assertThatThrownBy(() -> OwnerOnlyFiles.directory(theirs)).isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining("cannot create " + theirs).hasMessageContaining("belongs to uid 65534, not to this process's uid 0");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(theirs))).as("left as it was").isEqualTo("rwxrwxrwx");

    // a link another user made, to a directory of ours
    Path ours = Files.createDirectory(tmp.resolve("ours"));
    Path link = Files.createSymbolicLink(tmp.resolve("pki"), ours);
    Files.setAttribute(link, "unix:uid", NOBODY, LinkOption.NOFOLLOW_LINKS);
    assertThatThrownBy(() -> OwnerOnlyFiles.directory(link)).hasMessageContaining("belongs to uid 65534");

    // a link of ours to a directory of theirs
    Path ourLink = Files.createSymbolicLink(tmp.resolve("state"), theirs);
    assertThatThrownBy(() -> OwnerOnlyFiles.directory(ourLink)).hasMessageContaining("the directory it leads to belongs to uid 65534");

    // an operator's link (theirs and ours alike: this user's) to a directory of this user is fine
    Path data = Files.createDirectory(tmp.resolve("data"));
    assertThat(OwnerOnlyFiles.directory(Files.createSymbolicLink(tmp.resolve("var-lib"), data))).isEqualTo(tmp.resolve("var-lib"));
  }
}
