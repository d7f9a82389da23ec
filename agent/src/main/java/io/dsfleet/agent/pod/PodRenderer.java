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
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders a pod into Docker terms. A pod is a sandbox container (the pause image) holding the
 * pod's network and IPC namespaces, its hostname and its published ports, plus one container per
 * init and app container joined to it, as the kubelet does with its pause container.
 */
public final class PodRenderer {
  private PodRenderer() {}

  public static String sandboxName(PodContext ctx) {
    return "dsf_" + ctx.podName() + "_" + ctx.namespace() + "_POD";
  }

  public static String containerName(PodContext ctx, String container, int restarts) {
    return "dsf_" + ctx.podName() + "_" + ctx.namespace() + "_" + container + "_" + restarts;
  }

  public static Map<String, String> labels(PodContext ctx, String container, String role, int restarts) {
    Map<String, String> l = new LinkedHashMap<>();
    l.put(Labels.MANAGED, "true");
    l.put(Labels.NODE, ctx.node());
    l.put(Labels.NAMESPACE, ctx.namespace());
    l.put(Labels.DAEMON_SET, ctx.daemonSet());
    l.put(Labels.POD, ctx.podName());
    l.put(Labels.CONTAINER, container);
    l.put(Labels.HASH, ctx.hash());
    l.put(Labels.ROLE, role);
    l.put(Labels.RESTARTS, String.valueOf(restarts));
    return l;
  }

  public static ContainerSpec sandbox(PodContext ctx, String image) {
    PodSpec pod = ctx.template().spec();
    boolean hostNetwork = Boolean.TRUE.equals(pod.hostNetwork());
    List<ContainerSpec.PortBinding> ports = new ArrayList<>();
    if (!hostNetwork) {
      for (Container c : pod.containers()) {
        for (ContainerPort p : list(c.ports())) {
          if (p.hostPort() != null && p.hostPort() > 0) {
            ports.add(new ContainerSpec.PortBinding(p.containerPort(), p.hostPort(), p.protocol() == null ? "TCP" : p.protocol(),
                p.hostIP() == null || p.hostIP().isEmpty() ? null : p.hostIP()));
          }
        }
      }
    }
    return new ContainerSpec(sandboxName(ctx), image, List.of("/pause"), List.of(), null, Map.of(),
        labels(ctx, "POD", Labels.SANDBOX, 0), List.of(), ports, hostNetwork ? "host" : "bridge",
        Boolean.TRUE.equals(pod.hostIPC()) ? "host" : "shareable", Boolean.TRUE.equals(pod.hostPID()) ? "host" : null,
        false, List.of(), List.of(), null, List.of(), true, List.of("no-new-privileges"), 0, 0, 0, Map.of(), false, false,
        hostNetwork ? null : ctx.podName());
  }

  /**
   * @param sandboxId the running sandbox to join
   * @param podIp the sandbox's IP (the host's with hostNetwork)
   * @param imageUser the image's configured user, for runAsNonRoot
   * @param seccompDir where Localhost seccomp profiles live
   */
  public static ContainerSpec container(PodContext ctx, Container c, String role, int restarts, String sandboxId,
      String podIp, Map<String, Volumes.Source> volumes, String imageUser, Path seccompDir) {
    PodSpec pod = ctx.template().spec();
    Map<String, String> env = Env.build(ctx, c, podIp);
    SecurityContext sc = c.securityContext();
    PodSecurityContext psc = pod.securityContext();

    List<ContainerSpec.Mount> mounts = new ArrayList<>();
    Map<String, String> tmpfs = new HashMap<>();
    for (VolumeMount m : list(c.volumeMounts())) {
      Volumes.Source src = volumes.get(m.name());
      boolean ro = Boolean.TRUE.equals(m.readOnly());
      if (src.tmpfs()) {
        tmpfs.put(m.mountPath(), src.tmpfsOptions() + (ro ? ",ro" : ""));
        continue;
      }
      Path source = src.path();
      if (m.subPath() != null && !m.subPath().isEmpty()) {
        source = source.resolve(m.subPath()).normalize();
        if (!source.startsWith(src.path())) {
          throw new PodConfigError("CreateContainerConfigError", "subPath " + m.subPath() + " escapes its volume");
        }
        if (!Files.exists(source)) {
          try {
            Files.createDirectories(source);
          } catch (IOException e) {
            throw new PodConfigError("CreateContainerConfigError", "cannot create subPath " + source + ": " + e.getMessage());
          }
        }
      }
      String propagation = switch (m.mountPropagation() == null ? "None" : m.mountPropagation()) {
        case "HostToContainer" -> "rslave";
        case "Bidirectional" -> "rshared";
        default -> "rprivate";
      };
      mounts.add(new ContainerSpec.Mount(source.toString(), m.mountPath(), ro, propagation));
    }

    Long uid = sc != null && sc.runAsUser() != null ? sc.runAsUser() : psc == null ? null : psc.runAsUser();
    Long gid = sc != null && sc.runAsGroup() != null ? sc.runAsGroup() : psc == null ? null : psc.runAsGroup();
    Boolean nonRoot = sc != null && sc.runAsNonRoot() != null ? sc.runAsNonRoot() : psc == null ? null : psc.runAsNonRoot();
    if (Boolean.TRUE.equals(nonRoot)) {
      boolean root = uid != null ? uid == 0 : isRoot(imageUser);
      if (root) {
        throw new PodConfigError("CreateContainerConfigError", "container has runAsNonRoot and image will run as root");
      }
    }
    String user = null;
    if (uid != null) {
      user = gid == null ? String.valueOf(uid) : uid + ":" + gid;
    } else if (gid != null) {
      String imageUid = imageUser == null || imageUser.isEmpty() ? "0" : imageUser.split(":")[0];
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
        case "Localhost" -> {
          Path profile = seccompDir.resolve(seccomp.localhostProfile()).normalize();
          try {
            securityOpts.add("seccomp=" + Files.readString(profile));
          } catch (IOException e) {
            throw new PodConfigError("CreateContainerConfigError", "seccomp profile " + profile + " cannot be read: " + e.getMessage());
          }
        }
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
    long shares = 0;
    if (c.resources() != null) {
      Map<String, String> limits = c.resources().limits() == null ? Map.of() : c.resources().limits();
      Map<String, String> requests = c.resources().requests() == null ? Map.of() : c.resources().requests();
      if (limits.containsKey("cpu")) {
        nanoCpus = Quantities.cpuMillis(limits.get("cpu")) * 1_000_000L;
      }
      if (limits.containsKey("memory")) {
        memory = Quantities.bytes(limits.get("memory"));
      }
      String cpuRequest = requests.getOrDefault("cpu", limits.get("cpu"));
      if (cpuRequest != null) {
        shares = Math.max(2, Quantities.cpuMillis(cpuRequest) * 1024 / 1000);
      }
    }

    // command replaces the image entrypoint (and drops its CMD); args replace CMD
    List<String> entrypoint = Env.expand(c.command(), env);
    List<String> cmd = Env.expand(c.args(), env);
    if (entrypoint != null && cmd == null) {
      cmd = List.of();
    }
    String joined = "container:" + sandboxId;
    return new ContainerSpec(containerName(ctx, c.name(), restarts), c.image(), entrypoint, cmd, c.workingDir(), env,
        labels(ctx, c.name(), role, restarts), mounts, List.of(), joined,
        Boolean.TRUE.equals(pod.hostIPC()) ? "host" : joined, Boolean.TRUE.equals(pod.hostPID()) ? "host" : null,
        privileged, sc != null && sc.capabilities() != null ? list(sc.capabilities().add()) : List.of(),
        sc != null && sc.capabilities() != null ? list(sc.capabilities().drop()) : List.of(), user, groups,
        sc != null && Boolean.TRUE.equals(sc.readOnlyRootFilesystem()), securityOpts, nanoCpus, memory, shares, tmpfs,
        Boolean.TRUE.equals(c.tty()), Boolean.TRUE.equals(c.stdin()), null);
  }

  static boolean isRoot(String imageUser) {
    String u = imageUser == null ? "" : imageUser.split(":")[0];
    return u.isEmpty() || u.equals("root") || u.equals("0");
  }

  private static <T> List<T> list(List<T> l) {
    return l == null ? List.of() : l;
  }
}
