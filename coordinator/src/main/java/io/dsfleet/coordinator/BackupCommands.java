package io.dsfleet.coordinator;

import io.dsfleet.coordinator.store.SqliteStore;
import io.dsfleet.coordinator.store.StoreException;
import io.dsfleet.coordinator.store.StoreReplacement;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * ds-coordinator backup and restore: a consistent copy of the store (SQLite's VACUUM INTO, safe
 * while the coordinator runs), and a data directory made from one. Secrets stay sealed in the
 * copy: the key that opens them is in pki/, which is backed up apart (docs/operations.md). A
 * backup's HMAC under a key derived from that one goes beside it (FILE.mac), and restore checks
 * it: before 2026-12-05 an edited backup (a join token of its own, a revoked certificate's record
 * made valid) was restored as it was, and a replica token so planted got the CA's key (a review).
 */
final class BackupCommands {
  private BackupCommands() {}

  /** What a backup's MAC is for, and when it was made: the key derived for it serves nothing else, and binds the time. */
  static String purpose(long madeMillis) {
    return "backup v1 made " + madeMillis;
  }

  /** Where a backup's MAC goes: beside it. */
  static Path macFile(Path backup) {
    return backup.resolveSibling(backup.getFileName() + ".mac");
  }

  /**
   * Written into the data directory before a restore puts anything there and removed once the
   * restored store is checked and ready: while it is there the directory holds no store to serve
   * (serve and backup refuse it, {@link #refuseUnfinishedRestore}), and restore may start again
   * over what the unfinished one left. Before 2026-12-05 a restore killed after it put the copy in
   * place, before it checked the copy's MAC (or reset its log position), left a store that serve
   * took as it was and restore refused to replace.
   */
  static final String RESTORING = "restore.unfinished";

  /** Refuses a data directory whose restore did not finish (its {@link #RESTORING} mark is there). */
  static void refuseUnfinishedRestore(Path dataDir) {
    if (Files.exists(dataDir.resolve(RESTORING))) {
      throw new IllegalStateException("a restore into " + dataDir + " did not finish (" + dataDir.resolve(RESTORING)
          + " is there): its store is not the backup as checked; run ds-coordinator restore again");
    }
  }

  /** The data directory's Secrets key (it must exist: a store was made with it, or pki/ was restored). */
  private static io.dsfleet.common.SecretBox box(Path dataDir) {
    Path key = SqliteStore.secretsKey(dataDir);
    if (!Files.exists(key)) {
      throw new IllegalStateException("no " + key + ": a backup's MAC is made and checked with it");
    }
    return io.dsfleet.common.SecretBox.loadOrCreate(key);
  }

  @Command(name = "backup", mixinStandardHelpOptions = true, description = "Copy the store to FILE (the coordinator may be running).")
  static final class Backup implements Callable<Integer> {
    @CommandLine.Mixin
    CoordinatorMain.Settings settings;

    @Parameters(paramLabel = "FILE", description = "Where the copy goes; must not exist.")
    Path file;

    /** What the backup's time is read from (its MAC binds it). */
    java.time.Clock clock = java.time.Clock.systemUTC();

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
      if (Files.exists(options.dataDir().resolve(RESTORING))) {
        System.err.println("ds-coordinator: a restore into " + options.dataDir() + " did not finish: its store is not one to back up");
        return 2;
      }
      Path mac = macFile(file);
      if (Files.exists(mac)) {
        System.err.println("ds-coordinator: " + mac + " exists; a backup never overwrites");
        return 2;
      }
      // notExists, not !exists: a key this user may not read is not missing (opening the store then says why it fails)
      if (Files.notExists(SqliteStore.secretsKey(options.dataDir()))) {
        // asked before the store opens: opening it would make a new key there, with which the MAC
        // would be made and which the next start would take for the one the Secrets are sealed with
        System.err.println("ds-coordinator: no " + SqliteStore.secretsKey(options.dataDir()) + ": the store's Secrets are sealed"
            + " with it and the backup's MAC is made with it; back up the data directory whose pki/ holds it");
        return 2;
      }
      try (SqliteStore store = new SqliteStore(options.dataDir())) {
        store.copyTo(file);
        long made = clock.millis();
        try {
          io.dsfleet.common.OwnerOnlyFiles.write(mac, java.util.HexFormat.of().formatHex(box(options.dataDir()).mac(purpose(made), file))
              + " " + made + "\n");
        } catch (java.io.IOException | RuntimeException e) {
          // a copy without its MAC is no backup (restore refuses it) and would refuse this name to the next try (helper-94)
          try {
            Files.deleteIfExists(file);
          } catch (java.io.IOException gone) {
            e.addSuppressed(gone);
          }
          throw e;
        }
        long[] at = store.appliedEntry();
        System.out.println("backed up " + options.dataDir().resolve("dsfleet.db") + " to " + file + " (and its MAC to " + mac + ")"
            + (at[1] > 0 ? " (replica's log index " + at[1] + ")" : ""));
        return 0;
      } catch (StoreException | java.io.IOException | java.io.UncheckedIOException | IllegalStateException e) {
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

    @Parameters(paramLabel = "FILE", description = "A copy made by ds-coordinator backup (its MAC beside it, FILE.mac).")
    Path file;

    @CommandLine.Option(names = "--unverified", description = "Restore a backup that has no FILE.mac (made before 2026-12-05)"
        + " without checking that it is unaltered: only one kept where nobody else could write.")
    boolean unverified;

    /** A test's hook: runs once the copy is written beside the store, before it is checked and put in place. */
    Runnable copied = () -> {};

    @Override
    public Integer call() {
      CoordinatorOptions options = settings.optionsOrReport();
      return options == null ? 2 : CoordinatorMain.locked(options.dataDir(), "restore", () -> restore(options));
    }

    private int restore(CoordinatorOptions options) {
      Path dir = options.dataDir();
      Path restoring = dir.resolve(RESTORING);
      String held = CoordinatorMain.Settings.heldStore(dir);
      if (held != null && !(held.equals("dsfleet.db") && Files.exists(restoring))) { // an unfinished restore's is no store
        System.err.println("ds-coordinator: " + dir + " already holds a store (" + held + "); restore into an empty data"
            + " directory (move the old one aside)");
        return 2;
      }
      if (!Files.exists(SqliteStore.secretsKey(dir))) {
        System.err.println("ds-coordinator: no " + SqliteStore.secretsKey(dir) + ": restore pki/ (the CA and the key the"
            + " backup's Secrets are sealed with) first");
        return 2;
      }
      Path mac = macFile(file);
      java.time.Instant madeAt = null;
      if (!Files.exists(mac) && !unverified) {
        System.err.println("ds-coordinator: no " + mac + ": nothing shows that " + file + " is the backup as made (a backup"
            + " holds join tokens, certificates' records and sealed Secrets, all taken as they are); backups made before"
            + " 2026-12-05 have none: restore one with --unverified only if nobody else could write where it was kept");
        return 2;
      }
      byte[] expected = null;
      long made = 0;
      if (!unverified) { // read before anything goes into the directory
        try {
          String[] fields = io.dsfleet.common.OwnerOnlyFiles.read(mac).strip().split(" ");
          expected = java.util.HexFormat.of().parseHex(fields[0]);
          made = Long.parseLong(fields[1]);
        } catch (IllegalArgumentException | ArrayIndexOutOfBoundsException | java.io.UncheckedIOException e) {
          System.err.println("ds-coordinator: restore failed: " + mac + " is not a backup's MAC (hex, then the time it was made): "
              + e.getMessage() + "; nothing restored (restore with --unverified only a backup kept where nobody else could write)");
          return 1;
        }
      }
      try {
        io.dsfleet.common.OwnerOnlyFiles.directory(dir); // a directory another user owns is refused before the store goes in
        // marked first, unmarked last: a restore killed in between leaves a directory serve refuses
        io.dsfleet.common.OwnerOnlyFiles.write(restoring, "restore of " + file + " began; not finished\n");
        io.dsfleet.common.SecretBox box = unverified ? null : box(dir);
        byte[] wanted = expected;
        long stamp = made;
        StoreReplacement.replace(dir, StoreReplacement.from(file), written -> {
          copied.run();
          // the copy checked, not the file it came from, and through the descriptor that wrote it,
          // never by name in the directory (whose owner may swap anything there: StoreReplacement)
          if (box != null && !java.security.MessageDigest.isEqual(wanted, box.mac(purpose(stamp),
              java.nio.channels.Channels.newInputStream(written.position(0))))) {
            throw new StoreException(file + " does not match " + mac + ": it was altered, or backed up with another"
                + " pki/secrets.key; nothing restored", null);
          }
        });
        madeAt = unverified ? null : java.time.Instant.ofEpochMilli(made);
        try (SqliteStore store = new SqliteStore(dir)) {
          store.refuseDamaged(); // every page: a copy cut short (--unverified) is no store to serve (helper-200)
          store.objects(); // the Secrets open with this key, or the restore stops here
          // a new group's log starts empty: the copy no longer names a position in the old one
          store.applyEntry(0, 0, () -> null);
          // nor is it the store the backup was taken of, which told the agents what they run: they
          // release, not remove, the pods this one drops (docs/operations.md, "Backup and restore")
          store.renewIdentity();
        }
        try (DirectoryOwner data = DirectoryOwner.open(dir)) {
          data.giveTo(data.attributes(), DirectoryOwner.STORE);
        }
        Files.delete(restoring);
        try (var d = java.nio.channels.FileChannel.open(dir, java.nio.file.StandardOpenOption.READ)) {
          d.force(true); // the mark's removal on disk: the restore is done
        }
      } catch (java.io.IOException | RuntimeException e) {
        System.err.println("ds-coordinator: restore failed: " + e.getMessage());
        try {
          for (String f : List.of("dsfleet.db", "dsfleet.db-wal", "dsfleet.db-shm", RESTORING)) { // the mark last
            Files.deleteIfExists(dir.resolve(f));
          }
        } catch (java.io.IOException ignored) {
          // reported above; the mark, if it stayed, keeps serve off what is there
        }
        return 1;
      }
      System.out.println("restored " + file + (madeAt == null ? " (unverified)" : " (made " + madeAt + ", as its MAC shows: an older"
          + " backup put in its place shows its own time)") + " into " + dir + (options.replication() != null
          ? "; start this replica with serve --bootstrap, then join the others (dsctl replica add, ds-coordinator join)" : ""));
      return 0;
    }
  }
}
