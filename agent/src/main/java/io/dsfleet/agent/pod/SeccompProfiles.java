package io.dsfleet.agent.pod;

import io.dsfleet.common.manifest.LocalPaths;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * {@code seccompProfile.localhostProfile}: a file inside the agent's profile directory
 * ({@code STATE_DIR/seccomp}), and only there. The name is a relative path without ".." parts
 * (cleaned: {@code "./p.json"} is {@code "p.json"}), and its real path (links followed) must still
 * be inside the directory, so a profile name cannot make the agent read a host file and hand it to
 * the runtime.
 */
public final class SeccompProfiles {
  private SeccompProfiles() {}

  public static String read(Path dir, String localhostProfile) {
    String given = localhostProfile == null ? "" : localhostProfile;
    String name = LocalPaths.descending(given); // cleaned as the kubelet joins it to its directory
    if (name == null || name.isEmpty()) {
      throw new PodConfigError("CreateContainerConfigError",
          "seccomp localhostProfile \"" + given + "\" must be a relative path to a file inside " + dir + " without \"..\" parts");
    }
    try {
      Path root = dir.toRealPath();
      Path real = root.resolve(name).toRealPath();
      if (!real.startsWith(root) || !Files.isRegularFile(real)) {
        throw new PodConfigError("CreateContainerConfigError", "seccomp localhostProfile \"" + name + "\" is not a file inside " + dir);
      }
      return Files.readString(real);
    } catch (NoSuchFileException e) {
      throw new PodConfigError("CreateContainerConfigError", "seccomp localhostProfile \"" + name + "\" not found in " + dir);
    } catch (IOException e) {
      throw new PodConfigError("CreateContainerConfigError", "seccomp localhostProfile \"" + name + "\" cannot be read: " + e.getMessage());
    }
  }
}
