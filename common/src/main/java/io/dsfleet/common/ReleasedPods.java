package io.dsfleet.common;

import io.dsfleet.common.manifest.Names;
import io.dsfleet.proto.v1.DesiredState;
import java.util.List;
import java.util.Set;

/**
 * Pods released by an orphan delete, as the coordinator and the agent record them: by key,
 * "namespace/name", or, as coordinators before 2026-12-05 released them, by name alone, which
 * stands for the pod of that name in any namespace (a DaemonSet of the same name in another
 * namespace has a pod of the same name on the node, and took such a release for its own).
 */
public final class ReleasedPods {
  private ReleasedPods() {}

  public static String key(String namespace, String name) {
    return namespace + "/" + name;
  }

  /** The entries that release the pod of this key ("namespace/name") and name: its key, or its name alone. */
  public static List<String> entries(String key, String name) {
    return List.of(key, name);
  }

  /** Whether {@code released} holds the pod of this key ("namespace/name") and name. */
  public static boolean holds(Set<String> released, String key, String name) {
    return entries(key, name).stream().anyMatch(released::contains);
  }

  /** The name of an entry ("namespace/name" or a name). */
  public static String name(String entry) {
    return entry.substring(entry.indexOf('/') + 1);
  }

  /** What a desired set releases: its keys, or the names of a coordinator that sends none. */
  public static List<String> of(DesiredState d) {
    return d.getOrphanedPodKeysCount() > 0 ? d.getOrphanedPodKeysList() : d.getOrphanedPodsList();
  }

  /** An entry a file may hold: a pod name, or a namespace and a pod name. */
  public static boolean valid(String entry) {
    int slash = entry.indexOf('/');
    if (slash < 0) {
      return Names.dns1123Subdomain(entry) == null;
    }
    return Names.dns1123Label(entry.substring(0, slash)) == null && Names.dns1123Subdomain(entry.substring(slash + 1)) == null;
  }
}
