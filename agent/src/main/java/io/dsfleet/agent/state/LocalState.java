package io.dsfleet.agent.state;

import io.dsfleet.common.OwnerOnlyFiles;
import io.dsfleet.proto.v1.DesiredState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The agent's state directory (owner-only, 0700): the last desired set the coordinator sent
 * ({@code desired.pb}, 0600 since it carries Secrets), written atomically and synced, so the
 * agent keeps running its pods while the coordinator is unreachable and across its own restarts.
 */
public final class LocalState {
  private final Path dir;

  public LocalState(Path dir) {
    this.dir = OwnerOnlyFiles.directory(dir);
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
    OwnerOnlyFiles.write(dir.resolve("desired.pb"), state.toByteArray());
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
    OwnerOnlyFiles.write(dir.resolve("orphans"), pods.stream().map(p -> p + "\n").collect(java.util.stream.Collectors.joining()));
  }

  public void clear() {
    try {
      Files.deleteIfExists(dir.resolve("desired.pb"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
