package io.dsfleet.coordinator;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;

/**
 * What root wrote into the coordinator's data directory, given to the directory's owner. The
 * shipped unit (DynamicUser=) owns its directory as the service's own user, and an operator runs
 * `sudo ds-coordinator restore` and `join` there as root: before 2026-12-06 the store and keys they
 * wrote stayed root's (0600) and the coordinator could not open them ("Operation not permitted"),
 * since systemd gives a state directory's tree to the unit's user only when the directory itself
 * is not the user's yet (helper-107).
 */
final class DirectoryOwner {
  private DirectoryOwner() {}

  /** Gives each of {@code written} that exists and is not the owner's to the owner of {@code dir}; links are not followed. */
  static void give(Path dir, List<Path> written) throws IOException {
    Path real = dir.toRealPath();
    int uid = (Integer) Files.getAttribute(real, "unix:uid");
    int gid = (Integer) Files.getAttribute(real, "unix:gid");
    for (Path p : written) {
      // only root writes files of another uid than the directory's (anyone else is refused another's directory)
      if (Files.exists(p, LinkOption.NOFOLLOW_LINKS) && (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS) != uid) {
        Files.setAttribute(p, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(p, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
      }
    }
  }

  /** The store's files and the directory's lock, as restore and join leave them. */
  static List<Path> store(Path dir) {
    return List.of(dir.resolve("dsfleet.db"), dir.resolve("dsfleet.db-wal"), dir.resolve("dsfleet.db-shm"), dir.resolve(DataDirLock.FILE));
  }
}
