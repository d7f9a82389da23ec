package io.dsfleet.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.dsfleet.common.testing.Processes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The copy of a store whose file went ({@code dsfleet.db.saved-MILLIS}) on a disk with no room
 * for it: tried again by the first write a minute after the last try, on the store's monotonic
 * clock, not by every write (before helper-151 each refused write copied the whole store again).
 */
class LostStoreCopyTest {
  @TempDir Path dir;

  @Test
  void aCopyThatFailedIsTriedAgainByTheFirstWriteAMinuteOnNotByEveryWrite() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "a small tmpfs needs root: not run");
    Path small = Files.createDirectory(dir.resolve("small"));
    Processes.succeed("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small.toString());
    AtomicLong clock = new AtomicLong();
    try (SqliteStore s = new SqliteStore(small)) {
      s.nanoTime(clock::get);
      s.putObjects(List.of(write("big", "x".repeat(300_000))));
      Files.delete(small.resolve("dsfleet.db")); // its blocks stay taken: the store holds the file open
      try (var filler = Files.newOutputStream(small.resolve("filler"))) {
        byte[] block = new byte[4096];
        while (true) {
          filler.write(block);
        }
      } catch (java.io.IOException full) {
        // no room left
      }
      var first = catchThrowableOfType(StoreException.class, () -> s.putObjects(List.of(write("a", "1"))));
      assertThat(first).hasMessageContaining(small.resolve("dsfleet.db") + " was deleted or replaced")
          .hasMessageContaining("no copy of what it holds could be saved (")
          .hasMessageContaining("the first write a minute after that try tries again, and so does the coordinator's stop");
      assertThat(saved(small)).isEmpty();

      Processes.succeed("mount", "-o", "remount,size=8m", small.toString()); // room again
      clock.addAndGet(TimeUnit.SECONDS.toNanos(59));
      var within = catchThrowableOfType(StoreException.class, () -> s.putObjects(List.of(write("b", "2"))));
      assertThat(within).hasMessageContaining("no copy of what it holds could be saved (");
      assertThat(saved(small)).as("no copy tried within the minute").isEmpty();

      clock.addAndGet(TimeUnit.SECONDS.toNanos(1));
      var after = catchThrowableOfType(StoreException.class, () -> s.putObjects(List.of(write("c", "3"))));
      assertThat(saved(small)).as("tried a minute on").hasSize(1);
      assertThat(after).hasMessageContaining("what it holds is saved in " + saved(small).get(0));
    } finally {
      Processes.succeed("umount", "-l", small.toString());
    }
  }

  /**
   * The copy is under its {@code dsfleet.db.saved-MILLIS} name only once it is whole: looked at
   * from SQLite's progress handler while VACUUM INTO writes it (a kill then leaves no part of one
   * there, which a refusal would name and a restore --unverified take). Before helper-155 the file
   * was there, growing, from the copy's start.
   */
  @Test
  void aCopyIsUnderItsSavedNameOnlyOnceItIsWhole() throws Exception {
    Path data = dir.resolve("data");
    try (SqliteStore s = new SqliteStore(data)) {
      for (int i = 0; i < 20; i++) {
        s.putObjects(List.of(write("big-" + i, "x".repeat(100_000))));
      }
      List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
      java.util.concurrent.atomic.AtomicInteger looks = new java.util.concurrent.atomic.AtomicInteger();
      org.sqlite.ProgressHandler.setHandler(s.db, 1, new org.sqlite.ProgressHandler() {
        @Override
        protected int progress() {
          looks.incrementAndGet();
          try {
            seen.addAll(saved(data).stream().map(p -> p.getFileName().toString()).toList());
          } catch (java.io.IOException e) {
            seen.add(e.toString());
          }
          return 0;
        }
      });
      Files.delete(data.resolve("dsfleet.db"));
      looks.set(0);
      var refused = catchThrowableOfType(StoreException.class, () -> s.putObjects(List.of(write("a", "1"))));
      org.sqlite.ProgressHandler.clearHandler(s.db);
      assertThat(looks.get()).as("looked while VACUUM INTO ran").isGreaterThan(10);
      assertThat(seen).as("a saved copy's name while it was made").isEmpty();
      assertThat(saved(data)).hasSize(1);
      assertThat(refused).hasMessageContaining("what it holds is saved in " + saved(data).get(0));
      try (var files = Files.list(data)) {
        assertThat(files.map(f -> f.getFileName().toString())).noneMatch(n -> n.startsWith(StoreFiles.SAVING));
      }
      Path restored = Files.createDirectory(dir.resolve("restored"));
      Files.copy(saved(data).get(0), restored.resolve("dsfleet.db"));
      Files.createDirectory(restored.resolve("pki"));
      Files.copy(data.resolve("pki/secrets.key"), restored.resolve("pki/secrets.key"));
      try (SqliteStore copy = new SqliteStore(restored)) {
        assertThat(copy.objects()).hasSize(20);
      }
    }
  }

  private static Store.ObjectWrite write(String name, String value) {
    return new Store.ObjectWrite(new Store.StoredObject("ConfigMap", "ns", name, "{\"data\":{\"a\":\"" + value + "\"}}", 1, 0, 0), 0,
        null, List.of(), null);
  }

  private static List<Path> saved(Path dataDir) throws java.io.IOException {
    try (var files = Files.list(dataDir)) {
      return files.filter(f -> f.getFileName().toString().startsWith(StoreFiles.SAVED)).toList();
    }
  }
}
