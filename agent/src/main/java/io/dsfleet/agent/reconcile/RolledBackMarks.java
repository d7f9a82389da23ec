package io.dsfleet.agent.reconcile;

import io.dsfleet.agent.pod.TemplateMark;
import io.dsfleet.agent.runtime.OwnedContainer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pod directory whose template mark an agent that marks none left behind: the agent was rolled
 * back to a build before 2026-12-06, which moved the pod to a new template in the same directory
 * (as those agents kept volumes from template to template) and left the mark of the template
 * before. The mark then names another template while the current one's containers run with the
 * directory's volumes mounted. Taken for another template's directory it was moved to the trash
 * and emptied under them: a running pod's emptyDir, ConfigMap and Secret files gone, the pod still
 * Ready, its volumes' updates written to a new directory it never mounts (found by upgrading a
 * rolled-back agent again on a real fleet, helper-161).
 */
final class RolledBackMarks {
  private static final Logger log = LoggerFactory.getLogger(RolledBackMarks.class);

  private RolledBackMarks() {}

  /**
   * Whether {@code dir}, marked for another template than {@code pod}'s, is kept: containers of
   * {@code pod}'s template are among {@code observed} (the pod's containers as listed), so its
   * template runs in it already. The directory is then marked for {@code pod}'s template alone.
   */
  static boolean keep(DesiredPod pod, Path dir, List<OwnedContainer> observed) throws IOException {
    if (observed.stream().noneMatch(pod::runs)) {
      return false;
    }
    log.warn("pod {}: its directory {} is marked for another template, yet containers of its template {} were made in it (by an"
        + " agent that marks none: one before 2026-12-06, a rollback); its volumes are kept and marked for {}", pod.key(), dir, pod.hash(),
        pod.hash());
    TemplateMark.markAlone(dir, pod.hash(), pod.digest());
    return true;
  }
}
