package io.dsfleet.agent.runtime;

import io.dsfleet.common.manifest.Names;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A container the agent owns, its labels checked: anything read back from Docker may have been
 * written by someone else (a container run from an image that carries our labels, another tool on
 * the host), and these values end up in host paths and in decisions to stop and remove. A
 * container whose labels fail a check is not the agent's: never stopped, removed or reported.
 */
public record OwnedContainer(ContainerInfo info, String namespace, String daemonSet, String pod, String container, String role,
    String hash, String digest, int restarts, int attempt, Long graceSeconds, int streak) {
  private static final Pattern HASH = Pattern.compile("[a-z0-9]{1,64}");
  private static final Pattern DIGEST = Pattern.compile("[0-9a-f]{64}");

  /** The container as the agent's, or empty (with why in {@code reject}) when it is not. */
  public static Optional<OwnedContainer> of(ContainerInfo c, String node, StringBuilder reject) {
    String why = check(c, node);
    if (why != null) {
      reject.append(why);
      return Optional.empty();
    }
    String grace = c.label(Labels.GRACE);
    int restarts = (int) number(c.label(Labels.RESTARTS));
    return Optional.of(new OwnedContainer(c, c.label(Labels.NAMESPACE), c.label(Labels.DAEMON_SET), c.label(Labels.POD),
        c.label(Labels.CONTAINER), c.label(Labels.ROLE), c.label(Labels.HASH), c.label(Labels.DIGEST), restarts,
        c.label(Labels.ATTEMPT) == null ? 0 : (int) number(c.label(Labels.ATTEMPT)), grace == null ? null : number(grace),
        c.label(Labels.STREAK) == null ? restarts : (int) number(c.label(Labels.STREAK))));
  }

  /** Why these labels, on a container this agent creates, would not pass for its own; null when they would. */
  public static String check(java.util.Map<String, String> labels, String node) {
    return check(new ContainerInfo("", "", labels, "created", 0, null, null, null, null, null, "", false), node);
  }

  /**
   * The pod ("namespace/pod") of a container whose image's labels are not known ({@link ContainerInfo#imageLabelsUnknown})
   * and whose own labels pass every check for this node: a container the agent most likely made, which it must neither
   * act on nor take for missing; null for any other container.
   */
  public static String heldPod(ContainerInfo c, String node) {
    if (c.imageLabelsUnknown() == null) {
      return null;
    }
    ContainerInfo known = new ContainerInfo(c.id(), c.name(), c.labels(), c.state(), c.exitCode(), c.created(), c.startedAt(),
        c.finishedAt(), c.health(), c.ip(), c.error(), false);
    return check(known, node) == null ? known.label(Labels.NAMESPACE) + "/" + known.label(Labels.POD) : null;
  }

  static String check(ContainerInfo c, String node) {
    if (c.imageLabelsUnknown() != null) {
      return "whether its image carries io.dsfleet.* labels is not known: " + c.imageLabelsUnknown();
    }
    if (c.imageHasOwnershipLabels()) {
      return "its image carries io.dsfleet.* labels";
    }
    if (!"true".equals(c.label(Labels.MANAGED)) || !node.equals(c.label(Labels.NODE))) {
      return "not labelled for this node";
    }
    String bad = name(c, Labels.NAMESPACE, true);
    bad = bad != null ? bad : name(c, Labels.POD, false);
    bad = bad != null ? bad : name(c, Labels.DAEMON_SET, false);
    if (bad != null) {
      return bad;
    }
    String role = String.valueOf(c.label(Labels.ROLE));
    if (!role.equals(Labels.SANDBOX) && !role.equals(Labels.INIT) && !role.equals(Labels.APP)) {
      return "label " + Labels.ROLE + " is not sandbox, init or app";
    }
    String container = String.valueOf(c.label(Labels.CONTAINER));
    if (role.equals(Labels.SANDBOX) ? !container.equals("POD") : Names.dns1123Label(container) != null) {
      return "label " + Labels.CONTAINER + " is not a container name";
    }
    if (!HASH.matcher(String.valueOf(c.label(Labels.HASH))).matches()) {
      return "label " + Labels.HASH + " is not a template hash";
    }
    if (c.label(Labels.DIGEST) != null && !DIGEST.matcher(c.label(Labels.DIGEST)).matches()) {
      return "label " + Labels.DIGEST + " is not a template digest (64 lowercase hex digits of SHA-256)";
    }
    for (String key : new String[] {Labels.RESTARTS, Labels.ATTEMPT, Labels.STREAK}) {
      String v = c.label(key);
      if ((v != null || key.equals(Labels.RESTARTS)) && (number(v) < 0 || number(v) > 999_999)) {
        return "label " + key + " is not a number below a million";
      }
    }
    if (c.label(Labels.GRACE) != null && number(c.label(Labels.GRACE)) < 0) {
      return "label " + Labels.GRACE + " is not a number";
    }
    return null;
  }

  private static String name(ContainerInfo c, String key, boolean label) {
    String v = c.label(key);
    if (v == null) {
      return "label " + key + " is missing";
    }
    String bad = label ? Names.dns1123Label(v) : Names.dns1123Subdomain(v);
    return bad == null ? null : "label " + key + " is not a name: " + bad;
  }

  /** A non-negative number of at most 18 digits, or -1. */
  private static long number(String v) {
    if (v == null || v.isEmpty() || v.length() > 18 || !v.chars().allMatch(Character::isDigit)) {
      return -1;
    }
    return Long.parseLong(v);
  }

  /**
   * Whether {@code other} is of this container's template: the same hash, and the same digest where
   * both carry one (a container made by an agent before 2026-12-06 has none: by hash alone).
   */
  public boolean sameTemplate(OwnedContainer other) {
    return hash.equals(other.hash()) && (digest == null || other.digest() == null || digest.equals(other.digest()));
  }

  /** "namespace/pod": pods are unique per namespace, as in Kubernetes. */
  public String podKey() {
    return namespace + "/" + pod;
  }

  public String id() {
    return info.id();
  }

  public boolean running() {
    return info.running();
  }

  public boolean isSandbox() {
    return Labels.SANDBOX.equals(role);
  }

  /** Created but never started: the runtime refused to start it, or its start is still to come ({@link #startToCome}). */
  public boolean neverStarted() {
    return !info.running() && info.startedAt() == null;
  }

  /**
   * Created, its start not yet asked or not yet answered: never started, no error and no exit code (a pass
   * can see it between a pod's create and start, which its pod's worker makes meanwhile). Not a failure.
   */
  public boolean startToCome() {
    return neverStarted() && (info.error() == null || info.error().isEmpty()) && info.exitCode() == 0;
  }
}
