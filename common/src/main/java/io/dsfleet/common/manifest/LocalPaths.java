package io.dsfleet.common.manifest;

import java.util.ArrayList;
import java.util.List;

/**
 * Relative paths inside a volume (a mount's {@code subPath}, a projected file's {@code path}, a
 * seccomp {@code localhostProfile} in its directory), as Kubernetes takes them: refused when
 * absolute or with a ".." part (its validateLocalDescendingPath), otherwise cleaned as the kubelet
 * cleans them before use ({@code "conf/"}, {@code "./conf"} and {@code "a//b"} are {@code "conf"},
 * {@code "conf"} and {@code "a/b"}). The coordinator validates and the agent acts with this one
 * rule, so a path the coordinator accepts is never refused on every node.
 */
public final class LocalPaths {
  private LocalPaths() {}

  /**
   * The path without empty and "." parts ({@code "./"} and {@code "."} are {@code ""}: the volume
   * itself), or null when it is absolute or has a ".." part.
   */
  public static String descending(String path) {
    if (path.startsWith("/")) {
      return null;
    }
    List<String> parts = parts(path);
    return parts.contains("..") ? null : String.join("/", parts);
  }

  /** The path's parts but empty and "." ones. */
  private static List<String> parts(String path) {
    List<String> parts = new ArrayList<>();
    for (String part : path.split("/")) {
      if (!part.isEmpty() && !part.equals(".")) {
        parts.add(part);
      }
    }
    return parts;
  }

  /**
   * A container's mount path as the runtime takes it: absolute, without empty and "." parts or a
   * trailing slash ({@code "d/"}, {@code "/d/"} and {@code "//d"} are {@code "/d"}). Kubernetes
   * accepts all of them (its runtime resolves a relative one in the container); Docker refuses a
   * relative one and two that clean to one path ("Duplicate mount point").
   */
  public static String mountPath(String path) {
    return "/" + String.join("/", parts(path));
  }

  /**
   * A file a volume's payload writes, cleaned, or null when it is no such path: besides {@link
   * #descending}, it names a file (not the volume itself) and does not start with ".." (the
   * volume's own {@code ..data} and timestamped directories are named so; Kubernetes'
   * validateLocalNonReservedPath).
   */
  public static String payloadFile(String path) {
    String clean = descending(path);
    return clean == null || clean.isEmpty() || clean.startsWith("..") ? null : clean;
  }
}
