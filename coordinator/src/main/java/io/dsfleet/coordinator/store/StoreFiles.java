package io.dsfleet.coordinator.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;

/**
 * The store's files as this process opened them, and what is wrong when the names no longer lead
 * there. SQLite writes through the descriptors it opened: a {@code dsfleet.db} (or its
 * {@code -wal}) deleted or replaced under a running coordinator took every later commit into a
 * file nobody will open again, and the next start found an empty store, or another one. Before
 * 2026-12-06 such writes were acknowledged, and after a restart the fleet was empty (helper-139).
 */
final class StoreFiles {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(StoreFiles.class);
  static final String DB = "dsfleet.db";
  /** A copy of a store whose files went, saved beside them: its name, then the time. */
  static final String SAVED = "dsfleet.db.saved-";
  /** Such a copy while it is made ({@link #saveCopy}): never named so before it is whole. */
  static final String SAVING = "dsfleet.db.saving-";

  private final Path dataDir;
  private final Object db;
  private Object wal;
  private String lost;
  private Path saved;

  /** A replica's store: its snapshot and log rebuild it, so none is copied, and the way on is a restart. */
  private final boolean replicas;

  /**
   * The files of the store just opened in {@code dataDir} (its {@code -wal} taken once it is
   * there); {@code nanoTime}, a monotonic clock, times the tries of a copy.
   */
  StoreFiles(Path dataDir, boolean replicas, java.util.function.LongSupplier nanoTime) throws IOException {
    this.dataDir = dataDir;
    this.replicas = replicas;
    this.nanoTime = nanoTime;
    this.db = key(dataDir.resolve(DB));
    this.wal = keyOrNull(dataDir.resolve(DB + "-wal"));
  }

  /** How long after a failed copy (a full disk) the next write tries again: each try copies the whole store. */
  static final long COPY_RETRY_NANOS = java.util.concurrent.TimeUnit.MINUTES.toNanos(1);

  /** When the last copy was tried ({@link #nanoTime}), and why it failed; null before any. */
  private Long copyTried;
  private String copyFailed;
  private final java.util.function.LongSupplier nanoTime;

  /**
   * Why the store takes no more writes, or null while its files are the ones it opened. Once they
   * are not, they never are again (this process keeps writing into the files it holds), and a copy
   * of what the store holds is saved once in the data directory. One that failed (no room) is tried
   * again by the first write a minute on, and by the close: before helper-151 every refused write
   * tried it, a copy of the whole store each, as fast as writes came.
   */
  String lost(Connection connection) {
    return lost(connection, false);
  }

  private String lost(Connection connection, boolean closing) {
    if (lost == null) {
      String moved = moved();
      if (moved == null) {
        return null;
      }
      lost = dataDir.resolve(moved) + " was deleted or replaced while this coordinator ran: what it writes would be in a file"
          + " no start opens again, so it takes no more writes";
      log.error("the store: {}", lost);
    }
    if (replicas) { // before this fix (helper-149) a copy was saved and "restore --unverified" it said, which restore refuses to a replica
      return lost + "; stop this replica and start it again: it rebuilds its store from its snapshot and the log";
    }
    if (saved == null) {
      long now = nanoTime.getAsLong();
      if (closing || copyTried == null || now - copyTried >= COPY_RETRY_NANOS) {
        copyTried = now;
        try {
          Path copy = saveCopy(connection, dataDir, System.currentTimeMillis());
          saved = copy;
          log.error("the store: what it held is saved in {}: stop the coordinator, move {} aside if a file is there,"
              + " then ds-coordinator restore --unverified {} and start it", copy, dataDir.resolve(DB), copy);
        } catch (StoreException e) {
          copyFailed = e.getMessage();
        }
      }
      if (saved == null) {
        return lost + "; no copy of what it holds could be saved (" + copyFailed + ")" + (closing ? " before it closed"
            : ": the first write a minute after that try tries again, and so does the coordinator's stop, the last that can;"
            + " make room in " + dataDir + " and do not stop the coordinator until a copy is saved (logged)");
      }
    }
    return lost + "; what it holds is saved in " + saved + ": stop the coordinator, move " + dataDir.resolve(DB)
        + " aside if a file is there, then ds-coordinator restore --unverified " + saved + " and start it";
  }

  /**
   * {@link #lost}, for a write that committed after the look before it: it is in what this store
   * holds, and so in the copy saved (after the commit), not in the file a start opens. Before
   * helper-151 it was said "not kept", and the copy held it.
   */
  String lostDuringWrite(Connection connection) {
    String why = lost(connection);
    return why == null ? null : "store write committed into the file this coordinator holds, which no start opens"
        + (saved != null ? ", and in the copy saved, which a restore brings back: " : ", and in the copy a later try saves: ") + why;
  }

  /** Whether a write or the close found the store's files gone or replaced. */
  boolean isLost() {
    return lost != null;
  }

  /**
   * {@link #lost}, as the store closes (a stop, a restart): a store whose file went while no
   * write came (a quiet fleet writes nothing for hours) is saved before the connection goes, the
   * last that holds it; one whose copy failed is tried once more, whenever the last try was. Before
   * helper-149 nothing looked then: the file deleted went with the close, and the start after was
   * refused with no copy to restore.
   */
  void beforeClose(Connection connection) {
    String why = lost(connection, true);
    if (why != null && saved == null && !replicas) { // a replica said it at the entry it refused
      log.error("the store closes: {}", why);
    }
  }

  /** The name of the store's file that no longer leads to the file opened, or null. */
  private String moved() {
    if (db == null) {
      return null; // no file identities on this platform (not Linux, where the coordinator runs)
    }
    try {
      if (!db.equals(keyOrNull(dataDir.resolve(DB)))) {
        return DB;
      }
      Object now = keyOrNull(dataDir.resolve(DB + "-wal"));
      if (wal == null) {
        wal = now; // SQLite had not made it yet
      } else if (!wal.equals(now)) {
        return DB + "-wal";
      }
      return null;
    } catch (IOException e) {
      return null; // a stat the disk failed: the write says so itself
    }
  }

  /**
   * Refuses to make a new store where one was: a data directory whose {@code pki/secrets.key}
   * shows it held a store (the key is made right after the store's file, and only then) but has
   * no {@code dsfleet.db}, or an empty one (a file system's repair, a deletion, a restore by hand
   * that did not finish). Before 2026-12-06 a start there made an empty store and served an empty
   * fleet: every certificate refused (no record: revoked), or, insecure, every agent joined again
   * and was sent an empty desired set (helper-139).
   */
  static void refuseLost(Path dataDir) {
    Path file = dataDir.resolve(DB);
    try {
      if (Files.notExists(SqliteStore.secretsKey(dataDir), LinkOption.NOFOLLOW_LINKS)) {
        return; // a new data directory
      }
      if (Files.notExists(file, LinkOption.NOFOLLOW_LINKS) || Files.size(file) == 0) {
        throw lost(dataDir, file + (Files.exists(file) ? " is empty" : " is missing"));
      }
    } catch (IOException e) {
      throw new StoreException("cannot look at " + file + ": " + e.getMessage(), e);
    }
  }

  /**
   * {@link #refuseLost}, of a store opened: one of schema version 0 (no table yet) where the
   * directory shows it held a store. SQLite keeps in the {@code -wal} what it has not copied into
   * {@code dsfleet.db} yet (a small fleet's whole store: the file is its 4 KiB header until 4 MB of
   * writes), so a {@code -wal} lost (deleted, or a copy of {@code dsfleet.db} alone put back by
   * hand) left a store with no tables, and before 2026-12-06 the start made them and served an
   * empty fleet (helper-139).
   */
  static void refuseEmpty(Path dataDir, int schemaVersion) {
    if (schemaVersion == 0 && !Files.notExists(SqliteStore.secretsKey(dataDir), LinkOption.NOFOLLOW_LINKS)) {
      throw lost(dataDir, dataDir.resolve(DB) + " holds no store (no table: what it held was in its -wal, which is gone, or another"
          + " file was put in its place)");
    }
  }

  private static StoreException lost(Path dataDir, String what) {
    String saved = "";
    try (var copies = Files.list(dataDir)) {
      saved = copies.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(SAVED)).sorted().reduce((a, b) -> b)
          .map(n -> " (the coordinator saved " + dataDir.resolve(n) + " when it found it gone)").orElse("");
    } catch (IOException e) {
      // named without the copy
    }
    return new StoreException(what + ", but " + SqliteStore.secretsKey(dataDir) + " shows this data directory held a store: it"
        + " was deleted, emptied or lost, and a start on a new one would serve an empty fleet; nothing done. Put it back:"
        + " ds-coordinator restore a backup" + saved + "; or, for a new fleet, move the data directory aside", null);
  }

  /**
   * Whether the kernel made {@code dir}'s file system read-only after an error on it (ext4 with
   * {@code errors=remount-ro}: {@code emergency_ro} among its options in /proc/self/mounts, which
   * still say {@code rw}, so Java's {@code FileStore.isReadOnly} says no). Before 2026-12-06 the
   * writes it refused read as "disk I/O error" alone (helper-139).
   */
  static boolean readOnlyAfterAnError(Path dir) {
    try {
      String real = dir.toRealPath().toString();
      String options = null;
      int longest = -1;
      for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
        String[] f = line.split(" ");
        if (f.length < 4) {
          continue;
        }
        String at = f[1].replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
        boolean under = real.equals(at) || real.startsWith(at.endsWith("/") ? at : at + "/");
        if (under && at.length() >= longest) { // the last of the longest: what is mounted over the others
          longest = at.length();
          options = f[3];
        }
      }
      return options != null && java.util.Arrays.asList(options.split(",")).contains("emergency_ro");
    } catch (IOException | RuntimeException e) {
      return false; // no /proc: nothing more to say
    }
  }

  /**
   * A consistent copy of the database in {@code file} (which must not exist): SQLite's
   * {@code VACUUM INTO}, owner-only from its first byte, synced (file and directory) before it is
   * said to be made. A copy that failed (a full disk) is removed: left, it looked like one and its
   * name was refused to the next try (helper-94).
   */
  static void copy(Connection connection, Path file) {
    try {
      Files.createFile(file, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
          java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
    } catch (IOException e) {
      throw new StoreException("cannot create " + file + ": " + e.getMessage(), e);
    }
    try {
      try (PreparedStatement ps = connection.prepareStatement("VACUUM INTO ?")) {
        ps.setString(1, file.toString());
        ps.execute();
      } catch (SQLException e) {
        throw new StoreException("copying the store to " + file + ": " + e.getMessage(), e);
      }
      try { // VACUUM INTO syncs nothing
        sync(file);
        sync(file.toAbsolutePath().getParent());
      } catch (IOException e) {
        throw new StoreException("syncing " + file + ": " + e.getMessage(), e);
      }
    } catch (StoreException e) {
      try {
        Files.deleteIfExists(file);
      } catch (IOException gone) {
        e.addSuppressed(gone);
      }
      throw e;
    }
  }

  /**
   * A copy of what the store holds under its {@link #SAVED} name only once it is whole and synced:
   * made under {@link #SAVING}, then renamed. VACUUM INTO writes its file as it goes (pages as its
   * cache spills), and before helper-155 a coordinator killed during the copy (systemd's stop
   * timeout, at the close's copy of a large store) left part of one under the name its refusals
   * name and a {@code restore --unverified} takes.
   */
  private static Path saveCopy(Connection connection, Path dataDir, long millis) {
    Path saving = dataDir.resolve(SAVING + millis);
    Path copy = dataDir.resolve(SAVED + millis);
    copy(connection, saving); // synced, file and directory; removed where it failed
    try {
      Files.move(saving, copy, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      sync(dataDir);
    } catch (IOException e) {
      StoreException failed = new StoreException("saving " + copy + ": " + e.getMessage(), e);
      try {
        Files.deleteIfExists(saving);
      } catch (IOException gone) {
        failed.addSuppressed(gone);
      }
      throw failed;
    }
    return copy;
  }

  /** fsync of a file, or of a directory (its entries). */
  static void sync(Path path) throws IOException {
    try (var channel = java.nio.channels.FileChannel.open(path, java.nio.file.StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  private static Object key(Path file) throws IOException {
    return Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
  }

  private static Object keyOrNull(Path file) throws IOException {
    try {
      return key(file);
    } catch (NoSuchFileException gone) {
      return null;
    }
  }
}
