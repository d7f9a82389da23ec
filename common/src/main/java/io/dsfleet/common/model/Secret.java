package io.dsfleet.common.model;

import java.util.Map;

/**
 * v1 Secret. After parsing, stringData has been folded into data (base64), as the Kubernetes API
 * server does, so {@code stringData} is always null in a parsed Secret.
 */
public record Secret(
    String apiVersion,
    String kind,
    ObjectMeta metadata,
    Map<String, String> data,
    Map<String, String> stringData,
    String type,
    Boolean immutable)
    implements KubeObject {

  /** Never print secret values by accident. */
  @Override
  public String toString() {
    return "Secret[" + metadata.namespace() + "/" + metadata.name() + ", type=" + type + ", keys="
        + (data == null ? "[]" : data.keySet()) + "]";
  }
}
