package io.dsfleet.agent.pod;

import io.dsfleet.agent.runtime.ContainerSpec;
import io.dsfleet.agent.runtime.Labels;
import io.dsfleet.common.Quantities;
import io.dsfleet.common.model.Container;
import io.dsfleet.common.model.ContainerPort;
import io.dsfleet.common.model.PodSecurityContext;
import io.dsfleet.common.model.PodSpec;
import io.dsfleet.common.model.SELinuxOptions;
import io.dsfleet.common.model.SeccompProfile;
import io.dsfleet.common.model.SecurityContext;
import io.dsfleet.common.model.VolumeMount;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders a pod into Docker terms, pure: volumes, subPaths and profiles are resolved before. A pod is a sandbox container (the pause image) holding the
 * pod's network and IPC namespaces, its hostname and its published ports, plus one container per
 * init and app container joined to it, as the kubelet does with its pause container; a pod of one
 * container is that container alone ({@link #needsSandbox}).
 */
public final class PodRenderer {
  private PodRenderer() {}

  /** The host's CPUs, as Docker counts them for the range of a CPU limit it accepts. */
  private static final int HOST_CPUS = Runtime.getRuntime().availableProcessors();

  /**
   * A CPU limit as Docker takes it: Docker refuses one above the host's CPUs or below 10m, where
   * the kubelet runs the container (its CFS quota has a floor of 1 ms a 100 ms period, and a limit
   * above the host's CPUs limits nothing); so the limit is brought into that range. 0: none.
   */
  static long nanoCpus(long millis, int hostCpus) {
    if (millis <= 0) {
      return 0;
    }
    return Math.max(10, Math.min(millis, hostCpus * 1000L)) * 1_000_000L;
  }

  /** CPU shares from a request, in the kubelet's range (2 to 262,144: runc refuses more). */
  static long shares(long requestMillis) {
    return Math.max(2, Math.min(262_144, Math.min(requestMillis, 1_000_000L) * 1024 / 1000)); // min first: never overflows
  }

  /**
   * A container's name: {@code dsf_POD_NAMESPACE_CONTAINER_RUN_SUFFIX}. The random suffix makes every
   * container a fresh name, so a dead container the runtime cannot remove, or a container someone
   * else created under a name the agent would use, never stands in the way. The agent finds its
   * containers by their labels, never by name.
   */
  public static String name(PodContext ctx, String container, int run, String suffix) {
    return "dsf_" + ctx.podName() + "_" + ctx.namespace() + "_" + container + "_" + run + "_" + suffix;
  }

  public static Map<String, String> labels(PodContext ctx, String container, String role, int restarts, int attempt, int streak) {
    Map<String, String> l = new LinkedHashMap<>();
    l.put(Labels.MANAGED, "true");
    l.put(Labels.NODE, ctx.node());
    l.put(Labels.NAMESPACE, ctx.namespace());
    l.put(Labels.DAEMON_SET, ctx.daemonSet());
    l.put(Labels.POD, ctx.podName());
    l.put(Labels.CONTAINER, container);
    l.put(Labels.HASH, ctx.hash());
    if (ctx.digest() != null) {
      l.put(Labels.DIGEST, ctx.digest());
    }
    l.put(Labels.ROLE, role);
    l.put(Labels.RESTARTS, String.valueOf(restarts));
    l.put(Labels.ATTEMPT, String.valueOf(attempt));
    if (!Labels.SANDBOX.equals(role)) {
      l.put(Labels.STREAK, String.valueOf(streak));
    }
    Long grace = ctx.template().spec().terminationGracePeriodSeconds();
    l.put(Labels.GRACE, String.valueOf(grace == null ? 30 : grace));
    return l;
  }

  /**
   * Whether the pod needs a sandbox. One app container and no init containers share namespaces with
   * nothing, so the container runs alone (one container for Docker to make and start instead of
   * two, one after the other): on the host's network with the host's network, hostname and ports;
   * on the bridge with its own network, hostname and published ports. Except a bridge container
   * whose environment asks for its pod's IP ({@code status.podIP}): a container's IP is known only
   * once it runs, a sandbox's before the container is made. docs/agent.md says what such a pod
   * keeps and loses.
   */
  public static boolean needsSandbox(PodSpec pod) {
    if (!list(pod.initContainers()).isEmpty() || pod.containers().size() != 1) {
      return true;
    }
    return !Boolean.TRUE.equals(pod.hostNetwork()) && list(pod.containers().get(0).env()).stream()
        .anyMatch(e -> e.valueFrom() != null && e.valueFrom().fieldRef() != null && "status.podIP".equals(e.valueFrom().fieldRef().fieldPath()));
  }

  /** The pod's sandbox number {@code attempt}. */
  public static ContainerSpec sandbox(PodContext ctx, String image, int attempt, String suffix) {
    PodSpec pod = ctx.template().spec();
    boolean hostNetwork = Boolean.TRUE.equals(pod.hostNetwork());
    return new ContainerSpec(name(ctx, "POD", attempt, suffix), image, List.of("/pause"), List.of(), null, Map.of(),
        labels(ctx, "POD", Labels.SANDBOX, 0, attempt, 0), List.of(), hostPorts(pod), hostNetwork ? "host" : "bridge",
        Boolean.TRUE.equals(pod.hostIPC()) ? "host" : "shareable", Boolean.TRUE.equals(pod.hostPID()) ? "host" : null,
        false, List.of(), List.of(), null, List.of(), true, List.of("no-new-privileges"), 0, 0, 0, false, false,
        hostNetwork ? null : hostname(ctx.podName()), null);
  }

  /** The ports the pod publishes on the host: none on the host's network (its ports are the host's already). */
  private static List<ContainerSpec.PortBinding> hostPorts(PodSpec pod) {
    List<ContainerSpec.PortBinding> ports = new ArrayList<>();
    if (!Boolean.TRUE.equals(pod.hostNetwork())) {
      for (Container c : pod.containers()) {
        for (ContainerPort p : list(c.ports())) {
          if (p.hostPort() != null && p.hostPort() > 0) {
            ports.add(new ContainerSpec.PortBinding(p.containerPort(), p.hostPort(), p.protocol() == null ? "TCP" : p.protocol(),
                p.hostIP() == null || p.hostIP().isEmpty() ? null : p.hostIP()));
          }
        }
      }
    }
    return ports;
  }

  /** The pod's hostname: its name, cut to 63 characters without a trailing '-' or '.', as the kubelet does (a hostname is at most 64 bytes). */
  static String hostname(String podName) {
    if (podName.length() <= 63) {
      return podName;
    }
    return podName.substring(0, 63).replaceAll("[-.]+$", "");
  }

  /**
   * @param restarts the run number of this container (0 for the first)
   * @param streak crashes in a row before this run
   * @param image the image to create it from: its id, as checked (a tag could move between check and create)
   * @param sandboxId the running sandbox to join; null for a pod without one ({@link #needsSandbox}): its own IPC namespace, and on the
   *     host's network or on the bridge with the pod's hostname and published ports
   * @param attempt the sandbox's attempt (a pod without one: the attempt its runs are labelled with)
   * @param podIp the sandbox's IP (the host's with hostNetwork; null on the bridge without a sandbox: not known before it runs)
   * @param mounts the container's bind mounts, resolved by {@link Volumes#mounts}
   * @param imageUser the image's configured user, for runAsNonRoot
   * @param seccompProfile the content of a Localhost seccomp profile, or null
   * @param health the image's HEALTHCHECK timing ({@link io.dsfleet.agent.runtime.ImageInfo#healthFloor}), turned off here where
   *     nothing reads it ({@link #health})
   */
  public static ContainerSpec container(PodContext ctx, Container c, String role, int restarts, int streak, String sandboxId, int attempt,
      String image, String podIp, List<ContainerSpec.Mount> mounts, String imageUser, String seccompProfile, String suffix,
      ContainerSpec.HealthTiming health) {
    PodSpec pod = ctx.template().spec();
    Map<String, String> env = Env.build(ctx, c, podIp);
    SecurityContext sc = c.securityContext();
    PodSecurityContext psc = pod.securityContext();

    Long uid = sc != null && sc.runAsUser() != null ? sc.runAsUser() : psc == null ? null : psc.runAsUser();
    Long gid = sc != null && sc.runAsGroup() != null ? sc.runAsGroup() : psc == null ? null : psc.runAsGroup();
    Boolean nonRoot = sc != null && sc.runAsNonRoot() != null ? sc.runAsNonRoot() : psc == null ? null : psc.runAsNonRoot();
    if (Boolean.TRUE.equals(nonRoot)) {
      verifyNonRoot(uid, imageUser);
    }
    String user = null;
    if (uid != null) {
      user = gid == null ? String.valueOf(uid) : uid + ":" + gid;
    } else if (gid != null) {
      String imageUid = imageUser == null ? "" : imageUser.split(":", -1)[0];
      imageUid = imageUid.isEmpty() ? "0" : imageUid;
      user = imageUid + ":" + gid;
    }
    List<String> groups = new ArrayList<>();
    if (psc != null && psc.fsGroup() != null) {
      groups.add(String.valueOf(psc.fsGroup()));
    }
    if (psc != null && psc.supplementalGroups() != null) {
      psc.supplementalGroups().forEach(g -> groups.add(String.valueOf(g)));
    }

    List<String> securityOpts = new ArrayList<>();
    boolean privileged = sc != null && Boolean.TRUE.equals(sc.privileged());
    if (sc != null && Boolean.FALSE.equals(sc.allowPrivilegeEscalation())) {
      securityOpts.add("no-new-privileges");
    }
    SeccompProfile seccomp = sc != null && sc.seccompProfile() != null ? sc.seccompProfile() : psc == null ? null : psc.seccompProfile();
    if (seccomp != null && !privileged) {
      switch (seccomp.type()) {
        case "Unconfined" -> securityOpts.add("seccomp=unconfined");
        case "Localhost" -> securityOpts.add("seccomp=" + seccompProfile);
        default -> { } // RuntimeDefault: Docker's default profile
      }
    }
    SELinuxOptions se = sc != null && sc.seLinuxOptions() != null ? sc.seLinuxOptions() : psc == null ? null : psc.seLinuxOptions();
    if (se != null) {
      if (se.user() != null) {
        securityOpts.add("label=user:" + se.user());
      }
      if (se.role() != null) {
        securityOpts.add("label=role:" + se.role());
      }
      if (se.type() != null) {
        securityOpts.add("label=type:" + se.type());
      }
      if (se.level() != null) {
        securityOpts.add("label=level:" + se.level());
      }
    }

    long nanoCpus = 0;
    long memory = 0;
    Map<String, String> limits = c.resources() == null || c.resources().limits() == null ? Map.of() : c.resources().limits();
    Map<String, String> requests = c.resources() == null || c.resources().requests() == null ? Map.of() : c.resources().requests();
    if (limits.containsKey("cpu")) {
      nanoCpus = nanoCpus(Quantities.cpuMillis(limits.get("cpu")), HOST_CPUS);
    }
    if (limits.containsKey("memory")) {
      memory = Quantities.bytes(limits.get("memory"));
    }
    // the request's shares, the limit's when no request is given, as the kubelet's generateLinuxContainerResources. A
    // container that asks for no CPU (no request and no limit, or a request of 0) keeps Docker's default weight, not the
    // kubelet's 2: the kubelet's 2 weighs it against other pods inside kubepods, a parent weighted against the host's
    // services; here a pod's container sits beside those services (and beside other containers) with no such parent, and at
    // 2 (cgroup v2's weight 1 against a service's 100) a node agent like metallb-speaker or a log shipper would starve
    // behind every host service under load (helper-207's review of a change of the same day that set 2)
    long requestMillis = requests.containsKey("cpu") ? Quantities.cpuMillis(requests.get("cpu")) : -1;
    long shares = requestMillis > 0 ? shares(requestMillis)
        : requestMillis < 0 && limits.containsKey("cpu") ? shares(Quantities.cpuMillis(limits.get("cpu"))) : 0;

    // command replaces the image entrypoint (and drops its CMD); args replace CMD
    // an empty list is none, as Kubernetes stores it (`command: []` keeps the image's entrypoint; Docker's Entrypoint [] would drop it)
    Env.Budget line = new Env.Budget("the command and args of container " + c.name(), Env.MAX_COMMAND_CHARS);
    List<String> entrypoint = Env.expand(c.command() == null || c.command().isEmpty() ? null : c.command(), env, line);
    List<String> cmd = Env.expand(c.args() == null || c.args().isEmpty() ? null : c.args(), env, line);
    if (entrypoint != null && cmd == null) {
      cmd = List.of();
    }
    String joined = sandboxId == null ? null : "container:" + sandboxId;
    boolean hostNetwork = Boolean.TRUE.equals(pod.hostNetwork());
    boolean alone = joined == null;
    return new ContainerSpec(name(ctx, c.name(), restarts, suffix), image, entrypoint, cmd, c.workingDir(), env,
        labels(ctx, c.name(), role, restarts, attempt, streak), mounts, alone ? hostPorts(pod) : List.of(),
        !alone ? joined : hostNetwork ? "host" : "bridge",
        Boolean.TRUE.equals(pod.hostIPC()) ? "host" : joined == null ? "private" : joined, Boolean.TRUE.equals(pod.hostPID()) ? "host" : null,
        privileged, sc != null && sc.capabilities() != null ? list(sc.capabilities().add()) : List.of(),
        sc != null && sc.capabilities() != null ? list(sc.capabilities().drop()) : List.of(), user, groups,
        sc != null && Boolean.TRUE.equals(sc.readOnlyRootFilesystem()), securityOpts, nanoCpus, memory, shares,
        Boolean.TRUE.equals(c.tty()), Boolean.TRUE.equals(c.stdin()), alone && !hostNetwork ? hostname(ctx.podName()) : null,
        health(c, role, health));
  }

  /**
   * The image's HEALTHCHECK as the container runs it: off where nothing reads it (an init
   * container, never ready; an app container with a readiness probe, which decides its readiness
   * instead), else as {@code floor} says. Docker runs each check as an exec in the container, its
   * dockerd, containerd and runc work outside the pod's limits: before 2026-12-06 it ran in every
   * container of such an image, at up to once a second each, whether or not anything read it
   * (helper-116).
   */
  static ContainerSpec.HealthTiming health(Container c, String role, ContainerSpec.HealthTiming floor) {
    return Labels.INIT.equals(role) || c.readinessProbe() != null ? ContainerSpec.HealthTiming.OFF : floor;
  }

  /**
   * runAsNonRoot as the kubelet checks it (verifyRunAsNonRoot): a runAsUser of 0 is refused; without
   * one, the image's user must be a number other than 0 ("00" is 0); a user name cannot be verified
   * without reading the image's passwd file, so it is refused too.
   */
  static void verifyNonRoot(Long runAsUser, String imageUser) {
    if (runAsUser != null) {
      if (runAsUser == 0) {
        throw new PodConfigError("CreateContainerConfigError", "container's runAsUser breaks non-root policy");
      }
      return;
    }
    String u = imageUser == null ? "" : imageUser.split(":", -1)[0];
    // as the kubelet's strconv.ParseInt: ASCII digits only (a Unicode digit, such as U+0660, is a
    // user *name* to runc, which /etc/passwd of the image may map to uid 0), within 64 bits
    if (!u.isEmpty() && (!u.matches("[0-9]{1,19}") || new java.math.BigInteger(u).bitLength() > 63)) {
      throw new PodConfigError("CreateContainerConfigError", "container has runAsNonRoot and image has non-numeric user (" + u
          + "), cannot verify user is non-root");
    }
    if (u.isEmpty() || Long.parseLong(u) == 0) {
      throw new PodConfigError("CreateContainerConfigError", "container has runAsNonRoot and image will run as root");
    }
  }

  private static <T> List<T> list(List<T> l) {
    return l == null ? List.of() : l;
  }
}
