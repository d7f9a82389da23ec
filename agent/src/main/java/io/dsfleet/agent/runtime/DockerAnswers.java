package io.dsfleet.agent.runtime;

import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.ContainerNetwork;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** What Docker's container list and inspect answers say of a container, as a {@link ContainerInfo} (no call made here). */
final class DockerAnswers {
  private DockerAnswers() {}

  /** A list line's exit code: "Exited (137) 5 seconds ago". */
  private static final java.util.regex.Pattern LISTED_EXIT = java.util.regex.Pattern.compile("^Exited \\((\\d{1,9})\\)");

  /** A container as its list line describes it (no start or finish time): for one whose inspect the agent cannot read. */
  static ContainerInfo listed(Container c, String why, boolean imageLabelled) {
    String name = c.getNames() == null || c.getNames().length == 0 ? "" : c.getNames()[0].replaceFirst("^/", "");
    java.util.regex.Matcher exit = LISTED_EXIT.matcher(c.getStatus() == null ? "" : c.getStatus());
    return new ContainerInfo(c.getId(), name, c.getLabels() == null ? Map.of() : c.getLabels(), c.getState(),
        exit.find() ? Integer.parseInt(exit.group(1)) : 0, c.getCreated() == null ? null : Instant.ofEpochSecond(c.getCreated()),
        null, null, listedHealth(c), listedIp(c), why, imageLabelled);
  }

  /** A container as its inspect describes it. */
  static ContainerInfo inspected(InspectContainerResponse r, boolean imageLabelled) {
    var s = r.getState();
    String ip = r.getNetworkSettings() == null ? null : lastAddress(r.getNetworkSettings().getNetworks());
    return new ContainerInfo(r.getId(), r.getName() == null ? "" : r.getName().replaceFirst("^/", ""),
        r.getConfig().getLabels() == null ? Map.of() : r.getConfig().getLabels(), s.getStatus(),
        s.getExitCodeLong() == null ? 0 : s.getExitCodeLong().intValue(), time(r.getCreated()), time(s.getStartedAt()),
        time(s.getFinishedAt()), s.getHealth() == null ? null : s.getHealth().getStatus(), ip, s.getError(), imageLabelled);
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

  private static Instant time(String t) {
    if (t == null || t.isEmpty() || t.startsWith("0001-")) {
      return null;
    }
    return Instant.parse(t);
  }
}
