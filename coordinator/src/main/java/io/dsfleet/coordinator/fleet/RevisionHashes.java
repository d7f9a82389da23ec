package io.dsfleet.coordinator.fleet;

import io.dsfleet.common.Json;
import io.dsfleet.common.TemplateHash;
import io.dsfleet.common.model.PodTemplateSpec;
import io.dsfleet.coordinator.fleet.FleetState.DsEntry;
import io.dsfleet.coordinator.store.Store.StoredRevision;

/**
 * The hash a template has among a DaemonSet's revisions, as Kubernetes' DaemonSet controller
 * finds one (constructHistory compares each ControllerRevision's data with the template; snapshot
 * bumps the collisionCount when a revision of the hash it wants holds another template): the
 * hash of the kept revision with this template, else the first of its hashes
 * ({@link TemplateHash#of(PodTemplateSpec, int)}) no kept revision holds. So two different
 * templates are never one revision, and a template applied again finds its own. Before, the
 * plain hash alone said which revision a template was, and a template sharing it with another
 * (40 bits: about 2^20 tries find a pair) was taken for that one: over the current revision no
 * revision was made and the fleet ran on the old template while the DaemonSet showed the new one.
 */
final class RevisionHashes {
  private RevisionHashes() {}

  /** @param e the DaemonSet as it is, or null when it does not exist yet */
  static String of(DsEntry e, PodTemplateSpec template) {
    if (e == null) {
      return TemplateHash.of(template);
    }
    String canonical = Json.canonical(template);
    for (StoredRevision r : e.revisions.values()) {
      if (r.templateJson().equals(canonical)) {
        return r.hash();
      }
    }
    for (int collisions = 0; ; collisions++) {
      String hash = TemplateHash.of(template, collisions);
      StoredRevision holder = holding(e, hash);
      // a revision stored as an older model wrote it (the same template in other text) is this template
      if (holder == null || sameTemplate(holder, canonical)) {
        return hash;
      }
    }
  }

  private static StoredRevision holding(DsEntry e, String hash) {
    for (StoredRevision r : e.revisions.values()) {
      if (r.hash().equals(hash)) {
        return r;
      }
    }
    return null;
  }

  private static boolean sameTemplate(StoredRevision r, String canonical) {
    return Json.canonical(Json.read(r.templateJson(), PodTemplateSpec.class)).equals(canonical);
  }
}
