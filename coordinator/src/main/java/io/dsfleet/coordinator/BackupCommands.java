package io.dsfleet.coordinator;

import io.dsfleet.coordinator.store.SqliteStore;
import io.dsfleet.coordinator.store.StoreException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * ds-coordinator backup and restore: a consistent copy of the store (SQLite's VACUUM INTO, safe
 * while the coordinator runs), and a data directory made from one. Secrets stay sealed in the
 * copy: the key that opens them is in pki/, which is backed up apart (docs/operations.md).
 */
final class BackupCommands {
  private BackupCommands() {}

  @Command(name = "backup", mixinStandardHelpOptions = true, description = "Copy the store to FILE (the coordinator may be running).")
  static final class Backup implements Callable<Integer> {
    @CommandLine.Mixin
    CoordinatorMain.Settings settings;

    @Parameters(paramLabel = "FILE", description = "Where the copy goes; must not exist.")
    Path file;

    @Override
    public Integer call() {
      CoordinatorOptions options = settings.optionsOrReport();
      if (options == null) {
        return 2;
      }
      if (Files.exists(file)) {
        System.err.println("ds-coordinator: " + file + " exists; a backup never overwrites");
        return 2;
      }
      if (!Files.exists(options.dataDir().resolve("dsfleet.db"))) {
        System.err.println("ds-coordinator: no store in " + options.dataDir());
        return 2;
      }
      try (SqliteStore store = new SqliteStore(options.dataDir())) {
        store.copyTo(file);
        long[] at = store.appliedEntry();
        System.out.println("backed up " + options.dataDir().resolve("dsfleet.db") + " to " + file
            + (at[1] > 0 ? " (replica's log index " + at[1] + ")" : ""));
        return 0;
      } catch (StoreException e) {
        System.err.println("ds-coordinator: " + e.getMessage());
        return 1;
      }
    }
  }

  @Command(name = "restore", mixinStandardHelpOptions = true, description = "Make an empty data directory's store from a backup;"
      + " a group is then started from it with serve --bootstrap, the other replicas join.")
  static final class Restore implements Callable<Integer> {
    @CommandLine.Mixin
    CoordinatorMain.Settings settings;

    @Parameters(paramLabel = "FILE", description = "A copy made by ds-coordinator backup.")
    Path file;

    @Override
    public Integer call() {
      CoordinatorOptions options = settings.optionsOrReport();
      if (options == null) {
        return 2;
      }
      Path dir = options.dataDir();
      String held = CoordinatorMain.Settings.heldStore(dir);
      if (held != null) {
        System.err.println("ds-coordinator: " + dir + " already holds a store (" + held + "); restore into an empty data"
            + " directory (move the old one aside)");
        return 2;
      }
      if (!Files.exists(SqliteStore.secretsKey(dir))) {
        System.err.println("ds-coordinator: no " + SqliteStore.secretsKey(dir) + ": restore pki/ (the CA and the key the"
            + " backup's Secrets are sealed with) first");
        return 2;
      }
      try {
        io.dsfleet.common.OwnerOnlyFiles.directory(dir); // a directory another user owns is refused before the store goes in
        SqliteStore.replaceWith(dir, file);
        try (SqliteStore store = new SqliteStore(dir)) {
          store.objects(); // the Secrets open with this key, or the restore stops here
          // a new group's log starts empty: the copy no longer names a position in the old one
          store.applyEntry(0, 0, () -> null);
        }
      } catch (java.io.UncheckedIOException | StoreException e) {
        System.err.println("ds-coordinator: restore failed: " + e.getMessage());
        try {
          Files.deleteIfExists(dir.resolve("dsfleet.db"));
        } catch (java.io.IOException ignored) {
          // reported above
        }
        return 1;
      }
      System.out.println("restored " + file + " into " + dir + (options.replication() != null
          ? "; start this replica with serve --bootstrap, then join the others (dsctl replica add, ds-coordinator join)" : ""));
      return 0;
    }
  }
}
