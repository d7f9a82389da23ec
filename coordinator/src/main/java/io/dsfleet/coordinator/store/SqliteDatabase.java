package io.dsfleet.coordinator.store;

import io.dsfleet.common.HeldDirectory;
import io.dsfleet.common.OwnerOnlyFiles;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The embedded database: one SQLite file, {@code <data-dir>/dsfleet.db}, in WAL mode with
 * {@code synchronous=FULL} so a committed transaction is on disk before the call returns. The
 * schema carries a version ({@code PRAGMA user_version}); {@link #MIGRATIONS} are applied in order
 * on open, so a newer coordinator upgrades an older file forward and never the other way.
 */
abstract class SqliteDatabase implements AutoCloseable {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(SqliteDatabase.class);
  /** Migration i takes the schema from version i to i+1. Append only. */
  private static final List<List<String>> MIGRATIONS = List.of(
      List.of(
        "CREATE TABLE objects (kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL, json TEXT NOT NULL,"
            + " generation INTEGER NOT NULL, resource_version INTEGER NOT NULL, created_at INTEGER NOT NULL,"
            + " PRIMARY KEY (kind, namespace, name))",
        "CREATE TABLE revisions (namespace TEXT NOT NULL, name TEXT NOT NULL, revision INTEGER NOT NULL,"
            + " hash TEXT NOT NULL, template_json TEXT NOT NULL, change_cause TEXT, created_at INTEGER NOT NULL,"
            + " PRIMARY KEY (namespace, name, revision))",
        "CREATE TABLE nodes (name TEXT PRIMARY KEY, info_json TEXT NOT NULL, admin_labels_json TEXT NOT NULL,"
            + " admin_taints_json TEXT NOT NULL, unschedulable INTEGER NOT NULL, joined_at INTEGER NOT NULL)",
        "CREATE TABLE rollouts (namespace TEXT NOT NULL, name TEXT NOT NULL, json TEXT NOT NULL,"
            + " PRIMARY KEY (namespace, name))"),
      // 2: pods orphaned by `delete --cascade=orphan`, until their node acknowledges them
      List.of("CREATE TABLE orphans (node TEXT NOT NULL, pod TEXT NOT NULL, PRIMARY KEY (node, pod))"),
      // 3: join tokens (a hash of the secret only) and the certificates the CA issued, for revocation
      List.of("CREATE TABLE join_tokens (id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, description TEXT NOT NULL,"
              + " created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, revoked_at INTEGER NOT NULL, uses INTEGER NOT NULL)",
          "CREATE TABLE certificates (serial TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,"
              + " not_after INTEGER NOT NULL, revoked_at INTEGER NOT NULL)"),
      // 4: nodes' conditions and removals; events on disk; the resourceVersion counter the store allocates from
      List.of("ALTER TABLE nodes ADD COLUMN state_json TEXT NOT NULL DEFAULT '{}'",
          "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, object TEXT NOT NULL, at INTEGER NOT NULL,"
              + " type TEXT NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL)",
          "CREATE INDEX events_by_object ON events (object, seq)",
          "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
          "INSERT INTO counters (name, value) SELECT 'resource_version', COALESCE(MAX(resource_version), 0) FROM objects"),
      // 5: name-scoped and limited-use join tokens; how and when each certificate was issued
      List.of("ALTER TABLE join_tokens ADD COLUMN node TEXT NOT NULL DEFAULT ''",
          "ALTER TABLE join_tokens ADD COLUMN max_uses INTEGER NOT NULL DEFAULT 0",
          "ALTER TABLE certificates ADD COLUMN issued_at INTEGER NOT NULL DEFAULT 0",
          "ALTER TABLE certificates ADD COLUMN via TEXT NOT NULL DEFAULT ''"),
      // 6: the SHA-256 of each certificate issued, so a handshake presenting it needs no signature check
      List.of("ALTER TABLE certificates ADD COLUMN sha256 TEXT NOT NULL DEFAULT ''"),
      // 7: nodes' state_json carries whether the leave secret re-admits the node and the pods granted it
      // with their templates; no table changes, but an older coordinator's reader refuses those fields,
      // so it must refuse the data directory (as above) rather than fail loading the nodes
      List.of("SELECT 1"),
      // 8: a DaemonSet's rollout state carries the revisions nodes ran when last known (history
      // pruning keeps them across a restart); no table changes, the same reason as 7
      List.of("SELECT 1"),
      // 9: a rollout state carries whether its revision was once complete (the progress deadline
      // then no longer applies); no table changes, the same reason as 7
      List.of("SELECT 1"));

  protected final Connection db;

  protected SqliteDatabase(Path dataDir) {
    this(dataDir, Opened.PLAIN);
  }

  /** How a store is opened, for what is done when it is lost. */
  protected enum Opened {
    /** A command's (backup, restore, join's check): short-lived, nothing more. */
    PLAIN,
    /** A store the directory may already hold (serve, init): one that it held and lost is refused ({@link StoreFiles#refuseEmpty}). */
    KEPT,
    /** A replica's: its snapshot and log rebuild a lost one, so none is copied ({@link StoreFiles#lost}). */
    REPLICA
  }

  protected SqliteDatabase(Path dataDir, Opened how) {
    this.dataDir = dataDir;
    this.soleWriter = how != Opened.PLAIN;
    if (how != Opened.REPLICA) {
      OpenMark.refuseLostWal(dataDir); // before SQLite makes an empty -wal in its place
    }
    Connection opened = null;
    try {
      OwnerOnlyFiles.directory(dataDir);
      ownerOnlyDatabaseFile(dataDir.resolve("dsfleet.db"));
      java.util.Properties noLinks = new org.sqlite.SQLiteConfig().toProperties();
      // SQLITE_OPEN_NOFOLLOW: a link swapped in for the file after the check above is refused, not opened
      // (SQLite opens its -wal and -shm with O_NOFOLLOW itself); sqlite-jdbc's SQLiteOpenMode has no name for it.
      // It refuses a link anywhere on the path: the directory's own (DynamicUser='s /var/lib/NAME) is resolved
      // here, as OwnerOnlyFiles.directory checked it
      noLinks.setProperty("open_mode", String.valueOf(new org.sqlite.SQLiteConfig().getOpenModeFlags() | SQLITE_OPEN_NOFOLLOW));
      opened = DriverManager.getConnection("jdbc:sqlite:" + dataDir.toRealPath().resolve("dsfleet.db"), noLinks);
      db = opened;
      try (Statement s = db.createStatement()) {
        s.execute("PRAGMA journal_mode=WAL");
        s.execute("PRAGMA synchronous=FULL");
        s.execute("PRAGMA foreign_keys=ON");
        s.execute("PRAGMA secure_delete=ON"); // what a write replaces (a Secret sealed at open) is overwritten, not left in free pages
      }
      int version = schemaVersion(); // a read: SQLite has its -wal from here on
      if (how == Opened.KEPT) {
        StoreFiles.refuseEmpty(dataDir, version);
      }
      if (how != Opened.PLAIN) {
        refuseDamaged(db, dataDir, how == Opened.REPLICA);
      }
      OpenMark.set(dataDir); // before the first write
      migrate();
      files = new StoreFiles(dataDir, how == Opened.REPLICA, () -> nanoTime.getAsLong());
    } catch (Exception e) {
      closeAfterFailedOpen(opened, dataDir, e);
      throw new StoreException("cannot open the store in " + dataDir + ": " + e.getMessage() + disk(dataDir), e);
    }
  }

  /**
   * A store whose open failed (a full disk refused the WAL's index) closes the connection it had:
   * left open, the database's files stayed open in a process that goes on (a start that failed
   * and is tried again in-process, a test), and the disk could not be unmounted (helper-94).
   */
  static void closeAfterFailedOpen(Connection opened, Path dataDir, Exception failure) {
    if (opened != null) {
      try {
        opened.close();
        OpenMark.clearIfClosed(dataDir); // a start refused for its schema is not a store left open
      } catch (SQLException | java.io.IOException e) {
        failure.addSuppressed(e);
      }
    }
  }

  /** Where the store is: named, with its file system's state, in a failure's message. */
  private final Path dataDir;

  /**
   * Opened by serve or init (a replica's too), under the data directory's lock: once it closes,
   * nothing of the coordinator's writes to the store (a backup beside it only reads), so a close
   * that checkpointed all of the {@code -wal} may remove {@link OpenMark} while another program
   * keeps the {@code -wal} open. A backup's or a restore's close may not: the coordinator may be
   * writing beside it.
   */
  private final boolean soleWriter;

  /** The files opened: a write into a file deleted or replaced under them is refused (null while migrations run). */
  private StoreFiles files;

  /** The monotonic clock of a lost store's copy's tries ({@link StoreFiles#lost}): System.nanoTime, a test's own. */
  private volatile java.util.function.LongSupplier nanoTime = System::nanoTime;

  /** A test's clock for {@link StoreFiles#lost}'s tries. */
  void nanoTime(java.util.function.LongSupplier clock) {
    nanoTime = clock;
  }

  /** SQLite's error is the disk's (no room, no writes, I/O), not the statement's (a constraint): worth the disk's state. */
  private static boolean diskRefused(SQLException e) {
    if (e instanceof org.sqlite.SQLiteException se) {
      String code = se.getResultCode().name();
      return code.startsWith("SQLITE_IOERR") || code.startsWith("SQLITE_READONLY") || code.equals("SQLITE_FULL")
          || code.startsWith("SQLITE_CANTOPEN");
    }
    return false;
  }

  /**
   * What is wrong with the data directory's file system, for a failure's message ("" when nothing
   * shows): SQLite says "disk I/O error" both when a disk fails and when it has no room left for
   * the WAL's index, or no longer takes writes (before 2026-12-05 a start on a full disk read as
   * a failing disk; helper-94).
   */
  static String disk(Path dataDir) {
    try {
      java.nio.file.FileStore fs = java.nio.file.Files.getFileStore(dataDir);
      if (fs.isReadOnly()) {
        return " (the file system of " + dataDir + " is read-only)";
      }
      if (StoreFiles.readOnlyAfterAnError(dataDir)) {
        return " (the file system of " + dataDir + " is read-only: the kernel made it so after an error on it, emergency_ro;"
            + " check its disk and repair it)";
      }
      long free = fs.getUsableSpace();
      return free < (1 << 20) ? " (the file system of " + dataDir + " has no space left: " + free + " bytes free)" : "";
    } catch (java.io.IOException | RuntimeException e) {
      return "";
    }
  }

  /**
   * Refuses a store SQLite finds damaged in any page ({@code PRAGMA quick_check}: every page of
   * every table and index read, the {@code -wal}'s newer ones in their place), naming the file and
   * what SQLite found. A start reads every table, not their indexes: until 2026-12-08 a store with
   * an index page torn or zeroed by a disk or a file system's repair started and served, and every
   * write that index takes (each apply of a DaemonSet, each event) was refused with SQLITE_CORRUPT
   * for as long as it ran; and a {@code restore --unverified} of a backup whose index was damaged
   * said it restored it (helper-200). It reads what the start's load of the fleet reads, the
   * indexes besides, and leaves it cached for that load (sqlite3's quick_check of an 82 MB file of
   * 20,000 rows here: 0.17 s cached, 1.7 s with the page cache dropped).
   */
  static void refuseDamaged(Connection db, Path dataDir, boolean replica) {
    List<String> found = new java.util.ArrayList<>();
    try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("PRAGMA quick_check(5)")) {
      while (rs.next()) {
        found.add(rs.getString(1).replace('\n', ' ').strip()); // "*** in database main ***" on a line of its own
      }
    } catch (SQLException e) {
      if (!damaged(e)) {
        throw new StoreException("checking " + dataDir.resolve(StoreFiles.DB) + ": " + e.getMessage() + disk(dataDir), e);
      }
      found.add(e.getMessage());
    }
    if (!found.equals(List.of("ok"))) {
      throw new StoreException(dataDir.resolve(StoreFiles.DB) + " is damaged (SQLite's quick_check: " + String.join("; ", found)
          + "): a disk, a file system's repair or a copy cut short changed it, and what its damaged pages held would be lost or"
          + " refused; nothing done. " + (replica ? "This replica's snapshot and log rebuild it: move " + dataDir.resolve(StoreFiles.DB)
              + " (and its -wal and -shm) out of the data directory and start it again"
              : "Put it back: ds-coordinator restore a backup into a new data directory (pki/ restored first)"), null);
    }
  }

  /** {@link #refuseDamaged} of this store: a restore's look at the copy it put in place. */
  public synchronized void refuseDamaged() {
    refuseDamaged(db, dataDir, false);
  }

  /** SQLite's error is a damaged file's (its pages, or no database at all), not the disk's or the statement's. */
  private static boolean damaged(SQLException e) {
    return e instanceof org.sqlite.SQLiteException se && (se.getResultCode().name().startsWith("SQLITE_CORRUPT")
        || se.getResultCode().name().startsWith("SQLITE_NOTADB"));
  }

  private void migrate() throws SQLException {
    int version = schemaVersion();
    if (version > MIGRATIONS.size()) {
      throw new SQLException("the data directory has schema version " + version
          + ", newer than this coordinator knows (" + MIGRATIONS.size() + "); run a newer coordinator");
    }
    for (int v = version; v < MIGRATIONS.size(); v++) {
      final int target = v + 1;
      tx(() -> {
        try (Statement s = db.createStatement()) {
          for (String sql : MIGRATIONS.get(target - 1)) {
            s.execute(sql);
          }
          s.execute("PRAGMA user_version=" + target);
        }
      });
    }
  }

  public synchronized int schemaVersion() {
    try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("PRAGMA user_version")) {
      return rs.next() ? rs.getInt(1) : 0;
    } catch (SQLException e) {
      throw new StoreException("reading the schema version", e);
    }
  }

  /** sqlite3.h's SQLITE_OPEN_NOFOLLOW (3.31): the database's path must not be a link. */
  private static final int SQLITE_OPEN_NOFOLLOW = 0x01000000;

  /**
   * The database holds Secrets and the CA's records: 0600 like the keys next to it. SQLite gives
   * its -wal and -shm files the database file's mode, so setting it on the main file covers all
   * three; a file an older coordinator made is tightened here too. None of the three may be a link
   * (nor a FIFO, a device): root opens the service's store (`sudo ds-coordinator backup`, `restore`)
   * in a directory the service's user writes, and until 2026-12-06 a link that user planted there
   * (dsfleet.db-wal to /etc/passwd) had root make what it led to 0600, and dsfleet.db one open as
   * the store, an empty file written into (helper-113). Each is held (O_PATH, {@link
   * HeldDirectory}) before it is looked at, and the mode set on the inode held: until 2026-12-06
   * root looked at it, then opened it to fchmod it, read-only without O_NONBLOCK, and a FIFO that
   * user swapped in between held root's backup or restore for good. One with more than one name (a
   * hard link of a file of root's outside, /etc/passwd) is refused, not chmodded (helper-128).
   */
  private static void ownerOnlyDatabaseFile(Path file) throws java.io.IOException {
    ownerOnlyDatabaseFile(file, name -> { });
  }

  /** {@link #ownerOnlyDatabaseFile(Path)}; {@code opening} runs with each file's name as it is about to be opened (a test's swap). */
  static void ownerOnlyDatabaseFile(Path file, java.util.function.Consumer<String> opening) throws java.io.IOException {
    var mode = java.nio.file.attribute.PosixFilePermissions.fromString("rw-------");
    if (java.nio.file.Files.notExists(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      java.nio.file.Files.createFile(file, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(mode));
    }
    try (HeldDirectory dir = HeldDirectory.open(file.toAbsolutePath().getParent())) {
      for (String suffix : List.of("", "-wal", "-shm")) {
        String name = file.getFileName() + suffix;
        opening.accept(name);
        HeldDirectory.Entry entry;
        try {
          entry = dir.entry(name);
        } catch (java.nio.file.NoSuchFileException none) {
          continue;
        }
        try (entry) {
          if (!entry.attributes().isRegularFile()) {
            throw new java.io.IOException(entry.path() + " is " + (entry.attributes().isSymbolicLink() ? "a link" : "not a file")
                + ": the store's files must be files of their own in the data directory (a link could lead anywhere, and the store"
                + " would be read and written there); remove it");
          }
          if (!entry.attributes().permissions().equals(mode)) {
            entry.setPermissions(mode); // chmod of the inode held: whatever is renamed in since is not reached
          }
        }
      }
    }
  }

  public static int latestSchemaVersion() {
    return MIGRATIONS.size();
  }

  @FunctionalInterface
  protected interface SqlWork {
    void run() throws SQLException;
  }

  private int depth;

  /**
   * Runs {@code work} as one transaction. Called inside another (a replicated write records the
   * log index it applied in the same transaction), it runs as a savepoint: its failure undoes
   * only its own changes and the outer transaction decides.
   */
  protected synchronized void tx(SqlWork work) {
    try {
      if (depth > 0) {
        String savepoint = "s" + depth;
        depth++;
        try (Statement s = db.createStatement()) {
          s.execute("SAVEPOINT " + savepoint);
          try {
            work.run();
            s.execute("RELEASE " + savepoint);
          } catch (SQLException | RuntimeException e) {
            s.execute("ROLLBACK TO " + savepoint);
            s.execute("RELEASE " + savepoint);
            throw e;
          }
        } finally {
          depth--;
        }
        return;
      }
      String lost = files == null ? null : files.lost(db);
      if (lost != null) {
        throw new StoreException("store write refused, nothing changed: " + lost, null);
      }
      long start = System.nanoTime();
      db.setAutoCommit(false);
      depth++;
      boolean committing = false;
      try {
        work.run();
        committing = true;
        db.commit();
        io.dsfleet.coordinator.metrics.CoordinatorMetrics.STORE_COMMIT.observe((System.nanoTime() - start) / 1e9);
        committing = false;
      } catch (SQLException | RuntimeException e) {
        try {
          db.rollback();
        } catch (SQLException rollback) { // SQLite ended the transaction itself (a full disk): the first error says why
          e.addSuppressed(rollback);
        }
        if (committing && syncFailed(e)) {
          throw new StoreException("store write not confirmed by the disk: " + e.getMessage() + disk(dataDir), e, true);
        }
        throw e;
      } finally {
        depth--;
        try {
          db.setAutoCommit(true);
        } catch (SQLException again) {
          // sqlite-jdbc sets the mode, then commits: where SQLite had ended the transaction itself (a
          // full disk rolls it back) that commit of nothing fails, and the connection is back all
          // the same. Said only when it is not: before 2026-12-06 every write a full disk refused
          // logged "... did not go back to autocommit: SQL error or missing database" (helper-139)
          if (!autoCommit()) {
            log.warn("the store's connection did not go back to autocommit: {}", again.getMessage());
          }
        }
      }
      // gone between the look before and the commit: committed into a file no start opens. Looked
      // at in autocommit: the copy it saves (VACUUM INTO) fails inside a transaction, and before
      // helper-151 the look ran before the connection left the transaction sqlite-jdbc begins after
      // each commit, so its copy always failed ("cannot VACUUM from within a transaction")
      lost = files == null ? null : files.lostDuringWrite(db);
      if (lost != null) {
        throw new StoreException(lost, null, true);
      }
    } catch (SQLException e) {
      throw new StoreException("store write failed: " + e.getMessage() + (diskRefused(e) ? disk(dataDir) : ""), e);
    }
  }

  /**
   * Whether a checkpoint now leaves nothing of the {@code -wal} outside {@code dsfleet.db}: every
   * frame copied into it and synced (SQLite syncs the file before it counts frames copied), none
   * held back by another connection's read. Passive: it waits for nobody.
   */
  private boolean checkpointedWhole() {
    try (Statement s = db.createStatement(); ResultSet rs = s.executeQuery("PRAGMA wal_checkpoint(PASSIVE)")) {
      return rs.next() && rs.getInt(1) == 0 && rs.getInt(2) >= 0 && rs.getInt(2) == rs.getInt(3);
    } catch (SQLException e) {
      return false; // the close's own checkpoint says the rest
    }
  }

  private boolean autoCommit() {
    try {
      return db.getAutoCommit();
    } catch (SQLException e) {
      return false;
    }
  }

  /**
   * An fsync that failed at commit: SQLite had written the transaction's frames to the WAL, its
   * commit frame last, and then found them not confirmed on disk. This connection counts the
   * transaction as rolled back and its next commit writes over those frames, but a start after a
   * crash before then recovers the WAL from what the file holds (what reached the disk, or the
   * pages the kernel kept after failing to write them), the transaction with it: the write may
   * have been applied (before 2026-12-05 it was reported as nothing written, and a killed
   * coordinator started with the refused apply in place; helper-94). A full disk (SQLITE_FULL)
   * or a failed write() stops before the commit frame: nothing of those is applied.
   */
  private static boolean syncFailed(Exception e) {
    if (e instanceof org.sqlite.SQLiteException se) {
      var code = se.getResultCode();
      return code == org.sqlite.SQLiteErrorCode.SQLITE_IOERR_FSYNC || code == org.sqlite.SQLiteErrorCode.SQLITE_IOERR_DIR_FSYNC;
    }
    return false;
  }

  public synchronized void close() {
    boolean cleared = false;
    if (files != null) {
      files.beforeClose(db);
      // the whole -wal in the file: the mark goes before SQLite removes the -wal, so a kill or a
      // power cut between the two finds a store that opens (before helper-155 the mark went after,
      // and a kill there was refused as a -wal lost)
      cleared = soleWriter && !files.isLost() && checkpointedWhole() && clearMark();
    }
    closing.run();
    try {
      db.close();
    } catch (SQLException e) {
      throw new StoreException("closing the store", e);
    }
    if (files != null && !files.isLost() && !cleared) { // a file replaced under it: what is there now is no store this close checkpointed
      try {
        if (OpenMark.clearIfClosed(dataDir) && soleWriter) {
          log.warn("the store closed while another program was reading it: {} stays, and so does {}; if a program other than"
              + " ds-coordinator (sqlite3) closes the store last, the next start refuses it as not closed: remove {} then",
              dataDir.resolve(StoreFiles.DB + "-wal"), dataDir.resolve(OpenMark.NAME), dataDir.resolve(OpenMark.NAME));
        }
      } catch (java.io.IOException e) {
        log.warn("the store closed, but {} could not be removed ({}): the next start may refuse the store as not closed",
            dataDir.resolve(OpenMark.NAME), e.getMessage());
      }
    }
  }

  /** {@link OpenMark#clear}; false (and tried again once the connection closed) where it failed. */
  private boolean clearMark() {
    try {
      OpenMark.clear(dataDir);
      return true;
    } catch (java.io.IOException e) {
      return false;
    }
  }

  /** Runs as the connection is about to close, the mark removed or not: a test's look. */
  private volatile Runnable closing = () -> { };

  /** A test's look as the connection is about to close. */
  void closing(Runnable look) {
    closing = look;
  }
}
