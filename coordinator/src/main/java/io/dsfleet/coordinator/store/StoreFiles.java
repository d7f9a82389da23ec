package io.dsfleet.coordinator.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/** The store's file, and what is wrong when it is not there. */
final class StoreFiles {
  static final String DB = "dsfleet.db";

  private StoreFiles() {}

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
    Path key = SqliteStore.secretsKey(dataDir);
    try {
      if (Files.notExists(key, LinkOption.NOFOLLOW_LINKS)) {
        return; // a new data directory
      }
      if (Files.notExists(file, LinkOption.NOFOLLOW_LINKS) || Files.size(file) == 0) {
        throw new StoreException(file + (Files.exists(file) ? " is empty" : " is missing") + ", but " + key + " shows this data"
            + " directory held a store: it was deleted, emptied or lost, and a start on a new one would serve an empty fleet;"
            + " nothing done. Put it back: ds-coordinator restore a backup; or, for a new fleet, move the data"
            + " directory aside", null);
      }
    } catch (IOException e) {
      throw new StoreException("cannot look at " + file + ": " + e.getMessage(), e);
    }
  }
}
