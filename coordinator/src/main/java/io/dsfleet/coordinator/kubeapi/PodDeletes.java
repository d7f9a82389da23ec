package io.dsfleet.coordinator.kubeapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.fleet.Fleet;
import java.io.IOException;
import java.time.Clock;

/**
 * kubectl delete pod: the pod is replaced at its DaemonSet's current revision, as dsctl delete
 * pod does (OnDelete's way to roll a node; otherwise a restart of the pod). Answered with the pod
 * as it was; its replacement takes the node's other pod name, so kubectl's wait for the deletion
 * ends when the pod has stopped.
 */
final class PodDeletes {
  private PodDeletes() {}

  /** The pod as it was (with a deletionTimestamp, unless a dry run): what the DELETE answers. */
  static ObjectNode delete(HttpExchange x, Fleet f, Clock clock, Target t) throws IOException {
    var found = io.dsfleet.coordinator.grpc.PodViews.of(f, t.namespace(), t.name(), null);
    if (found.isEmpty()) { // a Pending pod (not reported yet) is deleted too, as dsctl delete pod does
      throw new ControlException(io.grpc.Status.Code.NOT_FOUND, "pods \"" + t.name() + "\" not found");
    }
    var v = found.get(0);
    var ds = f.daemonSets().stream().filter(d -> d.namespace().equals(t.namespace()) && d.name().equals(v.getStatus().getDaemonSet()))
        .findFirst().orElse(null);
    ObjectNode pod = KubeObjects.pod(v, ds);
    JsonNode options = DeleteOptions.checked(KubeApi.body(x));
    if (KubeApi.param(x, "gracePeriodSeconds") != null || (options != null && options.hasNonNull("gracePeriodSeconds"))) {
      // refused, not ignored: before 2026-12-06 `--grace-period=300` stopped the pod with its own 30 s, `--force
      // --grace-period=0` printed "force deleted" over a pod that stopped as gracefully as ever
      throw KubeWrites.KubeError.of(400, "BadRequest", "gracePeriodSeconds is not served by the dsfleet coordinator: a pod stops"
          + " with its template's terminationGracePeriodSeconds; delete it without --grace-period, --now or --force");
    }
    checkPreconditions(t.name(), pod, options == null ? null : options.get("preconditions"));
    if (!KubeApi.dryRunAsked(x, options)) {
      f.deletePod(t.namespace(), t.name());
      pod.with("metadata").put("deletionTimestamp", KubeObjects.timestamp(clock.millis()));
    }
    return pod;
  }

  /**
   * DeleteOptions' preconditions, as Kubernetes checks them: another uid is 409 Conflict, nothing
   * deleted. A pod keeps no resourceVersion here, so one named is refused (422) rather than taken
   * as held. Before 2026-12-06 they were not read, and the pod was deleted whatever they said.
   */
  static void checkPreconditions(String name, ObjectNode pod, JsonNode preconditions) {
    if (preconditions == null || preconditions.isNull()) {
      return;
    }
    if (preconditions.hasNonNull("resourceVersion")) {
      throw KubeWrites.KubeError.of(422, "Invalid", "Pod \"" + name + "\" is invalid: preconditions.resourceVersion: the dsfleet"
          + " coordinator keeps no version of a pod to check a delete against: delete it without one (a uid precondition is"
          + " checked)");
    }
    JsonNode uid = preconditions.get("uid");
    String is = pod.path("metadata").path("uid").asText();
    if (uid != null && !uid.isNull() && !uid.asText().equals(is)) {
      throw KubeWrites.KubeError.of(409, "Conflict", "Operation cannot be fulfilled on pods \"" + name + "\": Precondition failed:"
          + " UID in precondition: " + uid.asText() + ", UID in object meta: " + is);
    }
  }
}
