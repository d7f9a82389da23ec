package io.dsfleet.common.model;

/** An object a user applies: a DaemonSet, a ConfigMap or a Secret. */
public sealed interface KubeObject permits DaemonSet, ConfigMap, Secret {
  String apiVersion();

  String kind();

  ObjectMeta metadata();

  default String name() {
    return metadata().name();
  }

  default String namespace() {
    return metadata().namespace();
  }

  /** "Kind/namespace/name", for messages. */
  default String ref() {
    return kind() + "/" + namespace() + "/" + name();
  }
}
