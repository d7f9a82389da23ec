package io.dsfleet.agent.pod;

import io.dsfleet.agent.runtime.ContainerSpec;
import io.dsfleet.agent.runtime.ExecutablePaths;
import io.dsfleet.agent.runtime.ImageInfo;
import java.util.List;

/**
 * The executable a container runs, as Docker makes its command line: the container's entrypoint
 * (the pod's {@code command}) or else the image's, then the container's cmd (the pod's {@code
 * args}), or else the image's, which a container's own entrypoint drops. A path longer than
 * {@link #MAX_BYTES} cannot be run (execve's ENAMETOOLONG) and is refused before a container is
 * made ({@link ExecutablePaths}: runc's error for a longer one hung runc's create, and with it
 * every pass of the node). So is the executable of the image's HEALTHCHECK where Docker runs it: runc's
 * exec hung on it as its create did, for the check's timeout (the image's, an hour if it likes),
 * and every inspect of the container, so every pass of the node, waited behind it.
 */
public final class Executable {
  /** PATH_MAX less its NUL: the longest path execve takes. */
  public static final int MAX_BYTES = ExecutablePaths.MAX_BYTES;

  private Executable() {}

  /** The spec, when the executable it runs is a path execve can take; else CreateContainerError (an image's) or CreateContainerConfigError (the pod's). */
  public static ContainerSpec checked(ContainerSpec spec, ImageInfo image) {
    boolean own = present(spec.entrypoint()) || spec.entrypoint() == null && image.entrypointHead().isEmpty() && present(spec.cmd());
    String path = present(spec.entrypoint()) ? spec.entrypoint().get(0)
        : spec.entrypoint() == null && !image.entrypointHead().isEmpty() ? image.entrypointHead()
        : present(spec.cmd()) ? spec.cmd().get(0)
        : spec.entrypoint() == null && spec.cmd() == null ? image.cmdHead() : "";
    int bytes = ExecutablePaths.bytes(path);
    if (bytes > MAX_BYTES) {
      throw new PodConfigError(own ? "CreateContainerConfigError" : "CreateContainerError", "the executable the container would run"
          + (own ? " (the first word of its command or args)" : " (its image's entrypoint or command)") + " is " + bytes
          + " bytes long; a path is at most " + MAX_BYTES + " bytes (PATH_MAX), and no longer one can be run");
    }
    int health = ExecutablePaths.bytes(image.healthHead());
    if (health > MAX_BYTES && (spec.health() == null || !spec.health().off())) { // turned off (a readiness probe decides), it never runs
      throw new PodConfigError("CreateContainerError", "the executable of its image's HEALTHCHECK (its test's first word) is " + health
          + " bytes long; a path is at most " + MAX_BYTES + " bytes (PATH_MAX), and no longer one can be run");
    }
    return spec;
  }

  private static boolean present(List<String> words) {
    return words != null && !words.isEmpty();
  }
}
