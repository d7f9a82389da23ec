package io.dsfleet.coordinator.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * {@code dsfleet.db.open}: a store was opened in this data directory, and no close since found its
 * {@code -wal} gone. SQLite keeps each committed write in {@code dsfleet.db-wal} until a
 * checkpoint copies it into {@code dsfleet.db} (every 4 MB of writes, and at the last close), and
 * removes the {@code -wal} only once the last connection closing has copied all of it. So a
 * {@code -wal} missing while this mark is there went with writes the file lacks: deleted after a
 * kill, or lost by a disk after a crash. Past the first checkpoint the file alone is an older
 * store with every table, which no other check tells from a stopped one's, and before this mark
 * (helper-151) the start served it: DaemonSets, joins and revocations acknowledged since that
 * checkpoint gone, a revoked certificate admitted again. A coordinator killed with its
 * {@code -wal} in place starts as before (SQLite replays it). Every kind of open sets and clears
 * the mark, so a backup's connection that closes last (after a kill, or after the coordinator's
 * own close) clears it too; so does serve's or init's close that checkpointed the whole {@code -wal}
 * while another program (sqlite3) held it open, which then removes it at its own close; only a
 * replica's start does not refuse (its snapshot and log rebuild its store).
 */
final class OpenMark {
  static final String NAME = "dsfleet.db.open";

  private OpenMark() {}

  /** Refuses, before SQLite opens anything, a store whose {@code -wal} went while the mark says a connection had it open. */
  static void refuseLostWal(Path dataDir) {
    Path mark = dataDir.resolve(NAME);
    Path wal = dataDir.resolve(StoreFiles.DB + "-wal");
    if (Files.exists(mark, LinkOption.NOFOLLOW_LINKS) && Files.notExists(wal, LinkOption.NOFOLLOW_LINKS)
        && Files.exists(dataDir.resolve(StoreFiles.DB), LinkOption.NOFOLLOW_LINKS)) {
      throw new StoreException(wal + " is missing, but " + mark + " shows the store was not closed since it was opened (the"
          + " coordinator killed, crashed, or its host lost power; or a program other than ds-coordinator, sqlite3, was reading"
          + " the store as it stopped and closed it last: the file is then whole): SQLite keeps the latest writes in that -wal until it copies"
          + " them into " + StoreFiles.DB + ", so " + dataDir.resolve(StoreFiles.DB) + " alone may be an older store (changes,"
          + " joins and revocations acknowledged since gone); nothing done. Put the -wal back from where it went, or"
          + " ds-coordinator restore a backup; or, to go on with the older store the file holds, remove " + mark
          + " and start again", null);
    }
  }

  /** Marks the store open (synced: before its first write is acknowledged); one already there stays. */
  static void set(Path dataDir) throws IOException {
    Path mark = dataDir.resolve(NAME);
    if (Files.exists(mark, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (FileChannel made = io.dsfleet.common.OwnerOnlyFiles.createNew(mark)) {
      made.force(true);
    } catch (java.nio.file.FileAlreadyExistsException another) {
      return; // another process's open (a backup beside the coordinator) made it meanwhile
    }
    StoreFiles.sync(dataDir);
  }

  /**
   * After a connection closed: the mark goes once SQLite removed the {@code -wal}, everything it
   * held in the file. Returns whether the mark stays. (The close of serve's or init's store, the
   * directory's only writer, removes it before, once it checkpointed every frame of the
   * {@code -wal} into the file: a {@code -wal} another program held open, sqlite3 at its prompt,
   * stays after that close and SQLite removes it at that program's, which knows no mark; before
   * helper-155 the mark stayed then, and the next start was refused, its file whole.)
   */
  static boolean clearIfClosed(Path dataDir) throws IOException {
    if (Files.notExists(dataDir.resolve(StoreFiles.DB + "-wal"), LinkOption.NOFOLLOW_LINKS)) {
      clear(dataDir);
      return false;
    }
    return Files.exists(dataDir.resolve(NAME), LinkOption.NOFOLLOW_LINKS);
  }

  /** The mark removed: the store's file holds the whole store (a close's checkpoint, a copy put in its place). */
  static void clear(Path dataDir) throws IOException {
    if (Files.deleteIfExists(dataDir.resolve(NAME))) {
      StoreFiles.sync(dataDir);
    }
  }
}
