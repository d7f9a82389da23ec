package io.dsfleet.agent.hostfs;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where a container's writable layer lies under Docker's overlay2 storage driver, whose inodes
 * disk pressure counts (Docker says what a layer holds in bytes only): {@code
 * ROOT/overlay2/MOUNT-ID/diff}, the mount ID read from {@code
 * ROOT/image/overlay2/layerdb/mounts/CONTAINER-ID/mount-id}. Both are Docker's own files, which no
 * container writes, and they say it for a stopped container too; a process's mount table would
 * not say it for a container whose processes all chrooted elsewhere.
 */
public final class LayerDirs {
  private LayerDirs() {}

  /** The container's upper directory, or empty: another storage driver, a container gone, an ID Docker would not give. */
  public static Optional<Path> upperDir(Path dockerRoot, String containerId) {
    if (!containerId.matches("[0-9a-f]{64}")) {
      return Optional.empty();
    }
    Path file = dockerRoot.resolve("image/overlay2/layerdb/mounts").resolve(containerId).resolve("mount-id");
    String mountId;
    try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
      mountId = new String(in.readNBytes(128), StandardCharsets.US_ASCII).strip();
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
    if (!mountId.matches("[0-9a-f]{64}")) {
      return Optional.empty();
    }
    Path diff = dockerRoot.resolve("overlay2").resolve(mountId).resolve("diff");
    return Files.isDirectory(diff, LinkOption.NOFOLLOW_LINKS) ? Optional.of(diff) : Optional.empty();
  }
}
