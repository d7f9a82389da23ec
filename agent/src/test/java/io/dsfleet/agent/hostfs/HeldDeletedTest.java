package io.dsfleet.agent.hostfs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the containers' processes hold in files they deleted, read from a {@code /proc} made here:
 * each process a directory with its cgroup, its descriptors and mappings as links. The deleted file
 * is this JVM's own (written, held open, deleted), reached through {@code /proc/self/fd}, so that
 * it has no link left as a container's would. Disk pressure counts these bytes for the pod
 * (EmptyDirLimitTest holds one in a real container).
 */
class HeldDeletedTest {
  static final String ID = "a".repeat(64);
  static final String OTHER = "b".repeat(64);
  @TempDir Path tmp;
  Path proc;
  FileChannel held;
  Path heldPath;
  Object device;

  @BeforeEach
  void holdADeletedFile() throws Exception {
    proc = Files.createDirectories(tmp.resolve("proc"));
    Path file = tmp.resolve("big");
    held = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    held.write(ByteBuffer.allocate(3000));
    Files.delete(file);
    heldPath = Path.of("/proc/self/fd").resolve(fdOf(file));
    device = Files.getAttribute(tmp, "unix:dev");
  }

  /**
   * The links into this JVM's descriptors removed first: JUnit's cleanup of the temporary directory
   * resolves a link twice when it leads out of it, and a descriptor number the JVM closed and opened
   * again in between (its own walk's directories, a class loader's jar) failed the cleanup, and the
   * test with it (NoSuchFileException for ".../big (deleted)" in one CI run).
   */
  @AfterEach
  void close() throws Exception {
    try (var entries = Files.list(tmp)) {
      for (Path p : entries.filter(p -> p.getFileName().toString().endsWith(" (deleted)")).toList()) {
        Files.delete(p);
      }
    }
    held.close();
  }

  /** A process of the container {@code id} holding what {@code links} lead to as its descriptors. */
  Path process(int pid, String id, Path... links) throws Exception {
    Path p = Files.createDirectories(proc.resolve(Integer.toString(pid)));
    Files.writeString(p.resolve("cgroup"), "12:pids:/docker/" + id + "\n0::/system.slice/docker-" + id + ".scope\n");
    Files.createSymbolicLink(p.resolve("root"), tmp);
    Files.createDirectories(p.resolve("fd"));
    Files.createDirectories(p.resolve("map_files"));
    for (int i = 0; i < links.length; i++) {
      Files.createSymbolicLink(p.resolve(i % 2 == 0 ? "fd" : "map_files").resolve(Integer.toString(i + 3)), links[i]);
    }
    return p;
  }

  /** A link whose text ends as the kernel's does for a deleted file and that leads to the one held here. */
  Path deleted(String name) throws Exception {
    return Files.createSymbolicLink(tmp.resolve(name + " (deleted)"), heldPath);
  }

  @Test
  void aDeletedFileHeldByTheContainersProcessesCountsOnceHoweverManyHoldIt() throws Exception {
    Path big = deleted("big");
    process(100, ID, big, big);
    process(101, ID, big);
    assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID), device, false, 1000)).isEqualTo(Map.of(ID, 3000L));
  }

  /**
   * A file preallocated past its end ({@code fallocate --keep-size}, its size left at 0), held
   * open and deleted holds its blocks: before, it counted 0 bytes ({@link Allocated}).
   */
  @Test
  void aDeletedFileHeldAndPreallocatedPastItsEndCountsItsBlocks() throws Exception {
    Path file = tmp.resolve("kept");
    try (FileChannel kept = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      Process p = new ProcessBuilder("fallocate", "--keep-size", "--length", "8MiB", file.toString()).inheritIO().start();
      org.junit.jupiter.api.Assumptions.assumeTrue(p.waitFor() == 0, "fallocate(1) with --keep-size on this file system");
      Files.delete(file);
      process(100, ID, Files.createSymbolicLink(tmp.resolve("kept (deleted)"), Path.of("/proc/self/fd").resolve(fdOf(file))));
      assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID), device, false, 1000)).isEqualTo(Map.of(ID, 8L << 20));
    }
  }

  /** Counting inodes, each deleted file held is one, an empty one too. */
  @Test
  void countingFilesEachDeletedFileHeldIsOneHoweverSmall() throws Exception {
    Path empty = tmp.resolve("empty");
    try (FileChannel c = FileChannel.open(empty, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      Files.delete(empty);
      Path big = deleted("big");
      Path none = Files.createSymbolicLink(tmp.resolve("empty (deleted)"), Path.of("/proc/self/fd").resolve(fdOf(empty)));
      process(100, ID, big, none, big);
      assertThat(new HeldDeleted(proc).filesByContainer(Set.of(ID), Map.of(), Map.of(), List.of(), device, false, 1000)).isEqualTo(Map.of(ID, 2L));
      assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID), device, false, 1000)).isEqualTo(Map.of(ID, 3000L));
    }
  }

  /**
   * Counting inodes, a deleted directory held open is one too (as a FIFO, a device node or a bound
   * socket's file would be): before, only regular files counted, and a container that made a
   * million directories, opened each and removed it used a million inodes unseen.
   */
  @Test
  void countingFilesADeletedDirectoryHeldOpenIsOneAndHoldsNoBytes() throws Exception {
    Path dir = Files.createDirectory(tmp.resolve("dir"));
    try (Fds.Fd fd = Fds.openDirectory(dir)) {
      Files.delete(dir);
      Path gone = Files.createSymbolicLink(tmp.resolve("dir (deleted)"), fd.procPath());
      process(100, ID, gone, deleted("big"));
      assertThat(new HeldDeleted(proc).filesByContainer(Set.of(ID), Map.of(), Map.of(), List.of(), device, false, 1000)).isEqualTo(Map.of(ID, 2L));
      assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID), device, false, 1000)).as("bytes: the file's alone").isEqualTo(Map.of(ID, 3000L));
    }
  }

  /**
   * Counting inodes, a deleted directory that a process (or one of its threads) has as its working
   * directory is one too: before, only descriptors and mappings were read, and a container whose
   * processes each sat in a directory they removed held those inodes unseen.
   */
  @Test
  void countingFilesADeletedWorkingDirectoryIsOne() throws Exception {
    Path dir = Files.createDirectory(tmp.resolve("dir"));
    Path dir2 = Files.createDirectory(tmp.resolve("dir2"));
    try (Fds.Fd fd = Fds.openDirectory(dir); Fds.Fd fd2 = Fds.openDirectory(dir2)) {
      Files.delete(dir);
      Files.delete(dir2);
      Path p = process(100, ID);
      Files.createSymbolicLink(p.resolve("cwd"), Files.createSymbolicLink(tmp.resolve("dir (deleted)"), fd.procPath()));
      Path task = Files.createDirectories(p.resolve("task").resolve("101"));
      Files.createSymbolicLink(task.resolve("cwd"), Files.createSymbolicLink(tmp.resolve("dir2 (deleted)"), fd2.procPath()));
      assertThat(new HeldDeleted(proc, false).filesByContainer(Set.of(ID), Map.of(), Map.of(), List.of(), device, false, 1000)).isEqualTo(Map.of(ID, 2L));
      assertThat(new HeldDeleted(proc, false).bytesByContainer(Set.of(ID), device, false, 1000)).isEmpty();
    }
  }

  /** The number of this JVM's descriptor held open on {@code file}, deleted. */
  static String fdOf(Path file) throws Exception {
    try (var fds = Files.list(Path.of("/proc/self/fd"))) {
      return fds.filter(fd -> {
        try {
          return Files.readSymbolicLink(fd).toString().equals(file + " (deleted)");
        } catch (Exception e) {
          return false;
        }
      }).findFirst().orElseThrow().getFileName().toString();
    }
  }

  @Test
  void aFileOnlyNamedAsDeletedIsNotCounted() throws Exception {
    Path named = Files.write(tmp.resolve("named (deleted)"), new byte[5000]);
    process(100, ID, named);
    assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID), device, false, 1000)).isEmpty();
  }

  @Test
  void onlyTheDevicesThatCountAreCounted() throws Exception {
    process(100, ID, deleted("big"));
    assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID), -1L, false, 1000)).as("another device").isEmpty();
    assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID), -1L, true, 1000)).as("the process's root's device")
        .isEqualTo(Map.of(ID, 3000L));
  }

  @Test
  void processesOfOtherContainersAndTheHostsAreNotCounted() throws Exception {
    process(100, OTHER, deleted("big"));
    Path host = process(101, ID, deleted("big2"));
    Files.writeString(host.resolve("cgroup"), "0::/user.slice\n");
    assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID), device, false, 1000)).isEmpty();
  }

  @Test
  void aContainerHoldingMoreDescriptorsThanAreReadIsPastMeasure() throws Exception {
    Path sock = Files.createSymbolicLink(tmp.resolve("socket"), Path.of("socket:[1]"));
    process(100, ID, sock, sock, sock, sock, sock);
    assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID), device, false, 4)).isEqualTo(Map.of(ID, Long.MAX_VALUE));
    assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID), device, false, 5)).isEmpty();
  }

  /** The JVM's own descriptors as a process of the container {@code id} (its {@code fd} a link to this JVM's). */
  Path thisJvm(int pid, String id) throws Exception {
    Path p = process(pid, id);
    Files.delete(p.resolve("fd"));
    Files.createSymbolicLink(p.resolve("fd"), Path.of("/proc/" + ProcessHandle.current().pid() + "/fd"));
    Files.createSymbolicLink(p.resolve("mountinfo"), Path.of("/proc/" + ProcessHandle.current().pid() + "/mountinfo"));
    return p;
  }

  /**
   * Directories nested {@code levels} deep under {@code base}, each name 250 characters, made by
   * moving each into the next (no path past PATH_MAX is ever given to the kernel), with what the
   * innermost ({@code base/n0}) held; {@link #flatten} undoes it. A file in there has a path the
   * kernel cannot write into a link's text: reading its {@code /proc/PID/fd} link fails
   * (ENAMETOOLONG), as a container can make for any file it holds ({@code cd} into each in turn).
   */
  static void nest(Path base, int levels) throws Exception {
    for (int i = 1; i <= levels; i++) {
      Files.createDirectory(base.resolve("n" + i));
      Files.move(base.resolve("n" + (i - 1)), base.resolve("n" + i).resolve("d".repeat(250)));
    }
  }

  static void flatten(Path base, int levels) throws Exception {
    for (int i = levels; i >= 1; i--) {
      Files.move(base.resolve("n" + i).resolve("d".repeat(250)), base.resolve("n" + (i - 1)));
      Files.delete(base.resolve("n" + i));
    }
  }

  /**
   * A link the kernel cannot read (a file whose path is longer than a page) is one link, not the
   * whole measurement: before, the error ended it, every container's held files went uncounted at
   * that check (the neighbour with the most in plain sight evicted instead), and a container made
   * it so at will: any file it holds under deep enough directories. A deleted file held there
   * counts too: its link is not read, what it leads to is.
   */
  @Test
  void aLinkTooLongToReadNeitherEndsTheMeasurementNorHidesTheFile() throws Exception {
    Path base = Files.createDirectories(tmp.resolve("deep"));
    Files.createDirectory(base.resolve("n0"));
    Path deepFile = base.resolve("n0").resolve("f");
    try (FileChannel open = FileChannel.open(deepFile, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        FileChannel deletedDeep = FileChannel.open(base.resolve("n0").resolve("g"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      deletedDeep.write(ByteBuffer.allocate(7000));
      Files.delete(base.resolve("n0").resolve("g"));
      nest(base, 20);
      try {
        process(100, OTHER, deleted("big"));
        thisJvm(101, ID);
        Map<String, Long> held = new HeldDeleted(proc).bytesByContainer(Set.of(ID, OTHER), device, false, 1000);
        assertThat(held).as("the neighbour's file counted, and the deep one with the JVM's other held file")
            .isEqualTo(Map.of(OTHER, 3000L, ID, 10_000L));
      } finally {
        flatten(base, 20);
      }
    }
  }

  /**
   * A thread's own table of descriptors (a thread made without CLONE_FILES, which Docker's seccomp
   * profile allows) and a process whose first thread ended alone (SYS_exit: its directory then has
   * no descriptors, mappings or root, the other threads keep them): both count. Before, only the
   * first thread's {@code fd} and {@code map_files} were read (and a process without a root was
   * passed over): a container's program hid any file so (seen here with a Python program, the
   * kernel's {@code /proc} as modelled below).
   */
  @Test
  void whatAThreadHoldsCountsThoughTheFirstThreadEndedOrHoldsOtherDescriptors() throws Exception {
    Path sock = Files.createSymbolicLink(tmp.resolve("socket"), Path.of("socket:[1]"));
    Path own = process(100, ID, sock);
    Path thread = Files.createDirectories(own.resolve("task").resolve("101").resolve("fd"));
    Files.createSymbolicLink(thread.resolve("3"), deleted("big"));
    Files.createDirectories(own.resolve("task").resolve("100").resolve("fd"));
    assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID), device, false, 1000)).as("a thread's own descriptors")
        .isEqualTo(Map.of(ID, 3000L));

    Files.delete(proc.resolve("100").resolve("root"));
    Files.createSymbolicLink(Files.createDirectories(proc.resolve("101")).resolve("root"), tmp); // /proc/TID: not listed, there
    Files.delete(proc.resolve("100").resolve("fd").resolve("3"));
    assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID), -1L, true, 1000)).as("the first thread ended: the others' descriptors and root")
        .isEqualTo(Map.of(ID, 3000L));
    Files.delete(thread.resolve("3"));
    Path maps = Files.createDirectories(proc.resolve("101").resolve("map_files"));
    Files.createSymbolicLink(maps.resolve("7f0000-7f1000"), deleted("big2"));
    assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID), device, false, 1000)).as("the first thread ended: the others' mappings")
        .isEqualTo(Map.of(ID, 3000L));
  }

  /**
   * ... and each table is read once: the threads of this JVM, which share one, cost one reading
   * (kcmp), so that a program of many threads and descriptors (a JVM, a broker) is not taken as
   * past measure and evicted first.
   */
  @Test
  void threadsSharingTheirDescriptorsAreReadOnce() throws Exception {
    long pid = ProcessHandle.current().pid();
    Path p = thisJvm((int) pid, ID);
    long fds;
    try (var l = Files.list(Path.of("/proc/" + pid + "/fd"))) {
      fds = l.count();
    }
    int threads = 0;
    try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
      for (Path t : (Iterable<Path>) tasks::iterator) {
        Path task = Files.createDirectories(p.resolve("task").resolve(t.getFileName().toString()));
        Files.createSymbolicLink(task.resolve("fd"), t.resolve("fd"));
        threads++;
      }
    }
    assertThat(threads).isGreaterThan(5);
    long bound = fds + 10 * threads;
    assertThat(new HeldDeleted(proc, true).bytesByContainer(Set.of(ID), device, false, bound)).as("read once")
        .isEqualTo(Map.of(ID, 3000L));
    assertThat(new HeldDeleted(proc, false).bytesByContainer(Set.of(ID), device, false, bound)).as("without kcmp, read for each thread")
        .isEqualTo(Map.of(ID, Long.MAX_VALUE));
  }

  /** libc's calls to make a FUSE mount here, whose daemon (none) never answers. */
  interface Mounting extends com.sun.jna.Library {
    int open(String path, int flags) throws com.sun.jna.LastErrorException;

    int mount(String source, String target, String type, long flags, String data) throws com.sun.jna.LastErrorException;

    int umount2(String target, int flags) throws com.sun.jna.LastErrorException;

    int close(int fd) throws com.sun.jna.LastErrorException;
  }

  /**
   * A file system that never answers (a FUSE mount whose daemon, in a container's own hands, reads
   * no request; an NFS or CIFS server gone) is never asked: this JVM, as a container's process, holds
   * the root of such a mount as a descriptor, works in it and has it as its root, and both counts
   * come back at once, the file it holds on the disk counted; so too when its mount table shows no
   * mount (it chrooted out of their reach), the stat then not synced. Before, the stat of each such link
   * (and of the root) waited for the daemon for good, and with it every later pressure check: no
   * disk pressure was seen on that node again, and a container filled its disk freely.
   */
  @Test
  void aFileSystemThatNeverAnswersIsNeverAskedAndWhatLiesOnTheDiskStillCounts() throws Exception {
    Mounting c = com.sun.jna.Native.load("c", Mounting.class);
    Path mnt = Files.createDirectory(tmp.resolve("fuse (deleted)")); // its links read as a deleted file's
    int fuse;
    try {
      fuse = c.open("/dev/fuse", 02 /* O_RDWR */ | 02000000 /* O_CLOEXEC */);
    } catch (com.sun.jna.LastErrorException e) {
      org.junit.jupiter.api.Assumptions.abort("no /dev/fuse here: errno " + e.getErrorCode());
      return;
    }
    java.util.concurrent.ExecutorService measuring = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "measuring");
      t.setDaemon(true);
      return t;
    });
    boolean mounted = false;
    try {
      c.mount("dsfleet-test", mnt.toString(), "fuse", 2 | 4 /* MS_NOSUID | MS_NODEV */, "fd=" + fuse + ",rootmode=40000,user_id=0,group_id=0");
      mounted = true;
      try (Fds.Fd root = Fds.openDirectory(mnt)) { // O_PATH: the kernel asks the daemon nothing
        Path p = thisJvm(101, ID);
        Files.createSymbolicLink(p.resolve("cwd"), Files.createSymbolicLink(tmp.resolve("cwd (deleted)"), root.procPath()));
        Files.delete(p.resolve("root"));
        Files.createSymbolicLink(p.resolve("root"), mnt);
        assertThat(measuring.submit(() -> new HeldDeleted(proc).bytesByContainer(Set.of(ID), device, true, 100_000))
            .get(10, java.util.concurrent.TimeUnit.SECONDS)).as("bytes, the process's root on the mount").isEqualTo(Map.of(ID, 3000L));
        assertThat(measuring.submit(() -> new HeldDeleted(proc).filesByContainer(Set.of(ID), Map.of(), Map.of(), List.of(), device, false, 100_000))
            .get(10, java.util.concurrent.TimeUnit.SECONDS)).as("files, its working directory there").isEqualTo(Map.of(ID, 1L));
        Files.delete(p.resolve("mountinfo"));
        Files.writeString(p.resolve("mountinfo"), ""); // chrooted out of every mount's reach: its table shows none
        assertThat(measuring.submit(() -> new HeldDeleted(proc).filesByContainer(Set.of(ID), Map.of(), Map.of(), List.of(), device, true, 100_000))
            .get(10, java.util.concurrent.TimeUnit.SECONDS)).as("no mount known: stat'ed, but not synced").isEqualTo(Map.of(ID, 1L));
      }
    } finally {
      c.close(fuse); // the connection ends: a stat still waiting fails (ENOTCONN)
      if (mounted) {
        c.umount2(mnt.toString(), 2 /* MNT_DETACH */);
      }
      measuring.shutdownNow();
    }
  }

  /**
   * Which file system a held file lies on is its process's mount table's word, taken before anything
   * is stat'ed: a file on a mount the table gives another device is neither stat'ed nor counted,
   * though a stat would find it on the disk. A mount listed twice is not known, and what the file's
   * stat says decides.
   */
  @Test
  void aHeldFileOnAMountItsProcesssTableGivesAnotherDeviceIsNotLookedAt() throws Exception {
    Path p = process(100, ID, deleted("big"));
    int id;
    try (Fds.Fd fd = Fds.openDirectory(tmp)) {
      id = LinkTarget.mountOf(fd.fd);
    }
    String line = Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().filter(l -> l.startsWith(id + " ")).findFirst().orElseThrow();
    String[] f = line.split(" ", 4);
    String nfs = id + " " + f[1] + " 0:99 / /srv/nfs\\040(deleted) rw - nfs4 server:/x rw\n";
    Files.writeString(p.resolve("mountinfo"), "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n" + nfs);
    assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID), device, false, 1000)).as("another device").isEmpty();
    Files.writeString(p.resolve("mountinfo"), line + "\n");
    assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID), device, false, 1000)).as("the disk's").isEqualTo(Map.of(ID, 3000L));
    Files.writeString(p.resolve("mountinfo"), nfs + line + "\n");
    assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID), device, false, 1000)).as("listed twice: the stat's word")
        .isEqualTo(Map.of(ID, 3000L));
  }

  /**
   * The agent's own mount table names the overlays whose upper directory is on the disk though
   * another of its lines is no UTF-8 (a container renamed a directory above a subPath the agent
   * bound: {@link MountsTest}). Before, the table was read as UTF-8 and failed whole: no overlay
   * counted, and a container that chrooted out of its own file system hid what it held there.
   */
  @Test
  void theOverlaysOnTheDiskAreKnownThoughALineOfTheTableIsNoUtf8() throws Exception {
    java.io.ByteArrayOutputStream t = new java.io.ByteArrayOutputStream();
    t.writeBytes(MountsTest.tableWithANameThatIsNoUtf8());
    t.writeBytes(("90 26 0:77 / /var/lib/docker/overlay2/x/merged rw - overlay overlay rw,lowerdir=/l,upperdir=" + tmp.toString().replace(" ", "\\040")
        + ",workdir=/w\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
    Files.write(Files.createDirectories(proc.resolve("self")).resolve("mountinfo"), t.toByteArray());
    assertThat(new HeldDeleted(proc).overlaysOn(device)).containsExactly(MountInfo.makedev(0, 77));
  }

  static String docker(String... args) throws Exception {
    java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of("docker"));
    cmd.addAll(java.util.List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes()).trim();
    assertThat(p.waitFor()).as(String.join(" ", cmd) + ": " + out).isZero();
    return out;
  }

  /**
   * A real container (Docker, overlay2) writes 20 MiB to a file of its own file system, holds it,
   * deletes it, then chroots (CAP_SYS_CHROOT, which Docker gives) into a directory of another file
   * system, here a bind of the disk's as an emptyDir is: its process's root is no longer its
   * overlay. The file still counts: the overlay mounts whose upper directory lies on the disk that
   * counts are that disk's. Before, only the process's root's device was taken for the container's
   * own file system, and the chroot hid the file from disk pressure (its writable layer's size,
   * Docker's SizeRw, does not count a deleted file either).
   */
  @Test
  void aContainerThatChrootsElsewhereStillCountsWhatItHoldsInItsOwnFileSystem() throws Exception {
    Path dockerRoot = Path.of(docker("info", "-f", "{{.DockerRootDir}}"));
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.getAttribute(dockerRoot, "unix:dev").equals(device),
        "the test's directory is on Docker's root's disk, as the state directory is in production");
    Path bind = Files.createDirectories(tmp.resolve("bind"));
    String id = docker("run", "-d", "--label", "dsfleet-test=held-deleted", "-v", bind + ":/scratch", "local/busybox:1", "sh", "-c",
        "exec 3>/big; dd if=/dev/zero bs=1M count=20 >&3 2>/dev/null; rm /big; mkdir -p /scratch/r;"
        + " cp /bin/busybox /scratch/r/busybox; exec chroot /scratch/r /busybox sleep 3600");
    try {
      String pid = docker("inspect", "-f", "{{.State.Pid}}", id);
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20))
          .until(() -> Files.getAttribute(Path.of("/proc", pid, "root"), "unix:dev").equals(device));
      assertThat(new HeldDeleted(Path.of("/proc")).bytesByContainer(Set.of(id), device, true, 10_000))
          .isEqualTo(Map.of(id, 20L << 20));
      assertThat(new HeldDeleted(Path.of("/proc")).bytesByContainer(Set.of(id), device, false, 10_000))
          .as("its own file system counts only when its layer lies on the disk (rootsToo)").isEmpty();
    } finally {
      docker("rm", "-f", id);
    }
  }

  /**
   * The bound is the pod's, not each container's: two containers of one pod holding 3 links each
   * are past a bound of 5 (the pod counts the most), as one container holding 6 is; before, each
   * container had the bound to itself, and a pod of many containers each just under a million
   * links made each check read many millions (8 s a million here, every 10 s under pressure).
   */
  @Test
  void theBoundOnWhatIsReadIsThePods() throws Exception {
    Path sock = Files.createSymbolicLink(tmp.resolve("socket"), Path.of("socket:[1]"));
    process(100, ID, sock, sock, sock);
    process(101, OTHER, sock, sock, sock);
    Map<String, Long> held = new HeldDeleted(proc).bytesByContainer(Set.of(ID, OTHER), Map.of(ID, "ops/p", OTHER, "ops/p"), Map.of(), List.of(), device,
        false, 5);
    assertThat(held.values()).as("one of the pod's containers counts the most").contains(Long.MAX_VALUE);
    assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID, OTHER), Map.of(ID, "ops/p", OTHER, "ops/q"), Map.of(), List.of(), device, false, 5))
        .as("two pods, each under the bound").isEmpty();
  }

  /**
   * A file held by the processes of two pods counts for each: which pod's process comes first in
   * {@code /proc} cannot shift it onto the other. Before, it counted once, for the first: a
   * container that wrote a file in a hostPath, let a neighbour with a lower pid open it (a log
   * shipper tailing the directory), kept it open and deleted it had the neighbour counted for it
   * and evicted, and itself counted nothing.
   */
  @Test
  void aFileHeldByTwoPodsCountsForEach() throws Exception {
    Path big = deleted("big");
    process(100, OTHER, big);
    process(101, ID, big);
    assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID, OTHER), Map.of(ID, "ops/a", OTHER, "ops/b"), Map.of(), List.of(), device, false, 1000))
        .isEqualTo(Map.of(ID, 3000L, OTHER, 3000L));
    assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID, OTHER), Map.of(ID, "ops/a", OTHER, "ops/a"), Map.of(), List.of(), device, false, 1000).values())
        .as("one pod's containers: once").containsExactly(3000L);
  }

  /**
   * What is kept to count each file once is bounded: a pod holding more distinct deleted files
   * than a tenth of the bound on links counts the most (100,000 at the agent's million). Before,
   * one key a file was kept for every one, as text: a default container holding 497,500 empty
   * deleted files (25 processes of 19,900 descriptors, under the million) brought the agent's
   * 48 MiB heap to 46 MiB in this walk alone, and a million ran it out (the unit exits on it, and
   * again at each check under pressure: no pod evicted again).
   */
  @Test
  void aPodHoldingMoreDistinctDeletedFilesThanAreKeptIsPastMeasure() throws Exception {
    Path second = tmp.resolve("second");
    try (FileChannel other = FileChannel.open(second, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      other.write(ByteBuffer.allocate(10));
      Files.delete(second);
      Path otherLink;
      try (var fds = Files.list(Path.of("/proc/self/fd"))) {
        otherLink = fds.filter(fd -> {
          try {
            return Files.readSymbolicLink(fd).toString().equals(second + " (deleted)");
          } catch (Exception e) {
            return false;
          }
        }).findFirst().orElseThrow();
      }
      Path big = deleted("big");
      Path small = Files.createSymbolicLink(tmp.resolve("second (deleted)"), otherLink);
      process(100, ID, big, small, big, small);
      assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID), device, false, 10)).as("2 files, 1 kept at a bound of 10")
          .isEqualTo(Map.of(ID, Long.MAX_VALUE));
      assertThat(new HeldDeleted(proc).bytesByContainer(Set.of(ID), device, false, 20)).as("2 kept at 20").isEqualTo(Map.of(ID, 3010L));
    }
  }
}
