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
