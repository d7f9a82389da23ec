package io.dsfleet.agent.runtime;

import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.command.InspectImageResponse;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.ContainerNetwork;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What Docker's answers say (no call made here): of a container, its list line and its inspect, as a
 * {@link ContainerInfo}; of an image, its inspect as an {@link ImageInfo}; of the node's containers'
 * writable layers, a list with sizes.
 */
final class DockerAnswers {
  private DockerAnswers() {}

  /** A list line's exit code: "Exited (137) 5 seconds ago". */
  private static final java.util.regex.Pattern LISTED_EXIT = java.util.regex.Pattern.compile("^Exited \\((\\d{1,9})\\)");

  /** A container as its list line describes it (no start or finish time): for one whose inspect the agent cannot read. */
  static ContainerInfo listed(Container c, String why, boolean imageLabelled, String imageUnknown) {
    String name = c.getNames() == null || c.getNames().length == 0 ? "" : c.getNames()[0].replaceFirst("^/", "");
    java.util.regex.Matcher exit = LISTED_EXIT.matcher(c.getStatus() == null ? "" : c.getStatus());
    return new ContainerInfo(c.getId(), name, c.getLabels() == null ? Map.of() : c.getLabels(), c.getState(),
        exit.find() ? Integer.parseInt(exit.group(1)) : 0, c.getCreated() == null ? null : Instant.ofEpochSecond(c.getCreated()),
        null, null, listedHealth(c), listedIp(c), why, imageLabelled, imageUnknown);
  }

  /** A container as its inspect describes it. */
  static ContainerInfo inspected(InspectContainerResponse r, boolean imageLabelled, String imageUnknown) {
    var s = r.getState();
    String ip = r.getNetworkSettings() == null ? null : lastAddress(r.getNetworkSettings().getNetworks());
    return new ContainerInfo(r.getId(), r.getName() == null ? "" : r.getName().replaceFirst("^/", ""),
        r.getConfig().getLabels() == null ? Map.of() : r.getConfig().getLabels(), s.getStatus(),
        s.getExitCodeLong() == null ? 0 : s.getExitCodeLong().intValue(), time(r.getCreated()), time(s.getStartedAt()),
        time(s.getFinishedAt()), s.getHealth() == null ? null : s.getHealth().getStatus(), ip, s.getError(), imageLabelled, imageUnknown,
        Boolean.TRUE.equals(s.getOOMKilled()));
  }

  /** The health a list shows in a container's status ("Up 2 minutes (healthy)"), as an inspect names it; null for none. */
  static String listedHealth(Container c) {
    String status = c.getStatus() == null ? "" : c.getStatus();
    if (status.contains("(healthy)")) {
      return "healthy";
    }
    if (status.contains("(unhealthy)")) {
      return "unhealthy";
    }
    return status.contains("(health: starting)") ? "starting" : null;
  }

  /** The address a list shows for a container, chosen as {@link #inspected} chooses it. */
  static String listedIp(Container c) {
    return c.getNetworkSettings() == null ? null : lastAddress(c.getNetworkSettings().getNetworks());
  }

  /** A container's address: its last network's that has one (an inspect and a list choose alike); null for none. */
  private static String lastAddress(Map<String, ContainerNetwork> networks) {
    String ip = null;
    for (ContainerNetwork n : networks == null ? List.<ContainerNetwork>of() : networks.values()) {
      if (n.getIpAddress() != null && !n.getIpAddress().isEmpty()) {
        ip = n.getIpAddress();
      }
    }
    return ip;
  }

  /** An image as its inspect describes it. */
  static ImageInfo image(InspectImageResponse r) {
    var config = r.getConfig();
    List<String> settings = new ArrayList<>();
    var health = config == null ? null : config.getHealthcheck();
    if (config != null) { // what Docker copies from the image into each container's config, besides labels, ports and volumes
      for (String[] part : new String[][] {config.getEnv(), config.getCmd(), config.getEntrypoint(),
          health == null || health.getTest() == null ? null : health.getTest().toArray(String[]::new),
          {config.getWorkingDir() == null ? "" : config.getWorkingDir(), config.getUser() == null ? "" : config.getUser()}}) {
        if (part != null) {
          settings.addAll(java.util.Arrays.asList(part));
        }
      }
    }
    return new ImageInfo(r.getId(), config == null || config.getUser() == null ? "" : config.getUser(),
        config == null || config.getLabels() == null ? Map.of() : Map.copyOf(config.getLabels()), ImageInfo.jsonBytes(settings),
        health == null || health.getInterval() == null ? 0 : health.getInterval(),
        health == null || health.getStartInterval() == null ? 0 : health.getStartInterval(),
        config == null || config.getEntrypoint() == null ? 0 : ImageInfo.jsonBytes(java.util.Arrays.asList(config.getEntrypoint())),
        config == null || config.getCmd() == null ? 0 : ImageInfo.jsonBytes(java.util.Arrays.asList(config.getCmd())),
        config == null || config.getExposedPorts() == null ? 0 : config.getExposedPorts().length,
        config == null || config.getVolumes() == null ? 0 : ImageInfo.volumeBytes(config.getVolumes().keySet()),
        config == null || config.getEntrypoint() == null || config.getEntrypoint().length == 0 ? "" : config.getEntrypoint()[0],
        config == null || config.getCmd() == null || config.getCmd().length == 0 ? "" : config.getCmd()[0], healthExecutable(config));
  }

  /**
   * The executable Docker runs for an image's HEALTHCHECK of its own: a {@code CMD} test's first word; "" for none or a
   * {@code CMD-SHELL} test, which {@code /bin/sh} runs (Docker 20.10 copies no image's {@code SHELL} into its containers:
   * checked by hand, 2026-12-07).
   */
  static String healthExecutable(com.github.dockerjava.api.model.ContainerConfig config) {
    List<String> test = config == null || config.getHealthcheck() == null ? null : config.getHealthcheck().getTest();
    return test != null && test.size() > 1 && "CMD".equals(test.get(0)) && test.get(1) != null ? test.get(1) : "";
  }

  /**
   * What a list of the node's containers says they hold: their writable layers' sizes (a list with
   * sizes: on a driver other than overlay2) and the anonymous volumes Docker keeps under {@code root}.
   */
  static ContainerRuntime.WritableLayers writableLayers(Path root, List<Container> list) {
    Map<String, Long> bytes = new HashMap<>();
    Map<String, List<Path>> volumes = new HashMap<>();
    for (Container c : list) {
      if (c.getSizeRw() != null && c.getSizeRw() > 0) {
        bytes.put(c.getId(), c.getSizeRw());
      }
      // the agent mounts binds and tmpfs only: a mount with a name is a volume Docker made for the image's VOLUME; the
      // list leaves its source empty, and the local driver keeps it in ROOT/volumes/NAME/_data
      for (var m : c.getMounts() == null ? List.<com.github.dockerjava.api.model.ContainerMount>of() : c.getMounts()) {
        if (m.getName() != null && m.getName().matches("[a-zA-Z0-9][a-zA-Z0-9_.-]*") && "local".equals(m.getDriver())) {
          volumes.computeIfAbsent(c.getId(), k -> new java.util.ArrayList<>()).add(root.resolve("volumes").resolve(m.getName()).resolve("_data"));
        }
      }
    }
    return new ContainerRuntime.WritableLayers(root, bytes, volumes);
  }

  private static Instant time(String t) {
    if (t == null || t.isEmpty() || t.startsWith("0001-")) {
      return null;
    }
    return Instant.parse(t);
  }
}
