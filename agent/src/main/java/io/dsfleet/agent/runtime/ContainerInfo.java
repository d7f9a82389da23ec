package io.dsfleet.agent.runtime;

import java.time.Instant;
import java.util.Map;

/**
 * What the runtime reports of one owned container.
 *
 * @param state "created", "running", "exited", "dead", ...
 * @param health the image HEALTHCHECK status ("healthy", "unhealthy", "starting") or null
 * @param ip the container's IP on its network, null when none (host network or joined)
 */
public record ContainerInfo(String id, String name, Map<String, String> labels, String state, int exitCode,
    Instant startedAt, Instant finishedAt, String health, String ip, String error) {

  public boolean running() {
    return "running".equals(state);
  }

  public String label(String key) {
    return labels.get(key);
  }
}
