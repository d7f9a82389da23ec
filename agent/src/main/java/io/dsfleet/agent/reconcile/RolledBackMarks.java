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
   * Whether {@code dir}, marked for another template than {@code pod}'s, is kept: a container of
   * {@code pod}'s template that an agent marking none made ({@link #madeInIt}) runs among {@code
   * observed} (the pod's containers as listed), so its template runs in it already. The directory
   * is then marked for {@code pod}'s template alone.
   */
  static boolean keep(DesiredPod pod, Path dir, List<OwnedContainer> observed) throws IOException {
    if (observed.stream().noneMatch(c -> madeInIt(pod, c))) {
      return false;
    }
    log.warn("pod {}: its directory {} is marked for another template, yet containers of its template {} were made in it (by an"
        + " agent that marks none: one before 2026-12-06, a rollback); its volumes are kept and marked for {}", pod.key(), dir, pod.hash(),
        pod.hash());
    TemplateMark.markAlone(dir, pod.hash(), pod.digest());
    return true;
  }

  /**
   * Whether {@code c} shows that {@code pod}'s template was moved into a directory another's mark
   * names: it is of the template, it runs, and it carries no digest label. An agent that labels
   * digests marks a directory before a template's first container and stops the containers of the
   * template it replaces before that mark, so a container of this template with a digest, or a
   * stopped one, in such a directory is from an earlier time of the same template: a rollout undone
   * (A, then B, then A again) while A's stopped containers were still there (the collector skips a
   * pod whose worker is busy, B's image pull for one; a removal Docker refused; the latest runs of
   * a desired pod are kept once A is desired again), or an agent killed between B's mark and B's
   * first container and started again on A. Until a fix of 2026-12-06 any container of the
   * template, in any state, counted, and the directory of the template between (its Secrets'
   * files, what its containers wrote) was kept for the template rolled back to (helper-168;
   * {@code RolledBackAgentTest.aTemplateRolledBackToStartsWithFreshVolumesThoughItsOldContainersStay}).
   */
  static boolean madeInIt(DesiredPod pod, OwnedContainer c) {
    return c.running() && c.digest() == null && pod.runs(c);
  }
}
