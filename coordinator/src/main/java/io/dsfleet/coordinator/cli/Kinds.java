package io.dsfleet.coordinator.cli;

import io.dsfleet.proto.v1.ObjectKind;
import java.util.Map;

/** kubectl's resource names and short names. */
final class Kinds {
  private static final Map<String, ObjectKind> NAMES = Map.ofEntries(
      Map.entry("ds", ObjectKind.DAEMON_SET), Map.entry("daemonset", ObjectKind.DAEMON_SET), Map.entry("daemonsets", ObjectKind.DAEMON_SET),
      Map.entry("node", ObjectKind.NODE), Map.entry("nodes", ObjectKind.NODE), Map.entry("no", ObjectKind.NODE),
      Map.entry("pod", ObjectKind.POD), Map.entry("pods", ObjectKind.POD), Map.entry("po", ObjectKind.POD),
      Map.entry("configmap", ObjectKind.CONFIG_MAP), Map.entry("configmaps", ObjectKind.CONFIG_MAP), Map.entry("cm", ObjectKind.CONFIG_MAP),
      Map.entry("secret", ObjectKind.SECRET), Map.entry("secrets", ObjectKind.SECRET));

  private Kinds() {}

  static ObjectKind parse(String text) {
    ObjectKind k = NAMES.get(text.toLowerCase());
    if (k == null) {
      throw new ClientCommand.UsageException("the server doesn't have a resource type \"" + text
          + "\" (known: ds, nodes, pods, configmaps, secrets)");
    }
    return k;
  }

  /** "ds/NAME" or "daemonset/NAME" -> NAME. */
  static String dsRef(String ref) {
    int slash = ref.indexOf('/');
    if (slash < 0 || parse(ref.substring(0, slash)) != ObjectKind.DAEMON_SET || slash == ref.length() - 1) {
      throw new ClientCommand.UsageException("expected ds/NAME, got \"" + ref + "\"");
    }
    return ref.substring(slash + 1);
  }
}
