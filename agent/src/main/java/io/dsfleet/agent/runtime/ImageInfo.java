package io.dsfleet.agent.runtime;

import java.util.Map;

/**
 * A local image, as the runtime describes it.
 *
 * @param user the user it runs as by default ("" for root), for runAsNonRoot
 * @param settingsBytes the bytes of its environment, command, entrypoint, HEALTHCHECK test, working
 *     directory and user as Docker's JSON carries them (Docker copies them into each of its
 *     containers' config, and each inspect of those carries them all)
 * @param healthIntervalNanos its HEALTHCHECK's interval, 0 for none or Docker's default (30 s)
 * @param healthStartIntervalNanos its HEALTHCHECK's interval during the start period, 0 for none or the interval
 * @param entrypointHead the first word of its entrypoint ("" for none), the executable it runs unless a pod's command replaces it
 * @param cmdHead the first word of its command ("" for none), the executable where neither an entrypoint nor a pod's command is
 * @param healthHead the executable Docker runs for its HEALTHCHECK, a {@code CMD} test's first word ("" for none, or a
 *     {@code CMD-SHELL} test: {@code /bin/sh} runs it)
 */
public record ImageInfo(String id, String user, Map<String, String> labels, long settingsBytes, long healthIntervalNanos,
    long healthStartIntervalNanos, long entrypointBytes, long cmdBytes, long exposedPorts, long volumeBytes, String entrypointHead,
    String cmdHead, String healthHead) {
  public ImageInfo {
    entrypointHead = entrypointHead == null ? "" : entrypointHead;
    cmdHead = cmdHead == null ? "" : cmdHead;
    healthHead = healthHead == null ? "" : healthHead;
  }

  public ImageInfo(String id, String user, Map<String, String> labels, long settingsBytes, long healthIntervalNanos,
      long healthStartIntervalNanos, long entrypointBytes, long cmdBytes, long exposedPorts, long volumeBytes) {
    this(id, user, labels, settingsBytes, healthIntervalNanos, healthStartIntervalNanos, entrypointBytes, cmdBytes, exposedPorts,
        volumeBytes, "", "", "");
  }

  public ImageInfo(String id, String user, Map<String, String> labels) {
    this(id, user, labels, 0, 0, 0);
  }

  public ImageInfo(String id, String user, Map<String, String> labels, long settingsBytes, long healthIntervalNanos,
      long healthStartIntervalNanos) {
    this(id, user, labels, settingsBytes, healthIntervalNanos, healthStartIntervalNanos, 0, 0, 0, 0);
  }

  /**
   * The most bytes the image's exposed ports and volumes may add to each list line of its
   * containers: a running container with a network namespace of its own off the host's (a pod's
   * lone container on the bridge) lists every port its image exposes (about {@link #PORT_BYTES}
   * each; {@link #portAndVolumeBytes}), and every container lists the anonymous volume Docker makes
   * for each of its image's {@code VOLUME}s (about {@link #VOLUME_BYTES} and the path each). An image
   * exposing all 65,535 ports made each running container's list line 2.3 MiB, so two pods of it
   * made every list of the node, and so every pass, fail (helper-88). Real images expose a few
   * ports and declare a few volumes; 16 KiB is about 400 ports, or 60 volumes.
   */
  public static final int MAX_PORTS_AND_VOLUMES_BYTES = 16 * 1024;
  static final int PORT_BYTES = 40;
  static final int VOLUME_BYTES = 200;

  /**
   * What the image's exposed ports and volumes add to each list line of a container of it, about.
   * @param listsPorts whether the container lists the image's ports: only one that has a network
   *     namespace of its own off the host's does (a pod's lone container on the bridge); one on the
   *     host's network or in a sandbox's lists none (Docker 20.10, checked by hand)
   */
  public long portAndVolumeBytes(boolean listsPorts) {
    return (listsPorts ? exposedPorts * PORT_BYTES : 0) + volumeBytes;
  }

  /** The bytes of the volumes' paths as a list line carries them, with what Docker adds for each. */
  public static long volumeBytes(java.util.Collection<String> paths) {
    long n = 0;
    for (String p : paths) {
      n += VOLUME_BYTES + jsonBytes(p);
    }
    return n;
  }

  /**
   * The most bytes of the image's entrypoint and command a container of it may take over (those
   * the pod's {@code command} and {@code args} do not replace): every list of the node's containers
   * carries each container's command line in full, so a container of an image with 250 KiB of
   * entrypoint (within {@link #MAX_SETTINGS_BYTES}) made a list line of 250 KiB, and 17 of them a
   * list over the 4 MiB the agent reads: every pass of the node failed (helper-88). With labels
   * (at most {@link #MAX_LABEL_BYTES}) and exposed ports and volumes ({@link #MAX_PORTS_AND_VOLUMES_BYTES}) a
   * list of about 85 containers of such images stays within it.
   * Real images carry well under a KiB.
   */
  public static final int MAX_COMMAND_BYTES = 16 * 1024;

  /** The bytes of the image's entrypoint and command a container takes over, given the pod's own command and args. */
  public long inheritedCommandBytes(boolean podCommand, boolean podArgs) {
    return (podCommand ? 0 : entrypointBytes) + (podCommand || podArgs ? 0 : cmdBytes);
  }

  /**
   * The least time between two runs of an image's HEALTHCHECK, as a probe's least period in
   * Kubernetes: Docker allows a millisecond, and an image asking for that had the daemon, containerd
   * and runc run about 15 execs a second, most of a core outside the pod's limits.
   */
  public static final long MIN_HEALTH_INTERVAL_NANOS = 1_000_000_000L;

  /** The timing its containers get instead of the image's where the image's is too frequent; null when it is not. */
  public ContainerSpec.HealthTiming healthFloor() {
    boolean interval = healthIntervalNanos > 0 && healthIntervalNanos < MIN_HEALTH_INTERVAL_NANOS;
    boolean start = healthStartIntervalNanos > 0 && healthStartIntervalNanos < MIN_HEALTH_INTERVAL_NANOS;
    return interval || start ? new ContainerSpec.HealthTiming(interval ? MIN_HEALTH_INTERVAL_NANOS : null,
        start ? MIN_HEALTH_INTERVAL_NANOS : null) : null;
  }

  /**
   * The most bytes of environment, command, entrypoint, HEALTHCHECK test, working directory and
   * user an image may carry for the agent to run it: a container's inspect carries them, and one
   * over the 4 MiB the agent reads of an answer is known only by its list line (no start time: no
   * probe runs). Real images carry a few KiB. Before 2026-12-06 the test, working directory and user
   * were not counted, and an image of megabytes of any of them was run (helper-116).
   */
  public static final int MAX_SETTINGS_BYTES = 256 * 1024;

  /** The bytes of these strings as Docker's JSON carries them. */
  public static long jsonBytes(java.util.Collection<String> strings) {
    long n = 0;
    for (String s : strings) {
      n += jsonBytes(s) + 3; // quotes and a comma
    }
    return n;
  }

  /**
   * The most bytes of labels (keys and values) an image may carry for the agent to run it: every
   * list and event of its containers carries them all, into a 48 MiB heap (a list of 256 such
   * containers stays within the 4 MiB the agent reads of an answer; about 85 with the command
   * lines, ports and volumes {@link #MAX_COMMAND_BYTES} and {@link #MAX_PORTS_AND_VOLUMES_BYTES} allow).
   */
  public static final int MAX_LABEL_BYTES = 16 * 1024;

  /** The bytes of its labels' keys and values as Docker's JSON answers carry them (a control character or U+2028 escaped: 6). */
  public long labelBytes() {
    long n = 0;
    for (var e : labels.entrySet()) {
      n += jsonBytes(e.getKey()) + jsonBytes(e.getValue());
    }
    return n;
  }

  static long jsonBytes(String s) {
    long n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      // as Docker's encoder writes them: control characters and the line separators as \\uXXXX, quote and backslash escaped
      n += c < 0x20 || c == '\u2028' || c == '\u2029' ? 6 : c == '"' || c == '\\' ? 2
          : c < 0x80 ? 1 : c < 0x800 || Character.isSurrogate(c) ? 2 : 3;
    }
    return n;
  }

  /** Whether the image carries the agent's ownership labels (which would make its containers look like the agent's). */
  public boolean hasOwnershipLabels() {
    return labels.keySet().stream().anyMatch(k -> k.startsWith(Labels.PREFIX));
  }
}
