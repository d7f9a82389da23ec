package io.dsfleet.agent.hostfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dsfleet.common.testing.FakeClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The kubelet's atomic writer layout, updates, and no write through a link planted in the volume. */
class AtomicWriterTest {
  @TempDir Path tmp;
  Path vol;
  Path victim;
  FakeClock clock = new FakeClock();
  AtomicWriter w;

  @BeforeEach
  void setUp() throws Exception {
    vol = Files.createDirectories(tmp.resolve("vol"));
    victim = Files.writeString(tmp.resolve("victim"), "original");
    Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rw-------"));
    w = new AtomicWriter(vol, clock);
  }

  static Map<String, AtomicWriter.FileData> payload(String... pathsAndValues) {
    Map<String, AtomicWriter.FileData> m = new TreeMap<>();
    for (int i = 0; i < pathsAndValues.length; i += 2) {
      m.put(pathsAndValues[i], new AtomicWriter.FileData(pathsAndValues[i + 1].getBytes(StandardCharsets.UTF_8), 0644));
    }
    return m;
  }

  @Test
  void writesAVersionDirectorySwapsDataAndLinksEachTopLevelName() throws Exception {
    assertThat(w.write(payload("a", "1", "dir/b", "2"), null)).isTrue();
    Path data = Files.readSymbolicLink(vol.resolve("..data"));
    assertThat(data.toString()).startsWith("..");
    assertThat(Files.readSymbolicLink(vol.resolve("a"))).isEqualTo(Path.of("..data/a"));
    assertThat(Files.readSymbolicLink(vol.resolve("dir"))).isEqualTo(Path.of("..data/dir"));
    assertThat(Files.readString(vol.resolve("dir/b"))).isEqualTo("2");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(vol.resolve("a")))).isEqualTo("rw-r--r--");
    assertThat(w.write(payload("a", "1", "dir/b", "2"), null)).as("same payload: nothing written").isFalse();

    clock.advance(Duration.ofSeconds(1));
    assertThat(w.write(payload("a", "changed", "c", "3"), null)).isTrue();
    assertThat(Files.readString(vol.resolve("a"))).isEqualTo("changed");
    assertThat(Files.readString(vol.resolve("c"))).isEqualTo("3");
    assertThat(vol.resolve("dir")).as("a key no longer in the payload goes").doesNotExist();
    try (var entries = Files.list(vol)) {
      assertThat(entries.filter(p -> p.getFileName().toString().startsWith("..") && !p.getFileName().toString().equals("..data")))
          .as("the old version directory is removed").hasSize(1);
    }
  }

  /**
   * One 1 MiB key in 64 paths (a projected volume's items): checking whether the volume holds the
   * payload already, as every pass of the pod and every start of the agent does, reads a block at a
   * time, never the 64 MiB whole (before 2026-12-07 it did: with 200 paths the agent's 48 MiB heap
   * ran out at each start, for good; helper-178). The allocation of this thread counts what it read.
   */
  @Test
  void aVolumeRepeatingOneLargeKeyIsComparedWithoutReadingItWhole() throws Exception {
    byte[] big = new byte[1 << 20];
    java.util.Arrays.fill(big, (byte) 'x');
    Map<String, AtomicWriter.FileData> payload = new TreeMap<>();
    for (int i = 0; i < 64; i++) {
      payload.put("f" + i, new AtomicWriter.FileData(big, 0644));
    }
    assertThat(w.write(payload, null)).isTrue();
    var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long id = Thread.currentThread().getId();
    long before = threads.getThreadAllocatedBytes(id);
    assertThat(w.write(payload, null)).as("the same payload: nothing written").isFalse();
    assertThat(threads.getThreadAllocatedBytes(id) - before).as("bytes allocated to compare 64 MiB").isLessThan(8L << 20);

    byte[] last = big.clone();
    last[last.length - 1] = 'y'; // the last byte of the last file differs: found, and written
    payload.put("f63", new AtomicWriter.FileData(last, 0644));
    clock.advance(Duration.ofSeconds(1));
    assertThat(w.write(payload, null)).isTrue();
    assertThat(Files.readAllBytes(vol.resolve("f63"))).isEqualTo(last);
    payload.put("f63", new AtomicWriter.FileData(java.util.Arrays.copyOf(big, big.length - 1), 0644)); // one byte shorter
    clock.advance(Duration.ofSeconds(1));
    assertThat(w.write(payload, null)).isTrue();
    assertThat(Files.size(vol.resolve("f63"))).isEqualTo(big.length - 1);
  }

  @Test
  void entriesNoPayloadNamedStay() throws Exception {
    w.write(payload("a", "1"), null);
    Files.createDirectory(vol.resolve("memberlist")); // a nested mount point
    w.write(payload("a", "2"), null);
    assertThat(vol.resolve("memberlist")).isDirectory();
  }

  /**
   * An agent killed in a write leaves a version directory that {@code ..data} does not name: one
   * half written (killed while it filled it), or the version before (killed after the swap, before
   * its removal). The restarted agent's write removes both, though the payload is the one in place:
   * before, they stayed for the pod's life, a rotated Secret's old value readable in its containers.
   */
  @Test
  void versionsAWriteCutShortLeftAreRemovedByTheNextWrite() throws Exception {
    w.write(payload("token", "before-rotation"), null);
    Path before = vol.resolve(Files.readSymbolicLink(vol.resolve("..data")));
    clock.advance(Duration.ofSeconds(1));
    // the write of the rotated value, killed after the swap: the new version in place, the old one still there
    Path rotated = Files.createDirectory(vol.resolve("..2026_12_06_07_00_01.123"));
    Files.writeString(rotated.resolve("token"), "after-rotation");
    Files.setPosixFilePermissions(rotated.resolve("token"), PosixFilePermissions.fromString("rw-r--r--"));
    Files.setPosixFilePermissions(rotated, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.createSymbolicLink(vol.resolve("..data_tmp"), rotated.getFileName());
    Files.move(vol.resolve("..data_tmp"), vol.resolve("..data"), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    // and a later write killed while it filled its version
    Path half = Files.createDirectories(vol.resolve("..2026_12_06_07_00_02.456/dir"));
    Files.writeString(half.resolve("b"), "part");

    assertThat(new AtomicWriter(vol, clock).write(payload("token", "after-rotation"), null)).as("the payload in place: nothing written").isFalse();
    assertThat(Files.readString(vol.resolve("token"))).isEqualTo("after-rotation");
    assertThat(before).as("the version before the rotation").doesNotExist();
    assertThat(half.getParent()).as("the half-written version").doesNotExist();
    assertThat(rotated).as("the version in place").isDirectory();
  }

  /**
   * An agent killed in a write that drops a key, after the swap and before it removed the key's
   * link: the link is left pointing into {@code ..data} at a file the version in place does not
   * have (dangling). The restarted agent's write, of the payload in place, removes it. Before
   * 2026-12-06 the next writes took the keys to remove from the version in place, which never had
   * it, and the dangling link stayed for the pod's life, a file in its containers' listing that no
   * open could read (a failure-injection review).
   */
  @Test
  void aKeysLinkAWriteCutShortLeftDanglingIsRemovedByTheNextWrite() throws Exception {
    w.write(payload("a", "1", "gone", "2", "dir/b", "3"), null);
    clock.advance(Duration.ofSeconds(1));
    // the write without "gone" and "dir", killed after the swap: its version in place, their links and the old version still there
    Path next = Files.createDirectory(vol.resolve("..2026_12_06_07_00_01.123"));
    Files.writeString(next.resolve("a"), "1");
    Files.setPosixFilePermissions(next.resolve("a"), PosixFilePermissions.fromString("rw-r--r--"));
    Files.setPosixFilePermissions(next, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.createSymbolicLink(vol.resolve("..data_tmp"), next.getFileName());
    Files.move(vol.resolve("..data_tmp"), vol.resolve("..data"), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    assertThat(Files.readSymbolicLink(vol.resolve("gone"))).isEqualTo(Path.of("..data/gone"));
    assertThat(Files.exists(vol.resolve("gone"))).as("dangling").isFalse();
    Files.createDirectory(vol.resolve("memberlist")); // a nested mount point: no payload named it, and it stays

    new AtomicWriter(vol, clock).write(payload("a", "1"), null);
    assertThat(vol.resolve("gone")).as("the dropped key's link").doesNotExist().matches(p -> !Files.isSymbolicLink(p));
    assertThat(vol.resolve("dir")).as("the dropped directory's link").matches(p -> !Files.isSymbolicLink(p));
    assertThat(Files.readString(vol.resolve("a"))).isEqualTo("1");
    assertThat(vol.resolve("memberlist")).isDirectory();
  }

  /** Links a container could have planted while an older agent mounted the volume writable: never followed. */
  @Test
  void linksPlantedInTheVolumeAreReplacedNeverFollowed() throws Exception {
    Files.createSymbolicLink(vol.resolve("a"), victim); // a user-visible name pointing at a host file
    Files.createSymbolicLink(vol.resolve("..data_tmp"), victim);
    Files.createSymbolicLink(vol.resolve("..data"), tmp); // ..data pointing outside: not a version of this volume
    Files.createSymbolicLink(vol.resolve("dir"), tmp); // a directory name pointing at a host directory
    w.write(payload("a", "1", "dir/b", "2"), null);
    assertThat(Files.readString(victim)).isEqualTo("original");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(victim))).isEqualTo("rw-------");
    assertThat(tmp.resolve("b")).doesNotExist();
    assertThat(Files.readString(vol.resolve("a"))).isEqualTo("1");
    assertThat(Files.readString(vol.resolve("dir/b"))).isEqualTo("2");
    // a link planted inside the current version: the next write replaces the version, the victim stays
    Path version = vol.resolve(Files.readSymbolicLink(vol.resolve("..data")));
    Files.delete(version.resolve("a"));
    Files.createSymbolicLink(version.resolve("a"), victim);
    w.write(payload("a", "1", "dir/b", "2"), 1234L);
    assertThat(Files.readString(victim)).isEqualTo("original");
    assertThat(Files.getAttribute(victim, "unix:gid")).as("no chgrp through the link").isNotEqualTo(1234);
    assertThat(Files.isSymbolicLink(vol.resolve(Files.readSymbolicLink(vol.resolve("..data"))).resolve("a"))).isFalse();
  }

  @Test
  void payloadPathsStayInsideTheVolume() {
    for (String bad : new String[] {"../x", "/etc/passwd", "a/../../x", "..data", "./..x", ".", "./", ""}) {
      assertThatThrownBy(() -> w.write(payload(bad, "x"), null)).as(bad).isInstanceOf(IllegalArgumentException.class);
    }
  }

  /** As the kubelet cleans them (and the coordinator validates them: LocalPaths); of two spellings of one file, one is written. */
  @Test
  void payloadPathsAreCleanedAndOfTwoSpellingsOfOneFileOneIsWritten() throws Exception {
    assertThat(w.write(payload("./x//a", "1"), null)).isTrue();
    assertThat(Files.readString(vol.resolve("x/a"))).isEqualTo("1");
    Map<String, AtomicWriter.FileData> both = new TreeMap<>(payload("a", "1"));
    both.putAll(payload("a/", "2"));
    assertThat(w.write(both, null)).isTrue();
    assertThat(Files.readString(vol.resolve("a"))).as("a coordinator that let both through: the volume is written, not refused").isEqualTo("2");
  }
}
