package io.dsfleet.agent.runtime;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Info;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Docker's root directory and whether its storage driver is overlay2, as the daemon says them (disk pressure). */
final class DockerLayout {
  // its lines under DockerRuntime's name, as before they moved here: a level set for that logger still covers them
  private static final Logger log = LoggerFactory.getLogger(DockerRuntime.class);

  /** Docker's root directory and whether its storage driver is overlay2. */
  record Layout(Path root, boolean overlay2) {}

  private final DockerClient docker;
  private final String host;
  /** What Docker last said of its layout: taken when it does not answer {@code info}. */
  private volatile Layout layout;

  /** @param host the daemon's address, as its calls are counted ({@link DockerCall}) */
  DockerLayout(DockerClient docker, String host) {
    this.docker = docker;
    this.host = host;
  }

  /**
   * Docker's layout as the daemon running now says it, asked at each pressure check: a dockerd
   * restarted with another {@code data-root} or driver under a running agent was taken as the
   * first one said (before 2026-12-06), every layer looked for where none lay, each counted 0. A
   * daemon that does not answer is taken as it last said (logged); one never answered fails.
   */
  Layout now() {
    try {
      Info i = DockerCall.run(host, "info", () -> docker.infoCmd().exec()); // Info loaded only under pressure, as before
      Layout said = new Layout(Path.of(i.getDockerRootDir() == null ? "/var/lib/docker" : i.getDockerRootDir()), "overlay2".equals(i.getDriver()));
      layout = said;
      return said;
    } catch (RuntimeException e) {
      Layout last = layout;
      if (last == null) {
        throw e;
      }
      log.warn("disk pressure: Docker's root and storage driver taken as it last said them ({}, overlay2 {}): info failed: {}",
          last.root(), last.overlay2(), e.toString());
      return last;
    }
  }
}
