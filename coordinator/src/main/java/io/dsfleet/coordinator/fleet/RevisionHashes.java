package io.dsfleet.coordinator.fleet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
 *
 * <p>Templates are compared as Kubernetes' API server stores them ({@link #asStored}): a quantity in its canonical text
 * ("0.5" is "500m", "1024Mi" "1Gi"), a fieldRef's apiVersion "v1" when not given, the pod's securityContext {} when
 * not given, a container's resources without empty maps. Until 2026-12-08 they were compared as written, and an apply
 * of the same DaemonSet spelling a quantity otherwise (a chart's "0.5" for "500m", a manifest exported from Kubernetes)
 * made a new revision, which replaced every node's pod within maxUnavailable: in Kubernetes both are one stored
 * template, one ControllerRevision, and no pod is touched.
 */
final class RevisionHashes {
  private RevisionHashes() {}

  /** @param e the DaemonSet as it is, or null when it does not exist yet */
  static String of(DsEntry e, PodTemplateSpec template) {
    if (e == null) {
      return TemplateHash.of(template);
    }
    String canonical = Json.canonical(template);
    JsonNode stored = asStored(canonical);
    // the revision running now first, by its stored form: a store written before 2026-12-08 may keep an older revision
    // of the same stored template in the very text applied (a chart's 0.5 before an export's 500m), and until helper-203
    // that exact text won here, the older one was made the newest, and every node's pod was replaced by the same template
    if (!e.revisions.isEmpty() && asStored(e.current().templateJson()).equals(stored)) {
      return e.current().hash();
    }
    for (StoredRevision r : e.revisions.values()) {
      if (r.templateJson().equals(canonical)) {
        return r.hash();
      }
    }
    // the newest first: of two older kept revisions that differ only so (made before 2026-12-08), the later
    for (StoredRevision r : e.revisions.descendingMap().values()) {
      if (asStored(r.templateJson()).equals(stored)) {
        return r.hash();
      }
    }
    for (int collisions = 0; ; collisions++) {
      String hash = TemplateHash.of(template, collisions);
      StoredRevision holder = holding(e, hash);
      // a revision stored as an older model wrote it (the same template in other text) is this template
      if (holder == null || sameTemplate(holder, stored)) {
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

  private static boolean sameTemplate(StoredRevision r, JsonNode stored) {
    return asStored(Json.canonical(Json.read(r.templateJson(), PodTemplateSpec.class))).equals(stored);
  }

  /**
   * A DaemonSet's spec as Kubernetes' API server stores it, its template as {@link #asStored}: the generation moves only
   * where that changes (Catalog). Until 2026-12-08 the spec's text decided, so the same DaemonSet applied in another
   * spelling (500m for 0.5) moved it, and kubectl rollout status waited for a change that was none.
   */
  static JsonNode specAsStored(io.dsfleet.common.model.DaemonSetSpec spec) {
    ObjectNode tree = Json.mapper().valueToTree(spec);
    tree.set("template", asStored(Json.canonical(spec.template())));
    return tree;
  }

  /**
   * A template's JSON as Kubernetes' API server would store it, for comparison only (what is stored and sent to agents
   * stays the text applied first: agents know a revision by its bytes): defaults the server sets that dsfleet's model
   * keeps absent, and quantities in canonical text ({@link io.dsfleet.common.Quantities#canonical}).
   */
  static JsonNode asStored(String templateJson) {
    JsonNode t = Json.read(templateJson, JsonNode.class);
    if (t.get("spec") instanceof ObjectNode spec) {
      spec.putIfAbsent("securityContext", spec.objectNode());
      for (String list : new String[] {"initContainers", "containers"}) {
        for (JsonNode c : spec.path(list)) {
          if (c instanceof ObjectNode container && container.get("resources") instanceof ObjectNode resources) {
            for (String kind : new String[] {"limits", "requests"}) {
              quantities(resources, kind);
            }
            if (resources.isEmpty()) {
              container.remove("resources");
            }
          }
        }
      }
      for (JsonNode v : spec.path("volumes")) {
        if (v.get("emptyDir") instanceof ObjectNode dir && dir.get("sizeLimit") != null && dir.get("sizeLimit").isValueNode()) {
          dir.put("sizeLimit", canonical(dir.get("sizeLimit").asText()));
        }
      }
    }
    fieldRefs(t);
    return t;
  }

  private static void quantities(ObjectNode resources, String kind) {
    if (!(resources.get(kind) instanceof ObjectNode values)) {
      return;
    }
    if (values.isEmpty()) {
      resources.remove(kind);
      return;
    }
    values.properties().forEach(q -> {
      if (q.getValue().isValueNode()) {
        q.setValue(values.textNode(canonical(q.getValue().asText())));
      }
    });
  }

  /** The canonical text of a quantity, or the text itself when it is none (validation refused it before it came here). */
  private static String canonical(String quantity) {
    try {
      return io.dsfleet.common.Quantities.canonical(quantity);
    } catch (IllegalArgumentException e) {
      return quantity;
    }
  }

  /** A fieldRef without apiVersion has "v1", as Kubernetes' SetDefaults_ObjectFieldSelector gives it. */
  private static void fieldRefs(JsonNode node) {
    if (node instanceof ObjectNode o && o.get("fieldRef") instanceof ObjectNode ref && !ref.has("apiVersion")) {
      ref.put("apiVersion", "v1");
    }
    node.forEach(RevisionHashes::fieldRefs);
  }
}
