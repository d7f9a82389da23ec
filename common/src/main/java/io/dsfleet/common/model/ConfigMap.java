package io.dsfleet.common.model;

import java.util.Map;

/** v1 ConfigMap. binaryData values are base64, as in Kubernetes. */
public record ConfigMap(
    String apiVersion,
    String kind,
    ObjectMeta metadata,
    Map<String, String> data,
    Map<String, String> binaryData,
    Boolean immutable)
    implements KubeObject {}
