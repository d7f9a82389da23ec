package io.dsfleet.agent.state;

import io.dsfleet.common.ReleasedPods;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The text of {@code STATE_DIR/orphans}, the pods released to run on unmanaged: one entry a line,
 * "namespace/name" (or a name alone, as coordinators before 2026-12-05 released them), then, for
 * each released pod recorded by namespace and name, its name alone below {@link #FOR_OLDER_AGENTS}.
 *
 * <p>Agents before 2026-12-05 read a line that is a pod name and drop every other: a file of
 * "namespace/name" lines alone was an empty one to them, and an agent rolled back to such a build
 * removed every released pod at its first pass, before its coordinator sent the releases again by
 * name (found on a real fleet with the build of 2026-12-04, helper-161). They read the names below
 * the marker (the marker itself is no pod name, so they drop it); this agent reads nothing below it,
 * so a pod released in one namespace never stands for the pod of that name in another.
 */
final class OrphansFile {
  /** The line after which only names for older agents follow. */
  static final String FOR_OLDER_AGENTS = "# the same pods by name alone, for agents before 2026-12-05 (this agent reads no further)";

  private OrphansFile() {}

  static String format(Set<String> pods) {
    StringBuilder text = new StringBuilder();
    pods.forEach(p -> text.append(p).append('\n'));
    Set<String> names = new TreeSet<>();
    pods.stream().filter(p -> p.indexOf('/') >= 0).map(ReleasedPods::name).filter(n -> !pods.contains(n)).forEach(names::add);
    if (!names.isEmpty()) {
      text.append(FOR_OLDER_AGENTS).append('\n');
      names.forEach(n -> text.append(n).append('\n'));
    }
    return text.toString();
  }

  /** The entries of the file's lines above the marker; lines that are neither a pod name nor "namespace/name" are dropped. */
  static Set<String> parse(List<String> lines) {
    Set<String> pods = new TreeSet<>();
    for (String l : lines) {
      if (l.equals(FOR_OLDER_AGENTS)) {
        break;
      }
      if (!l.isEmpty() && ReleasedPods.valid(l)) {
        pods.add(l);
      }
    }
    return pods;
  }
}
