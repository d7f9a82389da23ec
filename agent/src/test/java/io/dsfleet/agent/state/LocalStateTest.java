package io.dsfleet.agent.state;

import static org.assertj.core.api.Assertions.assertThat;

import io.dsfleet.proto.v1.DesiredPod;
import io.dsfleet.proto.v1.DesiredState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The state directory: what the agent keeps, and that a damaged file never stops it. */
class LocalStateTest {
  @TempDir Path dir;

  @Test
  void theDesiredSetSurvivesARestart() {
    DesiredState d = DesiredState.newBuilder().setVersion(7).addPods(DesiredPod.newBuilder().setPodName("p")).build();
    new LocalState(dir).saveDesired(d);
    assertThat(new LocalState(dir).loadDesired()).contains(d);
  }

  /**
   * A disk that fails a read of the desired set (EIO) once is read again; one that keeps failing
   * leaves the file in place for the next start, not moved aside as damaged (helper-82).
   */
  @Test
  void aFailingReadIsTriedAgainAndNeverMovesTheSetAside() {
    DesiredState d = DesiredState.newBuilder().setVersion(7).addPods(DesiredPod.newBuilder().setPodName("p")).build();
    new LocalState(dir).saveDesired(d);
    class FailingDisk extends LocalState {
      int failures;

      FailingDisk(int failures) {
        super(dir);
        this.failures = failures;
      }

      @Override
      byte[] read(Path file) throws java.io.IOException {
        if (failures-- > 0) {
          throw new java.io.IOException("Input/output error");
        }
        return super.read(file);
      }

      @Override
      void pause(long millis) {
        // the disk's failures are the test's: no wait for them to pass
      }
    }
    assertThat(new FailingDisk(1).loadDesired()).as("a passing error").contains(d);
    assertThat(new FailingDisk(LocalState.READ_ATTEMPTS).loadDesired()).as("a disk that keeps failing").isEmpty();
    assertThat(dir.resolve("desired.pb")).exists();
    assertThat(dir.resolve("desired.pb.corrupt")).doesNotExist();
    assertThat(new LocalState(dir).loadDesired()).as("the next start, the disk well again").contains(d);
  }

  /** A write that waited out the leave (a disk stalled longer than the session's close waits) never brings the set back. */
  @Test
  void noDesiredSetIsWrittenAfterTheNodeLeft() {
    LocalState state = new LocalState(dir);
    state.saveDesired(DesiredState.newBuilder().setVersion(1).build());
    state.clear();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> state.saveDesired(DesiredState.newBuilder().setVersion(2).build()))
        .hasMessageContaining("left the fleet");
    assertThat(new LocalState(dir).loadDesired()).isEmpty();
    assertThat(new LocalState(dir).left()).isTrue();
  }

  @Test
  void theStateFileHoldsNoSecretInTheClearAndAnOlderPlainOneIsStillRead() throws Exception {
    DesiredState d = DesiredState.newBuilder().setVersion(3).addPods(DesiredPod.newBuilder().setPodName("p")
        .setTemplateJson(com.google.protobuf.ByteString.copyFromUtf8("{\"password\":\"hunter2-in-the-clear\"}"))).build();
    new LocalState(dir).saveDesired(d);
    assertThat(new String(Files.readAllBytes(dir.resolve("desired.pb")), java.nio.charset.StandardCharsets.ISO_8859_1))
        .doesNotContain("hunter2-in-the-clear");
    assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("state.key"))))
        .isEqualTo("rw-------");
    Files.write(dir.resolve("desired.pb"), d.toByteArray()); // as an older agent wrote it
    assertThat(new LocalState(dir).loadDesired()).contains(d);
    new LocalState(dir).saveDesired(d);
    Files.delete(dir.resolve("state.key")); // the key is lost: the file cannot be read, and is moved aside like a damaged one
    assertThat(new LocalState(dir).loadDesired()).isEmpty();
    assertThat(dir.resolve("desired.pb.corrupt")).exists();
  }

  @Test
  void anUnreadableStateFileIsMovedAsideAndTheAgentStartsWithoutOne() throws Exception {
    Files.write(dir.resolve("desired.pb"), new byte[] {(byte) 0xff, 0x01, 0x02, 0x03});
    assertThat(new LocalState(dir).loadDesired()).isEmpty();
    assertThat(dir.resolve("desired.pb")).doesNotExist();
    assertThat(dir.resolve("desired.pb.corrupt")).exists();
    assertThat(new LocalState(dir).loadDesired()).as("and again, at the next start").isEmpty();
  }

  /** The last desired set carries the released pods too (the coordinator sends them in every set): the file alone is not their only record. */
  @Test
  void releasedPodsOutliveTheirFile() throws Exception {
    LocalState state = new LocalState(dir);
    state.saveDesired(DesiredState.newBuilder().setVersion(3).addOrphanedPods("web-abcde").addOrphanedPods("../x").build());
    state.saveOrphans(Set.of("log-12345"));
    assertThat(new LocalState(dir).released()).isEqualTo(Set.of("web-abcde", "log-12345"));
    Files.delete(dir.resolve("orphans"));
    assertThat(new LocalState(dir).released()).as("the file lost").isEqualTo(Set.of("web-abcde"));
    Files.createDirectory(dir.resolve("orphans"));
    assertThat(new LocalState(dir).released()).as("the file unreadable").isEqualTo(Set.of("web-abcde"));
  }

  /**
   * A disk gone read-only (ext4's errors=remount-ro): the agent restarted on it still reads its
   * state and starts (before 2026-12-05 its chmod of the directory, every start, stopped it: it
   * crash-looped while its pods ran on unwatched, helper-75); a new set is refused, as said.
   */
  @Test
  void aStateDirectoryOnADiskGoneReadOnlyIsStillReadAtStart() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
        "a read-only bind mount needs root: not run");
    DesiredState d = DesiredState.newBuilder().setVersion(4).addPods(DesiredPod.newBuilder().setPodName("p")).addOrphanedPods("web-abcde").build();
    new LocalState(dir).saveDesired(d);
    io.dsfleet.common.OwnerOnlyFiles.directory(dir.resolve("pods")); // as the reconciler made it
    io.dsfleet.common.testing.Processes.succeed("mount", "--bind", dir.toString(), dir.toString());
    try {
      io.dsfleet.common.testing.Processes.succeed("mount", "-o", "remount,ro,bind", dir.toString());
      LocalState state = new LocalState(dir);
      state.joining();
      assertThat(state.loadDesired()).contains(d);
      assertThat(state.released()).containsExactly("web-abcde");
      assertThat(io.dsfleet.common.OwnerOnlyFiles.directory(dir.resolve("pods"))).isDirectory();
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> state.saveDesired(d.toBuilder().setVersion(5).build()))
          .hasMessageContaining("Read-only file system");
    } finally {
      io.dsfleet.common.testing.Processes.succeed("umount", dir.toString());
    }
  }

  /** A damaged key is set aside with the set it sealed: the agent starts without a set, which leaves running pods alone. */
  @Test
  void aDamagedStateKeyIsMovedAsideAndTheAgentStartsWithoutItsSet() throws Exception {
    new LocalState(dir).saveDesired(DesiredState.newBuilder().setVersion(2).build());
    Files.writeString(dir.resolve("state.key"), java.util.Base64.getEncoder().encodeToString(new byte[20]) + "\n");
    LocalState state = new LocalState(dir);
    assertThat(state.loadDesired()).isEmpty();
    assertThat(dir.resolve("state.key.corrupt")).exists();
    assertThat(dir.resolve("desired.pb.corrupt")).exists();
    state.saveDesired(DesiredState.newBuilder().setVersion(3).build());
    assertThat(new LocalState(dir).loadDesired()).map(DesiredState::getVersion).contains(3L);
  }

  /**
   * A key the disk does not give (here a directory where the key file was: its read fails, as an
   * I/O error would) never stops the agent: it starts, the set and the key left in place, the set
   * not read; no set is written while the key cannot be read, and once it can be the key is read
   * again and used. Before 2026-12-06 the agent read the key when it started and stopped there at
   * every start.
   */
  @Test
  void aStateKeyTheDiskDoesNotGiveStopsNothingAndIsReadAgainAtTheNextWrite() throws Exception {
    DesiredState d = DesiredState.newBuilder().setVersion(5).addPods(DesiredPod.newBuilder().setPodName("p")).build();
    new LocalState(dir).saveDesired(d);
    byte[] key = Files.readAllBytes(dir.resolve("state.key"));
    byte[] set = Files.readAllBytes(dir.resolve("desired.pb"));
    Files.delete(dir.resolve("state.key"));
    Files.createDirectory(dir.resolve("state.key"));
    class NoWait extends LocalState {
      NoWait() {
        super(dir);
      }

      @Override
      void pause(long millis) {
        // the disk's failures are the test's: no wait for them to pass
      }
    }
    LocalState state = new NoWait();
    assertThat(state.loadDesired()).isEmpty();
    assertThat(state.released()).isEmpty();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> state.saveDesired(d.toBuilder().setVersion(6).build()))
        .hasMessageContaining("state key " + dir.resolve("state.key")).hasMessageContaining("cannot be read");
    assertThat(dir.resolve("desired.pb")).hasBinaryContent(set);
    assertThat(dir.resolve("desired.pb.corrupt")).doesNotExist();
    assertThat(dir.resolve("state.key")).isDirectory();
    assertThat(dir.resolve("state.key.corrupt")).doesNotExist();
    Files.delete(dir.resolve("state.key"));
    Files.write(dir.resolve("state.key"), key); // the disk well again
    state.saveDesired(d.toBuilder().setVersion(7).build());
    assertThat(new LocalState(dir).loadDesired()).map(DesiredState::getVersion).contains(7L);
  }

  @Test
  void orphanLinesThatAreNotPodNamesAreDropped() throws Exception {
    Files.writeString(dir.resolve("orphans"), "web-abcde\n../../etc\n\nlog-12345\nops/web-abcde\nOps/x\n");
    assertThat(new LocalState(dir).loadOrphans()).isEqualTo(Set.of("web-abcde", "log-12345", "ops/web-abcde"));
  }

  /** A clear (the node leaving) during a desired set's write waits for it: the set is not back on disk after the clear. */
  @Test
  void aClearDuringADesiredSetsWriteComesAfterIt() throws Exception {
    java.util.concurrent.CountDownLatch writing = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch disk = new java.util.concurrent.CountDownLatch(1);
    LocalState state = new LocalState(dir) {
      @Override
      void write(Path file, byte[] data) {
        if (file.getFileName().toString().equals("desired.pb")) { // a stalled disk, in the write
          writing.countDown();
          try {
            disk.await(30, java.util.concurrent.TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        super.write(file, data);
      }
    };
    Thread saving = new Thread(() -> state.saveDesired(DesiredState.newBuilder().setVersion(7).build()), "saving");
    saving.start();
    assertThat(writing.await(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    Thread clearing = new Thread(state::clear, "clearing");
    clearing.start();
    // the clear waits for the write (or, were it not to, is done already)
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30))
        .until(() -> clearing.getState() == Thread.State.BLOCKED || !clearing.isAlive());
    disk.countDown();
    saving.join(30_000);
    clearing.join(30_000);
    assertThat(new LocalState(dir).loadDesired()).as("the set written before the clear is gone").isEmpty();
    assertThat(state.left()).isTrue();
  }
}
