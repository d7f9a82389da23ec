package io.dsfleet.agent.runtime;

import java.util.List;
import java.util.Map;

/**
 * Everything needed to create one container, in runtime terms (already resolved from the pod
 * spec: env values, mount sources, user, ...).
 *
 * @param networkMode "host", "bridge", or "container:ID"
 * @param ipcMode "host", "shareable", "private" or "container:ID"
 * @param pidMode "host" or null
 * @param user "uid", "uid:gid" or null for the image's
 * @param nanoCpus cpu limit in 1e-9 CPUs, 0 for none
 * @param memoryBytes memory limit, 0 for none (the same limit caps memory plus swap: no swap)
 * @param cpuShares relative cpu weight from the cpu request, 0 for the default
 * @param securityOpts Docker security options (no-new-privileges, seccomp=..., label=...)
 * @param health the image's HEALTHCHECK turned off or made slower where it is too frequent, null to keep the image's
 */
public record ContainerSpec(
    String name,
    String image,
    List<String> entrypoint,
    List<String> cmd,
    String workingDir,
    Map<String, String> env,
    Map<String, String> labels,
    List<Mount> mounts,
    List<PortBinding> ports,
    String networkMode,
    String ipcMode,
    String pidMode,
    boolean privileged,
    List<String> capAdd,
    List<String> capDrop,
    String user,
    List<String> groupAdd,
    boolean readOnlyRootfs,
    List<String> securityOpts,
    long nanoCpus,
    long memoryBytes,
    long cpuShares,
    boolean tty,
    boolean stdin,
    String hostname,
    HealthTiming health) {

  /** A bind mount. propagation: "rslave", "rshared" or null for the runtime's default (private; slave inside Docker's data root). */
  public record Mount(String source, String target, boolean readOnly, String propagation) {}

  public record PortBinding(int containerPort, int hostPort, String protocol, String hostIp) {}

  /**
   * How often Docker runs an image's HEALTHCHECK, where the container sets it: the interval and
   * the start period's interval in nanoseconds, null to inherit the image's (its test, timeout and
   * retries are always inherited); or {@code off}: never (Docker's {@code NONE}), for a container
   * whose readiness nothing takes from it.
   */
  public record HealthTiming(boolean off, Long intervalNanos, Long startIntervalNanos) {
    /** The image's check not run at all. */
    public static final HealthTiming OFF = new HealthTiming(true, null, null);

    public HealthTiming(Long intervalNanos, Long startIntervalNanos) {
      this(false, intervalNanos, startIntervalNanos);
    }
  }
}
