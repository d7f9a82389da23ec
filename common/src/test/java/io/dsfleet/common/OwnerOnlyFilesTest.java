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
   * A write a full disk refuses leaves neither the file nor its temporary: before helper-151 an
   * empty {@code X.tmp} stayed beside it (created, then its write refused), for good.
   */
  @Test
  void aWriteAFullDiskRefusesLeavesNoTemporary() throws Exception {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "a small tmpfs needs root: not run");
    Path small = Files.createDirectory(tmp.resolve("small"));
    io.dsfleet.common.testing.Processes.succeed("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", small.toString());
    try {
      try (var filler = Files.newOutputStream(small.resolve("filler"))) {
        byte[] block = new byte[4096];
        while (true) {
          filler.write(block);
        }
      } catch (java.io.IOException full) {
        // no room left
      }
      Path f = small.resolve("node.pem");
      assertThatThrownBy(() -> OwnerOnlyFiles.write(f, "x".repeat(10_000))).isInstanceOf(UncheckedIOException.class)
          .hasMessageContaining("cannot write " + f);
      assertThat(f).doesNotExist();
      assertThat(small.resolve("node.pem.tmp")).as("no temporary left").doesNotExist();
    } finally {
      io.dsfleet.common.testing.Processes.succeed("umount", "-l", small.toString());
    }
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

  /** A user who could write where the state goes made its directory first: the root daemon refuses it. */
  @Test
  void aDirectoryAnotherUserMadeWhereTheyCouldWriteIsRefusedNotTakenOver() throws Exception {
    assumeRoot();
    Path var = Files.createDirectory(tmp.resolve("var"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
    Path srv = owned(var.resolve("srv"), NOBODY); // a state directory set under a directory another user writes
    Path theirs = Files.createDirectory(srv.resolve("pki"));
    Files.setPosixFilePermissions(theirs, PosixFilePermissions.fromString("rwxrwxrwx"));
    Files.setAttribute(theirs, "unix:uid", NOBODY);
    assertThatThrownBy(() -> OwnerOnlyFiles.directory(theirs)).isInstanceOf(UncheckedIOException.class)
        .hasMessageContaining("cannot create " + theirs).hasMessageContaining("it belongs to uid 65534, not to this process's uid 0");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(theirs))).as("left as it was").isEqualTo("rwxrwxrwx");

    // a link another user made, to a directory of ours: refused whoever runs
    Path ours = Files.createDirectory(tmp.resolve("ours"));
    Path link = Files.createSymbolicLink(tmp.resolve("pki"), ours);
    Files.setAttribute(link, "unix:uid", NOBODY, LinkOption.NOFOLLOW_LINKS);
    assertThatThrownBy(() -> OwnerOnlyFiles.directory(link)).hasMessageContaining("a link uid 65534 made");
    assertThatThrownBy(() -> OwnerOnlyFiles.refuseForeign(link, SERVICE)).hasMessageContaining("a link uid 65534 made");

    // a link of ours to their directory
    Path ourLink = Files.createSymbolicLink(tmp.resolve("state"), theirs);
    assertThatThrownBy(() -> OwnerOnlyFiles.directory(ourLink)).hasMessageContaining("the directory it leads to belongs to uid 65534");
  }

  /**
   * The directories above it and the links on the way count too: another user who may write one
   * could move the checked directory aside later and put theirs in its place (a review did, under a
   * home directory), or point a link elsewhere.
   */
  @Test
  void aDirectoryUnderOneAnotherUserMayWriteOrReachedThroughTheirLinkIsRefused() throws Exception {
    assumeRoot();
    Path home = Files.createDirectory(tmp.resolve("home"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
    Path u = owned(home.resolve("u"), NOBODY);
    assertThatThrownBy(() -> OwnerOnlyFiles.directory(u.resolve("state"))).hasMessageContaining("it is under " + u + ", which belongs to uid 65534");

    Path rootstuff = Files.createDirectory(tmp.resolve("rootstuff"));
    Path ulink = Files.createSymbolicLink(tmp.resolve("ulink"), rootstuff);
    Files.setAttribute(ulink, "unix:uid", NOBODY, LinkOption.NOFOLLOW_LINKS);
    assertThatThrownBy(() -> OwnerOnlyFiles.directory(ulink.resolve("state"))).hasMessageContaining(ulink + " is a link uid 65534 made");

    Path agent = owned(u.resolve("agent"), NOBODY);
    Path around = agent.resolve("../../../rootstuff/state"); // through the user's directories, to one of root's
    assertThatThrownBy(() -> OwnerOnlyFiles.directory(around)).hasMessageContaining("which belongs to uid 65534");

    Path shared = Files.createDirectory(tmp.resolve("shared"));
    Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxr-x")); // not at creation: the umask would take the group's write
    assertThatThrownBy(() -> OwnerOnlyFiles.directory(shared.resolve("state"))).hasMessageContaining("users other than its owner may write");

    // /tmp's way: others may write, but the sticky bit keeps them from moving what is not theirs
    Path sticky = Files.createDirectory(tmp.resolve("sticky"));
    Files.setAttribute(sticky, "unix:mode", 01777);
    assertThat(OwnerOnlyFiles.directory(sticky.resolve("state"))).isEqualTo(sticky.resolve("state"));
  }

  /**
   * systemd's DynamicUser= layout: /var/lib/NAME is root's link to /var/lib/private/NAME (root's,
   * 0700), owned by the service's uid. The service takes it; so does root (an operator's backup).
   */
  @Test
  void systemdsDynamicUserStateDirectoryServesTheServiceAndRoot() throws Exception {
    assumeRoot();
    Path privateDir = Files.createDirectory(tmp.resolve("private"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path data = owned(privateDir.resolve("ds-coordinator"), SERVICE);
    Path link = Files.createSymbolicLink(tmp.resolve("ds-coordinator"), data);
    Path pki = owned(data.resolve("pki"), SERVICE);
    OwnerOnlyFiles.refuseForeign(link, SERVICE); // the service itself: its directory, through root's link
    assertThat(OwnerOnlyFiles.directory(link)).as("root (sudo ds-coordinator backup)").isEqualTo(link);
    assertThat(OwnerOnlyFiles.directory(link.resolve("pki"))).as("and what the service made in it").isEqualTo(link.resolve("pki"));
    assertThatThrownBy(() -> OwnerOnlyFiles.refuseForeign(link, 1000)).as("any other user").hasMessageContaining("belongs to uid " + SERVICE);
  }

  /**
   * The service's user swaps pki/ for a link to another directory once root (an operator's backup)
   * checked it: before 2026-12-06 root's chmod by the path then made that directory 0700
   * (helper-113). Refused, the link not followed.
   */
  @Test
  void aLinkSwappedInOnceRootCheckedTheServicesDirectoryIsNotFollowed() throws Exception {
    assumeRoot();
    Path privateDir = Files.createDirectory(tmp.resolve("private"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path data = owned(privateDir.resolve("ds-coordinator"), SERVICE);
    Path pki = owned(data.resolve("pki"), SERVICE);
    Files.setPosixFilePermissions(pki, PosixFilePermissions.fromString("rwxr-xr-x")); // a mode root would set
    Path victim = Files.createDirectory(tmp.resolve("victim"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
    Runnable swap = swapForALink(pki, victim);
    Throwable refused = org.assertj.core.api.Assertions.catchThrowable(() -> OwnerOnlyFiles.directory(pki, swap));
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(victim))).as("chmod through the link").isEqualTo("rwxr-xr-x");
    assertThat(refused).isInstanceOf(UncheckedIOException.class).hasMessageContaining(pki + " is a link now, not the directory checked");
  }

  /**
   * Root reads the service's pki/secrets.key for `sudo ds-coordinator backup` and `restore`: before
   * 2026-12-06 a FIFO the service's user put there, or their link to one, held the backup for good
   * (a link to /dev/zero filled its heap; helper-113). Refused at once, naming what is wrong.
   */
  @Test
  void aKeyThatIsAFifoOrAnotherUsersLinkIsRefusedNotRead() throws Exception {
    Path pki = OwnerOnlyFiles.directory(tmp.resolve("pki"));
    Path fifo = pki.resolve("secrets.key");
    io.dsfleet.common.testing.Processes.succeed("mkfifo", fifo.toString());
    Throwable refused = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(20),
        () -> org.assertj.core.api.Assertions.catchThrowable(() -> SecretBox.loadOrCreate(fifo)), "the key's read waited for a writer");
    assertThat(refused).hasMessageContaining("cannot read " + fifo + ": it is no regular file");
    Files.delete(fifo);
    Files.writeString(fifo, "x".repeat(5000));
    assertThatThrownBy(() -> SecretBox.loadOrCreate(fifo)).hasMessageContaining("it holds more than 4096 bytes");
    Files.delete(fifo);
    if (Integer.valueOf(0).equals(OwnerOnlyFiles.processUid())) { // root, in the service's directory
      Path key = Files.writeString(tmp.resolve("another.key"), java.util.Base64.getEncoder().encodeToString(new byte[32]));
      Files.setAttribute(Files.createSymbolicLink(fifo, key), "unix:uid", SERVICE, LinkOption.NOFOLLOW_LINKS);
      assertThatThrownBy(() -> SecretBox.loadOrCreate(fifo)).hasMessageContaining("it is a link uid " + SERVICE + " made");
      Files.delete(fifo);
      Files.createSymbolicLink(fifo, key); // root's own (pki/ kept on another volume): followed
      assertThat(SecretBox.loadOrCreate(fifo)).isNotNull();
    }
  }

  /**
   * Root's backup or restore opens the service's store, which loads pki/secrets.key; the service's
   * user removes the key and swaps pki/ for a link once root checked it: before 2026-12-06 root
   * made a new key by path, into the directory the link named (replacing any secrets.key there;
   * helper-119). Refused, nothing made, there nor in pki/.
   */
  @Test
  void rootMakesNoSecretsKeyInTheServicesDirectoryNorThroughALinkSwappedIn() throws Exception {
    assumeRoot();
    Path privateDir = Files.createDirectory(tmp.resolve("private"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path data = owned(privateDir.resolve("ds-coordinator"), SERVICE);
    Path pki = owned(data.resolve("pki"), SERVICE);
    Files.setPosixFilePermissions(pki, PosixFilePermissions.fromString("rwx------"));
    Path victim = Files.createDirectory(tmp.resolve("victim"));
    Path key = pki.resolve("secrets.key");
    Runnable swap = swapForALink(pki, victim);
    Throwable refused = org.assertj.core.api.Assertions.catchThrowable(() -> SecretBox.loadOrCreate(key, swap));
    try (var made = Files.list(victim)) {
      assertThat(made).as("written through the link").isEmpty();
    }
    assertThat(refused).isInstanceOf(IllegalStateException.class).hasMessageContaining("no " + key + ": it is made by the user its"
        + " directory belongs to");
    Files.delete(pki);
    Files.move(data.resolve("pki.aside"), pki);
    assertThatThrownBy(() -> SecretBox.loadOrCreate(key)).as("no swap").hasMessageContaining("nothing made");
    try (var made = Files.list(pki)) {
      assertThat(made).as("root's key, which the service could not read").isEmpty();
    }
    Files.writeString(key, java.util.Base64.getEncoder().encodeToString(new byte[32]));
    assertThat(SecretBox.loadOrCreate(key)).as("the service's key, read").isNotNull();
  }

  /**
   * The service's user renames a FIFO over pki/secrets.key at the moment root, its look at the
   * entry done, opens it (root's backup or restore): before 2026-12-06 root looked, then opened the
   * key by name without O_NONBLOCK, and waited on the FIFO for good (helper-119 said so). The entry
   * is held (O_PATH) before anything is decided and opened for real only as the regular file held:
   * the FIFO is refused at once, naming the key, and nothing waits for a writer.
   */
  @Test
  void aFifoSwappedInForTheKeyAsRootOpensItIsRefusedAtOnce() throws Exception {
    Path pki = OwnerOnlyFiles.directory(tmp.resolve("pki"));
    Path key = Files.writeString(pki.resolve("secrets.key"), java.util.Base64.getEncoder().encodeToString(new byte[32]));
    AtomicBoolean swapped = new AtomicBoolean();
    Runnable fifoOverTheKey = () -> { // the service's user, at the moment root opens the key
      io.dsfleet.common.testing.Fifos.over(key);
      swapped.set(true);
    };
    Throwable refused = io.dsfleet.common.testing.Fifos.endsWithin(java.time.Duration.ofSeconds(20), key,
        () -> org.assertj.core.api.Assertions.catchThrowable(() -> SecretBox.loadOrCreate(key, () -> {}, fifoOverTheKey)));
    assertThat(swapped).as("the FIFO was in place as root opened the key").isTrue();
    assertThat(refused).hasMessageContaining("cannot read " + key + ": it is no regular file");
    assertThat(Files.isRegularFile(key, LinkOption.NOFOLLOW_LINKS)).as("nothing written in its place").isFalse();
  }

  /**
   * The service's user swaps pki/ for a link to another directory once root (its backup, its
   * restore) checked it: before 2026-12-06 root then read the key by path, that directory's
   * {@code secrets.key}, and made the backup's MAC or opened the store's Secrets with it. The key
   * is read through pki/ as checked, held open since.
   */
  @Test
  void theKeyIsReadFromTheDirectoryCheckedNotThroughALinkSwappedInSince() throws Exception {
    Path pki = OwnerOnlyFiles.directory(tmp.resolve("pki"));
    Path key = pki.resolve("secrets.key");
    SecretBox checked = SecretBox.loadOrCreate(key); // made here: pki/'s own key
    Path other = OwnerOnlyFiles.directory(tmp.resolve("other"));
    SecretBox others = SecretBox.loadOrCreate(other.resolve("secrets.key"));
    byte[] sealed = checked.seal("s3cret".getBytes(java.nio.charset.StandardCharsets.UTF_8), "v1/Secret/default/db");
    AtomicBoolean swapped = new AtomicBoolean();
    SecretBox read = SecretBox.loadOrCreate(key, () -> { // once root checked pki/
      try {
        Files.move(pki, tmp.resolve("pki.aside"));
        Files.createSymbolicLink(pki, other);
        swapped.set(true);
      } catch (java.io.IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    assertThat(swapped).isTrue();
    assertThat(new String(read.open(sealed, "v1/Secret/default/db"), java.nio.charset.StandardCharsets.UTF_8))
        .as("pki/'s key, as checked").isEqualTo("s3cret");
    assertThatThrownBy(() -> others.open(sealed, "v1/Secret/default/db")).as("the other directory's key opens nothing of it");
  }

  private static final int SERVICE = 61234;

  /** A new directory, given to {@code uid}. */
  private static Path owned(Path dir, int uid) throws java.io.IOException {
    Files.setAttribute(Files.createDirectory(dir), "unix:uid", uid);
    return dir;
  }

  /**
   * Root's read of a credential in a directory another user writes (`sudo dsctl` of the service's
   * pki/admin.pem) on Linux where /proc is not mounted (a chroot, a mount namespace without it):
   * before 2026-12-06 it was read by path, as on a system without /proc, and the link that user
   * planted there was followed to a file of root's. Refused, saying /proc is missing.
   */
  @Test
  void withoutProcOnLinuxACredentialIsNotReadByPath() throws Exception {
    assumeRoot();
    Assumptions.assumeTrue(new ProcessBuilder("unshare", "--mount", "--fork", "true").start().waitFor() == 0, "unshare --mount");
    Path secret = Files.writeString(tmp.resolve("shadow"), "root's own");
    Path pem = Files.createDirectory(tmp.resolve("pki")).resolve("admin.pem");
    Files.setAttribute(Files.createSymbolicLink(pem, secret), "unix:uid", SERVICE, LinkOption.NOFOLLOW_LINKS);
    Path javaHome = Path.of(System.getProperty("java.home"));
    ProcessBuilder b = new ProcessBuilder("unshare", "--mount", "--fork", "sh", "-c", "umount -l /proc && exec \"$@\"", "sh",
        javaHome.resolve("bin/java").toString(), "-cp", System.getProperty("java.class.path"), ReadSmall.class.getName(), pem.toString());
    // the launcher finds its libraries through /proc/self/exe
    b.environment().put("LD_LIBRARY_PATH", javaHome.resolve("lib") + ":" + javaHome.resolve("lib/server"));
    Process p = b.redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    assertThat(out).doesNotContain("root's own").contains("cannot read " + pem + ": no /proc here").contains("mount /proc");
  }

  /** Prints what {@link OwnerOnlyFiles#readSmall} reads of the file named, or why it cannot. */
  public static final class ReadSmall {
    public static void main(String[] args) {
      try {
        System.out.print("read: " + OwnerOnlyFiles.readSmall(Path.of(args[0]), 64));
      } catch (RuntimeException e) {
        System.out.print(e.getMessage());
      }
    }
  }

  private static void assumeRoot() {
    Assumptions.assumeTrue(Integer.valueOf(0).equals(OwnerOnlyFiles.processUid()), "giving a directory to another user needs root");
  }

  /** The service's user's move: {@code dir} put aside and a link of its own to {@code victim} in its place. */
  private static Runnable swapForALink(Path dir, Path victim) {
    return () -> {
      try {
        Files.move(dir, dir.resolveSibling(dir.getFileName() + ".aside"));
        Files.setAttribute(Files.createSymbolicLink(dir, victim), "unix:uid", SERVICE, LinkOption.NOFOLLOW_LINKS);
      } catch (java.io.IOException e) {
        throw new UncheckedIOException(e);
      }
    };
  }
}
