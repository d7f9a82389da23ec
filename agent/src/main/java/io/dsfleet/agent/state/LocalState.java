package io.dsfleet.agent.state;

import io.dsfleet.proto.v1.DesiredState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;

/**
 * The agent's state directory (owner-only, 0700): the last desired set the coordinator sent
 * ({@code desired.pb}, 0600 since it carries Secrets), written atomically and synced, so the
 * agent keeps running its pods while the coordinator is unreachable and across its own restarts.
 */
public final class LocalState {
  private final Path dir;

  public LocalState(Path dir) {
    this.dir = dir;
    try {
      Files.createDirectories(dir);
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot use state directory " + dir + ": " + e.getMessage(), e);
    }
  }

  public Path dir() {
    return dir;
  }

  public Optional<DesiredState> loadDesired() {
    Path f = dir.resolve("desired.pb");
    if (!Files.exists(f)) {
      return Optional.empty();
    }
    try {
      return Optional.of(DesiredState.parseFrom(Files.readAllBytes(f)));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
    }
  }

  public void saveDesired(DesiredState state) {
    Path f = dir.resolve("desired.pb");
    Path tmp = dir.resolve("desired.pb.tmp");
    try {
      Files.deleteIfExists(tmp);
      Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        ch.write(java.nio.ByteBuffer.wrap(state.toByteArray()));
        ch.force(true);
      }
      Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + f + ": " + e.getMessage(), e);
    }
  }

  /** Pods released by an orphan delete: their containers run on, unmanaged. */
  public java.util.Set<String> loadOrphans() {
    Path f = dir.resolve("orphans");
    try {
      return Files.exists(f) ? new java.util.TreeSet<>(Files.readAllLines(f)) : new java.util.TreeSet<>();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
    }
  }

  public void saveOrphans(java.util.Set<String> pods) {
    Path f = dir.resolve("orphans");
    Path tmp = dir.resolve("orphans.tmp");
    try {
      Files.write(tmp, pods);
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        ch.force(true);
      }
      Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + f + ": " + e.getMessage(), e);
    }
  }

  public void clear() {
    try {
      Files.deleteIfExists(dir.resolve("desired.pb"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
