package io.dsfleet.coordinator.kubeapi;

import com.fasterxml.jackson.databind.JsonNode;

/** What a DELETE of a DaemonSet, ConfigMap or Secret asks of its dependents, as Kubernetes reads its DeleteOptions. */
final class DeleteOptions {
  private DeleteOptions() {}

  /**
   * A DELETE's body as DeleteOptions: none, or an object whose preconditions, if any, are an object;
   * otherwise 400, as Kubernetes refuses a body it cannot decode. Until 2026-12-08 a body of
   * another shape was read as no options, and preconditions given as a list or a string were not
   * checked: the object was deleted whatever they said.
   */
  static JsonNode checked(JsonNode options) {
    if (options == null || options.isNull()) {
      return null;
    }
    if (!options.isObject()) {
      throw KubeWrites.KubeError.of(400, "BadRequest", "the body of a DELETE is DeleteOptions, an object: not " + options.getNodeType());
    }
    JsonNode preconditions = options.get("preconditions");
    if (preconditions != null && !preconditions.isNull() && !preconditions.isObject()) {
      throw KubeWrites.KubeError.of(400, "BadRequest", "preconditions must be an object (uid, resourceVersion)");
    }
    return options;
  }

  /**
   * The propagation policy asked (null: the default, Background): propagationPolicy, or the
   * deprecated orphanDependents older clients send (true: Orphan, false: Background), from the
   * query or the body; both is refused, as Kubernetes refuses it. Before 2026-12-06
   * orphanDependents was not read, and a client asking to orphan a DaemonSet's pods had them
   * stopped.
   */
  static String propagation(String policyParam, String orphanParam, JsonNode options) {
    String policy = policyParam != null ? policyParam : options == null ? null : options.path("propagationPolicy").asText(null);
    JsonNode inBody = options == null ? null : options.get("orphanDependents");
    String orphan = orphanParam != null ? orphanParam : inBody == null || inBody.isNull() ? null : inBody.asText();
    if (orphan == null) {
      return policy;
    }
    if (!orphan.equals("true") && !orphan.equals("false")) {
      throw KubeWrites.KubeError.of(400, "BadRequest", "orphanDependents must be true or false, not \"" + orphan + "\"");
    }
    if (policy != null) {
      throw KubeWrites.KubeError.of(422, "Invalid", "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Invalid value: \""
          + policy + "\": orphanDependents and deletionPropagation cannot be both set");
    }
    return orphan.equals("true") ? "Orphan" : "Background";
  }
}
